import { crossEntropy, neg, noGrad, pooled, reshape, sum, Tensor } from '../engine/index.ts';
import { placeRows } from './arch/packing.ts';
import type { CausalLM } from './arch/types.ts';
import { padRight } from './padding.ts';

export interface PromptAnswer {
  prompt: readonly number[];
  answer: readonly number[];
}

/** A right-padded batch with targets only on answer tokens (everything else is ignored by the loss). */
export interface AnswerBatch {
  ids: Tensor;
  /** Next-token targets [B, L]: the answer's tokens at the positions that predict them, −100 elsewhere. */
  targets: Tensor;
  /** Answer length per row. */
  answerLengths: Int32Array;
  /** Real tokens (prompt + answer) per row; the rest of the row is padding. */
  lengths: Int32Array;
  /** Flat positions b·L + t that predict an answer token, row by row (where `targets` is not ignored). */
  answerPositions: Int32Array;
}

export const IGNORE_INDEX = -100;

/** Packs prompt+answer sequences into one right-padded batch (padRight), with targets on the answer tokens. */
export function packAnswers(items: readonly PromptAnswer[], padId = 0): AnswerBatch {
  if (items.length === 0) throw new RangeError('packAnswers needs at least one item');
  items.forEach((it, b) => {
    if (it.prompt.length === 0) throw new RangeError(`item ${b}: the prompt needs at least one token (e.g. BOS)`);
    if (it.answer.length === 0) throw new RangeError(`item ${b}: the answer is empty`);
  });
  const ids = padRight(items.map((it) => [...it.prompt, ...it.answer]), padId);
  const [B, L] = ids.shape as [number, number];
  const targets = new Int32Array(B * L).fill(IGNORE_INDEX);
  const answerLengths = new Int32Array(B);
  const lengths = new Int32Array(B);
  const answerPositions: number[] = [];
  items.forEach((it, b) => {
    // Position t predicts token t+1: answer token j sits at prompt.length + j, predicted from the position before.
    for (let j = 0; j < it.answer.length; j++) {
      targets[b * L + it.prompt.length + j - 1] = it.answer[j]!;
      answerPositions.push(b * L + it.prompt.length + j - 1);
    }
    answerLengths[b] = it.answer.length;
    lengths[b] = it.prompt.length + it.answer.length;
  });
  return { ids, targets: new Tensor(targets, [B, L]), answerLengths, lengths, answerPositions: Int32Array.from(answerPositions) };
}

/**
 * Logits [K, vocab] at the batch's answer positions only, in `answerPositions` order, with the padding and the
 * head's prompt positions never computed.
 */
export function answerLogits(model: CausalLM, batch: AnswerBatch): Tensor {
  return model.forward(batch.ids, { lengths: batch.lengths, logitPositions: batch.answerPositions }).logits!;
}

/** The answer tokens [K] in `answerPositions` order (the targets the answer logits predict). */
export function answerTargets(batch: AnswerBatch): Tensor {
  const t = batch.targets.i32('answerTargets');
  return new Tensor(Int32Array.from(batch.answerPositions, (p) => t[p]!), [batch.answerPositions.length]);
}

/** Mean NLL over all answer tokens of the batch (every token weighs the same), differentiable. */
export function batchAnswerNll(model: CausalLM, batch: AnswerBatch): Tensor {
  return crossEntropy(answerLogits(model, batch), answerTargets(batch));
}

/** Per-token NLL of answer tokens [B, L] (0 off-answer), differentiable; the base of every unlearning loss. */
export function answerTokenNll(model: CausalLM, batch: AnswerBatch): Tensor {
  const nll = crossEntropy(answerLogits(model, batch), answerTargets(batch), { reduction: 'none' });
  // Back to the [B, L] layout, zero off-answer.
  const K = batch.answerPositions.length;
  const at = new Int32Array(batch.ids.size).fill(K);
  batch.answerPositions.forEach((p, k) => {
    at[p] = k;
  });
  return reshape(placeRows(reshape(nll, [K, 1]), at), batch.ids.shape);
}

