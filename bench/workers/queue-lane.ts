/**
 * One worker process of the `queue` suite's throughput cases: `queue-lane.ts [SQLite data dir]`, or with LETHE_DB
 * set (the PostgreSQL URL travels in the environment, not on the command line). Opens the store, prints `ready`, waits for a line on stdin, then claims and completes no-op jobs with queue.ts's
 * functions (claimJob, finishJob: the worker's loop without the handlers) until a claim finds none, and prints
 * `{"jobs":N}`.
 */
import { createInterface } from 'node:readline';
import { claimJob, finishJob } from '../../src/workflow/jobs/queue.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';

const dataDir = process.argv[2];
const store = await openStore(dataDir ? { dataDir } : {});
const worker = `bench:${process.pid}`;
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
let jobs = 0;
for (;;) {
  const got = await claimJob(store, { worker, leaseMs: 60_000, now: new Date() });
  if (got === null) break;
  if (!('claim' in got)) continue;
  await finishJob(store, got.claim, {}, new Date(), async () => undefined);
  jobs++;
}
await store.close();
process.stdout.write(`${JSON.stringify({ jobs })}\n`);
process.exit(0);
