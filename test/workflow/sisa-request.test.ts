// An erasure request against a SISA ensemble: the policy chooses exact retraining, the worker erases the subject's
// records by retraining only their shard, the rest is copied byte for byte, and verification measures the ensemble.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { ensembleDigest } from '../../src/train/sisa/digest.ts';
import { manifestHash, type SisaEraseReport } from '../../src/train/sisa/erase.ts';
import { readManifest, shardDir } from '../../src/train/sisa/manifest.ts';
import { trainEnsemble } from '../../src/train/sisa/train-ensemble.ts';
import { addModel } from '../../src/workflow/assess/models.ts';
import { lastVerification, loadAssessment } from '../../src/workflow/jobs/handlers.ts';
import { listJobs } from '../../src/workflow/jobs/queue.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { approveRequest, createRequest, getRequest } from '../../src/workflow/requests/service.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

test('a request against an ensemble: SISA chosen, only the subject\'s shard retrained, the ensemble verified', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-sisa-request-'));
  const corpus = writeCorpus(join(dir, 'data'));
  const ens = join(dir, 'ensemble');
  const m = trainEnsemble({
    data: [corpus], out: ens, tokenizerDir: TINY_MODEL, fresh: { arch: 'gpt2', layers: 1, dModel: 32, heads: 2, context: 64 },
    shards: 2, slices: 2, shardBy: 'subject', options: { epochs: 1, batchSize: 4, lr: 3e-3, warmupSteps: 0, weightDecay: 0, clip: 1, seed: 5 },
  });
  const subjectHashes = new Set(readTrainingRecords(corpus).filter((r) => r.subject === SUBJECT.names[0]).map(manifestHash));
  const shard = m.records.find((p) => subjectHashes.has(p.hash))!.shard;
  const other = 1 - shard;
  assert.ok(m.records.some((p) => p.shard === other), 'both shards hold records');

  const store = await openStore({ dataDir: join(dir, 'store') });
  const env = { store, dataDir: join(dir, 'store'), eraseOptions: ['steps=3'] };
  try {
    const registered = await addModel(env, ens);
    assert.equal(registered.model.sha256, ensembleDigest(ens));
    assert.match(registered.model.architecture, /×2 \(SISA ensemble\)/);
    // No corpus in scope: the ensemble's own shard data is its lineage. No relearning attack: too few records.
    const { request } = await createRequest(env, {
      subject: SUBJECT, scope: { models: [ens], corpora: [] }, legalGround: 'a', requester: 'dpo', identityVerified: true, verification: { relearn: { steps: 0 } },
    }, 'dpo');
    await approveRequest(env, request.id, 'op');
    const lines: string[] = [];
    await runWorker(env, { once: true, log: (l) => lines.push(l) });
    const r = await getRequest(env, request.id);
    const impact = (await loadAssessment(env.store.db, request.id))!.models[0]!;
    assert.equal(impact.recommendation.method, 'sisa', lines.join('\n'));
    assert.equal(impact.recommendation.kind, 'exact');
    assert.equal(impact.recordsFound, subjectHashes.size);
    assert.equal(impact.costs[0]!.method, 'sisa');
    assert.ok(impact.costs[0]!.steps > 0 && impact.costs[0]!.steps <= m.stages[shard]!.reduce((a, s) => a + s.steps, 0));

    const erase = (await listJobs(env.store, request.id)).find((j) => j.kind === 'erase')!;
    // One worker with one lane: the erase job ran its shard's 'train-shard' job itself, inline.
    const shardJobs = (await listJobs(env.store, request.id)).filter((j) => j.kind === 'train-shard');
    assert.deepEqual(shardJobs.map((j) => [j.input['shard'], j.state]), [[shard, 'done']], lines.join('\n'));
    const out = (erase.result!['outputs'] as { method: string; options: string[]; outDir: string; modelSha256: string }[])[0]!;
    // The operator's step budget is for approximate methods; exact retraining runs the recorded stages.
    assert.equal(out.method, 'sisa');
    assert.deepEqual(out.options, []);
    assert.equal(out.modelSha256, ensembleDigest(out.outDir));
    const after = readManifest(out.outDir);
    assert.ok(after.records.every((p) => !subjectHashes.has(p.hash)), 'no record of the subject is left in the manifest');
    assert.equal(after.records.length, m.records.length - subjectHashes.size);
    const report = JSON.parse(readFileSync(join(out.outDir, 'unlearn.json'), 'utf8')) as SisaEraseReport;
    assert.deepEqual(report.retrained.map((x) => x.shard), [shard]);
    assert.deepEqual(report.copied, [other]);
    assert.equal(report.erased, subjectHashes.size);
    for (const f of readdirSync(shardDir(ens, other))) {
      assert.ok(readFileSync(join(shardDir(ens, other), f)).equals(readFileSync(join(shardDir(out.outDir, other), f))), `untouched shard's ${f} is byte-identical`);
    }

    const v = (await lastVerification(env, request.id))!;
    assert.equal(v.attempts.length, 1);
    assert.equal(v.attempts[0]!.method, 'sisa');
    const measured = v.attempts[0]!.models[0]!;
    assert.ok(measured.forgetProbability.after > 0 && measured.forgetProbability.before > 0);
    // No non-member reference was registered: nothing missed, much not judged; the default policy completes it.
    assert.equal(v.result, 'INCONCLUSIVE');
    assert.equal(r.state, 'completed', lines.join('\n'));
  } finally {
    await store.close();
  }
});
