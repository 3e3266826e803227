// The buffer pool (engine/pool.ts): buffers come back zeroed and are reused across scopes, nothing leaks out of a
// scope that ends by an exception, and every unlearning method, training and scoring give bit-identical results
// with pooling on (returned buffers poisoned with NaN, so a use after the scope would show) and off.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { backend, backward, clearPool, exp, noGrad, parameter, poolPhase, poolStats, pooled, randn, Rng, setPooling, sum, Tensor, transient, useBackend } from '../../src/engine/index.ts';
import { releaseEarly } from '../../src/engine/pool.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { train } from '../../src/train/trainer.ts';
import { tokenizeItems } from '../../src/unlearn/data.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { METHODS } from '../../src/unlearn/registry.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest } from '../helpers/backends.ts';
import { FAMILIES, FORGET_RECORDS, fixtureDir, RETAIN_RECORDS } from '../unlearn/fixtures.ts';

const initial = setPooling(true);
after(() => setPooling(initial.on, { check: initial.check, budgetMb: initial.budgetMb }));

describe('buffer pool', () => {
  test('a scope hands buffers back; the next scope reuses them, zeroed', () => {
    useBackend('native');
    setPooling(true, { check: false });
    const first = pooled(() => {
      const a = backend().alloc(5000) as unknown as Float32Array;
      a.fill(3);
      return a;
    });
    assert.equal(first.length, 5000);
    const before = poolStats();
    const second = pooled(() => backend().alloc(4500) as unknown as Float32Array);
    const stats = poolStats();
    assert.equal(stats.reused, before.reused + 1, 'the same size class is reused');
    assert.equal(second.buffer, first.buffer, 'same memory');
    assert.equal(second.length, 4500);
    assert.ok(second.every((v) => v === 0), 'reused buffers are zero-filled');
    assert.ok(stats.peakInUseBytes >= 5000 * 4);
    // Outside a scope, fresh memory every time.
    assert.notEqual((backend().alloc(5000) as unknown as Float32Array).buffer, first.buffer);
  });

  test('what recent scopes drew is kept; a class no recent scope drew goes once it exceeds a peak scope', () => {
    useBackend('native');
    setPooling(true, { check: false });
    clearPool();
    // An earlier, smaller scope's class is cached; then scopes that each draw one class eight times its size.
    pooled(() => backend().alloc(30_000));
    const big = pooled(() => backend().alloc(200_000) as unknown as Float32Array);
    const before = poolStats();
    const again = pooled(() => backend().alloc(200_000) as unknown as Float32Array);
    assert.equal(poolStats().reused, before.reused + 1, 'the big class came from the pool');
    assert.equal(again.buffer, big.buffer, 'same memory');
    assert.equal(poolStats().cachedBytes, (32_768 + 262_144) * 4, 'both classes kept while a recent scope drew each');
    // 16 scopes later (RECENT_SCOPES) no recent scope drew the small class, and keeping it would exceed a peak scope.
    for (let i = 0; i < 16; i++) pooled(() => backend().alloc(200_000));
    assert.equal(poolStats().cachedBytes, 262_144 * 4, 'only the class still in use is cached');
  });

  test('a scope keeps what it held at once of each class, even past its peak in bytes', () => {
    useBackend('native');
    setPooling(true, { check: false });
    clearPool();
    // As in a training step: a gradient goes back early, then a buffer of a larger class is drawn. The scope's peak
    // is the larger buffer alone, but the step needs both classes again next time.
    const step = (): Float32Array => pooled(() => {
      releaseEarly(backend().alloc(10_000) as unknown as Float32Array);
      return backend().alloc(120_000) as unknown as Float32Array;
    });
    const first = step();
    const before = poolStats();
    const second = step();
    assert.equal(poolStats().fresh, before.fresh, 'nothing drawn fresh the second time');
    assert.equal(second.buffer, first.buffer, 'the larger class was kept, not evicted');
    assert.ok(poolStats().cachedBytes <= (16_384 + 131_072) * 4, 'no more than the two classes cached');
  });

  test('what recent scopes held is kept up to 1.25 times the peak, the largest classes going first past it', () => {
    useBackend('native');
    setPooling(true, { check: false });
    clearPool();
    // Alternating scopes of two classes: keeping both would cache 1.5 times the larger scope's peak.
    for (let i = 0; i < 4; i++) {
      pooled(() => backend().alloc(120_000));
      pooled(() => backend().alloc(60_000));
    }
    const { cachedBytes, peakInUseBytes } = poolStats();
    assert.equal(peakInUseBytes, 131_072 * 4);
    assert.ok(cachedBytes <= 1.25 * peakInUseBytes, `cached ${cachedBytes} B, at most 1.25 x the peak`);
    assert.equal(cachedBytes, 65_536 * 4, 'the larger class went first');
  });

  test('past the cap, what the ending scope held stays and what only earlier scopes drew goes', () => {
    useBackend('native');
    setPooling(true, { check: false });
    clearPool();
    // A run of scopes of one class, then (a new phase, as from one bench case to the next) scopes of a larger one:
    // keeping both would cache 1.5 times the peak.
    for (let i = 0; i < 4; i++) pooled(() => backend().alloc(200_000));
    const first = pooled(() => backend().alloc(500_000) as unknown as Float32Array);
    const second = pooled(() => backend().alloc(500_000) as unknown as Float32Array);
    assert.equal(second.buffer, first.buffer, 'the new phase\'s buffer is kept');
    assert.equal(poolStats().cachedBytes, 524_288 * 4, 'the earlier class went');
  });

  test('past the budget a scope gets plain buffers; a gradient goes back as soon as backward has passed it on', () => {
    setPooling(true, { check: true, budgetMb: 1 });
    const [inPool, outside] = pooled(() => [backend().alloc(200_000), backend().alloc(100_000)] as unknown as Float32Array[]);
    assert.ok(inPool!.every(Number.isNaN), 'the first (800 KB) came from the pool and went back');
    assert.ok(outside!.every((v) => v === 0), 'the second would pass 1 MiB: a plain buffer, never poisoned');
    setPooling(true, { check: true, budgetMb: 256 });
    // y = sum(exp(x)): exp's output gradient is dead once exp's backward has run, before the scope ends.
    const x = parameter(randn([4096], new Rng(1)));
    pooled(() => {
      const before = poolStats().inUseBytes;
      const y = exp(x);
      backward(sum(y));
      assert.ok(poolStats().inUseBytes < before + 3 * 4096 * 4, `in use ${poolStats().inUseBytes - before} bytes after backward`);
    });
  });

  test('transient hands back what its stretch drew, but for what it keeps; poolPhase drops the free lists', () => {
    setPooling(true, { check: true });
    pooled(() => {
      const before = poolStats().inUseBytes;
      let temp: Float32Array | null = null;
      const kept = transient(() => {
        temp = backend().alloc(4000) as unknown as Float32Array;
        const out = backend().alloc(2000) as unknown as Float32Array;
        out.fill(7);
        return out;
      }, (out) => [out]);
      assert.ok(temp!.every(Number.isNaN), 'the temporary went back (poisoned) when the stretch returned');
      assert.ok(kept.every((v) => v === 7), 'the kept buffer is intact');
      assert.equal(poolStats().inUseBytes - before, 2048 * 4, 'only the kept buffer (its size class) is still in use');
    });
    assert.equal(poolStats().inUseBytes, 0);
    assert.ok(poolStats().cachedBytes > 0);
    poolPhase(() => pooled(() => backend().alloc(5000)));
    assert.equal(poolStats().cachedBytes, 0, 'the phase left nothing cached');
    // Outside a scope it only runs fn.
    assert.equal(transient(() => 3, () => []), 3);
  });

  test('check mode poisons what a scope returns; an exception still returns it', () => {
    setPooling(true, { check: true });
    let kept: Float32Array | null = null;
    assert.throws(() => pooled(() => {
      kept = backend().alloc(3000) as unknown as Float32Array;
      kept.fill(1);
      throw new Error('boom');
    }), /boom/);
    assert.ok(kept!.every(Number.isNaN), 'a use after the scope reads NaN');
    assert.equal(poolStats().inUseBytes, 0);
    setPooling(false);
    const off = pooled(() => backend().alloc(3000) as unknown as Float32Array);
    assert.ok(off.every((v) => v === 0));
    assert.equal(poolStats().enabled, false);
  });
});