/** Σ log p(answer | prompt) per row [B], differentiable (NPO's sequence log-probability). */
export function sequenceLogProbs(model: CausalLM, batch: AnswerBatch): Tensor {
  return neg(sum(answerTokenNll(model, batch), 1));
}

/**
 * Runs the model over items in batches without a graph and calls `visit` with the logits row [V] that predicts
 * each answer token (position prompt.length − 1 + j predicts answer token j). The one batching loop behind the
 * teacher-forced metrics that need more than the answer's own log-prob (argmax, full-distribution moments).
 * The row is valid only during the call (its batch's memory goes back to the pool after it): copy what you keep.
 */
export function visitAnswerLogits(model: CausalLM, items: readonly PromptAnswer[], options: { batchSize?: number; padId?: number },
  visit: (item: number, j: number, logits: Float32Array) => void): void {
  const batchSize = options.batchSize ?? 16;
  noGrad(() => {
    for (let start = 0; start < items.length; start += batchSize) {
      const chunk = items.slice(start, start + batchSize);
      const batch = packAnswers(chunk, options.padId);
      pooled(() => {
        // [K, V] rows in answerPositions order: row by row, answer token by answer token.
        const logits = answerLogits(model, batch);
        const data = logits.f32('visitAnswerLogits');
        const V = logits.shape[1]!;
        let k = 0;
        chunk.forEach((it, b) => {
          for (let j = 0; j < it.answer.length; j++, k++) visit(start + b, j, data.subarray(k * V, (k + 1) * V));
        });
      });
    }
  });
}

export interface AnswerScores {
  /** log p of each answer token, per item. */
  tokenLogProbs: Float32Array[];
  /** Σ token log-probs per item. */
  sum: Float64Array;
  /** Mean token log-prob per item (probability = exp(mean), as TOFU reports). */
  mean: Float64Array;
}

/** Log-probabilities of answers given prompts, evaluated in batches without a graph. */
export function scoreAnswers(model: CausalLM, items: readonly PromptAnswer[], options: { batchSize?: number; padId?: number } = {}): AnswerScores {
  const batchSize = options.batchSize ?? 16;
  const out: AnswerScores = { tokenLogProbs: [], sum: new Float64Array(items.length), mean: new Float64Array(items.length) };
  noGrad(() => {
    for (let start = 0; start < items.length; start += batchSize) {
      const chunk = items.slice(start, start + batchSize);
      const batch = packAnswers(chunk, options.padId);
      pooled(() => {
        const nll = answerTokenNll(model, batch).f32('answerScores');
        const L = batch.ids.shape[1]!;
        chunk.forEach((it, b) => {
          const from = b * L + it.prompt.length - 1;
          const lp = Float32Array.from(nll.subarray(from, from + it.answer.length), (v) => -v);
          let s = 0;
          for (const v of lp) s += v;
          out.tokenLogProbs.push(lp);
          out.sum[start + b] = s;
          out.mean[start + b] = s / it.answer.length;
        });
      });
    }
  });
  return out;
}

/**
 * TOFU's probability of a set of answers: per item exp(mean answer-token log-prob), averaged over items. A model
 * that still knows the answers scores near 1; one that never saw them scores at its prior for that kind of answer.
 */
export function answerProbability(model: CausalLM, items: readonly PromptAnswer[], padId: number): number {
  if (items.length === 0) throw new RangeError('answerProbability needs at least one item');
  const s = scoreAnswers(model, items, { padId });
  let total = 0;
  for (const m of s.mean) total += Math.exp(m);
  return total / items.length;
}

/** Token-weighted mean NLL of the answers (the log of their perplexity). */
export function meanAnswerTokenNll(model: CausalLM, items: readonly PromptAnswer[], padId: number): number {
  if (items.length === 0) throw new RangeError('meanAnswerTokenNll needs at least one item');
  const s = scoreAnswers(model, items, { padId });
  let nll = 0;
  let tokens = 0;
  items.forEach((it, i) => {
    nll -= s.sum[i]!;
    tokens += it.answer.length;
  });
  return nll / tokens;
}
