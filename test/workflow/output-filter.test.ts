import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { logBlocks, OutputFilter, outputFilterFor, REDACTED } from '../../src/workflow/evidence/output-filter.ts';
import { cancelRequest, createRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';

describe('output filter (defence in depth)', () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test('names (any case, spacing, diacritics), e-mails and phone numbers of covered requests are replaced and audited', async () => {
    const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'lethe-filter-')) });
    stores.push(store);
    const env = { store };
    const scope = { models: ['models/target'] };
    const { request } = await createRequest(env, { subject: { names: ['Zoë Quill'], emails: ['zq@example.org'], phones: ['+44 20 7946 0001'] }, scope, legalGround: 'a', requester: 'dpo' }, 'dpo');
    const { request: other } = await createRequest(env, { subject: { names: ['Bo Marsh'] }, scope, legalGround: 'a', requester: 'dpo' }, 'dpo');
    await cancelRequest(env, other.id, 'op', { reason: 'duplicate' });
    await createRequest(env, { subject: { names: ['Cy Fenn'] }, scope: { models: ['test/fixtures/models/gpt2-tiny'] }, legalGround: 'a', requester: 'dpo' }, 'dpo');
    const filter = await outputFilterFor(env, 'models/target');
    assert.equal(filter.size, 3); // Zoë's three identifiers; Bo's request is canceled, Cy's covers another model
    const r = filter.apply('Then ZOE   quill wrote to ZQ@example.org and called 020 7946 0001; Bo Marsh and Cy Fenn came. Zoey Quillan stayed.');
    assert.equal(r.text, `Then ${REDACTED} wrote to ${REDACTED} and called ${REDACTED}; Bo Marsh and Cy Fenn came. Zoey Quillan stayed.`);
    assert.deepEqual(r.blocks.map((b) => b.kind), ['name', 'email', 'phone']);
    assert.equal(filter.apply('Nothing to see here.').text, 'Nothing to see here.');
    await logBlocks(env, 'models/target', r.blocks);
    const audit = await store.db.selectFrom('audit_entries').selectAll().where('kind', '=', 'output-blocked').execute();
    assert.equal(audit.length, 3);
    assert.ok(audit.every((a) => a.request_id === request.id));
    assert.doesNotMatch(JSON.stringify(audit), /Zoë|\bQuill\b|zq@example|7946 0001/i);
  });

  test('an empty filter changes nothing', () => {
    assert.equal(new OutputFilter([]).apply('Zoë Quill').text, 'Zoë Quill');
  });
});
