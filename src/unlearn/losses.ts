import {
  add, crossEntropy, div, exp, log, logSoftmax, mul, neg, noGrad, relu, scale, sub, sum, Tensor,
} from '../engine/index.ts';
import { answerTokenNll, sequenceLogProbs } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';
import type { UnlearnBatch } from './batches.ts';

/** Mean NLL over the batch's answer tokens (every answer token weighs the same, as Hugging Face's loss does). */
export function answerNll(model: CausalLM, batch: UnlearnBatch): Tensor {
  return crossEntropy(model.forward(batch.answers.ids).logits!, batch.answers.targets);
}

/** Σ log p(answer | prompt) per row [B]. */
export function answerLogProb(model: CausalLM, batch: UnlearnBatch): Tensor {
  return sequenceLogProbs(model, batch.answers);
}

/** The same under a frozen model, as a constant [B]. */
export function referenceLogProb(reference: CausalLM, batch: UnlearnBatch): Tensor {
  return noGrad(() => sequenceLogProbs(reference, batch.answers));
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
  const refLogp = noGrad(() => logSoftmax(reference.forward(ids).logits!, -1));
  const logp = logSoftmax(model.forward(ids).logits!, -1);
  const perPosition = sum(mul(exp(refLogp), sub(refLogp, logp)), -1);
  return scale(sum(mul(perPosition, batch.tokenMask)), 1 / batch.realTokens);
}