/** Runs fn with pooling off, then on with poisoning, on a fresh copy of everything fn builds. */
function bothWays<T>(fn: () => T): [T, T] {
  setPooling(false);
  const off = fn();
  setPooling(true, { check: true });
  const on = fn();
  return [off, on];
}

function tinyContext(family: string): UnlearnContext {
  const dir = fixtureDir(family);
  const { model } = loadModel(dir);
  const tokenizer = Tokenizer.fromDir(dir);
  const L = model.config.maxPositions;
  return {
    model, tokenizer, forget: tokenizeItems(FORGET_RECORDS, tokenizer, L), retain: tokenizeItems(RETAIN_RECORDS, tokenizer, L),
    padId: tokenizer.eosId ?? 0, original: model.params.snapshot(),
  };
}

const SHORT = ['steps=3', 'batchSize=2', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'];
const SHORT_OF: Record<string, string[]> = {
  'localized-ablation': ['topK=8', 'attributionItems=2', 'repairSteps=2', 'batchSize=2', 'checkEvery=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'],
};

for (const backendName of backendsUnderTest()) {
  for (const family of FAMILIES) {
    describe(`pooled and unpooled runs are bit-identical, ${family} (${backendName})`, () => {
      // The pool sits below both host backends (they share their storage methods): every method on the fast
      // native backend, one on the TypeScript one (~100x slower per step).
      const methods = backendName === 'ts' && backendsUnderTest().length > 1 ? METHODS.filter((m) => m.name === 'npo') : METHODS;
      for (const method of methods) {
        test(method.name, () => {
          useBackend(backendName);
          const [off, on] = bothWays(() => {
            const ctx = tinyContext(family);
            const out = method.run(ctx, parseOptions(method.options, SHORT_OF[method.name] ?? SHORT, method.name), {});
            return { weights: ctx.model.params.snapshot(), losses: out.curve.map((e) => e.loss), steps: out.steps };
          });
          assert.ok(off.steps > 0);
          assert.deepEqual(on.losses, off.losses);
          assert.ok(on.weights.every((v, i) => Object.is(v, off.weights[i])), 'weights differ');
        });
      }

      test('training and answer scoring', () => {
        useBackend(backendName);
        const [off, on] = bothWays(() => {
          const ctx = tinyContext(family);
          const examples = [...ctx.forget, ...ctx.retain].map((it) => {
            const ids = Int32Array.from([...it.prompt, ...it.answer]);
            return { ids, lossMask: Uint8Array.from(ids, (_, t) => (t >= it.prompt.length ? 1 : 0)) };
          });
          const r = train(ctx.model, examples, { steps: 4, batchSize: 3, lr: 1e-3, minLr: 1e-4, seed: 1, padId: ctx.padId, evalEvery: 2 }, {}, examples);
          const scores = scoreAnswers(r.model, ctx.forget, { padId: ctx.padId });
          return { weights: r.model.params.snapshot(), losses: [...r.losses, ...r.evals.map((e) => e.loss)], sums: Array.from(scores.sum) };
        });
        assert.deepEqual(on.losses, off.losses);
        assert.deepEqual(on.sums, off.sums);
        assert.ok(on.weights.every((v, i) => Object.is(v, off.weights[i])), 'weights differ');
      });

      // Generation runs in a pooled scope of its own, handing back each replaced cache entry, the last logits and
      // a compacted cache (generate.ts); sampled rows of different lengths that end at different steps (half the
      // vocabulary ends a row) exercise the compaction. Poisoned returned buffers would change the draws.
      test('generation: sampled rows that leave the batch draw the same tokens pooled and unpooled', () => {
        useBackend(backendName);
        const ctx = tinyContext(family);
        const vocab = ctx.model.config.vocabSize;
        // 24 rows, so that the caches are past the pool's smallest class (smaller buffers are never pooled).
        const prompts = Array.from({ length: 24 }, (_, i) => ctx.forget[i % ctx.forget.length]!.prompt.slice(0, 2 + (i % 7)));
        const eosTokenIds = Array.from({ length: vocab >> 2 }, (_, i) => 4 * i);
        const run = (): (string | number)[][] => generate(ctx.model, prompts, { maxNewTokens: 16, temperature: 1, seed: 3, eosTokenIds }).map((g) => [g.finishReason, ...g.tokens]);
        const [off, on] = bothWays(run);
        assert.deepEqual(on, off);
        const lengths = new Set(off.map((g) => g.length));
        assert.ok(lengths.size > 2, `rows ended at different steps (${[...lengths].join(', ')} tokens)`);
        clearPool();
        run();
        assert.ok(poolStats().reused > 0, 'the decode steps reused pooled memory');
      });

      test('a forward without a graph holds one block\'s temporaries: logits, kept hidden states and cached generation unchanged', () => {
        useBackend(backendName);
        const ctx = tinyContext(family);
        const L = ctx.model.config.numLayers;
        const rows = ctx.forget.slice(0, 3).map((it) => [...it.prompt, ...it.answer]);
        const T = Math.max(...rows.map((r) => r.length));
        const ids = new Tensor(Int32Array.from(rows.flatMap((r) => [...r, ...new Array<number>(T - r.length).fill(ctx.padId)])), [rows.length, T]);
        const [off, on] = bothWays(() => noGrad(() => pooled(() => {
          const out = ctx.model.forward(ids, { keepHidden: [0, L - 1] });
          const gen = generate(ctx.model, rows.map((r) => r.slice(0, 4)), { maxNewTokens: 5, temperature: 0 });
          return { logits: Array.from(out.logits!.f32('test')), hidden: [...out.hidden.values()].map((h) => Array.from(h.f32('test'))), gen: gen.map((g) => g.tokens) };
        })));
        assert.deepEqual(on.logits, off.logits);
        assert.deepEqual(on.hidden, off.hidden);
        assert.deepEqual(on.gen, off.gen);
        // The pooled peak of the pass: one block's temporaries without a graph, every block's with one.
        const peakOf = (fn: () => void): number => {
          clearPool();
          pooled(fn);
          return poolStats().peakInUseBytes;
        };
        const withoutGraph = peakOf(() => noGrad(() => ctx.model.forward(ids)));
        const withGraph = peakOf(() => ctx.model.forward(ids));
        if (L > 1) assert.ok(withoutGraph < withGraph, `pooled peak ${withoutGraph} B without a graph, ${withGraph} B with one`);
      });
    });
  }
}
