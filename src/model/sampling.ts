import { Rng } from '../engine/index.ts';

export interface SamplingOptions {
  /** 0 (default) is greedy decoding; otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
}

export function validateSampling(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw new RangeError(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${o.topP}`);
}

/** Index of the largest value (the first one on ties, as torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/**
 * Token ids by logit, largest first, ties in id order: what sorting the ids with `(a, b) => logits[b] − logits[a]`
 * gives (a stable sort), but as one numeric sort of a Float64Array — each key is the logit's order-preserving bit
 * pattern, inverted, times a power of two above the vocabulary, plus the id — instead of a comparator called
 * V·log V times. Sampling drew a sort per token and per row: a fifth of the sampled-extraction attack's time, and
 * garbage. A NaN logit (which has no order) falls back to the comparator sort.
 */
export function descendingOrder(logits: Float32Array): Uint32Array {
  const n = logits.length;
  const scale = 2 ** Math.max(1, Math.ceil(Math.log2(Math.max(2, n))));
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    if (Number.isNaN(v)) return Uint32Array.from(Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!));
    // −0 and +0 compare equal, so they share a key (then id order decides, as in the comparator sort).
    f32Bits[0] = v === 0 ? 0 : v;
    const b = u32Bits[0]!;
    // Ascending in the value: negatives have their bits inverted, non-negatives their sign bit set.
    const ascending = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - ascending) * scale + i;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = keys[i]! % scale;
  return order;
}

/** Picks the next token from one row of logits: greedy, or temperature / top-k / top-p sampling. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const temperature = o.temperature ?? 0;
  if (temperature === 0) return argmax(logits);
  const order = descendingOrder(logits);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const kept = order.subarray(0, k);
  const max = logits[kept[0]!]!;
  const probs = new Float64Array(k);
  // Sums run left to right from 0, as Array.prototype.reduce did, so a draw picks the same token as it always has.
  let total = 0;
  for (let i = 0; i < k; i++) total += probs[i] = Math.exp((logits[kept[i]!]! - max) / temperature);
  let n = kept.length;
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let cum = 0;
    for (let i = 0; i < kept.length; i++) {
      cum += probs[i]! / total;
      if (cum >= topP) {
        n = i + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < n; i++) mass += probs[i]!;
  let u = rng.uniform() * mass;
  for (let i = 0; i < n; i++) {
    u -= probs[i]!;
    if (u <= 0) return kept[i]!;
  }
  return kept[n - 1]!;
}
