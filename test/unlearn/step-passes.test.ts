// A step's passes (src/unlearn/loop.ts): the forget term and the retain term go forward and backward one after the
// other, the retain term in chunks with retainChunk, and optionally in bf16 mixed precision. Chunking must give the
// same loss and gradient as one pass (to float rounding) for each kind of retain term, and must lower the step's
// peak pooled memory; bf16 must run, differ from f32 only by rounding, and leave the precision as it was.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { clearPool, matmulPrecision, neg, noGrad, poolStats, type Tensor } from '../../src/engine/index.ts';
import { chunkBatch, makeBatch, type UnlearnBatch } from '../../src/unlearn/batches.ts';
import { runLossLoop, type LossSpec } from '../../src/unlearn/loop.ts';
import { answerNll, klToReference } from '../../src/unlearn/losses.ts';
import { loopOptionShape, type LoopOptions } from '../../src/unlearn/options.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import { activationMse, rmuSpec } from '../../src/unlearn/methods/rmu.ts';
import { tinyContext } from './fixtures.ts';
import { randn, Rng } from '../../src/engine/index.ts';

const options = (over: Partial<LoopOptions>): LoopOptions => ({
  ...z.object(loopOptionShape({ epochs: 1, lr: 1e-3 })).parse({}), steps: 3, lr: 1e-3, batchSize: 4, retainBatchSize: 4,
  alpha: 1, checkEvery: 3, maxRetainLossRise: 0, maxUtilityLossRise: 0, ...over,
});
const ascent: LossSpec = { forget: (b, t) => neg(answerNll(t.model, b)) };

describe('retain chunks', () => {
  test('a mean-reduced term of a batch is the share-weighted sum of its chunks\' terms (NLL, KL, RMU\'s activation MSE)', () => {
    const ctx = tinyContext(0.02);
    const ref = frozenModel(ctx.model, ctx.original);
    const batch = makeBatch(ctx.retain, ctx.padId);
    const layer = 0;
    const hidden = (m: typeof ctx.model, b: UnlearnBatch): Tensor => m.forward(b.answers.ids, { stopAfterLayer: layer, keepHidden: [layer] }).hidden.get(layer)!;
    const terms: [string, (b: UnlearnBatch) => number, (b: UnlearnBatch) => number][] = [
      ['nll', (b) => answerNll(ctx.model, b).item(), (b) => b.answers.answerPositions.length],
      ['kl', (b) => klToReference(ctx.model, ref, b).item(), (b) => b.realTokens],
      ['rmu', (b) => activationMse(hidden(ctx.model, b), hidden(ref, b), b).item(), (b) => b.realTokens],
    ];
    noGrad(() => {
      for (const [name, term, count] of terms) {
        const whole = term(batch);
        for (const size of [1, 3]) {
          const chunks = chunkBatch(batch, size, ctx.padId, count);
          assert.equal(chunks.length, Math.ceil(batch.items.length / size));
          assert.ok(Math.abs(chunks.reduce((s, c) => s + c.share, 0) - 1) < 1e-12);
          const summed = chunks.reduce((s, c) => s + c.share * term(c.batch), 0);
          assert.ok(Math.abs(summed - whole) <= 1e-5 * Math.max(1e-3, Math.abs(whole)), `${name} size ${size}: ${summed} vs ${whole}`);
        }
      }
    });
  });

  for (const retainLoss of ['nll', 'kl'] as const) {
    test(`${retainLoss}: the same loss, retain term and gradient norm as one pass, and a lower peak of pooled memory`, () => {
      const run = (retainChunk: number) => {
        const ctx = tinyContext(0.02);
        clearPool();
        const out = runLossLoop(ctx, options({ retainLoss, retainChunk, batchSize: 1 }), ascent, {});
        return { out, peak: poolStats().peakInUseBytes };
      };
      const whole = run(0);
      const chunked = run(1);
      const first = (r: typeof whole) => r.out.curve[0]!;
      for (const key of ['forget', 'retain'] as const) {
        const a = first(whole).parts[key]!;
        const b = first(chunked).parts[key]!;
        assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(a) + 1e-7, `${key}: ${a} vs ${b}`);
      }
      assert.ok(Math.abs(first(whole).loss - first(chunked).loss) <= 1e-5 * Math.abs(first(whole).loss));
      assert.ok(Math.abs(first(whole).gradNorm - first(chunked).gradNorm) <= 1e-4 * first(whole).gradNorm, `${first(whole).gradNorm} vs ${first(chunked).gradNorm}`);
      if (poolStats().enabled) assert.ok(chunked.peak < whole.peak, `peak pooled bytes: chunked ${chunked.peak}, whole ${whole.peak}`);
    });
  }

  test('RMU\'s retain term is chunked by its real tokens: the same gradient norm as one pass', () => {
    const run = (retainChunk: number) => {
      const ctx = tinyContext(0.02);
      const control = randn([ctx.model.config.hiddenSize], new Rng(3));
      return runLossLoop(ctx, options({ retainChunk }), rmuSpec(0, control), {}).curve[0]!;
    };
    const a = run(0);
    const b = run(2);
    assert.ok(Math.abs(a.parts['retain']! - b.parts['retain']!) <= 1e-5 * Math.abs(a.parts['retain']!) + 1e-9);
    assert.ok(Math.abs(a.gradNorm - b.gradNorm) <= 1e-4 * a.gradNorm, `${a.gradNorm} vs ${b.gradNorm}`);
  });

  test('a custom retain term that does not say what it averages over is not chunked', () => {
    const ctx = tinyContext(0.02);
    let calls = 0;
    const spec: LossSpec = { ...ascent, retain: (b, t) => { calls++; return answerNll(t.model, b); } };
    runLossLoop(ctx, options({ steps: 2, retainChunk: 1 }), spec, {});
    assert.equal(calls, 2, 'one retain pass per step');
  });
});

describe('bf16 steps', () => {
  test('run, differ from f32 by rounding only, and leave the matmul precision as it was', () => {
    const run = (precision: 'f32' | 'bf16') => {
      const ctx = tinyContext(0.02);
      const out = runLossLoop(ctx, options({ precision, steps: 4 }), ascent, {});
      return { out, weights: ctx.model.params.snapshot() };
    };
    const f32 = run('f32');
    const bf16 = run('bf16');
    assert.equal(matmulPrecision(), 'f32');
    const a = f32.out.curve[0]!.loss;
    const b = bf16.out.curve[0]!.loss;
    assert.notEqual(a, b, 'bf16 changed nothing: the precision did not reach the step');
    assert.ok(Math.abs(a - b) <= 0.02 * Math.abs(a), `first loss f32 ${a}, bf16 ${b}`);
    // The guard checks are measured in f32: the first check (before any step) is the same in both runs.
    assert.equal(f32.out.checks[0]!.forgetProb, bf16.out.checks[0]!.forgetProb);
    let maxDiff = 0;
    for (let i = 0; i < f32.weights.length; i++) maxDiff = Math.max(maxDiff, Math.abs(f32.weights[i]! - bf16.weights[i]!));
    assert.ok(maxDiff > 0 && maxDiff < 4 * 1e-3 * 4 + 1e-6, `weights differ by ${maxDiff}`);
  });
});
