import type { CausalLM } from '../model/arch/types.ts';
import { visitAnswerLogits, type PromptAnswer } from '../model/logprobs.ts';
import { argmax } from '../model/sampling.ts';

/**
 * Extraction strength and exact memorisation (open-unlearning src/evals/metrics/memorization.py), both from one
 * teacher-forced forward pass per batch:
 *
 * - exact memorisation (EM) = fraction of answer tokens y_t that are the model's argmax given prompt + y_<t;
 * - extraction strength (ES) = 1 − k/|y|, k the shortest answer prefix after which greedy decoding reproduces the
 *   rest of the answer (Wang et al. 2025). ES = 1: the prompt alone elicits the whole answer; 0: not even the
 *   last token comes out without being given.
 *
 * Why one forward pass is enough for ES. Let a_t be the argmax given the TRUE prefix prompt + y_<t. Claim: greedy
 * decoding from prompt + y_<k reproduces y_k … y_{|y|−1} iff a_t = y_t for every t ≥ k. (⇐) by induction: if
 * the first i decoded tokens equal y_k … y_{k+i−1}, the decoder's context is exactly prompt + y_<k+i, whose argmax
 * is a_{k+i} = y_{k+i}. (⇒) if greedy reproduces the suffix, at each step its context is the true prefix, so the
 * token it emits, a_t, equals y_t. Hence k = 1 + (index of the last t with a_t ≠ y_t), or 0 if there is none.
 * (Both sides use the same argmax with the same tie rule; a KV-cached decoder can differ from a full forward pass
 * only by float round-off, which matters only at exact near-ties.)
 *
 * open-unlearning's loop (`for k in range(len): if preds[k:] == labels[k:]: break`) never tries k = |y| and leaves
 * k = |y| − 1 when even the last token is wrong, scoring 1/|y| where the definition gives 0. `matchOpenUnlearning`
 * reproduces that. open-unlearning also leaves out the final answer token (the EOS of its chat format) from both
 * metrics: pass answers without EOS to match.
 */

export interface MemorisationOptions {
  batchSize?: number;
  padId?: number;
  /** Reproduce open-unlearning's off-by-one for answers whose last token is not reproduced (ES = 1/|y|, not 0). */
  matchOpenUnlearning?: boolean;
}

/** Teacher-forced argmax (first index on ties, as torch.argmax) at every answer position, per item. */
export function teacherForcedPredictions(model: CausalLM, items: readonly PromptAnswer[], options: { batchSize?: number; padId?: number } = {}): Int32Array[] {
  const out = items.map((it) => new Int32Array(it.answer.length));
  visitAnswerLogits(model, items, options, (i, j, row) => {
    out[i]![j] = argmax(row);
  });
  return out;
}

/** ES of one answer from its teacher-forced predictions. */
export function extractionStrength(predictions: ArrayLike<number>, answer: ArrayLike<number>, options: { matchOpenUnlearning?: boolean } = {}): number {
  const n = answer.length;
  if (predictions.length !== n) throw new RangeError(`extractionStrength: ${predictions.length} predictions for ${n} answer tokens`);
  if (n === 0) return 0; // open-unlearning scores an answer without tokens as 0
  let k = 0;
  for (let t = n - 1; t >= 0; t--) {
    if (predictions[t] !== answer[t]) {
      k = t + 1;
      break;
    }
  }
  if (options.matchOpenUnlearning) k = Math.min(k, n - 1);
  return 1 - k / n;
}

/** EM of one answer: the fraction of its tokens that are the teacher-forced argmax. */
export function exactMemorisation(predictions: ArrayLike<number>, answer: ArrayLike<number>): number {
  const n = answer.length;
  if (predictions.length !== n) throw new RangeError(`exactMemorisation: ${predictions.length} predictions for ${n} answer tokens`);
  if (n === 0) throw new RangeError('exactMemorisation of an empty answer');
  let hits = 0;
  for (let t = 0; t < n; t++) if (predictions[t] === answer[t]) hits++;
  return hits / n;
}

export interface MemorisationScores {
  extractionStrength: Float64Array;
  exactMemorisation: Float64Array;
  /** Means over items (what open-unlearning reports as agg_value). */
  meanExtractionStrength: number;
  meanExactMemorisation: number;
}

export function memorisationScores(model: CausalLM, items: readonly PromptAnswer[], options: MemorisationOptions = {}): MemorisationScores {
  if (items.length === 0) throw new RangeError('memorisationScores needs at least one item');
  return memorisationFrom(teacherForcedPredictions(model, items, options), items, options);
}

/** The same from teacher-forced predictions already computed (see answerTokenStats' `argmax`). */
export function memorisationFrom(preds: readonly ArrayLike<number>[], items: readonly PromptAnswer[], options: { matchOpenUnlearning?: boolean } = {}): MemorisationScores {
  if (items.length === 0) throw new RangeError('memorisation scores need at least one item');
  const es = new Float64Array(items.length);
  const em = new Float64Array(items.length);
  items.forEach((it, i) => {
    es[i] = extractionStrength(preds[i]!, it.answer, options);
    em[i] = exactMemorisation(preds[i]!, it.answer);
  });
  const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  return { extractionStrength: es, exactMemorisation: em, meanExtractionStrength: mean(es), meanExactMemorisation: mean(em) };
}
