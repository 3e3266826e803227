// SISA's guarantee: erasing records retrains only their shards from the checkpoint before their earliest slice, and
// each retrained shard is bit-identical to that shard trained from scratch without them; untouched shards are
// byte-identical to before. Bad input (counts, a damaged manifest, a missing checkpoint, a foreign tokenizer,
// records never trained on) is refused in one line with nothing written.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { contentHash } from '../../src/data/record-hash.ts';
import { asWritten } from '../../src/train/sisa/assign.ts';
import { sisaErase } from '../../src/train/sisa/erase.ts';
import { readManifest, shardDir, stageDir } from '../../src/train/sisa/manifest.ts';
import { trainEnsemble, type EnsembleSpec } from '../../src/train/sisa/train-ensemble.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { files, jsonl, SISA_ROWS, SISA_TOKENIZER, writeSisaRows } from './sisa-fixtures.ts';

const TOKENIZER = SISA_TOKENIZER;
const dir = mkdtempSync(join(tmpdir(), 'lethe-sisa-'));
const rows = SISA_ROWS;
const all = writeSisaRows(dir);

function spec(data: string, out: string, over: Partial<EnsembleSpec> = {}): EnsembleSpec {
  return {
    data: [data], out, tokenizerDir: TOKENIZER, fresh: { arch: 'gpt2', layers: 2, dModel: 32, heads: 2, context: 64 },
    shards: 2, slices: 3, shardBy: 'record', options: { epochs: 2, batchSize: 4, lr: 3e-3, warmupSteps: 2, weightDecay: 0.01, clip: 1, seed: 3 },
    ...over,
  };
}

