import { Worker } from 'node:worker_threads';
import type { ProgressEvent } from './progress.ts';
import type { TaskArgs, TaskName, TaskResult } from './tasks.ts';

type ThreadMessage<T extends TaskName> = { ok: true; result: TaskResult[T] } | { ok: false; error: string } | { progress: ProgressEvent };

/**
 * Runs a task of tasks.ts in a worker thread; its error comes back as this promise's rejection, one line. The
 * thread's progress events (optimisation steps) go to `onProgress` as they happen. When `signal` aborts (the job's
 * lease is lost) the thread is terminated at once and the promise rejects.
 */
export function runInThread<T extends TaskName>(task: T, args: TaskArgs[T], onProgress?: (e: ProgressEvent) => void, signal?: AbortSignal): Promise<TaskResult[T]> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) {
      reject(new Error(`the ${task} task was not started: its job's lease is lost`));
      return;
    }
    const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), { workerData: { task, args } });
    let settled = false;
    const stop = (): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(new Error(`the ${task} thread was stopped: its job's lease is lost`));
    };
    signal?.addEventListener('abort', stop, { once: true });
    worker.once('exit', () => signal?.removeEventListener('abort', stop));
    worker.on('message', (m: ThreadMessage<T>) => {
      if ('progress' in m) {
        onProgress?.(m.progress);
        return;
      }
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
