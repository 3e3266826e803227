import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkpointLog, proveEntry, verifyInclusionEvidence, verifyLog, verifyLogRows } from '../../src/workflow/audit/audit-log.ts';
import { initKeys, loadSigningKey } from '../../src/workflow/audit/keys.ts';
import { Rng } from '../../src/engine/random.ts';
import { approveRequest, cancelRequest, createRequest, verifyIdentity } from '../../src/workflow/requests/service.ts';
import type { Store } from '../../src/workflow/store/open-store.ts';
import type { AuditCheckpointsTable, AuditEntriesTable } from '../../src/workflow/store/schema.ts';
import { TEST_STORES } from './stores.ts';

const input = (name: string) => ({ subject: { names: [name] }, scope: { models: ['models/target'] }, legalGround: 'a', requester: 'dpo' });

for (const backend of TEST_STORES) {
  describe(`audit log on ${backend.name}`, () => {
    const stores: Store[] = [];
    after(async () => { for (const s of stores) await s.close(); });
    const setup = async () => {
      const store = await backend.open();
      stores.push(store);
      const keyDir = mkdtempSync(join(tmpdir(), 'lethe-keys-'));
      initKeys(keyDir, 'lethe-test');
      const key = loadSigningKey(keyDir);
      const env = { store };
      // Some history: three requests, transitions, a checkpoint in the middle and one at the end.
      for (const name of ['A One', 'B Two']) {
        const { request } = await createRequest(env, input(name), 'dpo');
        await verifyIdentity(env, request.id, 'op');
        await approveRequest(env, request.id, 'op');
      }
      await checkpointLog(store, key);
      const { request } = await createRequest(env, input('C Three'), 'dpo');
      await cancelRequest(env, request.id, 'op', { reason: 'duplicate' });
      await checkpointLog(store, key);
      return { store, key, keyDir };
    };

    test('every transition is a leaf; the signed checkpoints verify; an inclusion proof verifies offline', async () => {
      const { store, key } = await setup();
      const v = await verifyLog(store, key.name, key.publicKey);
      assert.deepEqual(v, { ok: true, entries: 11, checkpoints: 2, problem: null });
      const e = await proveEntry(store, 5);
      assert.equal(verifyInclusionEvidence(e, key.name, key.publicKey), null);
      assert.match(verifyInclusionEvidence({ ...e, index: 5 }, key.name, key.publicKey)!, /not in the tree/);
      const other = generateKeyPairSync('ed25519').publicKey;
      assert.match(verifyInclusionEvidence(e, key.name, other)!, /no signature by key lethe-test/);
    });

    test('an entry edited in the database is found, naming it', async () => {
      const { store, key } = await setup();
      await store.db.updateTable('audit_entries').set({ payload: '{"from":"received","to":"approved","actor":"op","reason":null}' }).where('seq', '=', 3).execute();
      assert.match((await verifyLog(store, key.name, key.publicKey)).problem!, /entry 3 does not match its leaf hash/);
      await store.db.updateTable('audit_entries').set({ leaf_hash: null }).where('seq', '=', 3).execute();
      assert.match((await verifyLog(store, key.name, key.publicKey)).problem!, /first 8 entries do not hash to the root signed/);
    });

    test('tamper harness: 1,000 random tamperings of the log are all found, the untouched log always verifies', async () => {
      const { store, key } = await setup();
      const rows = await store.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
      const cps = await store.db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
      const rng = new Rng(11);
      const pick = (n: number) => rng.nextU32() % n;
      const flip = (s: string): string => {
        const b = Buffer.from(s);
        const k = pick(b.length);
        b[k] = b[k]! ^ (1 << pick(8));
        return b.toString('latin1');
      };
      const kinds = ['flip entry byte', 'flip entry byte, recompute its stored hash', 'delete entry', 'insert entry', 'swap two entries', 'truncate', 'flip checkpoint byte', 'other key'] as const;
      const found = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<(typeof kinds)[number], number>;
      const other = generateKeyPairSync('ed25519').publicKey;
      for (let t = 0; t < 1000; t++) {
        const kind = kinds[t % kinds.length]!;
        let r: AuditEntriesTable[] = rows.map((x) => ({ ...x }));
        let c: AuditCheckpointsTable[] = cps.map((x) => ({ ...x }));
        let pub = key.publicKey;
        const i = pick(r.length - 1); // below the last checkpoint, which covers every entry
        const field = (['at', 'kind', 'payload', 'request_id'] as const)[pick(4)]!;
        if (kind.startsWith('flip entry byte')) {
          const value = r[i]![field] ?? 'x';
          r[i] = { ...r[i]!, [field]: flip(value) };
          if (kind.endsWith('hash')) r[i]!.leaf_hash = null;
        } else if (kind === 'delete entry') r.splice(i, 1);
        else if (kind === 'insert entry') r.splice(i, 0, { ...r[i]!, payload: '{"inserted":true}', leaf_hash: null });
        else if (kind === 'swap two entries') {
          const j = (i + 1 + pick(r.length - 1)) % r.length;
          [r[i], r[j]] = [{ ...r[j]!, seq: r[i]!.seq }, { ...r[i]!, seq: r[j]!.seq }];
        } else if (kind === 'truncate') r = r.slice(0, 1 + pick(r.length - 1));
        else if (kind === 'flip checkpoint byte') {
          const k = pick(c.length);
          c[k] = { ...c[k]!, note: flip(c[k]!.note) };
        } else pub = other;
        const v = verifyLogRows(r, c, key.name, pub);
        assert.equal(v.ok, false, `${kind} #${t} was not found`);
        found[kind]++;
        assert.equal(verifyLogRows(rows, cps, key.name, key.publicKey).ok, true);
        c = cps;
      }
      assert.equal(Object.values(found).reduce((a, b) => a + b, 0), 1000);
    });
  });
}

describe('signing keys', () => {
  test('the private key is mode 0600 and never replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-keys-'));
    const { privatePath, verifier } = initKeys(dir, 'lethe-audit');
    assert.equal(statSync(privatePath).mode & 0o777, 0o600);
    assert.match(verifier, /^lethe-audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    assert.throws(() => initKeys(dir, 'lethe-audit'), /exists: a key is never replaced/);
  });
});
