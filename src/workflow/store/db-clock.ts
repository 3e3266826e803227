import { sql } from 'kysely';
import type { Store } from './open-store.ts';

/** How often a database clock measures its offset again (clocks drift; NTP steps them). */
const RESYNC_MS = 60_000;

export interface DatabaseClock {
  /** The database server's time, read off the local clock plus the last measured offset. */
  now: () => Date;
  /** Server time minus local time at the last measurement, in ms (0 on SQLite). */
  offsetMs: () => number;
}

/**
 * The clock leases are judged by. Workers on several machines compare a lease's end with "now"; on their own clocks a
 * worker whose clock runs ahead takes over jobs whose holders are alive (wasted work; fencing keeps it safe), and one
 * that runs behind waits too long after a holder died. On PostgreSQL every worker reads the one server's clock instead:
 * the offset is measured now (midpoint of the query's round trip) and again in the background every minute, so
 * `now()` stays synchronous and costs nothing. SQLite lives on one machine: its clock is the local one.
 */
export async function databaseClock(store: Store, o: { localNow?: () => number; resyncMs?: number } = {}): Promise<DatabaseClock> {
  const local = o.localNow ?? Date.now;
  if (store.dialect !== 'postgres') return { now: () => new Date(local()), offsetMs: () => 0 };
  const resyncMs = o.resyncMs ?? RESYNC_MS;
  let offset = 0;
  let syncedAt = 0;
  let syncing = false;
  const measure = async (): Promise<void> => {
    const t0 = local();
    const { rows } = await sql<{ ms: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(store.db);
    const t1 = local();
    offset = Number(rows[0]!.ms) - (t0 + t1) / 2;
    syncedAt = t1;
  };
  await measure();
  return {
    now: () => {
      const t = local();
      if (t - syncedAt > resyncMs && !syncing) {
        syncing = true;
        syncedAt = t; // a failed measurement is tried again a period later, not on every call
        // A failed measurement keeps the last offset: the database being away is the queue's problem, not the clock's.
        measure().catch(() => undefined).finally(() => { syncing = false; });
      }
      return new Date(t + offset);
    },
    offsetMs: () => offset,
  };
}
