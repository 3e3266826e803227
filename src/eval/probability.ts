import { answerProbability, meanAnswerTokenNll, type PromptAnswer } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';

export { answerProbability };

/** Perplexity of continuations (exp of the token-weighted mean NLL), e.g. of plain text after BOS. */
export function perplexity(model: CausalLM, items: readonly PromptAnswer[], padId: number): number {
  return Math.exp(meanAnswerTokenNll(model, items, padId));
}
