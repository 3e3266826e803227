import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensembleDigest } from '../../train/sisa/digest.ts';
import type { SisaEraseReport } from '../../train/sisa/erase.ts';
import { MANIFEST, type SisaManifest } from '../../train/sisa/manifest.ts';
import { finishPlan, PLAN_DIR, planProgress, readPlan } from '../../train/sisa/shard-plan.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import type { Tx } from '../store/open-store.ts';
import type { JobLog } from './handlers.ts';
import type { ProgressEvent } from './progress.ts';
import { assertLease, claimJob, enqueueJob, finishJob, heartbeat, listJobs, type Claim } from './queue.ts';
import { runInThread } from './thread.ts';
import type { TaskResult } from './tasks.ts';
import { failRequest, runClaimed } from './worker.ts';

/**
 * Parallel SISA training (docs/sisa.md): one 'train-shard' job per shard of a planned folder (planEnsemble, or
 * planSisaErase for an erasure's affected shards), so S shards train on up to S workers at once. Each job trains its
 * shard in a thread (the 'trainShard' task, trainShardFromPlan: committed by a marker written last, started over after a kill); the job that
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
  let loss: number | null = null;
  if (!isFinished(dir)) {
    log(`job ${c.job.id}: training shard ${shard} of ${dir}`);
    const { stages } = await runInThread('trainShard', { dir, shard }, undefined, c.signal);
    steps = stages.reduce((n, s) => n + s.steps, 0);
    loss = stages.at(-1)?.finalLoss ?? null;
  }
  const finished = finishIfComplete(dir);
  if (finished) log(`job ${c.job.id}: every shard of ${dir} is trained; the folder is finished`);
  await finishJob(env.store, c, { dir, shard, steps, loss, finished }, env.now ? env.now() : new Date(), async () => undefined);
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

/**
 * An erase job's exact erasure of an ensemble into `outDir`, its affected shards retrained as 'train-shard' jobs so
 * that S shards retrain on up to S workers at once; the result is sisaErase's bit for bit (same plan, same shards).
 * The erase job plans (in a thread; a plan or a finished folder left by a killed attempt is reused), files one job
 * per affected shard under its own lease (once: a retried erase job finds them by folder), then runs any of them
 * still queued itself and waits for those other workers hold. Running them itself is what makes this safe on one
 * worker with one lane (nobody else would), and costs nothing with more: the lane would otherwise sit waiting. It
 * may take another request's queued shard job (the queue hands out the oldest); that is work some erase job waits
 * for, so every waiting lane works and none waits on a job nobody runs. Its own lease is renewed while it waits.
 */
export async function eraseAsShardJobs(env: WorkflowEnv, c: Claim, o: { modelDir: string; forgetPath: string; outDir: string; log: JobLog; onProgress?: (e: ProgressEvent) => void; pollMs?: number }): Promise<TaskResult['erase']> {
  const now = () => (env.now ? env.now() : new Date());
  const outDir = resolve(o.outDir);
  const requestId = c.job.requestId;
  const finished = (): TaskResult['erase'] => {
    const report = JSON.parse(readFileSync(join(outDir, 'unlearn.json'), 'utf8')) as SisaEraseReport;
    return { outDir, modelSha256: ensembleDigest(outDir), reused: false, steps: report.retrained.reduce((n, s) => n + s.steps, 0), stopReason: null };
  };
  if (isFinished(outDir) && existsSync(join(outDir, 'unlearn.json'))) return { ...finished(), reused: true, steps: null };
  // Jobs filed by an earlier attempt are this plan's only while the plan is the one they were filed for: a plan made
  // now (the earlier folder was finished and moved to the artifact store, then the attempt died) gets its own.
  const fresh = !existsSync(join(outDir, PLAN_DIR, 'plan.json'));
  if (fresh) {
    const planned = await runInThread('sisaPlan', { modelDir: o.modelDir, forgetPath: o.forgetPath, outDir }, undefined, c.signal);
    o.log(`job ${c.job.id}: erasure planned into ${outDir}: shard(s) ${planned.shards.join(', ')} to retrain`);
  }
  const plannedSteps = readPlan(outDir).train.reduce((n, t) => n + (t.plannedSteps ?? 0), 0);
  const mine = (await listJobs(env.store, requestId)).filter((j) => j.kind === TRAIN_SHARD && j.input['dir'] === outDir);
  const ids = mine.length > 0 && !fresh ? mine.map((j) => j.id) : await env.store.write(async (tx) => {
    await assertLease(tx, c, now());
    return enqueueShardJobs(tx, { requestId, dir: outDir, now: now() });
  });
  let reported = -1;
  for (;;) {
    await heartbeat(env.store, c, now()); // LeaseLost when another worker took the erase job over: stop here
    const jobs = (await listJobs(env.store, requestId)).filter((j) => ids.includes(j.id));
    const done = jobs.filter((j) => j.state === 'done');
    const steps = done.reduce((n, j) => n + (typeof j.result?.['steps'] === 'number' ? j.result['steps'] : 0), 0);
    if (done.length !== reported) {
      reported = done.length;
      const loss = done.map((j) => j.result?.['loss']).filter((l): l is number => typeof l === 'number').at(-1) ?? 0;
      o.onProgress?.({ phase: 'retrain shards', step: steps, total: Math.max(steps, plannedSteps), loss });
    }
    if (jobs.some((j) => j.state === 'failed') || done.length === ids.length) break;
    const got = await claimJob(env.store, {
      worker: c.worker, leaseMs: c.leaseMs, now: now(), kinds: [TRAIN_SHARD],
      onExhausted: (tx, j) => failRequest(env, tx, j.requestId, c.worker, j.lastError ?? 'retries used up'),
    });
    if (got && 'claim' in got) {
      o.log(`job ${got.claim.job.id} (${TRAIN_SHARD}, attempt ${got.claim.job.attempts}) claimed by ${c.worker} for erase job ${c.job.id}`);
      await runClaimed(env, got.claim, o.log);
    } else if (!got) await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
  }
  await awaitShardJobs(env, { requestId, jobIds: ids, dir: outDir });
  return finished();
}
