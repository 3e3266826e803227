import { PostgresAdapter, sql } from 'kysely';
import pg from 'pg';
import type { Store, Tx } from '../store/open-store.ts';

/**
 * Waking idle workers. On PostgreSQL every enqueue sends `NOTIFY lethe_jobs` in its transaction (delivered at the
 * commit, so never for a job that is not there yet) and each worker process keeps one LISTEN session of its own: an
 * idle worker wakes when a job is filed, or when its poll interval elapses, whichever comes first. The poll stays as
 * the fallback, and is all there is on SQLite: a lost LISTEN session (restart, failover, a cut) is reconnected in the
 * background and meanwhile the worker polls; nothing here ever ends a worker.
 */
export const WAKE_CHANNEL = 'lethe_jobs';

/** First wait before reconnecting a lost LISTEN session; doubled at each failure, up to the cap. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 30_000;

/** Inside the transaction that files a job: tells listening workers at its commit (PostgreSQL; nothing on SQLite). */
export async function announceWork(tx: Tx): Promise<void> {
  // The transaction's own adapter says which server it talks to (enqueueJob is given only the transaction).
  if (tx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_notify(${WAKE_CHANNEL}, '')`.execute(tx);
}

export interface Waker {
  /** A mark of the wake-ups so far: take it before looking for work, and pass it to `waitForWork`. */
  mark(): number;
  /**
   * Waits until work is announced after `mark` (at once if some already was), `ms` elapse or `signal` aborts. True
   * when woken by an announcement (or by a fresh LISTEN session: what was filed meanwhile was missed). A closed waker
   * only polls.
   */
  waitForWork(ms: number, mark: number, signal?: AbortSignal): Promise<boolean>;
  /** Whether a LISTEN session is open now (false on SQLite, and while one is being reconnected). */
  readonly listening: boolean;
  close(): Promise<void>;
}

export interface WakerOptions {
  /** False: poll only, even on PostgreSQL (default true). */
  listen?: boolean;
  /** Where connection losses and recoveries are reported (one line each, never per retry). */
  log?: (line: string) => void;
}

/** The waker of a worker process on `store`: a LISTEN session on PostgreSQL (opened in the background), else polling. */
export function openWaker(store: Store, o: WakerOptions = {}): Waker {
  let generation = 0;
  const waiters = new Set<() => void>();
  const wakeAll = (): void => {
    generation++;
    for (const w of [...waiters]) w();
  };
  let closed = false;
  let listener: pg.Client | null = null;
  let connecting: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;
  let backoff = RECONNECT_MIN_MS;
  let down = false; // a loss was reported and not yet the recovery
  const log = o.log ?? (() => undefined);
  const url = store.dialect === 'postgres' && o.listen !== false ? store.url : undefined;

  const connect = async (): Promise<void> => {
    if (closed || !url) return;
    const client = new pg.Client({ connectionString: url, application_name: 'lethe-wake', keepAlive: true, connectionTimeoutMillis: 10_000 });
    let dead = false;
    // 'error' and 'end' both come for one loss; an unhandled 'error' would end the process.
    const lose = (e?: unknown): void => {
      if (dead) return;
      dead = true;
      if (listener === client) listener = null;
      client.end().catch(() => undefined);
      if (closed) return;
      if (!down) {
        down = true;
        log(`wake: the LISTEN session on ${store.location} was lost (${e instanceof Error ? e.message : 'connection ended'}); polling until it is back`);
      }
      retry = setTimeout(() => void connect(), backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
    };
    client.on('error', lose);
    client.on('end', () => lose());
    client.on('notification', (n) => {
      if (n.channel === WAKE_CHANNEL) wakeAll();
    });
    connecting = client;
    try {
      await client.connect();
      await client.query(`listen ${WAKE_CHANNEL}`);
    } catch (e) {
      lose(e);
      return;
    } finally {
      connecting = null;
    }
    if (dead) return;
    if (closed) {
      dead = true;
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    backoff = RECONNECT_MIN_MS;
    if (down) log(`wake: listening on ${store.location} again`);
    else log(`wake: listening for new jobs on ${store.location}`);
    down = false;
    wakeAll(); // jobs filed while no session listened sent their notifications to nobody: look once
  };
  void connect();

  return {
    mark: () => generation,
    get listening() { return listener !== null; },
    waitForWork(ms, mark, signal) {
      if (generation !== mark) return Promise.resolve(true);
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done = (woken: boolean): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          waiters.delete(onWake);
          resolve(woken);
        };
        const onWake = (): void => done(true);
        const onAbort = (): void => done(false);
        const timer = setTimeout(() => done(false), ms);
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.add(onWake);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      const client = listener ?? connecting;
      listener = null;
      await client?.end().catch(() => undefined);
    },
  };
}
