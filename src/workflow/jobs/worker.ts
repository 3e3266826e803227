import { hostname } from 'node:os';
import { DEFAULT_LEASE_MS } from '../defaults.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import { moveRequest } from '../requests/service.ts';
import { TransitionError } from '../requests/states.ts';
import { databaseClock } from '../store/db-clock.ts';
import type { Tx } from '../store/open-store.ts';
import { runJob, type JobLog } from './handlers.ts';
import { claimJob, failAttempt, heartbeat, LeaseLost, sweepExpired, type Claim } from './queue.ts';
import { openWaker } from './wake.ts';

export interface WorkerOptions {
  /** Run until no job is left, then return (else poll for new jobs until `signal` aborts). */
  once?: boolean;
  /** Jobs run at the same time by this process. */
  concurrency?: number;
  /** Lease length; a heartbeat renews it every third of it. */
  leaseMs?: number;
  /** Wait between polls when the queue is empty; on PostgreSQL a filed job wakes idle lanes sooner (LISTEN/NOTIFY). */
  pollMs?: number;
  /** False: poll only, without a LISTEN session, even on PostgreSQL (default true). */
  listen?: boolean;
  /** This worker's name in leases and history (default host:pid). */
  name?: string;
  log?: JobLog;
  signal?: AbortSignal;
}


/** One line for an error, without a stack: what the job's last_error and the request's history keep. */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500);
}

/** Runs one claimed job with heartbeats; a failure goes back to the queue, or fails the request past the retry cap. */
export async function runClaimed(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  const now = () => (env.now ? env.now() : new Date());
  let lost = false;
  const stop = new AbortController();
  const beat = setInterval(() => {
    heartbeat(env.store, c, now()).catch((e: unknown) => {
      if (!(e instanceof LeaseLost)) return;
      lost = true;
      stop.abort();
    });
  }, Math.max(10, Math.floor(c.leaseMs / 3)));
  try {
    await runJob(env, { ...c, signal: stop.signal }, log);
  } catch (e) {
    if (e instanceof LeaseLost || lost) {
      log(`job ${c.job.id}: lease lost; left to the worker that holds it`);
      return;
    }
    const error = oneLine(e);
    const final = await failAttempt(env.store, c, error, now(), (tx) => failRequest(env, tx, c.job.requestId, c.worker, error)).catch((e2: unknown) => {
      if (e2 instanceof LeaseLost) return null;
      throw e2;
    });
    log(`job ${c.job.id} (${c.job.kind}, attempt ${c.job.attempts}/${c.job.maxAttempts}) failed: ${error}${final ? '; request failed' : final === false ? '; queued again' : ''}`);
  } finally {
    clearInterval(beat);
  }
}

/**
 * Fails a job's request in the job's transaction (its retries are used up). A request that moved on (canceled,
 * paused, or failed already by another of its jobs) stays as it is.
 */
export async function failRequest(env: WorkflowEnv, tx: Tx, requestId: string, actor: string, reason: string): Promise<void> {
  try {
    await moveRequest(env, tx, requestId, 'failed', { actor, reason });
  } catch (e) {
    if (!(e instanceof TransitionError)) throw e;
  }
}

/**
 * A worker: claims jobs (oldest first), runs them, and keeps their leases alive. Expired leases of dead workers are
 * claimed like queued jobs; a job whose retries are used up fails with its request. Idle lanes wait for the next poll
 * or, on PostgreSQL, until a job is filed (wake.ts), whichever is first.
 */
export async function runWorker(given: WorkflowEnv, o: WorkerOptions = {}): Promise<{ jobs: number }> {
  // Leases are judged by the database's clock (db-clock.ts) unless the caller brings its own (tests do).
  const env: WorkflowEnv = given.now ? given : { ...given, now: (await databaseClock(given.store)).now };
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const log = o.log ?? (() => undefined);
  const now = () => (env.now ? env.now() : new Date());
  let jobs = 0;
  // `once` never waits, so it opens no LISTEN session.
  const waker = o.once ? null : openWaker(env.store, { listen: o.listen ?? true, log });
  const lane = async (k: number): Promise<void> => {
    const worker = (o.concurrency ?? 1) > 1 ? `${name}#${k}` : name;
    while (!o.signal?.aborted) {
      const mark = waker?.mark() ?? 0; // taken before the claim: a job filed after it wakes the wait below at once
      const got = await claimJob(env.store, { worker, leaseMs, now: now(), onExhausted: (tx, j) => failRequest(env, tx, j.requestId, worker, j.lastError ?? 'retries used up') });
      if (got === null) {
        if (!waker) return;
        // Idle: return dead workers' expired leases to the queue (claims take them too; this keeps listings true).
        const swept = await sweepExpired(env.store, now());
        if (swept > 0) {
          log(`swept ${swept} expired lease(s) back to the queue`);
          continue; // those are runnable now: no wait (expired leases are not announced)
        }
        await waker.waitForWork(o.pollMs ?? 1000, mark, o.signal);
        continue;
      }
      if ('exhausted' in got) {
        const j = got.exhausted;
        log(`job ${j.id} (${j.kind}) failed for good after ${j.attempts} attempts`);
        continue;
      }
      jobs++;
      log(`job ${got.claim.job.id} (${got.claim.job.kind}, attempt ${got.claim.job.attempts}) claimed by ${worker}`);
      await runClaimed(env, got.claim, log);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, (_, k) => lane(k)));
  } finally {
    await waker?.close();
  }
  return { jobs };
}
