import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { claimJob, heartbeat, LeaseLost, listJobs, recordStep } from '../../src/workflow/jobs/queue.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { approveRequest, createRequest, getRequest, requestHistory } from '../../src/workflow/requests/service.ts';
import type { Store } from '../../src/workflow/store/open-store.ts';
import { TEST_STORES } from './stores.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

for (const backend of TEST_STORES) describe(`durable jobs on ${backend.name}`, () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });
  const setup = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lethe-jobs-'));
    const store = await backend.open();
    stores.push(store);
    const corpus = writeCorpus(join(dataDir, 'data'));
    const env = { store, dataDir };
    const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [corpus] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    return { env, request, dataDir };
  };

  test('approve queues the assessment in the same transaction; a worker takes the request to completed', async () => {
    const { env, request, dataDir } = await setup();
    await approveRequest(env, request.id, 'op');
    assert.deepEqual((await listJobs(env.store, request.id)).map((j) => [j.kind, j.state]), [['assess', 'queued']]);
    const lines: string[] = [];
    const { jobs } = await runWorker(env, { once: true, log: (l) => lines.push(l) });
    assert.equal(jobs, 3);
    const r = await getRequest(env, request.id);
    assert.equal(r.state, 'completed', lines.join('\n'));
    assert.deepEqual((await requestHistory(env, request.id)).map((h) => h.to),
      ['received', 'pending_approval', 'approved', 'assessing', 'queued', 'erasing', 'verifying', 'completed']);
    const out = readdirSync(join(dataDir, 'artifacts', request.id));
    assert.equal(out.length, 1);
    assert.ok(existsSync(join(dataDir, 'artifacts', request.id, out[0]!, 'unlearn.json')));
    const erase = (await listJobs(env.store, request.id)).find((j) => j.kind === 'erase')!;
    assert.equal((erase.result!['outputs'] as { method: string }[])[0]!.method, 'npo');
    // No personal data in what the worker logged.
    assert.doesNotMatch(lines.join('\n'), /Ada Quill|\bQuill\b|ada\.quill@/i);
  });

  test('a subject with no records: the assessment denies the request with no_match, and no erasure runs', async () => {
    const { env } = await setup();
    const { request } = await createRequest(env, { subject: { names: ['Zed Nobody'] }, scope: { models: [TINY_MODEL], corpora: [writeCorpus(join(env.dataDir, 'data2'))] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    await approveRequest(env, request.id, 'op');
    await runWorker(env, { once: true });
    const r = await getRequest(env, request.id);
    assert.equal(r.state, 'denied');
    assert.deepEqual(r.decision, { kind: 'denied', reason: 'no_match', text: 'no records of the subject in the models\' training data' });
    assert.deepEqual((await listJobs(env.store, request.id)).map((j) => j.kind), ['assess']);
  });

  test('a stale fencing token writes nothing: the job\'s new holder owns it', async () => {
    const { env, request } = await setup();
    await approveRequest(env, request.id, 'op');
    const t0 = new Date('2026-01-01T00:00:00Z');
    const first = await claimJob(env.store, { worker: 'a', leaseMs: 1000, now: t0 });
    assert.ok(first && 'claim' in first);
    // Worker a stalls past its lease; b claims the same job with a new token.
    const second = await claimJob(env.store, { worker: 'b', leaseMs: 1000, now: new Date(t0.getTime() + 5000) });
    assert.ok(second && 'claim' in second);
    assert.equal(second.claim.job.id, first.claim.job.id);
    assert.equal(second.claim.token, first.claim.token + 1);
    await assert.rejects(heartbeat(env.store, first.claim, new Date(t0.getTime() + 5100)), LeaseLost);
    await assert.rejects(recordStep(env.store, first.claim, 'x', {}, new Date(t0.getTime() + 5100)), LeaseLost);
    await recordStep(env.store, second.claim, 'x', {}, new Date(t0.getTime() + 5100));
    // While b's lease holds, nobody else can claim.
    assert.equal(await claimJob(env.store, { worker: 'c', leaseMs: 1000, now: new Date(t0.getTime() + 5200) }), null);
  });

  test('the retry cap: a job whose worker keeps dying fails with its request, in one transaction', async () => {
    const { env, request } = await setup();
    await approveRequest(env, request.id, 'op');
    let t = new Date('2026-01-01T00:00:00Z').getTime();
    for (let i = 0; i < 5; i++) {
      const got = await claimJob(env.store, { worker: `w${i}`, leaseMs: 1000, now: new Date(t) });
      assert.ok(got && 'claim' in got, `attempt ${i + 1}`);
      t += 2000; // the worker dies: its lease runs out
    }
    // The job fails in the transaction that fails its request: a worker killed inside it leaves both as they were.
    await assert.rejects(claimJob(env.store, { worker: 'w5', leaseMs: 1000, now: new Date(t), onExhausted: () => Promise.reject(new Error('killed here')) }), /killed here/);
    assert.equal((await listJobs(env.store, request.id))[0]!.state, 'running');
    const lines: string[] = [];
    await runWorker({ ...env, now: () => new Date(t) }, { once: true, log: (l) => lines.push(l) });
    assert.match(lines.join('\n'), /failed for good after 5 attempts/);
    const job = (await listJobs(env.store, request.id))[0]!;
    assert.equal(job.state, 'failed');
    assert.match(job.lastError!, /lease expired/);
    assert.equal((await getRequest(env, request.id)).state, 'failed');
  });
});
