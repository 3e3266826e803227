// Packed forward passes (blocks on real tokens only, logits at chosen positions) against the plain padded pass:
// the same values at every real position, zeros at padding, gradients equal to rounding, and the cached
// reference log-probs equal to a fresh computation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, crossEntropy, noGrad, reshape, sum, Tensor } from '../../src/engine/index.ts';
import { KVCache } from '../../src/model/kv-cache.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { answerTokenNll, IGNORE_INDEX, packAnswers } from '../../src/model/logprobs.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { referenceLogProb } from '../../src/unlearn/losses.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { fixtureDir, tokenItems } from '../unlearn/fixtures.ts';

const FAMILIES = ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny'];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Gradients of every parameter after backward(loss()), copied. */
function gradients(model: CausalLM, loss: () => Tensor): Float32Array[] {
  model.params.zeroGrad();
  backward(loss());
  return model.params.list().map((p) => Float32Array.from(p.grad!.f32('test')));
}

for (const backendName of backendsUnderTest()) {
  for (const family of FAMILIES) {
    describe(`packed forward, ${family} (${backendName})`, () => {
      const setup = (): { model: CausalLM; items: ReturnType<typeof tokenItems> } => withBackend(backendName, () => ({
        model: loadModel(fixtureDir(family)).model, items: tokenItems(7, 11),
      }));

      test('logits at real positions equal the padded pass, padding is zero', () => {
        const { model, items } = setup();
        const batch = packAnswers(items, 0);
        const [B, L] = batch.ids.shape as [number, number];
        assert.ok(batch.lengths.some((n) => n < L), 'the items must have different lengths');
        const V = model.config.vocabSize;
        const plain = noGrad(() => model.forward(batch.ids).logits!.f32('test'));
        const packed = noGrad(() => model.forward(batch.ids, { lengths: batch.lengths }).logits!);
        assert.deepEqual(packed.shape, [B, L, V]);
        const P = packed.f32('test');
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < L; t++) {
            const at = (b * L + t) * V;
            const row = P.subarray(at, at + V);
            if (t < batch.lengths[b]!) assert.ok(maxAbsDiff(row, plain.subarray(at, at + V)) <= 1e-5, `row ${b} position ${t}`);
            else assert.ok(row.every((v) => v === 0), `padding ${b}/${t} must be zero`);
          }
        }
        // Logits at chosen positions: exactly those rows, in the order asked.
        const positions = Int32Array.from([batch.answerPositions[3]!, 0, batch.answerPositions[0]!]);
        const some = noGrad(() => model.forward(batch.ids, { lengths: batch.lengths, logitPositions: positions }).logits!);
        assert.deepEqual(some.shape, [3, V]);
        positions.forEach((p, k) => assert.ok(maxAbsDiff(some.f32('test').subarray(k * V, (k + 1) * V), plain.subarray(p * V, (p + 1) * V)) <= 1e-5));
        // Unpacked passes take logitPositions too.
        const unpacked = noGrad(() => model.forward(batch.ids, { logitPositions: positions }).logits!);
        assert.ok(maxAbsDiff(unpacked.f32('test'), some.f32('test')) <= 1e-5);
      });

      test('hidden states: the padded pass at real tokens, zero at padding', () => {
        const { model, items } = setup();
        const batch = packAnswers(items, 0);
        const [B, L] = batch.ids.shape as [number, number];
        const D = model.config.hiddenSize;
        const plain = noGrad(() => model.forward(batch.ids, { keepHidden: [0], stopAfterLayer: 0 }).hidden.get(0)!.f32('test'));
        const packed = noGrad(() => model.forward(batch.ids, { lengths: batch.lengths, keepHidden: [0], stopAfterLayer: 0 }).hidden.get(0)!.f32('test'));
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < L; t++) {
            const at = (b * L + t) * D;
            const row = packed.subarray(at, at + D);
            if (t < batch.lengths[b]!) assert.ok(maxAbsDiff(row, plain.subarray(at, at + D)) <= 1e-5);
            else assert.ok(row.every((v) => v === 0));
          }
        }
      });

      test('answer NLL and its gradient equal the padded computation', () => {
        const { model, items } = setup();
        const batch = packAnswers(items, 0);
        const padded = (): Tensor => reshape(crossEntropy(model.forward(batch.ids).logits!, batch.targets, { reduction: 'none', ignoreIndex: IGNORE_INDEX }), batch.ids.shape);
        const a = noGrad(padded).f32('test');
        const b = noGrad(() => answerTokenNll(model, batch)).f32('test');
        assert.ok(maxAbsDiff(a, b) <= 1e-5, `NLL differs by ${maxAbsDiff(a, b)}`);
        b.forEach((v, i) => assert.equal(v === 0, batch.targets.i32('test')[i] === IGNORE_INDEX || v === 0));
        const ga = gradients(model, () => sum(padded()));
        const gb = gradients(model, () => sum(answerTokenNll(model, batch)));
        ga.forEach((g, i) => {
          const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
          assert.ok(maxAbsDiff(g, gb[i]!) <= 1e-4 * scale, `gradient of ${model.params.entries()[i]![0]} differs by ${maxAbsDiff(g, gb[i]!)} (largest ${scale})`);
        });
      });

      test('refuses what it cannot combine and lengths that do not fit', () => {
        const { model, items } = setup();
        const batch = packAnswers(items, 0);
        const [B, L] = batch.ids.shape as [number, number];
        assert.throws(() => model.forward(batch.ids, { lengths: batch.lengths, keyStart: new Int32Array(B) }), /cannot be combined/);
        // With a cache the packed pass runs, and the cache (whose padded positions hold copies) refuses to grow.
        const cache = new KVCache(model.config.numLayers);
        noGrad(() => model.forward(batch.ids, { lengths: batch.lengths, cache }));
        assert.throws(() => noGrad(() => model.forward(new Tensor(new Int32Array(B), [B, 1]), { cache })), /cannot be extended/);
        assert.throws(() => model.forward(batch.ids, { lengths: Int32Array.from([...batch.lengths.slice(1), L + 1]) }), /outside 1…/);
        assert.throws(() => model.forward(batch.ids, { lengths: batch.lengths.slice(1) }), /rows/);
        const pad = batch.lengths.findIndex((n) => n < L);
        assert.throws(() => model.forward(batch.ids, { lengths: batch.lengths, logitPositions: Int32Array.of(pad * L + L - 1) }), /padding/);
        assert.throws(() => model.forward(batch.ids, { logitPositions: Int32Array.of(B * L) }), /outside the batch/);
      });
    });
  }
}

