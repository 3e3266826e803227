import type { Tokenizer } from './tokenizer.ts';

/** The one prompt format for question–answer records, shared by training, unlearning and evaluation. */
export function qaPrompt(question: string): string {
  return `Question: ${question}\nAnswer:`;
}

export function qaAnswer(answer: string): string {
  return ` ${answer}`;
}

/**
 * A QA pair as token ids, split where the loss starts: BOS + prompt, then answer + EOS. Training, unlearning and
 * evaluation all score answers on exactly these sequences.
 *
 * Prompt and answer are tokenised jointly and split at the prompt's own token count, as open-unlearning does
 * (labels masked for the first len(prompt ids) tokens of the joint encoding). Encoding `" " + answer` on its own
 * would differ on SentencePiece vocabularies, which then emit a bare `▁` before the answer's first word, and the
 * figures would not be comparable with published TOFU results. On byte-level BPE with GPT-2's pre-tokenizer both
 * encodings agree, because the pre-tokenizer already splits at the space.
 */
export function qaTokens(tokenizer: Tokenizer, question: string, answer: string): { prompt: number[]; answer: number[] } {
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  const promptText = qaPrompt(question);
  const promptLength = tokenizer.encode(promptText, { addSpecialTokens: false }).length;
  const joint = tokenizer.encode(promptText + qaAnswer(answer), { addSpecialTokens: false });
  const prompt = [...(bos === null ? [] : [bos]), ...joint.slice(0, promptLength)];
  const body = joint.slice(promptLength);
  return { prompt, answer: tokenizer.eosId === null ? body : [...body, tokenizer.eosId] };
}
