import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { crypto as sigstoreCrypto, dsse as sigstoreDsse } from '@sigstore/core';
import { Rng } from '../../src/engine/random.ts';
import { initKeys, loadSigningKey } from '../../src/workflow/audit/keys.ts';
import { issueCertificate, verifyCertificate } from '../../src/workflow/evidence/certificate.ts';
import { preAuthEncoding, signEnvelope, type Envelope } from '../../src/workflow/evidence/dsse.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { updateOperatorFields } from '../../src/workflow/report/operator-fields.ts';
import { approveRequest, createRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

describe('certificate of erasure', () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test('DSSE: our pre-authentication encoding and signatures agree with @sigstore/core', () => {
    const rng = new Rng(3);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    for (let i = 0; i < 50; i++) {
      const body = Buffer.from(Array.from({ length: rng.nextU32() % 300 }, () => rng.nextU32() % 256));
      const type = ['application/vnd.in-toto+json', 'text/plain; charset=é', ''][i % 3]!;
      assert.deepEqual(preAuthEncoding(type, body), sigstoreDsse.preAuthEncoding(type, body));
    }
    const e = signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), { name: 'k', privateKey, publicKey });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.ok(sigstoreCrypto.verify(sigstoreDsse.preAuthEncoding(e.payloadType, Buffer.from('{"a":1}')), pem, Buffer.from(e.signatures[0]!.sig, 'base64')));
  });

  test('a request filed, assessed, erased, completed: its certificate verifies offline; 1,000 tamperings are all found', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lethe-cert-'));
    const store = await openStore({ dataDir });
    stores.push(store);
    const env = { store, dataDir };
    const corpus = writeCorpus(join(dataDir, 'data'));
    const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [corpus] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    await approveRequest(env, request.id, 'op');
    await runWorker(env, { once: true });
    // The operator's record for the DPO report goes into the certificate, with the subject's identifiers filtered out.
    updateOperatorFields(dataDir, request.id, { set: { backups: 'nightly snapshots, overwritten after 30 days' }, addRecipients: ['Acme Analytics, told 2026-11-02 about Ada Quill'] }, 'op', new Date());
    initKeys(join(dataDir, 'keys'), 'lethe-test');
    const key = loadSigningKey(join(dataDir, 'keys'));
    const cert = await issueCertificate(env, request.id, key);
    assert.deepEqual(await issueCertificate(env, request.id, key), cert, 'issued once, then returned as stored');
    const outDir = join(dataDir, 'artifacts', request.id, readdirSync(join(dataDir, 'artifacts', request.id))[0]!);
    const ok = verifyCertificate(cert, key.name, key.publicKey, { modelDir: outDir });
    assert.equal(ok.problem, null);
    const p = ok.statement!.predicate;
    assert.equal(p.request.id, request.id);
    assert.equal(p.corpus.recordsFound, 3);
    assert.deepEqual([p.recipientsNotified, p.residual.backups], [['Acme Analytics, told 2026-11-02 about [erased]'], 'nightly snapshots, overwritten after 30 days']);
    // No holdout is registered with the corpus: nothing to compare with, so nothing is judged, and the certificate says so.
    assert.equal(p.verification.result, 'INCONCLUSIVE');
    assert.match(p.verification.summary, /no non-member reference/);
    assert.doesNotMatch(Buffer.from(cert.payload, 'base64').toString(), /Ada Quill|\bQuill\b|ada\.quill@/i);
    assert.match(verifyCertificate(cert, key.name, key.publicKey, { modelDir: TINY_MODEL }).problem!, /is not a model this certificate covers/);
    const other = generateKeyPairSync('ed25519').publicKey;
    assert.match(verifyCertificate(cert, key.name, other).problem!, /no signature by key/);

    // Tamperings: a flipped bit in the payload or the signature, an edited predicate field re-encoded without a new
    // signature, a signature from another key under our key id.
    const rng = new Rng(5);
    const statement = JSON.parse(Buffer.from(cert.payload, 'base64').toString()) as Record<string, unknown>;
    const edits: ((s: Record<string, any>) => void)[] = [
      (s) => { s['predicate']['request']['receivedAt'] = '2020-01-01T00:00:00.000Z'; },
      (s) => { s['predicate']['verification']['result'] = 'PASSED'; },
      (s) => { s['predicate']['corpus']['recordsFound'] += 1; },
      (s) => { s['subject'][0]['digest']['sha256'] = '0'.repeat(64); },
      (s) => { s['predicate']['dataSubject']['commitment'] = 'f'.repeat(64); },
      (s) => { s['predicate']['auditLog']['entry']['seq'] += 1; },
    ];
    const forger = generateKeyPairSync('ed25519');
    let found = 0;
    for (let t = 0; t < 1000; t++) {
      let e: Envelope = structuredClone(cert);
      const kind = t % 4;
      if (kind === 0) {
        const b = Buffer.from(e.payload, 'base64');
        const i = rng.nextU32() % b.length;
        b[i] = b[i]! ^ (1 << (rng.nextU32() % 8));
        e.payload = b.toString('base64');
      } else if (kind === 1) {
        const b = Buffer.from(e.signatures[0]!.sig, 'base64');
        const i = rng.nextU32() % b.length;
        b[i] = b[i]! ^ (1 << (rng.nextU32() % 8));
        e.signatures[0]!.sig = b.toString('base64');
      } else if (kind === 2) {
        const s = structuredClone(statement);
        edits[t % edits.length]!(s);
        e.payload = Buffer.from(JSON.stringify(s)).toString('base64');
      } else {
        const forged = signEnvelope(e.payloadType, Buffer.from(e.payload, 'base64'), { name: key.name, ...forger });
        e = { ...forged, signatures: [{ keyid: cert.signatures[0]!.keyid, sig: forged.signatures[0]!.sig }] };
      }
      if (verifyCertificate(e, key.name, key.publicKey).problem !== null) found++;
      assert.equal(verifyCertificate(cert, key.name, key.publicKey).problem, null);
    }
    assert.equal(found, 1000);
  });
});
