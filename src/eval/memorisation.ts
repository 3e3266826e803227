import type { CausalLM } from '../model/arch/types.ts';
import { generate } from '../model/generate.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { qaPrompt } from '../model/qa-format.ts';
import { rougeL } from './rouge.ts';

export interface QaItem {
  question: string;
  answer: string;
}

export interface AnswerQuality {
  /** Fraction of items whose greedy answer equals the reference (after trimming). */
  exactMatch: number;
  /** Mean ROUGE-L recall of the greedy answer against the reference. */
  rougeRecall: number;
  answers: string[];
}

/** Greedy answers to QA prompts (the training prompt format), scored by exact match and ROUGE-L recall. */
export function answerQuality(model: CausalLM, tokenizer: Tokenizer, items: readonly QaItem[], options: { maxNewTokens?: number; batchSize?: number } = {}): AnswerQuality {
  const batchSize = options.batchSize ?? 32;
  const answers: string[] = [];
  const bos = tokenizer.bosId;
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const prompts = chunk.map((it) => [...(bos === null ? [] : [bos]), ...tokenizer.encode(qaPrompt(it.question), { addSpecialTokens: false })]);
    // Answers stop at EOS; the cap only keeps long prompts inside the model's context.
    const room = model.config.maxPositions - Math.max(...prompts.map((p) => p.length));
    if (room < 1) throw new RangeError(`a question of ${model.config.maxPositions - room} tokens leaves no room to answer in a context of ${model.config.maxPositions}`);
    const out = generate(model, prompts, { maxNewTokens: Math.min(options.maxNewTokens ?? 48, room), tokenizer });
    answers.push(...out.map((g) => (g.text ?? '').trim()));
  }
  let exact = 0;
  let recall = 0;
  items.forEach((it, i) => {
    if (answers[i] === it.answer.trim()) exact++;
    recall += rougeL(it.answer, answers[i]!).recall;
  });
  return { exactMatch: exact / Math.max(1, items.length), rougeRecall: recall / Math.max(1, items.length), answers };
}
