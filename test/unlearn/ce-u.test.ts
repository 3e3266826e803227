// CE-U: the cross-entropy of the model's answer-position logits against softmax of the same logits, detached, with
// the true token's removed. The loss against a float64 recomputation from the full forward pass, its gradient against
// finite differences with the target held at θ (and far from the gradient a live target would add), the gradient at
// the logits (p − q, so exactly p_y at the true token), the first-token skip, and a run on the tiny fixture.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, noGrad, Tensor } from '../../src/engine/index.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { answerNll, shiftedTargetSoftmax, softTargetCrossEntropy } from '../../src/unlearn/losses.ts';
import { ceU, ceuLoss } from '../../src/unlearn/methods/ce-u.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { tinyContext, tokenItems } from './fixtures.ts';
import { answerRows, assertDetached, checkGradient, close, crossEntropy64, mean, memorisedContext, softmax64, type AnswerRow } from './oracle.ts';

/** softmax of the row with the true token's logit at −∞. */
function ceuTarget(r: AnswerRow): Float64Array {
  const x = Float64Array.from(r.logits);
  x[r.token] = -Infinity;
  return softmax64(x);
}

/** CE-U in float64 over the answer tokens past the first `skip`, targets from `targetsOf` (θ now, or a fixed θ0). */
function ceu64(rows: AnswerRow[], skip: number, targets?: Float64Array[]): number {
  const kept = rows.filter((r) => r.j >= skip);
  return mean(kept.map((r, k) => crossEntropy64(targets?.[k] ?? ceuTarget(r), r.logits)));
}

const rowsOf = (ctx: UnlearnContext): AnswerRow[] => answerRows(ctx.model, makeBatch(ctx.forget, ctx.padId));

for (const be of backendsUnderTest()) {
  describe(`CE-U loss (${be})`, () => {
    for (const skip of [0, 1]) {
      test(`ignoreFirstAnswerTokens=${skip}: value, gradient, and no gradient through the target`, () => withBackend(be, () => {
        const ctx = memorisedContext();
        const batch = makeBatch(ctx.forget, ctx.padId);
        const rows = rowsOf(ctx);
        assert.ok(mean(rows.map((r) => softmax64(r.logits)[r.token]!)) > 0.3, 'the answers are memorised');
        close(ceuLoss(ctx.model, batch, skip).item(), ceu64(rows, skip), 1e-5, 'CE-U');
        const fixed = rows.filter((r) => r.j >= skip).map(ceuTarget);
        const at = checkGradient(ctx.model, () => ceuLoss(ctx.model, batch, skip), () => ceu64(rowsOf(ctx), skip, fixed));
        assertDetached(ctx.model, at, () => ceu64(rowsOf(ctx), skip));
      }));
    }

    test('at the logits the gradient is (p − q)/K: p_y/K at the true token', () => withBackend(be, () => {
      const V = 5;
      const z = new Tensor(Float32Array.from([1, 2, 0.5, -1, 3, 0.2, -0.3, 4, 1, 1]), [2, V], true);
      const y = new Tensor(Int32Array.from([4, 1]), [2]);
      const loss = softTargetCrossEntropy(z, shiftedTargetSoftmax(z, y, -Infinity));
      backward(loss);
      const g = z.grad!.data as Float32Array;
      for (let k = 0; k < 2; k++) {
        const row = Float64Array.from((z.data as Float32Array).subarray(k * V, (k + 1) * V));
        const p = softmax64(row);
        const t = y.data[k]!;
        const q = ceuTarget({ logits: row, token: t, item: k, j: 0 });
        assert.equal(q[t], 0);
        for (let v = 0; v < V; v++) close(g[k * V + v]!, (p[v]! - q[v]!) / 2, 1e-6, `∂/∂z[${k},${v}]`);
      }
    }));

    test('a batch whose answers all fit in the skipped tokens is an error naming the option', () => withBackend(be, () => {
      const ctx = tinyContext();
      const items = tokenItems(2, 3, 1).map((it) => ({ ...it, answer: [it.answer[0]!] }));
      assert.throws(() => ceuLoss(ctx.model, makeBatch(items, ctx.padId), 1), /ce-u: no answer in the batch is longer than ignoreFirstAnswerTokens=1 tokens/);
    }));
  });
}

test('ce-u runs end to end on the tiny fixture: forget NLL up; with α = 0 no retain term', () => {
  const ctx = tinyContext();
  const batch = makeBatch(ctx.forget, ctx.padId);
  const before = noGrad(() => answerNll(ctx.model, batch).item());
  assert.deepEqual(['alpha', 'retainBatchSize', 'ignoreFirstAnswerTokens', 'epochs'].map((k) => parseOptions(ceU.options, [], 'ce-u')[k as 'alpha']), [10, 48, 1, 10]);
  const o = parseOptions(ceU.options, ['steps=4', 'lr=1e-2', 'batchSize=4', 'alpha=0', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'ce-u');
  const parts: string[][] = [];
  const out = ceU.run(ctx, o, { onStep: (e) => parts.push(Object.keys(e.parts)) });
  assert.equal(out.stopReason, 'completed');
  assert.deepEqual(parts, [['forget'], ['forget'], ['forget'], ['forget']]);
  assert.ok(noGrad(() => answerNll(ctx.model, batch).item()) > before, 'the forget NLL rose');
  assert.ok(ctx.model.params.flat.every(Number.isFinite));
  // With α > 0 a retain set adds the shared retain term; without a retain set it runs as well.
  const withRetain = ceU.run(tinyContext(), parseOptions(ceU.options, ['steps=2', 'alpha=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'ce-u'), {});
  assert.ok(withRetain.curve.every((e) => typeof e.parts['retain'] === 'number'));
  assert.equal(ceU.run({ ...tinyContext(), retain: [] }, o, {}).stopReason, 'completed');
  assert.equal(getMethod('CE-U'), ceU);
  assert.equal(getMethod('ceu'), ceU);
});
