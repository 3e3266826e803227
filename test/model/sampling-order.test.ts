import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/index.ts';
import { descendingOrder, sampleToken, type SamplingOptions } from '../../src/model/sampling.ts';

/** The definition sampleToken had before descendingOrder: a comparator sort of the ids, and Array sums. */
function sampleTokenByComparator(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const temperature = o.temperature!;
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const max = logits[kept[0]!]!;
  const probs = kept.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = probs.reduce((a, b) => a + b, 0);
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
  const mass = probs.slice(0, n).reduce((a, b) => a + b, 0);
  let u = rng.uniform() * mass;
  for (let i = 0; i < n; i++) {
    u -= probs[i]!;
    if (u <= 0) return kept[i]!;
  }
  return kept[n - 1]!;
}

/** Logits with ties, signed zeros, infinities, denormals and the extremes of f32, among ordinary values. */
function awkwardLogits(rng: Rng, n: number): Float32Array {
  const specials = [0, -0, 1, -1, 1e-45, -1e-45, 3.4e38, -3.4e38, -Infinity, 2.5, 2.5, -7];
  return Float32Array.from({ length: n }, () => (rng.uniform() < 0.3 ? specials[Math.floor(rng.uniform() * specials.length)]! : (rng.uniform() - 0.5) * 20));
}

test('descendingOrder is the stable comparator sort, largest logit first, ties in id order', () => {
  const rng = new Rng(11);
  for (const n of [1, 2, 3, 17, 2048, 5000]) {
    const logits = awkwardLogits(rng, n);
    const expected = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
    assert.deepEqual(Array.from(descendingOrder(logits)), expected, `n = ${n}`);
  }
});

test('descendingOrder falls back to the comparator sort when a logit is NaN', () => {
  const logits = Float32Array.from([1, Number.NaN, 3, 2]);
  assert.deepEqual(Array.from(descendingOrder(logits)), Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!));
});

test('sampleToken draws the same tokens as the comparator-sort definition', () => {
  const rng = new Rng(5);
  const options: SamplingOptions[] = [{ temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.9 }, { temperature: 1, topK: 40, topP: 0.5 }];
  let differentTokens = 0;
  for (const o of options) {
    const a = new Rng(99);
    const b = new Rng(99);
    const seen = new Set<number>();
    for (let draw = 0; draw < 300; draw++) {
      const logits = Float32Array.from({ length: 257 }, () => (rng.uniform() - 0.5) * 6);
      if (draw % 7 === 0) logits[3] = logits[9]!; // a tie
      const got = sampleToken(logits, o, a);
      assert.equal(got, sampleTokenByComparator(logits, o, b), `${JSON.stringify(o)}, draw ${draw}`);
      seen.add(got);
    }
    differentTokens += seen.size;
  }
  // The draws are real samples, not one token over and over.
  assert.ok(differentTokens > 40, `${differentTokens} distinct tokens`);
});
