// Float64 oracles for the per-token unlearning losses: full-sequence logits read straight off the model's forward pass
// (no answer-position gathering), softmax in float64, and gradient checks against central finite differences.
import assert from 'node:assert/strict';
import { backward, noGrad, type Tensor } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import type { UnlearnItem } from '../../src/unlearn/data.ts';
import type { UnlearnBatch } from '../../src/unlearn/batches.ts';
import { runLossLoop } from '../../src/unlearn/loop.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { loopOptionShape } from '../../src/unlearn/options.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { z } from 'zod';
import { finiteDifference, tinyContext } from './fixtures.ts';

/** One answer token: the logits row (float64) that predicts it, the token, and its place in its answer. */
export interface AnswerRow {
  logits: Float64Array;
  token: number;
  item: number;
  j: number;
}

/** Every answer token's predicting logits row, from a plain forward over the padded batch. */
export function answerRows(model: CausalLM, batch: UnlearnBatch): AnswerRow[] {
  const ids = batch.answers.ids;
  const L = ids.shape[1]!;
  const V = model.config.vocabSize;
  const logits = noGrad(() => model.forward(ids).logits!.data as Float32Array).slice();
  const rows: AnswerRow[] = [];
  batch.items.forEach((it: UnlearnItem, b) => {
    it.answer.forEach((token, j) => {
      const at = (b * L + it.prompt.length - 1 + j) * V;
      rows.push({ logits: Float64Array.from(logits.subarray(at, at + V)), token, item: b, j });
    });
  });
  return rows;
}

export function logSoftmax64(x: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let z = 0;
  for (const v of x) z += Math.exp(v - m);
  const lz = m + Math.log(z);
  return x.map((v) => v - lz);
}

export function softmax64(x: Float64Array): Float64Array {
  return logSoftmax64(x).map(Math.exp);
}

/** −Σ_v q_v log p_v. */
export function crossEntropy64(q: Float64Array, logits: Float64Array): number {
  const lp = logSoftmax64(logits);
  let s = 0;
  q.forEach((qv, v) => {
    if (qv > 0) s -= qv * lp[v]!;
  });
  return s;
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

const WEIGHT = 'transformer.h.0.mlp.c_fc.weight';

/**
 * Checks autograd's ∂loss/∂θ on the three largest-gradient coordinates of one weight against central finite
 * differences of `oracle` (the loss as the test computes it, float64). Returns autograd's values and those
 * coordinates, for further checks.
 */
export function checkGradient(model: CausalLM, loss: () => Tensor, oracle: () => number, name = WEIGHT): { coords: number[]; grads: number[] } {
  model.params.zeroGrad();
  backward(loss());
  const p = model.params.get(name);
  const g = Float32Array.from(p.grad!.data as Float32Array);
  model.params.zeroGrad();
  const coords = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
  for (const i of coords) {
    const fd = finiteDifference(p.data as Float32Array, i, 1e-2, oracle);
    assert.ok(Math.abs(fd - g[i]!) <= 3e-3 + 0.05 * Math.abs(g[i]!), `${name}[${i}]: autograd ${g[i]} vs finite difference ${fd}`);
  }
  assert.ok(Math.abs(g[coords[0]!]!) > 1e-2, `the gradient is too small (${g[coords[0]!]}) for the check to mean anything`);
  return { coords, grads: coords.map((i) => g[i]!) };
}

/**
 * Asserts that at these coordinates the finite difference of `full` (the loss with its weights or targets recomputed
 * at every θ) is far from autograd's: the gradient does not flow through what the method detaches.
 */
export function assertDetached(model: CausalLM, at: { coords: number[]; grads: number[] }, full: () => number, name = WEIGHT): void {
  const p = model.params.get(name);
  const gaps = at.coords.map((i, k) => Math.abs(finiteDifference(p.data as Float32Array, i, 1e-2, full) - at.grads[k]!));
  const scale = Math.max(...at.grads.map(Math.abs));
  assert.ok(Math.max(...gaps) > 0.2 * scale, `the gradient through the detached part would be ${gaps.join(', ')}, against autograd's ${at.grads.join(', ')}`);
}

/**
 * The tiny context after a few steps of fine-tuning on its forget answers, taken as θ: the random fixture gives every
 * token p ≈ 1/297, where the losses that remove the true token's mass (CE-U, UNDIAL) have gradients too small to check.
 */
export function memorisedContext(steps = 30): UnlearnContext {
  const ctx = tinyContext();
  const o = { ...z.object(loopOptionShape({ epochs: 1, lr: 3e-2 })).parse({}), steps, lr: 3e-2, batchSize: 4, alpha: 0, maxRetainLossRise: 0, maxUtilityLossRise: 0 };
  runLossLoop(ctx, o, { forget: (b, t) => answerNll(t.model, b) }, {}, { guards: false });
  return { ...ctx, original: ctx.model.params.snapshot() };
}
