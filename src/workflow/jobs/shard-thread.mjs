// Trains one shard of a planned ensemble folder (src/train/sisa/shard-plan.ts) in a worker thread, so that the
// worker's event loop stays free for heartbeats and several shards train at once. TypeScript through tsx's loader.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { trainShardFromPlan } = await import('../../train/sisa/shard-plan.ts');
try {
  const stages = trainShardFromPlan(workerData.dir, workerData.shard, { log: (line) => parentPort.postMessage({ log: line }) });
  parentPort.postMessage({ ok: true, stages });
} catch (e) {
  parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
