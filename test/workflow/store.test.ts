import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../../src/workflow/store/open-store.ts';
import { createRequest, listRequests } from '../../src/workflow/requests/service.ts';

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