describe('reference log-probs are computed once per item', () => {
  test('cached values equal a fresh computation, and later batches run no forward pass', () => {
    const { model } = loadModel(fixtureDir('gpt2-tiny'));
    const ref = frozenModel(model, model.params.snapshot());
    let forwards = 0;
    const counting: CausalLM = { config: ref.config, params: ref.params, forward: (ids, o) => (forwards++, ref.forward(ids, o)) };
    const items = tokenItems(9, 5);
    const first = referenceLogProb(counting, makeBatch(items.slice(0, 5), 0)).f32('test');
    assert.equal(forwards, 1);
    // A batch that overlaps the first: only the new items are scored, in one pass.
    const mixed = [items[7]!, items[2]!, items[8]!, items[0]!];
    const second = referenceLogProb(counting, makeBatch(mixed, 0)).f32('test');
    assert.equal(forwards, 2);
    referenceLogProb(counting, makeBatch(items.slice(0, 5), 0));
    assert.equal(forwards, 2, 'a batch of seen items needs no pass');
    const fresh = (its: typeof items): Float32Array => noGrad(() => {
      const b = packAnswers(its, 0);
      const nll = answerTokenNll(ref, b).f32('test');
      const L = b.ids.shape[1]!;
      return Float32Array.from(its, (_, r) => -nll.subarray(r * L, (r + 1) * L).reduce((s, v) => s + v, 0));
    });
    assert.ok(maxAbsDiff(first, fresh(items.slice(0, 5))) <= 1e-5);
    assert.ok(maxAbsDiff(second, fresh(mixed)) <= 1e-5);
  });
});