describe('SISA', () => {
  const e1 = join(dir, 'e1');
  const m1 = trainEnsemble(spec(all, e1));

  test('the ensemble folder: manifest, shared tokenizer, shard folders, a checkpoint per stage, each shard\'s data', () => {
    assert.equal(m1.records.length, rows.length);
    assert.deepEqual(readManifest(e1), m1);
    for (let k = 0; k < 2; k++) {
      assert.ok(existsSync(join(shardDir(e1, k), 'model.safetensors')));
      for (let r = 0; r <= 3; r++) assert.ok(existsSync(join(stageDir(e1, k, r), 'model.safetensors')), `shard ${k} stage ${r}`);
      assert.ok(m1.stages[k]!.at(-1)!.steps > 0);
    }
    assert.ok(m1.records.some((p) => p.shard === 0) && m1.records.some((p) => p.shard === 1));
  });

  // On each backend (the native one at the process's one thread count): the guarantee is bit-identity, not closeness.
  for (const b of backendsUnderTest()) test(`erasing records on ${b}: the retrained shard equals one trained from scratch without them, bit for bit; the other is copied byte for byte`, () => withBackend(b, () => {
    const e1 = join(dir, `${b}-e1`);
    const m1 = trainEnsemble(spec(all, e1));
    // Two records of shard 0 (the highest slice first, so a later stage is where retraining starts from the lower).
    const target = m1.records.filter((p) => p.shard === 0).slice(-2).map((p) => p.hash);
    const forgetRows = rows.filter((r) => target.includes(contentHash(r)!));
    const forget = join(dir, `${b}-forget.jsonl`);
    writeFileSync(forget, jsonl(forgetRows));
    const e2 = join(dir, `${b}-e2`);
    const report = sisaErase(e1, [forget], e2);
    assert.deepEqual(report.copied, [1]);
    assert.equal(report.retrained.length, 1);
    assert.equal(report.retrained[0]!.shard, 0);
    const minus = join(dir, `${b}-minus.jsonl`);
    writeFileSync(minus, jsonl(rows.filter((r) => !target.includes(contentHash(r)!))));
    const e3 = join(dir, `${b}-e3`);
    trainEnsemble(spec(minus, e3));
    const [f1, f2, f3] = [files(e1), files(e2), files(e3)];
    for (const [path, bytes] of f2) {
      if (path === 'ensemble.json' || path === 'unlearn.json') continue;
      if (path.includes('shard-1')) assert.ok(bytes.equals(f1.get(path)!), `untouched ${path} is byte-identical to before`);
      else assert.ok(bytes.equals(f3.get(path)!), `retrained ${path} is bit-identical to training from scratch without the records`);
    }
    assert.equal([...f2.keys()].filter((p) => p !== 'unlearn.json').length, f3.size, 'the same files as the from-scratch ensemble');
    assert.ok(!f2.get('shards/shard-0/model.safetensors')!.equals(f1.get('shards/shard-0/model.safetensors')!), 'the erased records had shaped shard 0');
    assert.deepEqual(readManifest(e2).records, readManifest(e3).records);
    const kept = readFileSync(join(e2, 'data', 'shard-0.jsonl'), 'utf8');
    for (const r of forgetRows) assert.ok(!kept.includes(JSON.stringify(r)), 'the erased records leave the shard\'s data');
  }));

  test('bad input: one-line errors, nothing written', () => {
    const refused = (fn: () => unknown, message: RegExp, out: string) => {
      assert.throws(fn, (e: Error) => message.test(e.message) && !e.message.includes('\n'));
      assert.equal(existsSync(out), false);
    };
    refused(() => trainEnsemble(spec(all, join(dir, 'b1'), { shards: 0 })), /--shards 0: must be a whole number ≥ 1/, join(dir, 'b1'));
    refused(() => trainEnsemble(spec(all, join(dir, 'b2'), { shards: 7, shardBy: 'subject' })), /only 6 subjects \(and records without one\)/, join(dir, 'b2'));
    refused(() => trainEnsemble(spec(all, join(dir, 'b3'), { slices: 19 })), /--slices 19: the data has only 18 records/, join(dir, 'b3'));
    const stranger = join(dir, 'stranger.jsonl');
    writeFileSync(stranger, jsonl([{ question: 'Who?', answer: 'Nobody.' }, rows[0]!]));
    refused(() => sisaErase(e1, [stranger], join(dir, 'b4')), /1 forget record\(s\) are not in the ensemble's manifest .*stranger.jsonl record 1$/, join(dir, 'b4'));
    // The workflow's forget set holds every record of the subject found, trained on or not: those never trained on are counted.
    const skipped = sisaErase(e1, [stranger], join(dir, 'skip'), { skipUntrained: true });
    assert.deepEqual([skipped.erased, skipped.untrained], [1, 1]);
    const onlyStranger = join(dir, 'only-stranger.jsonl');
    writeFileSync(onlyStranger, jsonl([{ question: 'Who?', answer: 'Nobody.' }]));
    refused(() => sisaErase(e1, [onlyStranger], join(dir, 'b4b'), { skipUntrained: true }), /none of the 1 forget record\(s\) is in the ensemble's manifest/, join(dir, 'b4b'));
    const forget = join(dir, 'one.jsonl');
    writeFileSync(forget, jsonl([rows[0]!]));
    const broken = (name: string, damage: (d: string) => void) => {
      const d = join(dir, name);
      cpSync(e1, d, { recursive: true });
      damage(d);
      return d;
    };
    const damaged = broken('damaged', (d) => writeFileSync(join(d, 'ensemble.json'), '{"format":"lethe-sisa","version":1,"shards":2}'));
    refused(() => sisaErase(damaged, [forget], join(dir, 'b5')), /ensemble.json: damaged \(slices: /, join(dir, 'b5'));
    const placement = readManifest(e1).records.find((p) => p.hash === contentHash(asWritten(readTrainingRecords(forget)[0]!)))!;
    const noCheckpoint = broken('no-checkpoint', (d) => rmSync(stageDir(d, placement.shard, placement.slice), { recursive: true }));
    refused(() => sisaErase(noCheckpoint, [forget], join(dir, 'b6')), /checkpoint after stage \d is missing/, join(dir, 'b6'));
    const foreign = broken('foreign', (d) => writeFileSync(join(shardDir(d, 1), 'tokenizer.json'), '{}'));
    refused(() => sisaErase(foreign, [forget], join(dir, 'b7')), /shard 1's tokenizer differs from the ensemble's/, join(dir, 'b7'));
  });
});
