import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { tableAuditSink } from '../../src/workflow/audit/audit-sink.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';
import { createRequest, listRequests } from '../../src/workflow/requests/service.ts';
import { freshPostgresDatabase, freshPostgresSchema, TEST_PG_URL } from './stores.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'lethe-store-'));

describe('embedded store', () => {
  test('a new data directory gets a migrated SQLite file in WAL mode with synchronous=FULL', async () => {
    const dir = fresh();
    const s = await openStore({ dataDir: dir });
    await s.close();
    const raw = new BetterSqlite3(join(dir, 'lethe.db'), { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    const tables = raw.prepare("select name from sqlite_master where type = 'table' order by name").all().map((r) => (r as { name: string }).name);
    for (const t of ['requests', 'request_history', 'audit_entries', 'jobs', 'job_steps', 'corpora', 'assessments']) assert.ok(tables.includes(t), t);
    raw.close();
    // Opening again applies nothing twice.
    await (await openStore({ dataDir: dir })).close();
  });

  test('a corrupt database file is one line naming it', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'lethe.db'), 'this is not a database, just some bytes that are long enough to be a header '.repeat(20));
    await assert.rejects(openStore({ dataDir: dir }), /lethe\.db: not a Lethe database, or corrupt/);
  });

  test('a database locked by another process: the write waits, then fails naming the file, and changes nothing', async () => {
    const dir = fresh();
    const s = await openStore({ dataDir: dir, busyTimeoutMs: 200 });
    const other = new BetterSqlite3(join(dir, 'lethe.db'));
    other.exec('begin exclusive');
    const input = { subject: { names: ['X'] }, scope: { models: ['models/target'] }, legalGround: 'a', requester: 'r' };
    await assert.rejects(createRequest({ store: s }, input, 'op'), /lethe\.db: the database is locked by another process/);
    other.exec('rollback');
    other.close();
    assert.equal((await listRequests({ store: s })).length, 0);
    await createRequest({ store: s }, input, 'op');
    assert.equal((await listRequests({ store: s })).length, 1);
    await s.close();
  });

  test('LETHE_DB must be a postgres URL; a password is never printed', async () => {
    await assert.rejects(openStore({ url: 'mysql://u:secret@h/db' }), (e: Error) => /expected a postgres:\/\/ URL/.test(e.message) && !e.message.includes('secret'));
  });
});

describe('PostgreSQL store', { skip: TEST_PG_URL ? false : 'LETHE_TEST_PG is not set' }, () => {
  const input = { subject: { names: ['X'] }, scope: { models: ['models/target'] }, legalGround: 'a', requester: 'r' };

  test('two stores in two schemas of one database each get their own migrations', async () => {
    const database = await freshPostgresDatabase(TEST_PG_URL!);
    const [a, b] = [await freshPostgresSchema(database.url), await freshPostgresSchema(database.url)];
    try {
      // Before the fix, b found a's migration bookkeeping (in another schema), skipped its own, and failed.
      for (const schema of [a, b]) {
        const s = await openStore({ url: schema.url });
        await createRequest({ store: s }, input, 'op');
        assert.equal((await listRequests({ store: s })).length, 1);
        await s.close();
      }
    } finally {
      await database.drop();
    }
  });

  test('the server ending a connection: the process lives on, the next query opens a new one', async () => {
    const database = await freshPostgresDatabase(TEST_PG_URL!);
    const [s, admin] = [await openStore({ url: database.url }), await openStore({ url: database.url })];
    try {
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(s.db)).rows[0]!.pid;
      await sql`select pg_terminate_backend(${pid})`.execute(admin.db);
      await new Promise((r) => setTimeout(r, 200)); // an unhandled 'error' from the pool would end the test process here
      await createRequest({ store: s }, input, 'op');
      assert.equal((await listRequests({ store: s })).length, 1);
    } finally {
      await s.close();
      await admin.close();
      await database.drop();
    }
  });

  test('a writer stalled inside a transaction (paused, cut off) is ended: the others go on, its write does not land', async () => {
    const database = await freshPostgresDatabase(TEST_PG_URL!);
    const stalled = new URL(database.url);
    stalled.searchParams.set('idle_in_transaction_session_timeout', '500');
    const [s, other] = [await openStore({ url: stalled.toString() }), await openStore({ url: database.url })];
    try {
      assert.equal((await sql<{ t: string }>`select current_setting('idle_in_transaction_session_timeout') as t`.execute(other.db)).rows[0]!.t, '30s');
      // The stalled writer holds the audit log's lock, which every transition needs.
      const held = s.write(async (tx) => {
        await tableAuditSink('postgres').append(tx, { requestId: null, kind: 'stalled', payload: {} }, new Date().toISOString());
        await new Promise((r) => setTimeout(r, 3000));
        await sql`select 1`.execute(tx);
      });
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await createRequest({ store: other }, input, 'op');
      assert.ok(performance.now() - t0 < 2500, `the other writer waited ${performance.now() - t0} ms`);
      await assert.rejects(held);
      const kinds = (await other.db.selectFrom('audit_entries').select('kind').execute()).map((r) => r.kind);
      assert.deepEqual(kinds.filter((k) => k === 'stalled'), []);
    } finally {
      await s.close();
      await other.close();
      await database.drop();
    }
  });
});
