import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Store, Tx } from '../store/open-store.ts';
import type { JobsTable } from '../store/schema.ts';
import { announceWork } from './wake.ts';

/**
 * Durable jobs in the store (WORKFLOW.md): made in the transaction of the state change that calls for them, claimed
 * with a lease and a fresh fencing token, kept alive by heartbeats, and written only under a token that is still
 * current — so a worker that lost its lease (killed, paused, cut off) can change nothing. Execution is at least
 * once; each step is keyed (job, step) and recorded when done, so its visible effect is exactly once.
 */
export const JOB_KINDS = ['assess', 'erase', 'verify', 'train-shard'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: string;
  requestId: string;
  kind: JobKind;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  leaseUntil: string | null;
  fencingToken: number;
  worker: string | null;
  lastError: string | null;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

/** A job this worker holds: its id and the fencing token every write must present. */
export interface Claim {
  job: Job;
  token: number;
  worker: string;
  leaseMs: number;
  /**
   * Aborted when a heartbeat finds the lease lost (another worker took the job over): the job's threads are stopped
   * there, so a paused or cut-off worker does not go on writing files after the takeover.
   */
  signal?: AbortSignal;
}

export class LeaseLost extends Error {
  constructor(jobId: string) {
    super(`job ${jobId}: the lease was lost (another worker holds it now); this worker's writes are refused`);
    this.name = 'LeaseLost';
  }
}

export const DEFAULT_MAX_ATTEMPTS = 5;

function toJob(r: JobsTable): Job {
  return {
    id: r.id, requestId: r.request_id, kind: r.kind as JobKind, state: r.state as JobState, attempts: r.attempts,
    maxAttempts: r.max_attempts, leaseUntil: r.lease_until, fencingToken: Number(r.fencing_token), worker: r.worker,
    lastError: r.last_error, input: JSON.parse(r.input) as Record<string, unknown>,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>), createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** Adds a job inside the caller's transaction (the state change that calls for it); idle workers are woken at its commit. */
export async function enqueueJob(tx: Tx, o: { requestId: string; kind: JobKind; input?: Record<string, unknown>; maxAttempts?: number; now: Date }): Promise<string> {
  const id = `job_${randomUUID()}`;
  const at = o.now.toISOString();
  await tx.insertInto('jobs').values({
    id, request_id: o.requestId, kind: o.kind, state: 'queued', attempts: 0, max_attempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    lease_until: null, fencing_token: 0, worker: null, heartbeat_at: null, last_error: null, input: JSON.stringify(o.input ?? {}),
    result: null, created_at: at, updated_at: at,
  }).execute();
  await announceWork(tx);
  return id;
}

/**
 * Claims the oldest runnable job: queued, or running with an expired lease (its worker died). The claim bumps the
 * attempt count and the fencing token. A job whose expired lease leaves no attempts is not claimed: it fails, and
 * `onExhausted` runs in the same transaction (to fail its request: done after the commit, a kill in between would
 * leave the request waiting for a job that will never run); it is returned as `exhausted`.
 */
export async function claimJob(store: Store, o: {
  worker: string; leaseMs: number; now: Date; kinds?: readonly JobKind[]; onExhausted?: (tx: Tx, job: Job) => Promise<void>;
}): Promise<{ claim: Claim } | { exhausted: Job } | null> {
  return store.write(async (tx) => {
    const at = o.now.toISOString();
    let q = tx.selectFrom('jobs').selectAll()
      .where((e) => e.or([e('state', '=', 'queued'), e.and([e('state', '=', 'running'), e('lease_until', '<', at)])]))
      .orderBy('created_at').orderBy('id').limit(1);
    if (o.kinds) q = q.where('kind', 'in', [...o.kinds]);
    if (store.dialect === 'postgres') q = q.forUpdate().skipLocked();
    const row = await q.executeTakeFirst();
    if (!row) return null;
    if (row.attempts >= row.max_attempts) {
      const lastError = row.last_error ?? `its worker stopped ${row.attempts} times without finishing (lease expired)`;
      await tx.updateTable('jobs').set({ state: 'failed', last_error: lastError, lease_until: null, updated_at: at }).where('id', '=', row.id).execute();
      const exhausted = toJob({ ...row, state: 'failed', last_error: lastError });
      await o.onExhausted?.(tx, exhausted);
      return { exhausted };
    }
    const token = Number(row.fencing_token) + 1;
    const leaseUntil = new Date(o.now.getTime() + o.leaseMs).toISOString();
    await tx.updateTable('jobs').set({
      state: 'running', attempts: row.attempts + 1, fencing_token: token, worker: o.worker, lease_until: leaseUntil, heartbeat_at: at, updated_at: at,
    }).where('id', '=', row.id).execute();
    const job = toJob({ ...row, state: 'running', attempts: row.attempts + 1, fencing_token: token, worker: o.worker, lease_until: leaseUntil });
    return { claim: { job, token, worker: o.worker, leaseMs: o.leaseMs } };
  });
}

/** Inside a transaction: proves the claim still holds (and keeps the row locked on PostgreSQL), else LeaseLost. */
export async function assertLease(tx: Tx, c: Claim, now: Date): Promise<void> {
  const r = await tx.updateTable('jobs').set({ updated_at: now.toISOString() })
    .where('id', '=', c.job.id).where('fencing_token', '=', c.token).where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(c.job.id);
}

/** Extends the lease; LeaseLost when another worker has taken the job over. */
export async function heartbeat(store: Store, c: Claim, now: Date): Promise<void> {
  const r = await store.db.updateTable('jobs').set({ lease_until: new Date(now.getTime() + c.leaseMs).toISOString(), heartbeat_at: now.toISOString() })
    .where('id', '=', c.job.id).where('fencing_token', '=', c.token).where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(c.job.id);
}

/** The recorded output of a step of this job, or undefined when the step has not been done. */
export async function stepOutput(store: Store, jobId: string, step: string): Promise<Record<string, unknown> | undefined> {
  const r = await store.db.selectFrom('job_steps').select('output').where('job_id', '=', jobId).where('step', '=', step).executeTakeFirst();
  return r ? (JSON.parse(r.output ?? '{}') as Record<string, unknown>) : undefined;
}

/** Records a step as done, under the lease, once: a second record of the same step is refused by the key. */
export async function recordStep(store: Store, c: Claim, step: string, output: Record<string, unknown>, now: Date): Promise<void> {
  await store.write(async (tx) => {
    await assertLease(tx, c, now);
    await tx.insertInto('job_steps').values({ job_id: c.job.id, step, attempt: c.job.attempts, done_at: now.toISOString(), output: JSON.stringify(output) }).execute();
  });
}

/** Marks the job done under the lease, and runs `then` (state changes, the next job) in the same transaction. */
export async function finishJob(store: Store, c: Claim, result: Record<string, unknown>, now: Date, then: (tx: Tx) => Promise<void>): Promise<void> {
  await store.write(async (tx) => {
    await assertLease(tx, c, now);
    await tx.updateTable('jobs').set({ state: 'done', result: JSON.stringify(result), lease_until: null, updated_at: now.toISOString() }).where('id', '=', c.job.id).execute();
    await then(tx);
  });
}

/**
 * An attempt failed with `error`: the job goes back to the queue while attempts remain, else it fails (and `onFail`
 * runs in the same transaction, e.g. to fail the request). Returns whether it failed for good.
 */
export async function failAttempt(store: Store, c: Claim, error: string, now: Date, onFail: (tx: Tx) => Promise<void>): Promise<boolean> {
  return store.write(async (tx) => {
    await assertLease(tx, c, now);
    const final = c.job.attempts >= c.job.maxAttempts;
    await tx.updateTable('jobs').set({ state: final ? 'failed' : 'queued', last_error: error, lease_until: null, updated_at: now.toISOString() }).where('id', '=', c.job.id).execute();
    if (final) await onFail(tx);
    return final;
  });
}

/** Returns expired leases to the queue now (claims do it too; this is for a sweeper that runs beside idle workers). */
export async function sweepExpired(store: Store, now: Date): Promise<number> {
  const r = await store.write((tx) => tx.updateTable('jobs').set({ state: 'queued', lease_until: null, updated_at: now.toISOString() })
    .where('state', '=', 'running').where('lease_until', '<', now.toISOString()).where(sql<boolean>`attempts < max_attempts`).executeTakeFirst());
  return Number(r.numUpdatedRows);
}

export async function listJobs(store: Store, requestId?: string): Promise<Job[]> {
  let q = store.db.selectFrom('jobs').selectAll().orderBy('created_at').orderBy('id');
  if (requestId) q = q.where('request_id', '=', requestId);
  return (await q.execute()).map(toJob);
}
