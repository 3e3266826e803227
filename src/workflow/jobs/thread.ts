import { Worker } from 'node:worker_threads';
import type { TaskArgs, TaskName, TaskResult } from './tasks.ts';

/** Runs a task of tasks.ts in a worker thread; its error comes back as this promise's rejection, one line. */
export function runInThread<T extends TaskName>(task: T, args: TaskArgs[T]): Promise<TaskResult[T]> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), { workerData: { task, args } });
    let settled = false;
    worker.once('message', (m: { ok: true; result: TaskResult[T] } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolvePromise(m.result);
      else reject(new Error(m.error));
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the ${task} thread exited with code ${code} before it finished`));
    });
  });
}
