import type { CausalLM } from '../model/arch/types.ts';
import { scoreSharedPrompts } from '../model/grouped-answers.ts';
import type { PromptAnswer } from '../model/logprobs.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { qaTokens } from '../model/qa-format.ts';
import type { EvalQa } from './datasets.ts';
import { TokenStatsCollector, type TokenStats, type TokenStatsOptions } from './mia.ts';

/** Teacher-forced scores of a QA set: everything the probability, truth-ratio and MIA metrics read. */
export interface QaScores {
  /** Mean answer-token log-prob of the true answer, per item (probability = exp of it). */
  answer: Float64Array;
  /** Mean token log-prob of the paraphrased answer per item (the true answer's where the item has no paraphrase). */
  paraphrased: Float64Array;
  /** Mean token log-prob of each perturbed answer, per item (empty where the set has none). */
  perturbed: Float64Array[];
  /** The true answers' token statistics (float64 log-softmax; moments, argmax) when asked for, else null. */
  truthStats: TokenStats | null;
}

/**
 * Scores the true, paraphrased and perturbed answers of every item in one pass: an item's answers share its
 * question, which is computed once (scoreSharedPrompts). Answers are tokenized as training saw them (BOS +
 * `Question: …\nAnswer:` | ` answer` + EOS), so the EOS counts too, as it does in TOFU's loss. `truthStats` also
 * gathers the true answers' statistics that membership inference and extraction read (answerTokenStats' values)
 * from the same logits, so no second pass over them is needed.
 */
export function scoreQaSet(model: CausalLM, tokenizer: Tokenizer, items: readonly EvalQa[], padId: number, batchSize = 32,
  truthStats?: Pick<TokenStatsOptions, 'moments' | 'argmax'>): QaScores {
  // Per item: the true answer, its paraphrase where it has one, then the perturbed answers.
  const pairs: PromptAnswer[] = [];
  const truthAt: number[] = [];
  const paraphraseAt: number[] = [];
  const perturbedFrom: number[] = [];
  const itemOfTruth = new Map<number, number>();
  items.forEach((q, i) => {
    truthAt.push(pairs.length);
    itemOfTruth.set(pairs.length, i);
    pairs.push(qaTokens(tokenizer, q.question, q.answer));
    paraphraseAt.push(q.paraphrasedAnswer === null ? truthAt[i]! : pairs.length);
    if (q.paraphrasedAnswer !== null) pairs.push(qaTokens(tokenizer, q.question, q.paraphrasedAnswer));
    perturbedFrom.push(pairs.length);
    for (const p of q.perturbedAnswers) pairs.push(qaTokens(tokenizer, q.question, p));
  });
  const collect = truthStats ? new TokenStatsCollector(truthAt.map((p) => pairs[p]!.answer), truthStats) : null;
  const s = scoreSharedPrompts(model, pairs, {
    batchSize, padId,
    ...(collect ? { visit: { wants: (p: number) => itemOfTruth.has(p), row: (p: number, j: number, logits: Float32Array) => collect.add(itemOfTruth.get(p)!, j, logits) } } : {}),
  });
  return {
    answer: Float64Array.from(truthAt, (p) => s.mean[p]!),
    paraphrased: Float64Array.from(paraphraseAt, (p) => s.mean[p]!),
    perturbed: items.map((q, i) => s.mean.slice(perturbedFrom[i]!, perturbedFrom[i]! + q.perturbedAnswers.length)),
    truthStats: collect?.stats ?? null,
  };
}
