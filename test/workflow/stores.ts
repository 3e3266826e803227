// The stores a workflow test runs on: always a fresh SQLite file; PostgreSQL too when LETHE_TEST_PG holds a URL
// (its public schema is emptied first: point it at a database kept for tests).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import type { WorkflowEnv } from '../../src/workflow/requests/service.ts';

export interface TestStore {
  name: 'sqlite' | 'postgres';
  open(): Promise<Store>;
}

async function freshPostgres(url: string): Promise<Store> {
  const s = await openStore({ url });
  await sql`drop schema public cascade`.execute(s.db);
  await sql`create schema public`.execute(s.db);
  await s.close();
  return openStore({ url });
}

export const TEST_STORES: TestStore[] = [
  { name: 'sqlite', open: () => openStore({ dataDir: mkdtempSync(join(tmpdir(), 'lethe-store-')) }) },
  ...(process.env['LETHE_TEST_PG'] ? [{ name: 'postgres' as const, open: () => freshPostgres(process.env['LETHE_TEST_PG']!) }] : []),
];

/** A settable clock for deadline tests. */
export function testEnv(store: Store, start = '2026-03-15T10:00:00Z'): WorkflowEnv & { set(t: string): void } {
  let t = new Date(start);
  return { store, now: () => t, set: (s: string) => { t = new Date(s); } };
}
