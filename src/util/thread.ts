import { Worker } from 'node:worker_threads';

type ThreadMessage = { ok: true; result: unknown } | { ok: false; error: string } | { progress: unknown };

export interface ThreadOptions<P> {
  /** Called with each progress value the function reports (its last argument is the reporter). */
  onProgress?: (p: P) => void;
  /** Aborting terminates the thread at once and rejects the promise. */
  signal?: AbortSignal;
  /** Names the work in errors (default: the function and its module). */
  name?: string;
  /** Why an aborted signal stops it, for the rejection (default: "it was stopped"). */
  abortReason?: string;
}

/**
 * Calls `module`'s export `fn(...args, report)` in a worker thread (TypeScript loaded through tsx, as bin/lethe.mjs
 * does) and resolves with what it returns; arguments and result must be structured-cloneable. Its error comes back
 * as this promise's rejection, one line; `report(p)` inside reaches `onProgress` as it happens. Heavy work runs
 * here so that the caller's event loop stays free (a worker's heartbeats, another lane of the main job).
 */
export function callInThread<R, P = unknown>(module: URL, fn: string, args: readonly unknown[], o: ThreadOptions<P> = {}): Promise<R> {
  const what = o.name ?? `${fn} (${module.pathname.split('/').at(-1)})`;
  const why = o.abortReason ?? 'it was stopped';
  return new Promise((resolvePromise, reject) => {
    if (o.signal?.aborted) {
      reject(new Error(`${what} was not started: ${why}`));
      return;
    }
    const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), { workerData: { module: module.href, fn, args } });
    let settled = false;
    const stop = (): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(new Error(`${what} was stopped: ${why}`));
    };
    o.signal?.addEventListener('abort', stop, { once: true });
    worker.once('exit', () => o.signal?.removeEventListener('abort', stop));
    worker.on('message', (m: ThreadMessage) => {
      if ('progress' in m) {
        o.onProgress?.(m.progress as P);
        return;
      }
      settled = true;
      if (m.ok) resolvePromise(m.result as R);
      else reject(new Error(m.error));
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`${what} exited with code ${code} before it finished`));
    });
  });
}
