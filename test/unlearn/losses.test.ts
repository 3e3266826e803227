// Each method's forget loss against the DESIGN formula computed independently in float64, and its gradient
// against central finite differences, on both backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, noGrad, type Tensor } from '../../src/engine/index.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { withAnswer, type UnlearnItem } from '../../src/unlearn/data.ts';
import { answerNll, klToReference, logSigmoid } from '../../src/unlearn/losses.ts';
import { npoLoss } from '../../src/unlearn/methods/npo.ts';
import { simNpoLoss } from '../../src/unlearn/methods/simnpo.ts';
import { dpoLoss } from '../../src/unlearn/methods/dpo-idk.ts';
import { REFUSALS, refusalFor } from '../../src/unlearn/refusals.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import { Tensor as T } from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { finiteDifference, tinyContext } from './fixtures.ts';

const logSig = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** Σ log p(answer) and answer length per item, scored without any unlearning code. */
function logProbs(model: CausalLM, items: readonly UnlearnItem[], padId: number): { sum: number[]; len: number[] } {
  const s = scoreAnswers(model, items, { padId });
  return { sum: Array.from(s.sum), len: items.map((it) => it.answer.length) };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** Checks ∂loss/∂θ on the three largest-gradient coordinates of one weight against finite differences. */
function checkGradient(model: CausalLM, loss: () => Tensor, name = 'transformer.h.0.mlp.c_fc.weight'): void {
  model.params.zeroGrad();
  backward(loss());
  const p = model.params.get(name);
  const g = p.grad!.data as Float32Array;
  const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
  for (const i of idx) {
    const fd = finiteDifference(p.data as Float32Array, i, 1e-2, () => noGrad(() => loss().item()));
    assert.ok(Math.abs(fd - g[i]!) <= 3e-3 + 0.05 * Math.abs(g[i]!), `${name}[${i}]: autograd ${g[i]} vs finite difference ${fd}`);
  }
  model.params.zeroGrad();
}

for (const be of backendsUnderTest()) {
  describe(`unlearning losses (${be})`, () => {
    test('logSigmoid is log σ(x) without overflow', () => withBackend(be, () => {
      const xs = [-200, -30, -1, 0, 0.5, 30, 200];
      const got = logSigmoid(new T(Float32Array.from(xs), [xs.length])).data as Float32Array;
      xs.forEach((x, i) => close(got[i]!, logSig(x), 1e-6, `logσ(${x})`));
    }));

    test('gradient ascent / retain NLL: mean NLL over all answer tokens', () => withBackend(be, () => {
      const ctx = tinyContext();
      const batch = makeBatch(ctx.forget, ctx.padId);
      const lp = logProbs(ctx.model, ctx.forget, ctx.padId);
      const expected = -lp.sum.reduce((a, b) => a + b, 0) / lp.len.reduce((a, b) => a + b, 0);
      close(answerNll(ctx.model, batch).item(), expected, 1e-5, 'NLL');
      checkGradient(ctx.model, () => answerNll(ctx.model, batch));
    }));

    test('NPO: −(2/β)·log σ(−β·(log π_θ − log π_ref)), averaged over rows', () => withBackend(be, () => {
      const ctx = tinyContext(0.02);
      const ref = frozenModel(ctx.model, ctx.original);
      const batch = makeBatch(ctx.forget, ctx.padId);
      const beta = 0.7;
      const th = logProbs(ctx.model, ctx.forget, ctx.padId).sum;
      const rf = logProbs(ref, ctx.forget, ctx.padId).sum;
      assert.ok(th.some((v, i) => Math.abs(v - rf[i]!) > 0.1), 'the perturbed model must differ from the reference');
      const expected = mean(th.map((v, i) => (-2 / beta) * logSig(-beta * (v - rf[i]!))));
      close(npoLoss(ctx.model, ref, batch, beta).item(), expected, 1e-5, 'NPO');
      checkGradient(ctx.model, () => npoLoss(ctx.model, ref, batch, beta));
    }));

    test('SimNPO: −(2/β)·log σ(β·(NLL_sum/|y| − δ)), averaged over rows', () => withBackend(be, () => {
      const ctx = tinyContext();
      const batch = makeBatch(ctx.forget, ctx.padId);
      const [beta, delta] = [4.5, 0.3];
      const lp = logProbs(ctx.model, ctx.forget, ctx.padId);
      const expected = mean(lp.sum.map((s, i) => (-2 / beta) * logSig(beta * (-s / lp.len[i]! - delta))));
      close(simNpoLoss(ctx.model, batch, beta, delta).item(), expected, 1e-5, 'SimNPO');
      checkGradient(ctx.model, () => simNpoLoss(ctx.model, batch, beta, delta));
    }));

    test('DPO-Idk: refusal preferred over the true answer', () => withBackend(be, () => {
      const ctx = tinyContext(0.02);
      const ref = frozenModel(ctx.model, ctx.original);
      const wins = ctx.forget.map((it) => withAnswer(it, refusalFor(it.question!), ctx.tokenizer));
      const beta = 0.5;
      const [wt, wr, lt, lr] = [logProbs(ctx.model, wins, ctx.padId).sum, logProbs(ref, wins, ctx.padId).sum,
        logProbs(ctx.model, ctx.forget, ctx.padId).sum, logProbs(ref, ctx.forget, ctx.padId).sum];
      const expected = mean(wt.map((_, i) => (-2 / beta) * logSig(beta * ((wt[i]! - wr[i]!) - (lt[i]! - lr[i]!)))));
      const win = makeBatch(wins, ctx.padId);
      const lose = makeBatch(ctx.forget, ctx.padId);
      close(dpoLoss(ctx.model, ref, win, lose, beta).item(), expected, 1e-5, 'DPO');
      checkGradient(ctx.model, () => dpoLoss(ctx.model, ref, win, lose, beta));
    }));

    test('KL retain: KL(p_ref ‖ p_θ) averaged over every real token position', () => withBackend(be, () => {
      const ctx = tinyContext(0.02);
      const ref = frozenModel(ctx.model, ctx.original);
      const batch = makeBatch(ctx.retain, ctx.padId);
      const [B, L] = batch.answers.ids.shape as [number, number];
      const V = ctx.model.config.vocabSize;
      const [a, b] = noGrad(() => [ctx.model.forward(batch.answers.ids).logits!.data as Float32Array, ref.forward(batch.answers.ids).logits!.data as Float32Array]);
      const logSoftmax = (x: Float32Array, o: number): number[] => {
        let m = -Infinity;
        for (let v = 0; v < V; v++) m = Math.max(m, x[o + v]!);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(x[o + v]! - m);
        return Array.from({ length: V }, (_, v) => x[o + v]! - m - Math.log(z));
      };
      let total = 0;
      let positions = 0;
      ctx.retain.forEach((it, r) => {
        for (let t = 0; t < it.prompt.length + it.answer.length; t++) {
          const lq = logSoftmax(a, (r * L + t) * V);
          const lp = logSoftmax(b, (r * L + t) * V);
          for (let v = 0; v < V; v++) total += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
          positions++;
        }
      });
      assert.equal(positions, batch.realTokens);
      assert.ok(B === ctx.retain.length);
      close(klToReference(ctx.model, ref, batch).item(), total / positions, 1e-4, 'KL');
      checkGradient(ctx.model, () => klToReference(ctx.model, ref, batch));
    }));
  });
}

test('refusal answers are chosen deterministically from the shipped set', () => {
  const a = refusalFor('Where was Ann Vale born?');
  assert.equal(a, refusalFor('Where was Ann Vale born?'));
  assert.ok(REFUSALS.includes(a));
  const picked = new Set(Array.from({ length: 200 }, (_, i) => refusalFor(`question ${i}`)));
  assert.ok(picked.size >= REFUSALS.length / 2, `only ${picked.size} refusals used`);
});
