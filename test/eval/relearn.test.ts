// The relearning attack on small cases: the split, the recovery read-out, and a real fine-tune of a tiny model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { recoverySteps, relearnCurve, splitForRelearning } from '../../src/eval/relearn.ts';
import { matmulPrecision, withMatmulPrecision } from '../../src/engine/index.ts';
import { tokenizeItems } from '../../src/unlearn/data.ts';
import { FORGET_RECORDS, TINY } from '../unlearn/fixtures.ts';

test('the split is a seeded partition of the items', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  const a = splitForRelearning(items, 0.5, 3);
  assert.equal(a.attack.length, 5);
  assert.deepEqual([...a.attack, ...a.heldOut].sort((x, y) => x - y), items);
  assert.deepEqual(splitForRelearning(items, 0.5, 3), a);
  assert.notDeepEqual(splitForRelearning(items, 0.5, 4).attack, a.attack);
  assert.throws(() => splitForRelearning(items, 1, 0), /attack fraction 1 must be in \(0, 1\)/);
});

test('recovery steps are the first evaluated steps reaching 50% and 90% of the target', () => {
  const curve = { steps: [0, 5, 10, 15, 20], score: [0.1, 0.3, 0.49, 0.5, 0.7] };
  assert.deepEqual(recoverySteps(curve, 1), { steps50: 15, steps90: null, finalFraction: 0.7 });
  const half = recoverySteps(curve, 0.5);
  assert.deepEqual([half.steps50, half.steps90], [5, 10]);
  assert.ok(Math.abs(half.finalFraction - 1.4) < 1e-12);
  assert.throws(() => recoverySteps(curve, 0), /target score 0 must be positive/);
});

test('fine-tuning on the held-out answers themselves brings them back, and the model passed in is unchanged', () => {
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const before = model.params.snapshot();
  const heldOut = tokenizeItems(FORGET_RECORDS, tokenizer, 64);
  const seen: number[] = [];
  const curve = relearnCurve(model, tokenizer, FORGET_RECORDS.map((r) => r), heldOut, { steps: 12, evalEvery: 4, lr: 3e-3, batchSize: 4, seed: 0 }, (s) => seen.push(s));
  assert.deepEqual(curve.steps, [0, 4, 8, 12]);
  assert.deepEqual(seen, curve.steps);
  assert.ok(curve.score.at(-1)! > 2 * curve.score[0]!, `score ${curve.score.join(' → ')} should rise`);
  assert.deepEqual(model.params.flat, before);
});

test('the attack fine-tunes at the matmul precision of the evaluation around it, and leaves that precision as it was', () => {
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const heldOut = tokenizeItems(FORGET_RECORDS, tokenizer, 64);
  const attackedWeights = (): Float32Array => {
    let weights: Float32Array | null = null;
    relearnCurve(model, tokenizer, FORGET_RECORDS.map((r) => r), heldOut, { steps: 4, evalEvery: 2, lr: 3e-3, batchSize: 4, seed: 0 }, undefined, (m) => {
      weights = m.params.snapshot();
    });
    return weights!;
  };
  const f32 = attackedWeights();
  assert.deepEqual(attackedWeights(), f32, 'the attack is deterministic');
  // Scoring does not touch the weights: they differ only if the fine-tune itself ran on bf16 operands.
  const bf16 = withMatmulPrecision('bf16', attackedWeights);
  assert.notDeepEqual(bf16, f32);
  assert.deepEqual(withMatmulPrecision('bf16', attackedWeights), bf16);
  assert.equal(matmulPrecision(), 'f32');
});
