import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MANIFEST, type SisaManifest } from '../../train/sisa/manifest.ts';
import { finishPlan, PLAN_DIR, planProgress, readPlan } from '../../train/sisa/shard-plan.ts';
import type { StageInfo } from '../../train/sisa/stages.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import type { Tx } from '../store/open-store.ts';
import type { JobLog } from './handlers.ts';
import { enqueueJob, finishJob, listJobs, type Claim } from './queue.ts';

/**
 * Parallel SISA training (docs/sisa.md): one 'train-shard' job per shard of a planned folder (planEnsemble, or
 * planSisaErase for an erasure's affected shards), so S shards train on up to S workers at once. Each job trains its
 * shard in a thread (trainShardFromPlan: committed by a marker written last, started over after a kill); the job that
 * finds every shard done finishes the folder (finishPlan: ensemble.json last). The result equals the sequential run
 * bit for bit: every shard's run is a function of its own data and (seed, shard, stage).
 */
export const TRAIN_SHARD = 'train-shard';

export interface ShardJobInput {
  /** The planned folder (an absolute path: workers may run elsewhere in the tree). */
  dir: string;
  shard: number;
}

/**
 * Queues a 'train-shard' job for every shard the plan in `dir` trains, inside the caller's transaction. Jobs belong to
 * a request in the store (the erasure they retrain for): a job that fails for good fails that request.
 */
export async function enqueueShardJobs(tx: Tx, o: { requestId: string; dir: string; now: Date; maxAttempts?: number }): Promise<string[]> {
  const dir = resolve(o.dir);
  const plan = readPlan(dir);
  const ids: string[] = [];
  for (const t of plan.train) {
    const input: ShardJobInput = { dir, shard: t.shard };
    ids.push(await enqueueJob(tx, { requestId: o.requestId, kind: TRAIN_SHARD, input: { ...input }, now: o.now, ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) }));
  }
  return ids;
}

function inputOf(c: Claim): ShardJobInput {
  const { dir, shard } = c.job.input;
  if (typeof dir !== 'string' || !Number.isInteger(shard) || (shard as number) < 0) {
    throw new Error(`job ${c.job.id}: a ${TRAIN_SHARD} job's input must be { dir: string, shard: whole number ≥ 0 }, got ${JSON.stringify(c.job.input)}`);
  }
  return { dir, shard: shard as number };
}

/** Whether the planned folder `dir` has been finished (ensemble.json there, the plan gone). */
export function isFinished(dir: string): boolean {
  return existsSync(join(dir, MANIFEST)) && !existsSync(join(dir, PLAN_DIR));
}

/** Trains one shard in a worker thread (shard-thread.mjs); its error comes back as the rejection, one line. */
export function trainShardInThread(dir: string, shard: number, log?: JobLog): Promise<StageInfo[]> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./shard-thread.mjs', import.meta.url), { workerData: { dir, shard } });
    let settled = false;
    worker.on('message', (m: { log: string } | { ok: true; stages: StageInfo[] } | { ok: false; error: string }) => {
      if ('log' in m) {
        log?.(m.log);
        return;
      }
      settled = true;
      if (m.ok) resolvePromise(m.stages);
      else reject(new Error(m.error));
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the thread training shard ${shard} exited with code ${code} before it finished`));
    });
  });
}

/** Finishes the folder when no shard is pending; a finish raced by another worker's counts as done. */
function finishIfComplete(dir: string): boolean {
  if (isFinished(dir)) return true;
  if (planProgress(dir).pending.length > 0) return false;
  try {
    finishPlan(dir);
  } catch (e) {
    if (!isFinished(dir)) throw e;
  }
  return true;
}

/** The 'train-shard' handler: trains the shard (a retry of a committed shard does nothing), then finishes the folder if it was the last. */
export async function runShardJob(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  const { dir, shard } = inputOf(c);
  let steps = 0;
  if (!isFinished(dir)) {
    log(`job ${c.job.id}: training shard ${shard} of ${dir}`);
    const stages = await trainShardInThread(dir, shard);
    steps = stages.reduce((n, s) => n + s.steps, 0);
  }
  const finished = finishIfComplete(dir);
  if (finished) log(`job ${c.job.id}: every shard of ${dir} is trained; the folder is finished`);
  await finishJob(env.store, c, { dir, shard, steps, finished }, env.now ? env.now() : new Date(), async () => undefined);
}

/**
 * Waits until every job of `jobIds` is done, then returns the finished folder's manifest (finishing it if no job
 * did). A job that failed for good is thrown, with its error.
 */
export async function awaitShardJobs(env: WorkflowEnv, o: { requestId: string; jobIds: readonly string[]; dir: string; pollMs?: number; signal?: AbortSignal }): Promise<SisaManifest> {
  for (;;) {
    const jobs = (await listJobs(env.store, o.requestId)).filter((j) => o.jobIds.includes(j.id));
    const failed = jobs.find((j) => j.state === 'failed');
    if (failed) throw new Error(`job ${failed.id} (shard ${String(failed.input['shard'])} of ${o.dir}) failed: ${failed.lastError ?? 'no error recorded'}`);
    if (jobs.length === o.jobIds.length && jobs.every((j) => j.state === 'done')) return finishPlan(resolve(o.dir));
    if (o.signal?.aborted) throw new Error(`waiting for the shard jobs of ${o.dir}: aborted`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
  }
}
