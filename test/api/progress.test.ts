// Live progress over HTTP: a request filed and approved through the API, run by a worker, watched on the event
// stream — every state it passes through, the erasure's steps and loss curve, and the end of the stream at completed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { SUBJECT, TINY_MODEL } from '../workflow/fixtures.ts';
import { startTestApi } from './server.ts';

interface Snapshot {
  request: { state: string };
  jobs: { kind: string; state: string; worker: string | null; progress: { step: number; total: number; loss: number; curve: [number, number][] } | null }[];
}

/** Reads a server-sent event stream to its end: the data of every `progress` event. */
async function readEvents(res: Response): Promise<Snapshot[]> {
  const text = await res.text();
  return text.split('\n\n').filter((block) => block.includes('event: progress')).map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as Snapshot);
}

test('the event stream follows a request from approval to completed, with the erasure\'s steps and loss curve', async () => {
  const api = await startTestApi();
  try {
    const filed = await api.call('POST', '/api/requests', { role: 'requester', body: { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [api.corpus] }, legalGround: 'a', requester: 'x', identityVerified: true } });
    assert.equal(filed.statusCode, 201, filed.body);
    const id = (JSON.parse(filed.body) as { request: { id: string } }).request.id;
    assert.equal((await api.call('POST', `/api/requests/${id}/approve`, { role: 'operator' })).statusCode, 200);
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const stream = fetch(`${url}/api/requests/${id}/events`, { headers: { authorization: `Bearer ${api.tokens.requester}` } });
    const res = await stream;
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = readEvents(res);
    await runWorker(api.env, { once: true });
    const seen = await events;
    const states = [...new Set(seen.map((s) => s.request.state))];
    assert.equal(states[0], 'approved');
    assert.equal(states.at(-1), 'completed', `the stream ends at completed (states seen: ${states.join(', ')})`);
    const erase = seen.at(-1)!.jobs.find((j) => j.kind === 'erase')!;
    assert.ok(erase.progress, 'the erase job reported progress');
    assert.equal(erase.progress.step, erase.progress.total, 'the last step is recorded');
    assert.ok(erase.progress.curve.length >= 2 && erase.progress.curve.every(([s, l]) => Number.isInteger(s) && Number.isFinite(l)));
    assert.ok(seen.every((s) => s.jobs.every((j) => j.worker === null)), 'a requester is not shown worker names');
    // The same snapshot on demand, with the worker's name for an operator.
    const snap = JSON.parse((await api.call('GET', `/api/requests/${id}/progress`, { role: 'operator' })).body) as Snapshot;
    assert.equal(snap.request.state, 'completed');
    assert.ok(snap.jobs.every((j) => j.state === 'done' && j.worker !== null));
  } finally {
    await api.close();
  }
});

test('shutting the server down ends open event streams instead of waiting for them', async () => {
  const api = await startTestApi();
  const id = await api.requestIn('pending_approval');
  const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${url}/api/requests/${id}/events`, { headers: { authorization: `Bearer ${api.tokens.auditor}` } });
  const body = res.text();
  const started = performance.now();
  await api.close();
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 5, `close took ${seconds.toFixed(1)} s with a stream open`);
  const events = (await body).split('\n\n').filter((b) => b.includes('event: progress'));
  assert.equal(events.length, 1, 'the stream sent its first snapshot, then ended');
});
