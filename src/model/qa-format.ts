import type { Tokenizer } from './tokenizer.ts';

/** The one prompt format for question–answer records, shared by training, unlearning and evaluation. */
export function qaPrompt(question: string): string {
  return `Question: ${question}\nAnswer:`;
}

export function qaAnswer(answer: string): string {
  return ` ${answer}`;
}

/**
 * A QA pair as token ids, split where the loss starts: BOS + prompt, then answer + EOS. Unlearning and evaluation
 * score answers on exactly the sequences training saw.
 */
export function qaTokens(tokenizer: Tokenizer, question: string, answer: string): { prompt: number[]; answer: number[] } {
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  const prompt = [...(bos === null ? [] : [bos]), ...tokenizer.encode(qaPrompt(question), { addSpecialTokens: false })];
  const body = tokenizer.encode(qaAnswer(answer), { addSpecialTokens: false });
  return { prompt, answer: tokenizer.eosId === null ? body : [...body, tokenizer.eosId] };
}
