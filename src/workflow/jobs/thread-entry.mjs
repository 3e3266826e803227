// Runs one heavy task (tasks.ts) in a worker thread, so that the worker's event loop stays free for heartbeats
// while a model trains. The thread loads TypeScript through tsx's loader, as bin/lethe.mjs does.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runTask } = await import('./tasks.ts');
try {
  const onProgress = (progress) => parentPort.postMessage({ progress });
  parentPort.postMessage({ ok: true, result: await runTask(workerData.task, workerData.args, onProgress) });
} catch (e) {
  parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
