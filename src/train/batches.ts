import { Rng, Tensor } from '../engine/index.ts';
import { IGNORE_INDEX } from '../model/logprobs.ts';
import { padRight } from '../model/padding.ts';
import type { Example } from './examples.ts';

/** Where the trainer is in the data: which epoch, and how many examples of that epoch's order were consumed. */
export interface DataPosition {
  epoch: number;
  offset: number;
}

export interface Batch {
  ids: Tensor;
  /** Next-token targets with −100 where no loss is taken (prompt tokens, padding). */
  targets: Tensor;
  /** Tokens that carry loss. */
  targetTokens: number;
  /** All real (non-padding) tokens. */
  tokens: number;
  /** Real tokens per row (the rest is padding). */
  lengths: Int32Array;
  /** Flat positions b·L + t that carry a target, row by row. */
  targetPositions: Int32Array;
  /** The targets at those positions. */
  targetIds: Tensor;
}

/** The order of examples in an epoch: a seeded Fisher–Yates shuffle, so a resumed run sees the same order. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng((seed * 1000003 + epoch * 7919) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** How many batches' worth of shuffled examples are sorted by length together (see bucketedOrder). */
const BUCKET_BATCHES = 16;

/**
 * An epoch's order with length bucketing: shuffle, sort each window of BUCKET_BATCHES batches by length, cut into
 * batches, shuffle the batches. Batches then hold sequences of similar length, so little compute goes to
 * padding, while the epoch stays random and a pure function of (seed, epoch).
 */
export function bucketedOrder(lengths: ArrayLike<number>, batchSize: number, seed: number, epoch: number): Int32Array {
  const order = epochOrder(lengths.length, seed, epoch);
  const window = batchSize * BUCKET_BATCHES;
  const sorted: number[] = [];
  for (let start = 0; start < order.length; start += window) {
    const chunk = Array.from(order.subarray(start, start + window));
    chunk.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
    sorted.push(...chunk);
  }
  const batches: number[][] = [];
  for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
  const batchOrder = epochOrder(batches.length, seed ^ 0x5bd1e995, epoch);
  return Int32Array.from(Array.from(batchOrder, (b) => batches[b]!).flat());
}

/** Right-pads examples into one batch; position t's target is token t+1 where that token carries loss. */
export function collate(examples: readonly Example[], padId: number): Batch {
  const ids = padRight(examples.map((e) => e.ids), padId);
  const [B, L] = ids.shape as [number, number];
  const targets = new Int32Array(B * L).fill(IGNORE_INDEX);
  let tokens = 0;
  const lengths = new Int32Array(B);
  const positions: number[] = [];
  const targetIds: number[] = [];
  examples.forEach((e, b) => {
    tokens += e.ids.length;
    lengths[b] = e.ids.length;
    for (let t = 0; t + 1 < e.ids.length; t++) {
      if (e.lossMask[t + 1]) {
        targets[b * L + t] = e.ids[t + 1]!;
        positions.push(b * L + t);
        targetIds.push(e.ids[t + 1]!);
      }
    }
  });
  return {
    ids, targets: new Tensor(targets, [B, L]), targetTokens: positions.length, tokens, lengths,
    targetPositions: Int32Array.from(positions), targetIds: new Tensor(Int32Array.from(targetIds), [targetIds.length]),
  };
}

/** Deterministic stream of batches over epochs; `position` is what a checkpoint saves to resume exactly. */
export class BatchStream {
  private readonly examples: readonly Example[];
  private readonly batchSize: number;
  private readonly seed: number;
  private readonly padId: number;
  private readonly lengths: Int32Array;
  private order: Int32Array;
  position: DataPosition;

  constructor(examples: readonly Example[], batchSize: number, seed: number, padId: number, position: DataPosition = { epoch: 0, offset: 0 }) {
    if (examples.length === 0) throw new RangeError('no training examples');
    this.examples = examples;
    this.batchSize = batchSize;
    this.seed = seed;
    this.padId = padId;
    this.position = { ...position };
    this.lengths = Int32Array.from(examples, (e) => e.ids.length);
    this.order = bucketedOrder(this.lengths, batchSize, seed, position.epoch);
  }

  next(): Batch {
    if (this.position.offset >= this.order.length) {
      this.position = { epoch: this.position.epoch + 1, offset: 0 };
      this.order = bucketedOrder(this.lengths, this.batchSize, this.seed, this.position.epoch);
    }
    const end = Math.min(this.order.length, this.position.offset + this.batchSize);
    const picked = Array.from(this.order.subarray(this.position.offset, end), (i) => this.examples[i]!);
    this.position = { epoch: this.position.epoch, offset: end };
    return collate(picked, this.padId);
  }
}
