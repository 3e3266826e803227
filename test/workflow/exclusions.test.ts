// Exclusion lists end to end: a request driven to completed, its erased records exported by hash (no identifiers),
// and `lethe train --exclude` leaving exactly those records out — or refusing to train on them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readExclusionList, readTrainingExcluding, type ExclusionList } from '../../src/train/exclusions.ts';
import { runTraining, type TrainingLog } from '../../src/train/run.ts';
import { buildExclusionList, erasedRecordHashes, exportExclusions } from '../../src/workflow/evidence/exclusions.ts';
import { loadAssessment } from '../../src/workflow/jobs/handlers.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { approveRequest, createRequest, getRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import { QUIET, TINY_ARGS, tinySpec } from '../train/fixtures.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const lethe = (...args: string[]) => spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('exclusion lists', () => {
  let store: Store;
  let dataDir: string;
  let corpus: string;
  let requestId: string;
  /** The subject's records, hashed here from the file: the oracle the export is checked against. */
  let expected: { hash: string; contentHash: string }[];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lethe-excl-'));
    store = await openStore({ dataDir });
    const env = { store, dataDir };
    corpus = writeCorpus(join(dataDir, 'data'));
    const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [corpus] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    requestId = request.id;
    await approveRequest(env, request.id, 'op');
    // Filed but not approved: its erasure is not decided, so its records are not excluded.
    await createRequest(env, { subject: { names: ['Bo Marsh'] }, scope: { models: [TINY_MODEL], corpora: [corpus] }, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    await runWorker(env, { once: true });
    assert.equal((await getRequest(env, request.id)).state, 'completed');
    expected = readFileSync(corpus, 'utf8').trim().split('\n').filter((l) => l.includes('Ada Quill'))
      .map((l) => { const r = JSON.parse(l) as { question: string; answer: string }; return { hash: sha256(l), contentHash: sha256(`${r.question}\n${r.answer}`) }; })
      .sort((a, b) => a.hash.localeCompare(b.hash));
    assert.equal(expected.length, 3);
  });
  after(async () => { await store.close(); });

  test('the export lists exactly the erased records, by hash and content hash, and no identifier of the subject', async () => {
    const a = await loadAssessment(store.db, requestId);
    assert.deepEqual(erasedRecordHashes(a!), expected.map((e) => e.hash), 'the records the certificate counts');
    const out = join(dataDir, 'exclusions.json');
    const r = lethe('exclusions', 'export', '--corpus', corpus, '--out', out, '--data-dir', dataDir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /exclusion list of 3 erased record\(s\) \(1 request\(s\), 1 corpus file\(s\)\) written to /);
    const text = readFileSync(out, 'utf8');
    const list = JSON.parse(text) as ExclusionList;
    assert.equal(list.format, 'lethe-exclusions/v1');
    assert.equal(list.corpus?.path, corpus);
    assert.equal(list.corpus?.sha256, sha256(readFileSync(corpus, 'utf8')));
    assert.deepEqual(list.records.map(({ hash, contentHash }) => ({ hash, contentHash })), expected);
    assert.ok(list.records.every((x) => x.requestId === requestId && x.corpus === list.corpus!.id));
    // The names and e-mail themselves, and their parts (a bare "ada" would also be a run of hex digits).
    for (const id of [...SUBJECT.names, ...SUBJECT.emails, 'Quill', 'example.org', 'Bo Marsh', 'Marsh']) assert.ok(!text.toLowerCase().includes(id.toLowerCase()), id);
    // The library's list for every corpus is the same records (one corpus is registered).
    const everyCorpus = await buildExclusionList({ store, dataDir });
    assert.equal(everyCorpus.corpus, null);
    assert.deepEqual(everyCorpus.records, list.records);
    await assert.rejects(exportExclusions({ store, dataDir }, join(dataDir, 'x.json'), { corpus: 'corp_nope' }), /^RequestInputError: --corpus corp_nope: not a registered corpus id or file \(see lethe corpus list\)$/);
    assert.equal(existsSync(join(dataDir, 'x.json')), false);
    await assert.rejects(exportExclusions({ store, dataDir }, corpus, {}), /^RequestInputError: --out .*corpus\.jsonl: is the corpus corp_[0-9a-f]+; write the exclusion list somewhere else$/);
    assert.equal(readFileSync(corpus, 'utf8').split('\n').length, 16, 'the corpus is untouched');
  });

  test('training skips exactly the listed records, by record hash or, in a re-laid-out file, by content hash', () => {
    const list = join(dataDir, 'exclusions.json');
    // The same records with an extra field and another field order: every record hash changes, the trained content does not.
    const relaid = join(dataDir, 'data', 'relaid.jsonl');
    writeFileSync(relaid, readFileSync(corpus, 'utf8').trim().split('\n')
      .map((l, i) => { const r = JSON.parse(l) as Record<string, string>; return JSON.stringify({ id: `r${i}`, answer: r['answer'], question: r['question'] }); }).join('\n') + '\n');
    const both = readTrainingExcluding([corpus, relaid], [list], 'skip');
    assert.equal(both.records.length, 24);
    assert.ok(both.records.every((r) => r.kind === 'qa' && !r.question.includes('Ada Quill')));
    assert.deepEqual(both.exclusions?.lists.map((l) => [l.listed, l.skipped]), [[3, 6]]);
    // Without content hashes (a list made when the corpus file was gone), only the record hashes match.
    const hashOnly = join(dataDir, 'hash-only.json');
    const parsed = JSON.parse(readFileSync(list, 'utf8')) as ExclusionList;
    writeFileSync(hashOnly, JSON.stringify({ ...parsed, records: parsed.records.map((x) => ({ ...x, contentHash: null })) }));
    assert.equal(readTrainingExcluding([relaid], [hashOnly], 'skip').exclusions?.skipped, 0);
    assert.equal(readTrainingExcluding([corpus], [hashOnly], 'skip').exclusions?.skipped, 3);

    const out = join(dataDir, 'retrained');
    const r = lethe('train', '--data', corpus, '--exclude', list, '--out', out, ...TINY_ARGS);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /exclusions\.json: 3 training record\(s\) skipped \(the list names 3\)/);
    assert.match(r.stdout, /on 12 examples \(3 excluded\)/);
    const log = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')) as TrainingLog;
    assert.equal(log.examples, 12);
    assert.equal(log.exclusions?.skipped, 3);
    assert.deepEqual(log.exclusions?.lists.map((l) => ({ file: l.file, listed: l.listed, skipped: l.skipped })), [{ file: list, listed: 3, skipped: 3 }]);
    assert.equal(log.exclusions?.lists[0]!.sha256, sha256(readFileSync(list, 'utf8')));
  });

  test('a list that names none of the records: the count is in the training log, as 0', () => {
    const empty = join(dataDir, 'empty.json');
    writeFileSync(empty, JSON.stringify({ format: 'lethe-exclusions/v1', corpus: null, corpora: [], generatedAt: '2026-01-01T00:00:00.000Z', records: [] }));
    const data = join(dataDir, 'other.jsonl');
    writeFileSync(data, '{"text":"The river runs to the sea."}\n{"text":"Cats sleep in the sun."}\n');
    const log = runTraining(tinySpec(mkdtempSync(join(tmpdir(), 'lethe-excl-train-')), data, { exclude: [empty] }), 'train', QUIET);
    assert.equal(log.examples, 2);
    assert.deepEqual(log.exclusions, { onExcluded: 'skip', skipped: 0, lists: [{ file: empty, sha256: sha256(readFileSync(empty, 'utf8')), corpus: null, listed: 0, skipped: 0 }] });
  });

  test('--on-excluded refuse stops before training, naming how many and the first line; a malformed list is one line', () => {
    const out = join(dataDir, 'refused');
    const r = lethe('train', '--data', corpus, '--exclude', join(dataDir, 'exclusions.json'), '--on-excluded', 'refuse', '--out', out, ...TINY_ARGS);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^lethe: .*corpus\.jsonl:1: 3 training record\(s\) are on the exclusion list .*exclusions\.json \(this is the first\); remove them, or train with --on-excluded skip\n$/);
    assert.equal(existsSync(out), false, 'nothing is written');
    const bad: [string, RegExp][] = [
      ['{"format":"lethe-exclusions/v1"', /not valid JSON/],
      ['{"format":"other/v2","corpus":null,"corpora":[],"generatedAt":"x","records":[]}', /: format: /],
      ['{"format":"lethe-exclusions/v1","corpus":null,"corpora":[],"generatedAt":"x","records":[{"hash":"Ada Quill","contentHash":null,"requestId":"r","corpus":"c"}]}', /: records\[0\]\.hash: expected a SHA-256 hex digest$/],
    ];
    for (const [content, pattern] of bad) {
      const file = join(dataDir, 'bad.json');
      writeFileSync(file, content);
      assert.throws(() => readExclusionList(file), (e: Error) => {
        assert.match(e.message, /bad\.json: not a Lethe exclusion list \(lethe-exclusions\/v1, from lethe exclusions export\): /);
        assert.match(e.message, pattern);
        assert.doesNotMatch(e.message, /\n|Ada/);
        return true;
      });
    }
  });
});
