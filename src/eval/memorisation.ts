import type { CausalLM } from '../model/arch/types.ts';
import type { ModelConfig } from '../model/config.ts';
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

/** What the KV caches of one batch of greedy answers may hold (generationBatch). */
export const GENERATION_CACHE_BYTES = 64 * 2 ** 20;

/**
 * Rows a batch of greedy answers decodes at once: as many as keep its KV cache (f32 keys and values of every layer,
 * for `positions` positions) within GENERATION_CACHE_BYTES, at least 32 and at most 128. A decoding step on a small
 * model is mostly per-op overhead, so wider batches finish sooner: the embedded model's 400 forget answers took 4.0 s
 * at 102 rows against 5.6–6.0 s at 32, on one core (greedy rows decode exactly as alone: the answers are the same).
 */
export function generationBatch(config: Pick<ModelConfig, 'numLayers' | 'numKvHeads' | 'headDim'>, positions: number): number {
  const perRow = config.numLayers * 2 * config.numKvHeads * config.headDim * positions * 4;
  return Math.max(32, Math.min(128, Math.floor(GENERATION_CACHE_BYTES / Math.max(1, perRow))));
}

/** Greedy answers to QA prompts (the training prompt format), scored by exact match and ROUGE-L recall. */
export function answerQuality(model: CausalLM, tokenizer: Tokenizer, items: readonly QaItem[], options: { maxNewTokens?: number; batchSize?: number } = {}): AnswerQuality {
  const maxNew = options.maxNewTokens ?? 48;
  // Questions of the persons and TOFU kinds run to a few dozen tokens: 32 stands for the prompt's share.
  const batchSize = options.batchSize ?? generationBatch(model.config, Math.min(model.config.maxPositions, 32 + maxNew));
  const answers: string[] = [];
  const bos = tokenizer.bosId;
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const prompts = chunk.map((it) => [...(bos === null ? [] : [bos]), ...tokenizer.encode(qaPrompt(it.question), { addSpecialTokens: false })]);
    // Answers stop at EOS; the cap only keeps long prompts inside the model's context.
    const room = model.config.maxPositions - Math.max(...prompts.map((p) => p.length));
    if (room < 1) throw new RangeError(`a question of ${model.config.maxPositions - room} tokens leaves no room to answer in a context of ${model.config.maxPositions}`);
    const out = generate(model, prompts, { maxNewTokens: Math.min(maxNew, room), tokenizer });
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
