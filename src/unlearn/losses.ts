import {
  add, crossEntropy, div, exp, log, logSoftmax, mul, neg, noGrad, relu, scale, softmax, sub, sum, Tensor,
} from '../engine/index.ts';
import { answerLogits, answerTargets, answerTokenNll, batchAnswerNll, packAnswers, sequenceLogProbs, type AnswerBatch } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';
import type { UnlearnBatch } from './batches.ts';
import type { LossSpec } from './loop.ts';

/** Mean NLL over the batch's answer tokens (every answer token weighs the same, as Hugging Face's loss does). */
export function answerNll(model: CausalLM, batch: UnlearnBatch): Tensor {
  return batchAnswerNll(model, batch.answers);
}

/** Σ log p(answer | prompt) per row [B]. */
export function answerLogProb(model: CausalLM, batch: UnlearnBatch): Tensor {
  return sequenceLogProbs(model, batch.answers);
}

/** Per frozen model: Σ log p(answer | prompt) by item tokens, computed once (later epochs reuse it). */
const referenceCache = new WeakMap<CausalLM, Map<string, number>>();

/**
 * The same under a frozen model (π_ref, never changed while it is in use), as a constant [B]. Each item is scored
 * once: NPO and DPO see every forget item once per epoch, and the reference forward was an eighth of a step.
 */
export function referenceLogProb(reference: CausalLM, batch: UnlearnBatch): Tensor {
  let cache = referenceCache.get(reference);
  if (!cache) referenceCache.set(reference, (cache = new Map()));
  const keys = batch.items.map((it) => `${it.prompt.join(',')}|${it.answer.join(',')}`);
  const missing = [...new Map(keys.map((k, i) => [k, i] as const)).entries()].filter(([k]) => !cache.has(k));
  if (missing.length > 0) {
    // A row's value does not depend on its batch but for float rounding (GEMM blocking), so a sub-batch serves.
    const sub = missing.length === batch.items.length ? batch.answers : packAnswers(missing.map(([, i]) => batch.items[i]!));
    const lp = noGrad(() => sequenceLogProbs(reference, sub)).f32('referenceLogProb');
    missing.forEach(([k], j) => cache.set(k, lp[j]!));
  }
  return new Tensor(Float32Array.from(keys, (k) => cache.get(k)!), [batch.items.length]);
}

/** Length-normalised NLL per row [B]: Σ answer-token NLL / |y| (SimNPO). */
export function meanAnswerNll(model: CausalLM, batch: UnlearnBatch): Tensor {
  const lengths = new Tensor(Float32Array.from(batch.answers.answerLengths), [batch.items.length]);
  return div(sum(answerTokenNll(model, batch.answers), 1), lengths);
}

/**
 * log σ(x) without overflow: −(max(−x, 0) + log(1 + e^(−|x|))). The naive log(sigmoid(x)) gives −∞ once σ
 * underflows, which NPO-style losses reach when a method pushes far.
 */
export function logSigmoid(x: Tensor): Tensor {
  const absX = add(relu(x), relu(neg(x)));
  return neg(add(relu(neg(x)), log(add(exp(neg(absX)), 1))));
}

/** Mean over rows of a [B] tensor. */
export function meanRows(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.shape[0]!);
}

/**
 * KL(p_ref ‖ p_θ) of the next-token distributions, averaged over every real token position of the batch (the
 * KL retain term): keeps the model's whole output distribution on retain data where it was.
 */
export function klToReference(model: CausalLM, reference: CausalLM, batch: UnlearnBatch): Tensor {
  const ids = batch.answers.ids;
  // Logits at the real tokens only (padding is neither computed nor averaged).
  const at = { lengths: batch.answers.lengths, logitPositions: batch.realPositions };
  const refLogp = noGrad(() => logSoftmax(reference.forward(ids, at).logits!, -1));
  const logp = logSoftmax(model.forward(ids, at).logits!, -1);
  const perPosition = sum(mul(exp(refLogp), sub(refLogp, logp)), -1);
  return scale(sum(perPosition), 1 / batch.realTokens);
}

/**
 * −mean over the batch's answer tokens of w_t·NLL_t, with w_t = weight(NLL_t) a constant: read off the forward pass
 * and detached, so the gradient is Σ w_t·∇NLL_t / K and no gradient flows through the weights (WGA, SatImp).
 * Also returns the mean weight, for the log.
 */
export function weightedAnswerAscent(model: CausalLM, batch: UnlearnBatch, weight: (nll: number) => number): { loss: Tensor; meanWeight: number } {
  const nll = crossEntropy(answerLogits(model, batch.answers), answerTargets(batch.answers), { reduction: 'none' });
  const w = Float32Array.from(nll.f32('weightedAnswerAscent'), (v) => weight(v));
  const K = w.length;
  return { loss: scale(sum(mul(nll, new Tensor(w, [K]))), -1 / K), meanWeight: w.reduce((a, b) => a + b, 0) / K };
}

/** The loop's spec for a token-weighted ascent (WGA, SatImp): its loss as the forget term, its mean weight logged. */
export function weightedAscentSpec(loss: (model: CausalLM, batch: UnlearnBatch) => { loss: Tensor; meanWeight: number }): LossSpec {
  let weight = 0;
  return {
    forget: (b, t) => {
      const r = loss(t.model, b);
      weight = r.meanWeight;
      return r.loss;
    },
    parts: () => ({ weight }),
  };
}

/**
 * Mean over rows of the cross-entropy −Σ_v q_v·log softmax(logits)_v between logits [K, V] and soft targets q [K, V]
 * (a constant: no gradient flows into it). CE-U and UNDIAL's distillation loss.
 */
export function softTargetCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  return scale(sum(mul(target, logSoftmax(logits, -1))), -1 / logits.shape[0]!);
}

/**
 * softmax(logits + shift·onehot(targets)) per row, without a graph: the soft targets built by moving each row's true
 * token's logit by `shift` (−β for UNDIAL; −∞ for CE-U, given as −Infinity and applied as a logit far below any other,
 * so that token's probability is exactly 0 and no Inf enters a tensor).
 */
export function shiftedTargetSoftmax(logits: Tensor, targets: Tensor, shift: number): Tensor {
  const [K, V] = logits.shape as [number, number];
  const t = targets.i32('shiftedTargetSoftmax');
  const x = Float32Array.from(logits.f32('shiftedTargetSoftmax'));
  for (let k = 0; k < K; k++) {
    const i = k * V + t[k]!;
    x[i] = shift === -Infinity ? -3e38 : x[i]! + shift;
  }
  return noGrad(() => softmax(new Tensor(x, [K, V]), -1));
}

/** The batch's answers with the first `n` answer tokens of each row left out of `answerPositions` (CE-U's trick). */
export function skipFirstAnswerTokens(batch: UnlearnBatch, n: number): AnswerBatch {
  if (n === 0) return batch.answers;
  const L = batch.answers.ids.shape[1]!;
  const kept: number[] = [];
  batch.items.forEach((it, b) => {
    for (let j = n; j < it.answer.length; j++) kept.push(b * L + it.prompt.length + j - 1);
  });
  return { ...batch.answers, answerPositions: Int32Array.from(kept) };
}
