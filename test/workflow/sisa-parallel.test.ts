// Parallel SISA: an ensemble's shards trained as 'train-shard' jobs by concurrent workers (each shard in its own
// thread) equal the sequential `trainEnsemble` bit for bit, and so does an erasure's retraining; a folder is not an
// ensemble until every shard is done, and what a killed attempt left behind is started over.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { contentHash } from '../../src/data/record-hash.ts';
import { ensembleDigest } from '../../src/train/sisa/digest.ts';
import { manifestHash, planSisaErase, sisaErase } from '../../src/train/sisa/erase.ts';
import { isEnsemble, readManifest, shardDir } from '../../src/train/sisa/manifest.ts';
import { finishPlan, PLAN_DIR, planProgress } from '../../src/train/sisa/shard-plan.ts';
import { planEnsemble, trainEnsemble, type EnsembleSpec } from '../../src/train/sisa/train-ensemble.ts';
import { addModel } from '../../src/workflow/assess/models.ts';
import { listJobs, stepOutput } from '../../src/workflow/jobs/queue.ts';
import { awaitShardJobs, enqueueShardJobs } from '../../src/workflow/jobs/shard-jobs.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { approveRequest, createRequest, getRequest } from '../../src/workflow/requests/service.ts';
import type { Store } from '../../src/workflow/store/open-store.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';
import { TEST_STORES } from './stores.ts';
import { files, jsonl, SISA_ROWS, SISA_TOKENIZER, writeSisaRows } from '../train/sisa-fixtures.ts';

const TOKENIZER = SISA_TOKENIZER;
const dir = mkdtempSync(join(tmpdir(), 'lethe-sisa-parallel-'));
const rows = SISA_ROWS;
const all = writeSisaRows(dir);

const spec = (out: string): EnsembleSpec => ({
  data: [all], out, tokenizerDir: TOKENIZER, fresh: { arch: 'gpt2', layers: 2, dModel: 32, heads: 2, context: 64 },
  shards: 3, slices: 3, shardBy: 'record', options: { epochs: 2, batchSize: 4, lr: 3e-3, warmupSteps: 2, weightDecay: 0.01, clip: 1, seed: 3 },
});

/** The same files, byte for byte, but for the times the manifest and the report carry (and the report's source folder). */
function assertSameFolder(parallel: string, sequential: string, ignore: string[] = []): void {
  const [p, s] = [files(parallel), files(sequential)];
  for (const f of ignore) p.delete(f);
  assert.deepEqual([...p.keys()].sort(), [...s.keys()].sort(), 'the same files');
  const untimed = (b: Buffer) => JSON.stringify({ ...JSON.parse(b.toString('utf8')), createdAt: 0, wallSeconds: 0, finishedAt: 0, source: 0 });
  for (const [path, bytes] of p) {
    if (path === 'ensemble.json' || path === 'unlearn.json') assert.equal(untimed(bytes), untimed(s.get(path)!), path);
    else assert.ok(bytes.equals(s.get(path)!), `${path} is byte-identical to the sequential run's`);
  }
}

