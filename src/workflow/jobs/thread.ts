import { releaseFreeMemory } from '../../engine/backends/native.ts';
import { callInThread } from '../../util/thread.ts';
import type { ProgressEvent } from './progress.ts';
import type { TaskArgs, TaskName, TaskResult } from './tasks.ts';

/**
 * Runs a task of tasks.ts in a worker thread, so that the worker's event loop stays free for heartbeats while a
 * model trains; its error comes back as this promise's rejection, one line. The thread's progress events
 * (optimisation steps) go to `onProgress` as they happen. When `signal` aborts (the job's lease is lost) the thread
 * is terminated at once and the promise rejects. When the thread has ended, the allocator's free memory goes back to
 * the system: the thread's arena would otherwise keep what its model's buffers used.
 */
export function runInThread<T extends TaskName>(task: T, args: TaskArgs[T], onProgress?: (e: ProgressEvent) => void, signal?: AbortSignal): Promise<TaskResult[T]> {
  return callInThread<TaskResult[T], ProgressEvent>(new URL('./tasks.ts', import.meta.url), 'runTask', [task, args], {
    name: `the ${task} task`, abortReason: 'its job\'s lease is lost', ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}),
  }).finally(releaseFreeMemory);
}
