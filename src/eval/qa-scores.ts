import type { CausalLM } from '../model/arch/types.ts';
import { scoreAnswers, type PromptAnswer } from '../model/logprobs.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { qaTokens } from '../model/qa-format.ts';
import type { EvalQa } from './datasets.ts';

/** Teacher-forced scores of a QA set: everything the probability, truth-ratio and MIA metrics read. */
export interface QaScores {
  /** Mean answer-token log-prob of the true answer, per item (probability = exp of it). */
  answer: Float64Array;
  /** Log-prob of each true-answer token, per item (the membership-inference attacks' input). */
  answerTokens: Float32Array[];
  /** Mean token log-prob of the paraphrased answer per item (the true answer's where the set has no paraphrase). */
  paraphrased: Float64Array;
  /** Mean token log-prob of each perturbed answer, per item (empty where the set has none). */
  perturbed: Float64Array[];
}

/**
 * Scores the true, paraphrased and perturbed answers of every item in one batched pass per kind. Answers are
 * tokenized as training saw them (BOS + `Question: …\nAnswer:` | ` answer` + EOS), so the EOS counts too, as it
 * does in TOFU's loss.
 */
export function scoreQaSet(model: CausalLM, tokenizer: Tokenizer, items: readonly EvalQa[], padId: number, batchSize = 32): QaScores {
  const pairs = (answer: (q: EvalQa) => string): PromptAnswer[] => items.map((q) => qaTokens(tokenizer, q.question, answer(q)));
  const truth = scoreAnswers(model, pairs((q) => q.answer), { padId, batchSize });
  const hasParaphrase = items.some((q) => q.paraphrasedAnswer !== null);
  const paraphrased = hasParaphrase ? scoreAnswers(model, pairs((q) => q.paraphrasedAnswer ?? q.answer), { padId, batchSize }).mean : truth.mean;
  // All perturbed answers of the set in one list, then cut back per item.
  const flat: PromptAnswer[] = [];
  for (const q of items) for (const p of q.perturbedAnswers) flat.push(qaTokens(tokenizer, q.question, p));
  const pert = flat.length > 0 ? scoreAnswers(model, flat, { padId, batchSize }).mean : new Float64Array(0);
  let at = 0;
  const perturbed = items.map((q) => {
    const slice = pert.slice(at, at + q.perturbedAnswers.length);
    at += q.perturbedAnswers.length;
    return slice;
  });
  return { answer: truth.mean, answerTokens: truth.tokenLogProbs, paraphrased, perturbed };
}
