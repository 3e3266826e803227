import { scoreAnswers, type PromptAnswer } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';

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

/** Perplexity of continuations (exp of the token-weighted mean NLL), e.g. of plain text after BOS. */
export function perplexity(model: CausalLM, items: readonly PromptAnswer[], padId: number): number {
  if (items.length === 0) throw new RangeError('perplexity needs at least one item');
  const s = scoreAnswers(model, items, { padId });
  let nll = 0;
  let tokens = 0;
  items.forEach((it, i) => {
    nll -= s.sum[i]!;
    tokens += it.answer.length;
  });
  return Math.exp(nll / tokens);
}
