// Runs one exported function in a worker thread for thread.ts (callInThread). TypeScript loads through tsx's
// loader, as bin/lethe.mjs does.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
try {
  const mod = await import(workerData.module);
  const report = (progress) => parentPort.postMessage({ progress });
  parentPort.postMessage({ ok: true, result: await mod[workerData.fn](...workerData.args, report) });
} catch (e) {
  parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
