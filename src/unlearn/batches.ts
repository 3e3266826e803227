import { Tensor } from '../engine/index.ts';
import { packAnswers, type AnswerBatch } from '../model/logprobs.ts';
import { epochOrder } from '../train/batches.ts';
import type { UnlearnItem } from './data.ts';

/** A batch of forget or retain items: the packed answers plus a mask of real (non-padding) tokens. */
export interface UnlearnBatch {
  items: readonly UnlearnItem[];
  answers: AnswerBatch;
  /** f32 [B, L]: 1 on every real token (prompt and answer), 0 on right padding. */
  tokenMask: Tensor;
  realTokens: number;
  /** Flat positions b·L + t of the real tokens, row by row. */
  realPositions: Int32Array;
}

export function makeBatch(items: readonly UnlearnItem[], padId: number): UnlearnBatch {
  const answers = packAnswers(items, padId);
  const [B, L] = answers.ids.shape as [number, number];
  const mask = new Float32Array(B * L);
  const realPositions: number[] = [];
  items.forEach((it, b) => {
    const n = it.prompt.length + it.answer.length;
    mask.fill(1, b * L, b * L + n);
    for (let t = 0; t < n; t++) realPositions.push(b * L + t);
  });
  return { items, answers, tokenMask: new Tensor(mask, [B, L]), realTokens: realPositions.length, realPositions: Int32Array.from(realPositions) };
}

/**
 * A batch cut into consecutive chunks of at most `size` items, each with its share of what a mean-reduced term of
 * the whole batch averages over (`count`: its answer tokens, its real tokens, …). For such a term,
 * term(batch) = Σ share · term(chunk), so passes over the chunks give the batch's gradient with a chunk's memory.
 */
export function chunkBatch(batch: UnlearnBatch, size: number, padId: number, count: (b: UnlearnBatch) => number): { batch: UnlearnBatch; share: number }[] {
  if (size <= 0 || batch.items.length <= size) return [{ batch, share: 1 }];
  const total = count(batch);
  const chunks: { batch: UnlearnBatch; share: number }[] = [];
  for (let i = 0; i < batch.items.length; i += size) {
    const chunk = makeBatch(batch.items.slice(i, i + size), padId);
    chunks.push({ batch: chunk, share: count(chunk) / total });
  }
  return chunks;
}

/**
 * Endless shuffled batches over a set of items, epoch after epoch (a pure function of the seed). Forget and
 * retain streams run side by side with different seeds, so each forget batch is paired with a retain batch.
 */
export class ItemStream {
  private order: Int32Array;
  private epoch = 0;
  private offset = 0;

  constructor(private readonly items: readonly UnlearnItem[], private readonly batchSize: number,
    private readonly seed: number, private readonly padId: number) {
    if (items.length === 0) throw new RangeError('no items to batch');
    this.order = epochOrder(items.length, seed, 0);
  }

  next(): UnlearnBatch {
    if (this.offset >= this.order.length) {
      this.epoch++;
      this.offset = 0;
      this.order = epochOrder(this.items.length, this.seed, this.epoch);
    }
    const end = Math.min(this.order.length, this.offset + this.batchSize);
    const picked = Array.from(this.order.subarray(this.offset, end), (i) => this.items[i]!);
    this.offset = end;
    return makeBatch(picked, this.padId);
  }
}
