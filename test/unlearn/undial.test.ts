// UNDIAL: distil the frozen original, its true-token logit lowered by β, into the model. The loss against a float64
// recomputation from both models' full forward passes, its gradient against finite differences, the teacher left
// untouched (no gradient into it, its weights unchanged), the gradient at the logits, and a run on the tiny fixture.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, noGrad, Rng, Tensor } from '../../src/engine/index.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { answerNll, shiftedTargetSoftmax, softTargetCrossEntropy } from '../../src/unlearn/losses.ts';
import { undial, undialLoss } from '../../src/unlearn/methods/undial.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { tinyContext } from './fixtures.ts';
import { answerRows, checkGradient, close, crossEntropy64, mean, memorisedContext, softmax64, type AnswerRow } from './oracle.ts';

/** softmax of the teacher's row with β subtracted from the true token's logit. */
function undialTarget(r: AnswerRow, beta: number): Float64Array {
  const x = Float64Array.from(r.logits);
  x[r.token] = x[r.token]! - beta;
  return softmax64(x);
}

for (const be of backendsUnderTest()) {
  describe(`UNDIAL loss (${be})`, () => {
    test('cross-entropy against softmax(teacher logits − β·onehot(y)), mean over answer tokens', () => withBackend(be, () => {
      // The teacher: the tiny model with its forget answers memorised (p_y well above 1/297, so β matters); the
      // student: the same, perturbed.
      const ctx = memorisedContext();
      const ref = frozenModel(ctx.model, ctx.original);
      const rng = new Rng(11);
      const flat = ctx.model.params.flat;
      for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! + 0.01 * rng.normal();
      const batch = makeBatch(ctx.forget, ctx.padId);
      const beta = 10;
      const teacher = answerRows(ref, batch).map((r) => undialTarget(r, beta));
      const oracle = (): number => mean(answerRows(ctx.model, batch).map((r, k) => crossEntropy64(teacher[k]!, r.logits)));
      assert.ok(teacher.length === batch.answers.answerPositions.length);
      assert.ok(mean(answerRows(ref, batch).map((r) => softmax64(r.logits)[r.token]!)) > 0.3, 'the teacher knows the answers');
      close(undialLoss(ctx.model, ref, batch, beta).item(), oracle(), 1e-5, 'UNDIAL');
      // β = 0 with θ = θ_ref: the loss is the entropy of the model's own answer distributions.
      const self = frozenModel(ctx.model, ctx.model.params.snapshot());
      close(undialLoss(ctx.model, self, batch, 0).item(), mean(answerRows(ctx.model, batch).map((r) => crossEntropy64(softmax64(r.logits), r.logits))), 1e-5, 'UNDIAL β=0');

      const refWeights = ref.params.snapshot();
      checkGradient(ctx.model, () => undialLoss(ctx.model, ref, batch, beta), oracle);
      assert.ok(ref.params.list().every((p) => p.grad === null), 'no gradient reaches the teacher');
      assert.deepEqual(ref.params.flat, refWeights);
    }));

    test('at the logits the gradient is (p − q)/K, q the adjusted teacher', () => withBackend(be, () => {
      const V = 4;
      const teacher = new Tensor(Float32Array.from([2, 0, -1, 1, 0.5, 0.5, 3, -2]), [2, V]);
      const z = new Tensor(Float32Array.from([1, 1, 0, 0, -1, 2, 0.5, 0]), [2, V], true);
      const y = new Tensor(Int32Array.from([0, 2]), [2]);
      const beta = 10;
      backward(softTargetCrossEntropy(z, shiftedTargetSoftmax(teacher, y, -beta)));
      assert.equal(teacher.grad, null);
      const g = z.grad!.data as Float32Array;
      for (let k = 0; k < 2; k++) {
        const p = softmax64(Float64Array.from((z.data as Float32Array).subarray(k * V, (k + 1) * V)));
        const q = undialTarget({ logits: Float64Array.from((teacher.data as Float32Array).subarray(k * V, (k + 1) * V)), token: y.data[k]!, item: k, j: 0 }, beta);
        for (let v = 0; v < V; v++) close(g[k * V + v]!, (p[v]! - q[v]!) / 2, 1e-6, `∂/∂z[${k},${v}]`);
      }
    }));
  });
}

test('undial runs end to end on the tiny fixture: forget NLL up; β and epochs are open-unlearning\'s', () => {
  const ctx = tinyContext();
  const batch = makeBatch(ctx.forget, ctx.padId);
  const before = noGrad(() => answerNll(ctx.model, batch).item());
  const o = parseOptions(undial.options, ['steps=4', 'lr=1e-2', 'batchSize=4', 'alpha=0', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'undial');
  assert.deepEqual([o.beta, o.gamma, o.epochs], [10, 1, 10]);
  const out = undial.run(ctx, o, {});
  assert.equal(out.stopReason, 'completed');
  assert.equal(out.steps, 4);
  assert.ok(noGrad(() => answerNll(ctx.model, batch).item()) > before, 'the forget NLL rose');
  assert.ok(ctx.model.params.flat.every(Number.isFinite));
  assert.equal(undial.retain, 'optional');
  assert.equal(undial.run({ ...tinyContext(), retain: [] }, o, {}).stopReason, 'completed');
  assert.equal(getMethod('UNDIAL'), undial);
});
