import type { CausalLM } from '../../model/arch/types.ts';
import { scoreAnswers, type PromptAnswer } from '../../model/logprobs.ts';
import { qaTokens } from '../../model/qa-format.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import { answerQuality } from '../memorisation.ts';
import type { FactRecord } from '../../unlearn/update/facts.ts';

/** Per item exp(mean answer-token log-prob): the project's answer probability (TOFU's), before averaging. */
export function itemProbabilities(model: CausalLM, items: readonly PromptAnswer[], padId: number): number[] {
  return Array.from(scoreAnswers(model, items, { padId }).mean, Math.exp);
}

/**
 * Each fact's non-member level: the mean answer probability the model gives to the plausible answers of its question
 * that it never learned (alternatives.ts), measured on the ORIGINAL model. Null for a fact with no such answer.
 */
export function nonMemberLevels(model: CausalLM, tokenizer: Tokenizer, facts: readonly FactRecord[], alternatives: readonly string[][], padId: number): (number | null)[] {
  const items = facts.flatMap((f, i) => alternatives[i]!.map((a) => qaTokens(tokenizer, f.question, a)));
  const p = items.length > 0 ? itemProbabilities(model, items, padId) : [];
  let at = 0;
  return alternatives.map((alts) => {
    if (alts.length === 0) return null;
    const mine = p.slice(at, (at += alts.length));
    return mine.reduce((a, b) => a + b, 0) / mine.length;
  });
}

/** The model's greedy answer to each question (the training prompt format, up to EOS), trimmed. */
export function greedyAnswers(model: CausalLM, tokenizer: Tokenizer, questions: readonly string[]): string[] {
  return answerQuality(model, tokenizer, questions.map((question) => ({ question, answer: '' }))).answers;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
