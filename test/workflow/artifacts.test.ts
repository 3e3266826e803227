// The content-addressed artifact store (src/workflow/artifacts/store.ts): atomic, idempotent puts, checked reads, and
// an erasure → verification → certificate that reads its model by hash from a shared artifact folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { artifactPath, folderDigest, linkArtifact, linkedArtifact, openFolder, putFolder, SUMS } from '../../src/workflow/artifacts/store.ts';
import { initKeys, loadSigningKey } from '../../src/workflow/audit/keys.ts';
import { issueCertificate } from '../../src/workflow/evidence/certificate.ts';
import { outputFilterFor } from '../../src/workflow/evidence/output-filter.ts';
import { listJobs } from '../../src/workflow/jobs/queue.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { buildDpoReport } from '../../src/workflow/report/report-data.ts';
import { approveRequest, createRequest, getRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

const tmp = (what: string): string => mkdtempSync(join(tmpdir(), `lethe-art-${what}-`));

/** A small model-like folder, with a nested file. */
function sample(dir: string, salt = ''): string {
  mkdirSync(join(dir, 'shards', 'shard-0'), { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), `weights${salt}`);
  writeFileSync(join(dir, 'config.json'), '{"n_layer":2}\n');
  writeFileSync(join(dir, 'shards', 'shard-0', 'model.safetensors'), 'shard');
  return dir;
}

/** Everything visible as an artifact under root. */
const visible = (root: string): string[] => existsSync(join(root, 'sha256')) ? readdirSync(join(root, 'sha256')).flatMap((p) => readdirSync(join(root, 'sha256', p))) : [];

describe('artifact store', () => {
  test('a folder is stored under its digest (SHA-256 of its sha256sum listing) and read back checked', () => {
    const root = tmp('root');
    const src = sample(tmp('src'));
    const a = putFolder(root, src);
    assert.equal(a.sha256, folderDigest(src));
    assert.equal(a.path, join(root, 'sha256', a.sha256.slice(0, 2), a.sha256));
    const sums = readFileSync(join(a.path, SUMS), 'utf8');
    assert.equal(createHash('sha256').update(sums).digest('hex'), a.sha256);
    assert.deepEqual(sums.split('\n').filter(Boolean).map((l) => l.slice(66)), ['config.json', 'model.safetensors', 'shards/shard-0/model.safetensors']);
    assert.equal(openFolder(root, a.sha256), a.path);
    assert.ok(existsSync(src), 'a copy leaves the source');
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp folder left');
    // The listing is what coreutils writes and checks.
    const check = spawnSync('sha256sum', ['--quiet', '-c', SUMS], { cwd: a.path, encoding: 'utf8' });
    if (!check.error) assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  test('the same content put twice, or moved in, is one artifact; the moved source is gone', () => {
    const root = tmp('root');
    const a = putFolder(root, sample(tmp('a')));
    const src = sample(tmp('b'));
    const b = putFolder(root, src, { move: true });
    assert.deepEqual(b, a);
    assert.ok(!existsSync(src));
    assert.equal(visible(root).length, 1);
    const c = putFolder(root, sample(tmp('c'), '-other'), { move: true });
    assert.notEqual(c.sha256, a.sha256);
    assert.equal(visible(root).length, 2);
  });

  test('two workers racing: the put that finds the artifact already renamed into place keeps it and drops its own copy', async () => {
    const root = tmp('root');
    const src = sample(tmp('src'));
    const { setFaultInjector } = await import('../../src/model/io/faults.ts');
    // Just before our rename into place, another worker's put of the same content completes.
    let raced = false;
    setFaultInjector((label) => {
      if (label.startsWith('rename ') && label.includes(`${join(root, 'tmp')}`) && label.includes(' -> ' + join(root, 'sha256'))) {
        setFaultInjector(null);
        putFolder(root, sample(tmp('other')));
        raced = true;
      }
    });
    try {
      const a = putFolder(root, src);
      assert.ok(raced);
      assert.equal(openFolder(root, a.sha256), a.path);
      assert.equal(visible(root).length, 1);
      assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    } finally {
      setFaultInjector(null);
    }
  });

  test('a put killed at any step (SIGKILL) leaves the whole artifact or none visible; a later put completes it and sweeps stale temp folders', () => {
    const script = `import { putFolder } from './src/workflow/artifacts/store.ts'; putFolder(process.argv[1], process.argv[2], { move: true });`;
    let completed = false;
    for (let k = 1; k <= 60 && !completed; k++) {
      const root = tmp('root');
      const src = sample(tmp('src'));
      const digest = folderDigest(src);
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root, src], { encoding: 'utf8', env: { ...process.env, LETHE_FAULT_KILL_AT: String(k) }, timeout: 60_000 });
      completed = r.status === 0;
      assert.ok(completed || r.signal === 'SIGKILL', `step ${k}: ${r.stderr}`);
      const seen = visible(root);
      if (seen.length === 0) {
        assert.throws(() => openFolder(root, digest), /not found/);
        // What the killed put left (the source, or a temp folder) is stored by the next put, or swept when stale.
        const left = existsSync(src) ? src : null;
        for (const t of existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []) utimesSync(join(root, 'tmp', t), new Date(0), new Date(0));
        const again = putFolder(root, left ?? sample(tmp('again')));
        assert.equal(again.sha256, digest);
        assert.deepEqual(readdirSync(join(root, 'tmp')), [], `step ${k}: stale temp folders swept`);
      } else {
        assert.deepEqual(seen, [digest]);
      }
      assert.equal(openFolder(root, digest), artifactPath(root, digest), `step ${k}`);
    }
    assert.ok(completed, 'the put finished once no kill point was left');
  });

  test('a missing, altered or added file, or an edited listing, is a one-line error naming the artifact and the file', () => {
    const root = tmp('root');
    const fresh = () => {
      rmSync(root, { recursive: true, force: true });
      return putFolder(root, sample(tmp('src')));
    };
    let a = fresh();
    appendFileSync(join(a.path, 'model.safetensors'), 'x');
    assert.throws(() => openFolder(root, a.sha256), new RegExp(`^Error: artifact sha256:${a.sha256.slice(0, 12)}… \\(.*\\): model\\.safetensors was altered`));
    a = fresh();
    rmSync(join(a.path, 'shards', 'shard-0', 'model.safetensors'));
    assert.throws(() => openFolder(root, a.sha256), /: shards\/shard-0\/model\.safetensors is missing — restore/);
    a = fresh();
    writeFileSync(join(a.path, 'extra.bin'), '');
    assert.throws(() => openFolder(root, a.sha256), /: extra\.bin was added after the artifact was stored/);
    a = fresh();
    writeFileSync(join(a.path, SUMS), readFileSync(join(a.path, SUMS), 'utf8').replace('config.json', 'config.jsonx'));
    assert.throws(() => openFolder(root, a.sha256), /: SHA256SUMS was altered/);
    assert.throws(() => openFolder(root, '0'.repeat(64)), /not found; is .* the artifact folder every worker shares/);
    assert.throws(() => openFolder(root, '../etc'), /not a SHA-256 digest/);
  });

  test('a request\'s link names its artifact relatively and is replaced in one rename', () => {
    const root = tmp('root');
    const a = putFolder(root, sample(tmp('a')));
    const b = putFolder(root, sample(tmp('b'), '2'));
    const link = linkArtifact(root, 'req_1', '0-target', a.sha256);
    assert.equal(readlinkSync(link), join('..', 'sha256', a.sha256.slice(0, 2), a.sha256));
    assert.equal(linkedArtifact(root, 'req_1', '0-target'), a.sha256);
    linkArtifact(root, 'req_1', '0-target', b.sha256);
    assert.equal(linkedArtifact(root, 'req_1', '0-target'), b.sha256);
    assert.deepEqual(readdirSync(join(root, 'req_1')), ['0-target']);
    assert.equal(linkedArtifact(root, 'req_1', 'none'), null);
  });
});

describe('a workflow on a shared artifact folder ($LETHE_ARTIFACTS)', () => {
  const stores: Store[] = [];
  const saved = process.env['LETHE_ARTIFACTS'];
  after(async () => {
    for (const s of stores) await s.close();
    if (saved === undefined) delete process.env['LETHE_ARTIFACTS'];
    else process.env['LETHE_ARTIFACTS'] = saved;
  });

  test('erase stores the model by hash; verify, the report and the certificate read it by hash and refuse it once altered', async () => {
    const dataDir = tmp('data');
    const shared = tmp('shared');
    process.env['LETHE_ARTIFACTS'] = shared;
    const store = await openStore({ dataDir });
    stores.push(store);
    const env = { store, dataDir };
    const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [writeCorpus(join(dataDir, 'data'))] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    await approveRequest(env, request.id, 'op');
    const lines: string[] = [];
    await runWorker(env, { once: true, log: (l) => lines.push(l) });
    assert.equal((await getRequest(env, request.id)).state, 'completed', lines.join('\n'));
    const jobs = await listJobs(store, request.id);
    const out = (jobs.find((j) => j.kind === 'erase')!.result!['outputs'] as { outDir: string; artifact: string; modelSha256: string }[])[0]!;
    assert.match(out.artifact, /^[0-9a-f]{64}$/);
    assert.equal(out.outDir, artifactPath(shared, out.artifact));
    assert.equal(openFolder(shared, out.artifact), out.outDir);
    assert.equal(createHash('sha256').update(readFileSync(join(out.outDir, 'model.safetensors'))).digest('hex'), out.modelSha256);
    // Nothing in the data directory's own artifacts folder; the worker-local staging folder is gone.
    assert.ok(!existsSync(join(dataDir, 'artifacts')));
    assert.deepEqual(readdirSync(join(dataDir, 'jobs', request.id)).filter((d) => d.startsWith('out-')), []);
    // The request's link, and the verification measured the stored artifact.
    const [name] = readdirSync(join(shared, request.id));
    assert.equal(realpathSync(join(shared, request.id, name!)), realpathSync(out.outDir));
    const verify = jobs.find((j) => j.kind === 'verify')!;
    const measured = (verify.result!['verification'] as { attempts: { models: { model: string; modelSha256: string }[] }[] }).attempts[0]!.models[0]!;
    assert.deepEqual([measured.model, measured.modelSha256], [out.outDir, out.modelSha256]);
    // The output filter covers the artifact, by its path in the store and by the request's link.
    assert.equal((await outputFilterFor(env, out.outDir)).size, 2);
    assert.equal((await outputFilterFor(env, join(shared, request.id, name!))).size, 2);
    assert.equal((await buildDpoReport(env, request.id)).done.erasures[0]!.output, out.outDir);

    // Altered after the erasure: the readers name the artifact and the file instead of certifying it.
    const copy = tmp('copy');
    cpSync(out.outDir, copy, { recursive: true });
    appendFileSync(join(out.outDir, 'unlearn.json'), ' ');
    initKeys(join(dataDir, 'keys'), 'lethe-test');
    const key = loadSigningKey(join(dataDir, 'keys'));
    await assert.rejects(issueCertificate(env, request.id, key), new RegExp(`artifact sha256:${out.artifact.slice(0, 12)}… .*: unlearn\\.json was altered`));
    await assert.rejects(buildDpoReport(env, request.id), /unlearn\.json was altered/);
    // Restored from a backup: the certificate is issued.
    rmSync(out.outDir, { recursive: true });
    cpSync(copy, out.outDir, { recursive: true });
    const cert = await issueCertificate(env, request.id, key);
    assert.equal((JSON.parse(Buffer.from(cert.payload, 'base64').toString()) as { subject: { digest: { sha256: string } }[] }).subject[0]!.digest.sha256, out.modelSha256);
  });
});
