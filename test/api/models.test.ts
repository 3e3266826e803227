// Registering model folders over the API: the config is checked, the weights are hashed (name and bytes of each
// .safetensors file, in name order), the same folder and weights again is the same entry.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { TINY_MODEL } from '../workflow/fixtures.ts';
import { startTestApi } from './server.ts';

test('models: registered once per folder and weights, with the weights digest; bad folders refused with nothing stored', async () => {
  const api = await startTestApi();
  try {
    const first = await api.call('POST', '/api/models', { role: 'operator', body: { path: TINY_MODEL } });
    assert.equal(first.statusCode, 201, first.body);
    const m = (JSON.parse(first.body) as { model: { id: string; sha256: string; path: string; architecture: string; summary: { layers: number } } }).model;
    const h = createHash('sha256');
    for (const f of readdirSync(TINY_MODEL).filter((x) => x.endsWith('.safetensors')).sort()) h.update(`${f}\n`).update(readFileSync(join(TINY_MODEL, f)));
    assert.equal(m.sha256, h.digest('hex'));
    assert.equal(m.path, resolve(TINY_MODEL));
    assert.equal(m.architecture, 'GPT2LMHeadModel');
    assert.ok(m.summary.layers > 0);
    const again = await api.call('POST', '/api/models', { role: 'admin', body: { path: TINY_MODEL } });
    assert.equal(again.statusCode, 200);
    assert.equal((JSON.parse(again.body) as { model: { id: string } }).model.id, m.id);
    for (const [path, why] of [['/no/such/folder', /no config\.json/], [api.dir, /no config\.json/]] as const) {
      const r = await api.call('POST', '/api/models', { role: 'operator', body: { path } });
      assert.equal(r.statusCode, 400);
      assert.match((JSON.parse(r.body) as { detail: string }).detail, why);
    }
    const listed = JSON.parse((await api.call('GET', '/api/models', { role: 'requester' })).body) as { id: string }[];
    assert.deepEqual(listed.map((x) => x.id), [m.id]);
  } finally {
    await api.close();
  }
});