for (const backend of TEST_STORES) describe(`parallel SISA on ${backend.name}`, () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test('3 shards as jobs on 3 concurrent workers equal the sequential ensemble bit for bit; then an erasure of 2 shards likewise', async () => {
    const root = mkdtempSync(join(dir, `${backend.name}-`));
    const store = await backend.open();
    stores.push(store);
    const env = { store, dataDir: root };
    const { request } = await createRequest(env, { subject: { names: ['Ada Lind'] }, scope: { models: [TINY_MODEL], corpora: [writeCorpus(join(root, 'data'))] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');

    const seq = join(root, 'seq');
    let t = performance.now();
    trainEnsemble(spec(seq));
    const seqSeconds = (performance.now() - t) / 1000;

    const par = join(root, 'par');
    planEnsemble(spec(par));
    assert.equal(isEnsemble(par), false, 'a planned folder is not an ensemble');
    assert.deepEqual(planProgress(par), { done: [], pending: [0, 1, 2] });
    assert.throws(() => finishPlan(par), /shard\(s\) 0, 1, 2 not trained yet/);
    // What a killed attempt at shard 1 left: a half-written work folder and a model folder moved in before the kill.
    mkdirSync(join(par, PLAN_DIR, 'work-1-999-dead', 'shards', 'shard-1'), { recursive: true });
    writeFileSync(join(par, PLAN_DIR, 'work-1-999-dead', 'shards', 'shard-1', 'model.safetensors'), 'torn');
    mkdirSync(shardDir(par, 1), { recursive: true });
    writeFileSync(join(shardDir(par, 1), 'model.safetensors'), 'torn');

    const ids = await store.write((tx) => enqueueShardJobs(tx, { requestId: request.id, dir: par, now: new Date() }));
    assert.equal(ids.length, 3);
    t = performance.now();
    const lines: string[] = [];
    const { jobs } = await runWorker(env, { once: true, concurrency: 3, name: 'w', log: (l) => lines.push(l) });
    const parSeconds = (performance.now() - t) / 1000;
    assert.equal(jobs, 3, lines.join('\n'));
    const done = (await listJobs(store, request.id)).filter((j) => ids.includes(j.id));
    assert.ok(done.every((j) => j.state === 'done'), lines.join('\n'));
    assert.ok(new Set(done.map((j) => j.worker)).size >= 2, `the shards ran on several workers at once (${done.map((j) => j.worker).join(', ')})`);
    assert.equal(done.filter((j) => j.result?.['finished'] === true).length >= 1, true, 'the last shard job finished the folder');
    assert.ok(isEnsemble(par) && !existsSync(join(par, PLAN_DIR)));
    assertSameFolder(par, seq);
    assert.deepEqual({ ...readManifest(par), createdAt: '' }, { ...readManifest(seq), createdAt: '' });
    const manifest = await awaitShardJobs(env, { requestId: request.id, jobIds: ids, dir: par });
    assert.deepEqual(manifest, readManifest(par), 'waiting on finished jobs returns the finished manifest');
    console.log(`# 3 shards: sequential ${seqSeconds.toFixed(1)} s, 3 workers ${parSeconds.toFixed(1)} s`);

    // An erasure touching two shards: retrained as jobs, it equals the sequential sisaErase.
    const m = readManifest(seq);
    const target = [0, 2].map((k) => m.records.filter((p) => p.shard === k).at(-1)!.hash);
    const forget = join(root, 'forget.jsonl');
    writeFileSync(forget, jsonl(rows.filter((r) => target.includes(contentHash(r)!))));
    const seqErased = join(root, 'seq-erased');
    const report = sisaErase(seq, [forget], seqErased);
    assert.deepEqual(report.retrained.map((r) => r.shard), [0, 2]);
    const parErased = join(root, 'par-erased');
    const plan = planSisaErase(par, [forget], parErased);
    assert.deepEqual(plan.train.map((x) => x.shard), [0, 2]);
    assert.equal(isEnsemble(parErased), false);
    const eraseIds = await store.write((tx) => enqueueShardJobs(tx, { requestId: request.id, dir: parErased, now: new Date() }));
    assert.equal((await runWorker(env, { once: true, concurrency: 2, name: 'e' })).jobs, 2);
    await awaitShardJobs(env, { requestId: request.id, jobIds: eraseIds, dir: parErased });
    assertSameFolder(parErased, seqErased);
  });

  test('an erasure request against an ensemble: the erase job retrains its 3 affected shards as jobs on 3 worker lanes, equal to sisaErase', async () => {
    const root = mkdtempSync(join(dir, `${backend.name}-request-`));
    const corpus = writeCorpus(join(root, 'data'));
    const ens = join(root, 'ensemble');
    trainEnsemble({
      data: [corpus], out: ens, tokenizerDir: TOKENIZER, fresh: { arch: 'gpt2', layers: 1, dModel: 32, heads: 2, context: 64 },
      shards: 3, slices: 2, shardBy: 'record', options: { epochs: 1, batchSize: 4, lr: 3e-3, warmupSteps: 0, weightDecay: 0, clip: 1, seed: 5 },
    });
    const subjectHashes = new Set(readTrainingRecords(corpus).filter((r) => r.subject === SUBJECT.names[0]).map(manifestHash));
    assert.deepEqual([...new Set(readManifest(ens).records.filter((p) => subjectHashes.has(p.hash)).map((p) => p.shard))].sort(), [0, 1, 2], 'the subject is in every shard');
    const store = await backend.open();
    stores.push(store);
    const env = { store, dataDir: join(root, 'store') };
    await addModel(env, ens);
    const { request } = await createRequest(env, {
      subject: SUBJECT, scope: { models: [ens], corpora: [] }, legalGround: 'a', requester: 'dpo', identityVerified: true, verification: { relearn: { steps: 0 } },
    }, 'dpo');
    await approveRequest(env, request.id, 'op');
    const lines: string[] = [];
    const stop = new AbortController();
    const worker = runWorker(env, { concurrency: 3, pollMs: 50, listen: false, name: 'w', signal: stop.signal, log: (l) => lines.push(l) });
    const t = performance.now();
    let state = '';
    while (!['completed', 'failed', 'denied', 'requires_input'].includes(state) && performance.now() - t < 300_000) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await getRequest(env, request.id)).state;
    }
    stop.abort();
    await worker;
    assert.equal(state, 'completed', lines.join('\n'));

    const jobs = await listJobs(store, request.id);
    const erase = jobs.find((j) => j.kind === 'erase')!;
    const shardJobs = jobs.filter((j) => j.kind === 'train-shard');
    assert.deepEqual(shardJobs.map((j) => j.input['shard']).sort(), [0, 1, 2]);
    assert.ok(shardJobs.every((j) => j.state === 'done'), lines.join('\n'));
    assert.ok(new Set(shardJobs.map((j) => j.worker)).size >= 2, `the shards retrained on several workers (${shardJobs.map((j) => j.worker).join(', ')})`);
    const out = (erase.result!['outputs'] as { method: string; outDir: string; modelSha256: string; artifact: string }[])[0]!;
    assert.equal(out.method, 'sisa');
    assert.equal(out.modelSha256, ensembleDigest(out.outDir));
    const progress = await store.db.selectFrom('job_progress').selectAll().where('job_id', '=', erase.id).executeTakeFirst();
    assert.equal(progress?.phase, 'retrain shards');

    // The same erasure, sequential: the same folder byte for byte (but for times and the source path).
    const data = (await stepOutput(store, erase.id, 'data')) as { forget: string };
    const seqErased = join(root, 'seq-erased');
    const report = sisaErase(ens, [data.forget], seqErased, { skipUntrained: true });
    assert.deepEqual(report.retrained.map((r) => r.shard), [0, 1, 2]);
    assertSameFolder(out.outDir, seqErased, ['SHA256SUMS']); // the artifact store's list of the folder's digests
  });
});
