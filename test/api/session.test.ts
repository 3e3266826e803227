// The dashboard's session: a token becomes an HttpOnly, SameSite=Strict cookie; the cookie reads, but changes need
// the CSRF header; signing out clears it. And the dashboard's files are served from this process, with the
// security headers, and nothing else under /web/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApi, type TestApi } from './server.ts';

describe('dashboard session and files', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api.close());

  test('a token becomes a cookie; reads work with it, changes need the CSRF header; sign-out clears it', async () => {
    const bad = await api.call('POST', '/api/session', { body: { token: 'lethe_nope' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    const ok = await api.call('POST', '/api/session', { body: { token: api.tokens.operator } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(Object.keys(JSON.parse(ok.body) as object).sort(), ['expiresAt', 'id', 'name', 'role']);
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /^lethe_session=lethe_[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const jar = { cookie: cookie.split(';')[0]! };
    assert.equal((await api.call('GET', '/api/me', { headers: jar })).statusCode, 200);
    const id = await api.requestIn('pending_approval');
    const forged = await api.call('POST', `/api/requests/${id}/approve`, { headers: jar });
    assert.equal(forged.statusCode, 403);
    assert.match((JSON.parse(forged.body) as { detail: string }).detail, /x-lethe-csrf/);
    assert.equal((await api.call('GET', `/api/requests/${id}`, { role: 'auditor' }).then((r) => JSON.parse(r.body) as { state: string })).state, 'pending_approval', 'the forged post changed nothing');
    assert.equal((await api.call('POST', `/api/requests/${id}/approve`, { headers: { ...jar, 'x-lethe-csrf': '1' } })).statusCode, 200);
    // A bearer header wins over the cookie, and needs no CSRF header (no browser sends it on its own).
    assert.equal((JSON.parse((await api.call('GET', '/api/me', { role: 'auditor', headers: jar })).body) as { role: string }).role, 'auditor');
    const out = await api.call('DELETE', '/api/session', { headers: jar });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /^lethe_session=; .*Max-Age=0/);
  });

  test('the dashboard is served locally with the security headers; nothing else under /web/', async () => {
    const page = await api.call('GET', '/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<script type="module" src="\/web\/app.js">/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no asset from elsewhere');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|upgrade-insecure-requests/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    for (const [url, type] of [['/web/app.js', /^text\/javascript/], ['/web/app.css', /^text\/css/]] as const) {
      const r = await api.call('GET', url);
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), type);
    }
    assert.equal((await api.call('GET', '/web/../package.json')).statusCode, 404);
    assert.equal((await api.call('GET', '/web/secret.txt')).statusCode, 404);
  });
});
