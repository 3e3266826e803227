// Bad input over HTTP: each answer is RFC 9457 problem JSON with the status it deserves, says what is wrong without
// echoing the values sent, and leaves the store exactly as it was.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createToken, revokeToken } from '../../src/workflow/access/tokens.ts';
import { REQUEST_BODY, startTestApi, type TestApi } from './server.ts';

interface ProblemBody { type: string; title: string; status: number; detail?: string; instance?: string }

/** Rows of every table that a change would touch. */
async function snapshot(api: TestApi): Promise<string> {
  const db = api.env.store.db;
  const tables = ['requests', 'request_history', 'audit_entries', 'audit_checkpoints', 'jobs', 'corpora', 'certificates', 'api_tokens'] as const;
  const out: Record<string, unknown> = {};
  for (const t of tables) out[t] = await db.selectFrom(t).selectAll().execute();
  return JSON.stringify(out);
}

function problem(r: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, detail: RegExp, what: string): ProblemBody {
  assert.equal(r.statusCode, status, `${what}: ${r.statusCode} ${r.body}`);
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', what);
  const p = JSON.parse(r.body) as ProblemBody;
  assert.equal(p.status, status, what);
  assert.equal(p.type, 'about:blank');
  assert.ok(p.title.length > 0 && typeof p.instance === 'string', what);
  assert.match(p.detail ?? '', detail, what);
  return p;
}

describe('bad input over HTTP', () => {
  let api: TestApi;
  let existing: string;
  before(async () => {
    api = await startTestApi({ bodyLimit: 64 * 1024 });
    existing = await api.requestIn('pending_approval');
  });
  after(() => api.close());

  test('malformed JSON, wrong types, unknown fields, oversize bodies, wrong media types: 400/413/415, nothing stored', async () => {
    const before = await snapshot(api);
    const secret = 'Zed Secretname';
    problem(await api.call('POST', '/api/requests', { role: 'operator', raw: '{"subject": {' }), 400, /JSON/, 'malformed JSON');
    problem(await api.call('POST', '/api/requests', { role: 'operator', raw: '' }), 400, /.+/, 'empty JSON body');
    const typed = problem(await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, subject: { names: [secret, 42] } } }), 400, /^body\.subject\.names\.1: /, 'a number for a name');
    assert.ok(!JSON.stringify(typed).includes(secret), 'the values sent are not echoed');
    problem(await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, legalGround: 'z' } }), 400, /^body\.legalGround/, 'unknown legal ground');
    problem(await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, surprise: true } }), 400, /surprise|unrecognized/i, 'unknown field');
    problem(await api.call('POST', '/api/requests', { role: 'operator', body: [REQUEST_BODY] }), 400, /^body/, 'an array for an object');
    problem(await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, scope: { models: ['/no/such/model'] } } }), 400, /no\/such\/model|does not exist|not found/i, 'a model folder that does not exist');
    problem(await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, subject: { names: ['x'.repeat(70 * 1024)] } } }), 413, /too large/i, 'oversize body');
    problem(await api.call('POST', '/api/requests', { role: 'operator', raw: 'names=Ada', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, /.+/, 'form data');
    problem(await api.call('GET', '/api/requests?state=lost', { role: 'operator' }), 400, /^querystring\.state/, 'unknown state');
    problem(await api.call('GET', '/api/requests?dueWithinDays=soon', { role: 'operator' }), 400, /^querystring\.dueWithinDays/, 'a word for a number');
    problem(await api.call('POST', `/api/requests/${existing}/deny`, { role: 'operator', body: { reason: 'other' } }), 400, /needs a text/, 'reason other without text');
    problem(await api.call('POST', `/api/requests/${existing}/extend`, { role: 'operator', body: { until: 'next week', reason: 'x' } }), 400, /^body\.until/, 'a date that is not one');
    problem(await api.call('GET', '/api/audit/entries/0/proof', { role: 'auditor' }), 400, /^params\.seq/, 'entry 0');
    problem(await api.call('POST', '/api/tokens', { role: 'admin', body: { role: 'root', name: 'x' } }), 400, /^body\.role/, 'unknown role');
    assert.equal(await snapshot(api), before, 'the store is unchanged');
  });

  test('unknown ids and routes: 404; a transition the state does not allow: 409; nothing stored', async () => {
    const before = await snapshot(api);
    problem(await api.call('GET', '/api/requests/req_nope', { role: 'auditor' }), 404, /no request "req_nope"/, 'unknown request');
    problem(await api.call('POST', '/api/requests/req_nope/approve', { role: 'operator' }), 404, /no request/, 'approve an unknown request');
    problem(await api.call('GET', `/api/requests/${existing}/certificate`, { role: 'auditor' }), 404, /pending_approval/, 'no certificate yet');
    problem(await api.call('GET', `/api/requests/${existing}/assessment`, { role: 'auditor' }), 404, /no assessment/, 'no assessment yet');
    problem(await api.call('DELETE', '/api/tokens/nope', { role: 'admin' }), 404, /no token/, 'unknown token');
    problem(await api.call('GET', '/api/nothing', { role: 'admin' }), 404, /no route/, 'unknown route');
    problem(await api.call('POST', `/api/requests/${existing}/resume`, { role: 'operator' }), 409, /.+/, 'resume what is not paused');
    problem(await api.call('POST', `/api/requests/${existing}/certificate`, { role: 'operator' }), 409, /completed/, 'certificate of an open request');
    assert.equal(await snapshot(api), before, 'the store is unchanged');
  });

  test('tokens that do not authenticate: malformed, unknown, revoked, expired — 401 with the reason', async () => {
    const revoked = await createToken(api.env, { role: 'operator', name: 'gone' }, 'test');
    await revokeToken(api.env, revoked.info.id, 'test');
    const expiring = await createToken(api.env, { role: 'operator', name: 'brief', expiresInDays: 1 }, 'test');
    const before = await snapshot(api);
    const as = (token: string) => api.call('GET', '/api/requests', { token });
    problem(await api.call('GET', '/api/requests', { headers: { authorization: 'Basic abc' } }), 401, /Bearer/, 'not a bearer header');
    problem(await as('hunter2'), 401, /not a Lethe token/, 'malformed');
    problem(await as(`${revoked.token.slice(0, -4)}AAAA`), 401, /unknown token/, 'a wrong secret');
    problem(await as(revoked.token), 401, /revoked/, 'revoked');
    assert.equal((await as(expiring.token)).statusCode, 200, 'before it expires');
    api.setNow(new Date(Date.now() + 2 * 86_400_000));
    try {
      problem(await as(expiring.token), 401, /expired/, 'expired');
    } finally {
      api.setNow(null);
    }
    assert.equal(await snapshot(api), before, 'the store is unchanged');
  });
});

describe('rate limit', () => {
  test('past the limit a client gets 429 problem JSON', async () => {
    const api = await startTestApi({ rateLimitPerMinute: 5 });
    try {
      const codes: number[] = [];
      let last = null;
      for (let i = 0; i < 7; i++) {
        last = await api.call('GET', '/api/requests', { role: 'auditor' });
        codes.push(last.statusCode);
      }
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
      problem(last!, 429, /at most 5 requests per minute/, 'rate limited');
    } finally {
      await api.close();
    }
  });
});
