// The stores a workflow test runs on: always a fresh SQLite file; PostgreSQL too when LETHE_TEST_PG holds a URL.
// Each PostgreSQL store is a fresh database on that server (its user needs CREATEDB), dropped when the store closes,
// so test files running side by side, and worker processes started by a test, never see each other's rows. (Not a
// schema each: Kysely's migrator looks at every schema of its database, and fails when one is dropped meanwhile.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import type { WorkflowEnv } from '../../src/workflow/requests/service.ts';
import { freshPostgresDatabase } from '../../tools/postgres-scratch.ts';

export interface TestStore {
  name: 'sqlite' | 'postgres';
  open(): Promise<Store>;
}

/** The PostgreSQL database the tests may use, or undefined (the PostgreSQL suites are then skipped). */
export const TEST_PG_URL: string | undefined = process.env['LETHE_TEST_PG'] || undefined;

export { freshPostgresDatabase, freshPostgresSchema, type ScratchPostgres as TestPostgres } from '../../tools/postgres-scratch.ts';

async function freshPostgres(url: string): Promise<Store> {
  const database = await freshPostgresDatabase(url);
  const store = await openStore({ url: database.url });
  return { ...store, close: async () => { await store.close(); await database.drop(); } };
}

export const TEST_STORES: TestStore[] = [
  { name: 'sqlite', open: () => openStore({ dataDir: mkdtempSync(join(tmpdir(), 'lethe-store-')) }) },
  ...(TEST_PG_URL ? [{ name: 'postgres' as const, open: () => freshPostgres(TEST_PG_URL) }] : []),
];

/** A settable clock for deadline tests. */
export function testEnv(store: Store, start = '2026-03-15T10:00:00Z'): WorkflowEnv & { set(t: string): void } {
  let t = new Date(start);
  return { store, now: () => t, set: (s: string) => { t = new Date(s); } };
}
