import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { enqueueJob, listJobs } from '../../src/workflow/jobs/queue.ts';
import { runWorker, type WorkerOptions } from '../../src/workflow/jobs/worker.ts';
import { createRequest, type WorkflowEnv } from '../../src/workflow/requests/service.ts';
import type { Store } from '../../src/workflow/store/open-store.ts';
import { SUBJECT, TINY_MODEL } from './fixtures.ts';
import { TEST_PG_URL, TEST_STORES } from './stores.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request waiting for approval, so an assess job on it has nothing to do: the worker claims it and ends it at once. */
async function newRequest(env: WorkflowEnv): Promise<string> {
  const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
  return request.id;
}

/** Files an assess job; resolves once its transaction has committed, with the job id and the commit time. */
async function fileJob(env: WorkflowEnv, requestId: string): Promise<{ id: string; at: number }> {
  const id = await env.store.write((tx) => enqueueJob(tx, { requestId, kind: 'assess', now: new Date() }));
  return { id, at: performance.now() };
}

/** A worker running until `stop`; its log lines with the time each was written. */
function startWorker(env: WorkflowEnv, o: WorkerOptions) {
  const lines: { at: number; line: string }[] = [];
  const ctl = new AbortController();
  const done = runWorker(env, { ...o, signal: ctl.signal, log: (line) => lines.push({ at: performance.now(), line }) });
  const waitFor = async (re: RegExp, ms: number): Promise<number> => {
    const end = performance.now() + ms;
    for (;;) {
      const hit = lines.find((l) => re.test(l.line));
      if (hit) return hit.at;
      if (performance.now() > end) assert.fail(`no log line matching ${re} within ${ms} ms; the worker logged:\n${lines.map((l) => l.line).join('\n')}`);
      await sleep(10);
    }
  };
  const stop = async () => {
    ctl.abort();
    return done;
  };
  return { lines, waitFor, stop };
}

for (const backend of TEST_STORES.filter((b) => b.name === 'sqlite')) describe(`waking idle workers on ${backend.name}`, () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test('polling still works: a job filed while the worker is idle is taken at the next poll', async () => {
    const store = await backend.open();
    stores.push(store);
    const env = { store, dataDir: mkdtempSync(join(tmpdir(), 'lethe-wake-')) };
    const requestId = await newRequest(env);
    const w = startWorker(env, { pollMs: 200 });
    await sleep(300);
    const job = await fileJob(env, requestId);
    const claimedAt = await w.waitFor(new RegExp(`job ${job.id} .*claimed`), 5_000);
    assert.ok(claimedAt - job.at < 5_000, `claimed ${Math.round(claimedAt - job.at)} ms after the commit, with a 200 ms poll`);
    assert.deepEqual((await w.stop()).jobs, 1);
    assert.equal((await listJobs(store, requestId))[0]!.state, 'done');
    assert.ok(!w.lines.some((l) => /wake: /.test(l.line)), 'no LISTEN session on SQLite');
  });

  test('an idle worker stops as soon as its signal aborts, not at the end of its poll interval', async () => {
    const store = await backend.open();
    stores.push(store);
    const w = startWorker({ store }, { pollMs: 60_000 });
    await sleep(200);
    const t = performance.now();
    await w.stop();
    assert.ok(performance.now() - t < 1_000);
  });
});

describe('waking idle workers on postgres (LISTEN/NOTIFY)', { skip: TEST_PG_URL ? false : 'LETHE_TEST_PG is not set: no PostgreSQL to test LISTEN/NOTIFY on' }, () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });
  const setup = async () => {
    const store = await TEST_STORES.find((b) => b.name === 'postgres')!.open();
    stores.push(store);
    const env = { store, dataDir: mkdtempSync(join(tmpdir(), 'lethe-wake-')) };
    return { env, requestId: await newRequest(env) };
  };

  test('a job filed while the worker is idle wakes it at once, with a 60 s poll interval', async () => {
    const { env, requestId } = await setup();
    const w = startWorker(env, { pollMs: 60_000 });
    await w.waitFor(/wake: listening for new jobs/, 10_000);
    await sleep(300); // idle: the claim after the session opened found nothing
    const job = await fileJob(env, requestId);
    const claimedAt = await w.waitFor(new RegExp(`job ${job.id} .*claimed`), 10_000);
    assert.ok(claimedAt - job.at < 5_000, `claimed ${Math.round(claimedAt - job.at)} ms after the commit`);
    assert.equal((await w.stop()).jobs, 1);
    assert.equal((await listJobs(env.store, requestId))[0]!.state, 'done');
  });

  test('a LISTEN session the server ends is reconnected, and wakes the worker again', async () => {
    const { env, requestId } = await setup();
    const w = startWorker(env, { pollMs: 60_000 });
    await w.waitFor(/wake: listening for new jobs/, 10_000);
    const { rows } = await sql<{ ended: boolean }>`select pg_terminate_backend(pid) as ended from pg_stat_activity
      where application_name = 'lethe-wake' and datname = current_database()`.execute(env.store.db);
    assert.deepEqual(rows.map((r) => r.ended), [true]);
    await w.waitFor(/wake: the LISTEN session .* was lost/, 5_000);
    await w.waitFor(/wake: listening on .* again/, 10_000);
    await sleep(300);
    const job = await fileJob(env, requestId);
    const claimedAt = await w.waitFor(new RegExp(`job ${job.id} .*claimed`), 10_000);
    assert.ok(claimedAt - job.at < 5_000, `claimed ${Math.round(claimedAt - job.at)} ms after the commit`);
    assert.equal((await w.stop()).jobs, 1);
  });

  test('a worker whose LISTEN session cannot connect still works, by polling', async () => {
    const { env, requestId } = await setup();
    // The pool reaches the database; the LISTEN session is sent to a port where nothing listens.
    const broken = { ...env, store: { ...env.store, url: 'postgres://lethe:none@127.0.0.1:1/nowhere' } };
    const w = startWorker(broken, { pollMs: 200 });
    await w.waitFor(/wake: the LISTEN session .* was lost/, 10_000);
    const job = await fileJob(env, requestId);
    await w.waitFor(new RegExp(`job ${job.id} .*claimed`), 5_000);
    assert.equal((await w.stop()).jobs, 1);
    assert.equal((await listJobs(env.store, requestId))[0]!.state, 'done');
  });
});
