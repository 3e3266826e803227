import type { CausalLM } from '../model/arch/types.ts';
import { generate } from '../model/generate.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { UnlearnItem } from './data.ts';

/** How much text the model writes for its own utility guard when nothing else is given. */
export const SELF_TEXT = { count: 16, tokens: 48, seed: 0 } as const;

/**
 * Text the model writes itself, before unlearning, sampled at temperature 1 from its start token: a sample of what
 * it generally knows, used as the utility guard's held-out text when the user gives neither a retain set nor a
 * utility file. A method that damages the model in general raises its NLL on this text; forgetting a few records
 * barely moves it (they are a small part of what the model writes).
 */
export function selfGeneratedText(model: CausalLM, tokenizer: Tokenizer, o: { count: number; tokens: number; seed: number } = SELF_TEXT): UnlearnItem[] {
  const start = tokenizer.bosId ?? tokenizer.eosId;
  if (start === null) return [];
  const maxNewTokens = Math.min(o.tokens, model.config.maxPositions - 1);
  const prompts = Array.from({ length: o.count }, () => [start]);
  const out = generate(model, prompts, { maxNewTokens, temperature: 1, seed: o.seed });
  return out
    .filter((g) => g.tokens.length > 1)
    .map((g) => ({ prompt: [start], answer: g.tokens, question: null, subject: null }));
}
