// `runTraining`'s outputs: --out whole or absent, refused if it exists unless force (then replaced whole), never a
// symlink, never overlapping an input or the checkpoint; a checkpoint folder Lethe did not write is refused, never
// deleted; a fresh run does not silently discard an earlier run's checkpoint.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTraining, type TrainingSpec } from '../../src/train/run.ts';
import { QUIET, TOKENIZER, tinySpec, weightsOf, workDir } from './fixtures.ts';

const run = (spec: TrainingSpec) => runTraining(spec, 'train', QUIET);
const dirs: string[] = [];
function fresh() {
  const w = workDir();
  dirs.push(w.dir);
  return w;
}
const listing = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

let refWeights: Buffer;
let refLosses: number[];
before(() => {
  const { dir, data } = fresh();
  refLosses = run(tinySpec(dir, data)).losses;
  refWeights = weightsOf(join(dir, 'out'));
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('train --out', () => {
  test('an existing folder is refused before any training; --force replaces it whole', () => {
    const { dir, data } = fresh();
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const untouched = listing(dir);
    assert.throws(() => run(tinySpec(dir, data)), /out: already exists; pass --force to replace it/);
    assert.deepEqual(listing(dir), untouched, 'nothing written, not even a checkpoint');
    const log = run(tinySpec(dir, data, { force: true }));
    assert.deepEqual(log.losses, refLosses);
    assert.ok(weightsOf(out).equals(refWeights));
    assert.equal(existsSync(join(out, 'notes.txt')), false, 'replaced whole, not mixed in');
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')).losses, refLosses);
  });

  test('a symbolic link is refused (even with --force) and its target left alone', () => {
    const { dir, data } = fresh();
    const target = join(dir, 'precious');
    mkdirSync(target);
    writeFileSync(join(target, 'model.safetensors'), 'precious');
    symlinkSync(target, join(dir, 'out'));
    assert.throws(() => run(tinySpec(dir, data, { force: true })), /out: is a symbolic link/);
    assert.equal(readFileSync(join(target, 'model.safetensors'), 'utf8'), 'precious');
    assert.equal(existsSync(join(dir, 'out.checkpoint')), false);
  });

  test('--out and --checkpoint may not be, contain or lie inside each other', () => {
    const { dir, data } = fresh();
    const out = join(dir, 'out');
    assert.throws(() => run(tinySpec(dir, data, { checkpointDir: out })), /out: is the checkpoint folder/);
    assert.throws(() => run(tinySpec(dir, data, { checkpointDir: join(out, 'ck') })), /out: contains the checkpoint folder .*ck/);
    assert.throws(() => run(tinySpec(dir, data, { out: join(dir, 'ck', 'model'), checkpointDir: join(dir, 'ck') })), /model: lies inside the checkpoint folder/);
    assert.deepEqual(readdirSync(dir), ['data.jsonl']);
  });

  test('no output may overlap an input, compared by real path', () => {
    const { dir, data } = fresh();
    const tok = join(dir, 'tok');
    cpSync(TOKENIZER, tok, { recursive: true });
    symlinkSync(tok, join(dir, 'tok-link'));
    const before = listing(dir);
    assert.throws(() => run(tinySpec(dir, data, { tokenizerDir: join(dir, 'tok-link'), out: tok, force: true })), /tok: is the tokenizer folder/);
    assert.throws(() => run(tinySpec(dir, data, { tokenizerDir: tok, checkpointDir: join(dir, 'tok-link', 'ck') })), /ck: lies inside the tokenizer folder/);
    assert.throws(() => run(tinySpec(dir, data, { out: dir, force: true, checkpointDir: join(dir, '..', 'elsewhere') })), /: contains the training data/);
    assert.deepEqual(listing(dir), before);
  });

  test('`out/` (trailing slash) still puts the checkpoint beside the output, as out.checkpoint', () => {
    const { dir, data } = fresh();
    run(tinySpec(dir, data, { out: join(dir, 'out') + '/' }));
    assert.deepEqual(readdirSync(dir).sort(), ['data.jsonl', 'out', 'out.checkpoint']);
  });
});

describe('train --checkpoint', () => {
  for (const suffix of ['', '.old', '.partial']) {
    test(`a folder Lethe did not write at <checkpoint>${suffix} is refused and kept`, () => {
      const { dir, data } = fresh();
      const ck = join(dir, `ck${suffix}`);
      mkdirSync(ck);
      writeFileSync(join(ck, 'thesis.tex'), 'years of work');
      const before = listing(dir);
      assert.throws(() => run(tinySpec(dir, data, { checkpointDir: join(dir, 'ck') })), new RegExp(`ck${suffix.replace('.', '\\.')}: exists and is not a Lethe training checkpoint`));
      assert.throws(() => run(tinySpec(dir, data, { checkpointDir: join(dir, 'ck'), force: true, resume: true })), /is not a Lethe training checkpoint/);
      assert.deepEqual(listing(dir), before);
    });
  }

  test('an empty folder may be given as the checkpoint folder', () => {
    const { dir, data } = fresh();
    mkdirSync(join(dir, 'ck'));
    run(tinySpec(dir, data, { checkpointDir: join(dir, 'ck') }));
    assert.ok(existsSync(join(dir, 'ck', 'trainer_state.json')));
  });

  test('a fresh run does not discard an earlier run\'s checkpoint unless --force', () => {
    const { dir, data } = fresh();
    const ck = join(dir, 'ck');
    run(tinySpec(dir, data, { checkpointDir: ck }));
    assert.throws(() => run(tinySpec(dir, data, { checkpointDir: ck, out: join(dir, 'out2') })),
      /ck: holds the checkpoint of an earlier run \(step 4\); pass --resume to continue it, or --force to start over/);
    assert.equal(existsSync(join(dir, 'out2')), false);
    const log = run(tinySpec(dir, data, { checkpointDir: ck, out: join(dir, 'out2'), force: true }));
    assert.equal(log.resumedFrom, null);
    assert.deepEqual(log.losses, refLosses);
    assert.ok(weightsOf(join(dir, 'out2')).equals(refWeights));
  });

  test('--resume of a finished run only writes the output again (with --force)', () => {
    const { dir, data } = fresh();
    run(tinySpec(dir, data));
    const log = run(tinySpec(dir, data, { resume: true, force: true }));
    assert.equal(log.resumedFrom, 4);
    assert.deepEqual(log.losses, refLosses);
    assert.ok(weightsOf(join(dir, 'out')).equals(refWeights));
  });
});
