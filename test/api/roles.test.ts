// Every route × every role, read off the OpenAPI document: 401 without a token, 403 with a role the route does not
// admit, 2xx with one it does. Each documented operation needs a valid call below, so a new route cannot go untested.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ROLES, type Role } from '../../src/workflow/access/roles.ts';
import { ProgressRecorder } from '../../src/workflow/jobs/progress.ts';
import { enqueueJob } from '../../src/workflow/jobs/queue.ts';
import { TINY_MODEL } from '../workflow/fixtures.ts';
import { REQUEST_BODY, startTestApi, type TestApi } from './server.ts';

interface Operation { method: string; path: string; roles: Role[] | null }

/** A call that succeeds for an admitted role: the URL (ids filled in, fresh state each time) and the body. */
type ValidCall = (api: TestApi) => Promise<{ url: string; body?: unknown }>;

const later = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const VALID: Record<string, ValidCall> = {
  'POST /api/requests': async () => ({ url: '/api/requests', body: REQUEST_BODY }),
  'GET /api/requests': async () => ({ url: '/api/requests?state=pending_approval&overdue=false' }),
  'GET /api/requests/{id}': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}` }),
  'POST /api/requests/{id}/verify-identity': async (api) => ({ url: `/api/requests/${await api.requestIn('identity_unverified')}/verify-identity` }),
  'POST /api/requests/{id}/approve': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}/approve` }),
  'POST /api/requests/{id}/resume': async (api) => ({ url: `/api/requests/${await api.requestIn('paused', { paused_from: 'assessing' })}/resume` }),
  'POST /api/requests/{id}/retry': async (api) => ({ url: `/api/requests/${await api.requestIn('failed')}/retry` }),
  'POST /api/requests/{id}/deny': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}/deny`, body: { reason: 'duplicate' } }),
  'POST /api/requests/{id}/cancel': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}/cancel`, body: { reason: 'other', text: 'withdrawn by the subject' } }),
  'POST /api/requests/{id}/extend': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}/extend`, body: { until: later(45), reason: 'many records' } }),
  'POST /api/requests/{id}/pause': async (api) => ({ url: `/api/requests/${await api.requestIn('assessing')}/pause`, body: { reason: 'maintenance' } }),
  'GET /api/requests/{id}/assessment': async (api) => ({ url: `/api/requests/${await assessed(api, 'assessing')}/assessment` }),
  'POST /api/requests/{id}/assessment/decision': async (api) => ({ url: `/api/requests/${await assessed(api, 'requires_input')}/assessment/decision`, body: { confirm: [] } }),
  'GET /api/requests/{id}/verification': async (api) => ({ url: `/api/requests/${await verified(api)}/verification` }),
  'GET /api/requests/{id}/jobs': async (api) => ({ url: `/api/requests/${await api.requestIn('queued')}/jobs` }),
  'GET /api/requests/{id}/progress': async (api) => ({ url: `/api/requests/${await api.requestIn('erasing')}/progress` }),
  'GET /api/requests/{id}/loss.svg': async (api) => ({ url: `/api/requests/${await erasing(api)}/loss.svg` }),
  'GET /api/requests/{id}/report': async (api) => ({ url: `/api/requests/${await api.requestIn('pending_approval')}/report` }),
  'GET /api/jobs': async () => ({ url: '/api/jobs?state=running' }),
  'GET /api/me': async () => ({ url: '/api/me' }),
  // A closed request's stream sends its one snapshot and ends.
  'GET /api/requests/{id}/events': async (api) => ({ url: `/api/requests/${await api.requestIn('completed')}/events` }),
  'GET /api/requests/{id}/certificate': async (api) => ({ url: `/api/requests/${await certified(api)}/certificate` }),
  'POST /api/requests/{id}/certificate': async (api) => ({ url: `/api/requests/${await certified(api)}/certificate` }),
  'POST /api/certificates/verify': async () => ({ url: '/api/certificates/verify', body: { envelope: FAKE_ENVELOPE } }),
  'GET /api/audit/checkpoints': async () => ({ url: '/api/audit/checkpoints' }),
  'POST /api/audit/checkpoints': async () => ({ url: '/api/audit/checkpoints' }),
  'GET /api/audit/verify': async () => ({ url: '/api/audit/verify' }),
  'GET /api/audit/entries/{seq}/proof': async (api) => {
    await api.call('POST', '/api/audit/checkpoints', { role: 'operator' });
    return { url: '/api/audit/entries/1/proof' };
  },
  'GET /api/corpora': async () => ({ url: '/api/corpora' }),
  'POST /api/corpora': async (api) => ({ url: '/api/corpora', body: { path: api.corpus } }),
  'GET /api/methods': async () => ({ url: '/api/methods' }),
  'GET /api/models': async () => ({ url: '/api/models' }),
  'POST /api/models': async () => ({ url: '/api/models', body: { path: TINY_MODEL } }),
  'GET /api/tokens': async () => ({ url: '/api/tokens' }),
  'POST /api/tokens': async () => ({ url: '/api/tokens', body: { role: 'auditor', name: 'second auditor', expiresInDays: 30 } }),
  'DELETE /api/tokens/{id}': async (api) => {
    const made = await api.call('POST', '/api/tokens', { role: 'admin', body: { role: 'requester', name: 'to revoke' } });
    return { url: `/api/tokens/${(JSON.parse(made.body) as { info: { id: string } }).info.id}` };
  },
};

const FAKE_ENVELOPE = { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{}').toString('base64'), signatures: [{ keyid: 'x', sig: 'AAAA' }] };

/** A request being erased, whose erase job has reported three steps. */
async function erasing(api: TestApi): Promise<string> {
  const id = await api.requestIn('erasing');
  const jobId = await api.env.store.write((tx) => enqueueJob(tx, { requestId: id, kind: 'erase', now: new Date() }));
  const progress = new ProgressRecorder(api.env.store, jobId, 0, 0);
  for (const step of [1, 2, 3]) progress.record({ phase: 'unlearn', step, total: 10, loss: 3 - step / 2 });
  await progress.flush();
  return id;
}

/** A request in `state` with a stored assessment that has nothing left to confirm. */
async function assessed(api: TestApi, state: string): Promise<string> {
  const id = await api.requestIn(state);
  const a = { requestId: id, outcome: 'needs_confirmation', corpora: [], unavailable: [], models: [], toConfirm: 0, threshold: 1, createdAt: new Date().toISOString() };
  await api.env.store.db.insertInto('assessments').values({ request_id: id, result: JSON.stringify(a), created_at: a.createdAt }).execute();
  return id;
}

/** A completed request with a verification record (as the verify job stores it, in its job's result). */
async function verified(api: TestApi): Promise<string> {
  const id = await api.requestIn('completed');
  const record = { policy: {}, attempts: [], result: 'PASSED', decision: 'completed' };
  const jobId = await api.env.store.write((tx) => enqueueJob(tx, { requestId: id, kind: 'verify', now: new Date() }));
  await api.env.store.db.updateTable('jobs').set({ state: 'done', result: JSON.stringify({ verification: record }) }).where('id', '=', jobId).execute();
  return id;
}

/** A completed request whose certificate is on record (issuing returns the stored one). */
async function certified(api: TestApi): Promise<string> {
  const id = await api.requestIn('completed');
  await api.env.store.db.insertInto('certificates').values({ request_id: id, salt: '00', envelope: JSON.stringify(FAKE_ENVELOPE), created_at: new Date().toISOString() }).execute();
  return id;
}

describe('API routes × roles', () => {
  let api: TestApi;
  let ops: Operation[] = [];
  before(async () => {
    api = await startTestApi();
    const doc = JSON.parse((await api.call('GET', '/openapi.json')).body) as { paths: Record<string, Record<string, { 'x-roles'?: Role[]; security?: unknown[] }>> };
    ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, roles: op.security ? op['x-roles'] ?? [] : null })));
  });
  after(() => api.close());

  test('the OpenAPI document is valid OpenAPI 3 and lists every route with its roles', async () => {
    const doc = JSON.parse((await api.call('GET', '/openapi.json')).body) as Parameters<typeof SwaggerParser.validate>[0];
    await SwaggerParser.validate(structuredClone(doc));
    assert.ok(ops.length >= 25, `${ops.length} operations documented`);
    for (const op of ops) {
      if (op.roles === null) continue;
      assert.ok(op.roles.length > 0 && op.roles.every((r) => (ROLES as readonly string[]).includes(r)), `${op.method} ${op.path}: roles ${op.roles.join(', ')}`);
      assert.ok(op.roles.includes('admin'), `${op.method} ${op.path}: admin may do what the others may`);
    }
    // Every route the server answers is in the document: each documented operation has a valid call here, and each
    // valid call here is documented.
    assert.deepEqual(Object.keys(VALID).sort(), ops.filter((o) => o.roles !== null).map((o) => `${o.method} ${o.path}`).sort());
  });

  test('the policy: an auditor changes nothing, a requester files and follows, tokens are the admin\'s', () => {
    // Verifying a certificate computes, it stores nothing: the one POST an auditor may make.
    const readOnly = (o: Operation): boolean => o.method === 'GET' || `${o.method} ${o.path}` === 'POST /api/certificates/verify';
    for (const o of ops.filter((x) => x.roles?.includes('auditor'))) assert.ok(readOnly(o), `auditor may ${o.method} ${o.path}`);
    assert.ok(ops.filter((o) => o.method === 'GET' && o.roles).every((o) => o.path.startsWith('/api/tokens') || o.roles!.includes('auditor')), 'an auditor reads everything but tokens');
    const requester = ops.filter((o) => o.roles?.includes('requester')).map((o) => `${o.method} ${o.path}`).sort();
    assert.deepEqual(requester, [
      'GET /api/me', 'GET /api/methods', 'GET /api/models', 'GET /api/requests', 'GET /api/requests/{id}', 'GET /api/requests/{id}/certificate', 'GET /api/requests/{id}/events',
      'GET /api/requests/{id}/loss.svg', 'GET /api/requests/{id}/progress', 'POST /api/certificates/verify', 'POST /api/requests',
    ]);
    for (const o of ops.filter((x) => x.path.startsWith('/api/tokens'))) assert.deepEqual(o.roles, ['admin'], `${o.method} ${o.path}`);
  });

  test('401 without a token, 403 with a role not admitted, 2xx with each admitted role', async () => {
    for (const op of ops) {
      if (op.roles === null) continue;
      const key = `${op.method} ${op.path}`;
      const valid = VALID[key]!;
      const anonymous = await valid(api);
      const none = await api.call(op.method, anonymous.url, anonymous.body === undefined ? {} : { body: anonymous.body });
      assert.equal(none.statusCode, 401, `${key} without a token: ${none.body}`);
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      for (const role of ROLES) {
        const c = await valid(api);
        const r = await api.call(op.method, c.url, { role, ...(c.body === undefined ? {} : { body: c.body }) });
        if (op.roles.includes(role)) assert.ok(r.statusCode >= 200 && r.statusCode < 300, `${key} as ${role}: ${r.statusCode} ${r.body}`);
        else {
          assert.equal(r.statusCode, 403, `${key} as ${role}: ${r.statusCode} ${r.body}`);
          assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        }
      }
    }
  });

  test('a requester sees and fetches only its own requests', async () => {
    const mine = await api.call('POST', '/api/requests', { role: 'requester', body: { ...REQUEST_BODY, requester: 'someone else' } });
    const own = JSON.parse(mine.body) as { request: { id: string; requester: string } };
    assert.equal(own.request.requester, REQUEST_BODY.requester, 'a requester token files under its own name');
    const other = (JSON.parse((await api.call('POST', '/api/requests', { role: 'operator', body: { ...REQUEST_BODY, requester: 'another dpo' } })).body) as { request: { id: string } }).request.id;
    const listed = JSON.parse((await api.call('GET', '/api/requests', { role: 'requester' })).body) as { requester: string }[];
    assert.ok(listed.length > 0 && listed.every((r) => r.requester === REQUEST_BODY.requester));
    assert.equal((await api.call('GET', `/api/requests/${other}`, { role: 'requester' })).statusCode, 404);
    assert.equal((await api.call('GET', `/api/requests/${other}/certificate`, { role: 'requester' })).statusCode, 404);
    assert.equal((await api.call('GET', `/api/requests/${own.request.id}`, { role: 'requester' })).statusCode, 200);
    assert.equal((await api.call('GET', `/api/requests/${other}`, { role: 'auditor' })).statusCode, 200);
  });
});
