// One erasure request on the embedded benchmark, from filing to a certificate checked by `lethe verify-certificate`:
// the persons target model, its QA training records as the corpus, the never-trained holdout persons as the
// non-member reference, and a small step budget.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { initKeys, loadSigningKey } from '../../src/workflow/audit/keys.ts';
import { addCorpus } from '../../src/workflow/assess/corpora.ts';
import { issueCertificate } from '../../src/workflow/evidence/certificate.ts';
import { lastVerification } from '../../src/workflow/jobs/handlers.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { approveRequest, createRequest, getRequest, requestHistory } from '../../src/workflow/requests/service.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';

const MODEL = 'models/target';
const CORPUS = 'data/persons/all_qa.jsonl';
/** Five never-trained persons (100 QA records): enough non-members for the bar, few enough for a short test. */
function holdoutSample(dir: string): string {
  const path = join(dir, 'holdout-sample.jsonl');
  writeFileSync(path, readFileSync('data/persons/holdout.jsonl', 'utf8').split('\n').slice(0, 100).join('\n') + '\n');
  return path;
}

test('embedded benchmark: file → assess → erase → verify against the bar → certificate → lethe verify-certificate', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lethe-e2e-'));
  const store = await openStore({ dataDir });
  // A step budget keeps the test short (12 steps, 8 retain items a step instead of NPO's 48, guard checks on 16
  // items); escalation doubles the steps when the bar is missed.
  const env = { store, dataDir, eraseOptions: ['steps=12', 'retainBatchSize=8', 'checkSamples=16'] };
  try {
    // A forget10 person: trained into the target, 20 QA records in the corpus.
    const subject = readTrainingRecords('data/persons/forget10.jsonl')[0]!;
    const name = subject.kind === 'qa' ? subject.subject! : '';
    await addCorpus(env, CORPUS, { holdout: holdoutSample(dataDir) });
    const { request } = await createRequest(env, {
      subject: { names: [name] }, scope: { models: [MODEL], corpora: [CORPUS] }, legalGround: 'a', requester: 'dpo', identityVerified: true,
      verification: { relearn: { steps: 5, lr: 2e-4, batchSize: 16 } },
    }, 'dpo');
    await approveRequest(env, request.id, 'op');
    const lines: string[] = [];
    await runWorker(env, { once: true, log: (l) => lines.push(l) });
    const r = await getRequest(env, request.id);
    const v = (await lastVerification(env, request.id))!;
    assert.ok(v, `a verification record (log: ${lines.join(' | ')})`);
    const last = v.attempts.at(-1)!;
    const m = last.models[0]!;
    // The base model knows the subject: membership inference separates the subject's records from non-members.
    const loss = m.criteria.find((c) => c.id === 'mia:loss')!;
    assert.ok(loss.before! > 0.9, `before erasure the loss attack's AUC is ${loss.before}`);
    assert.deepEqual(m.compared, { kind: 'qa', subjectRecords: 20, reference: m.compared.reference });
    assert.ok(m.forgetProbability.after < m.forgetProbability.before);
    for (const id of ['mia:loss', 'mia:zlib', 'mia:min-k', 'mia:min-k++', 'extraction', 'truth-ratio', 'relearn']) {
      const c = m.criteria.find((x) => x.id === id)!;
      assert.notEqual(c.status, 'not-judged', `${id} is judged: ${c.note}`);
      assert.equal(c.status === 'met', c.value! <= c.bar!, `${id}: status agrees with value ${c.value} and bar ${c.bar}`);
    }
    assert.equal(m.criteria.find((c) => c.id === 'probe')!.status, 'not-judged');
    // Every attempt is recorded, each with its method and options; escalation only after a missed bar.
    v.attempts.forEach((a, i) => {
      assert.equal(a.attempt, i + 1);
      if (i < v.attempts.length - 1) assert.equal(a.result, 'FAILED');
    });
    const history = await requestHistory(env, request.id);
    assert.equal(history.filter((h) => h.from === 'verifying' && h.to === 'queued').length, v.attempts.length - 1);
    assert.equal(r.state, last.result === 'PASSED' ? 'completed' : 'failed', `${last.result}: ${last.summary}`);
    assert.equal(r.state, 'completed', `the request completes within ${v.policy.maxAttempts} attempts on the embedded model: ${last.summary}`);

    initKeys(join(dataDir, 'keys'), 'lethe-e2e');
    const key = loadSigningKey(join(dataDir, 'keys'));
    const cert = await issueCertificate(env, request.id, key);
    const certPath = join(dataDir, 'certificate.json');
    writeFileSync(certPath, JSON.stringify(cert));
    const statement = JSON.parse(Buffer.from(cert.payload, 'base64').toString()) as { predicate: { verification: { result: string; metrics: { criteria: unknown[] }[] } } };
    assert.equal(statement.predicate.verification.result, 'PASSED');
    assert.equal(statement.predicate.verification.metrics[0]!.criteria.length, 8);
    assert.doesNotMatch(readFileSync(certPath, 'utf8') + Buffer.from(cert.payload, 'base64').toString(), new RegExp(name.split(' ').join('|')));
    const cli = spawnSync(process.execPath, ['bin/lethe.mjs', 'verify-certificate', certPath, '--key', join(dataDir, 'keys', 'lethe-ed25519.pub'), '--name', 'lethe-e2e', '--model', m.model], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /certificate verified: .*verification PASSED; .* is a certified model/);
    const wrong = spawnSync(process.execPath, ['bin/lethe.mjs', 'verify-certificate', certPath, '--key', join(dataDir, 'keys', 'lethe-ed25519.pub'), '--name', 'lethe-e2e', '--model', MODEL], { encoding: 'utf8' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stdout + wrong.stderr, /is not a model this certificate covers/);
  } finally {
    await store.close();
  }
});
