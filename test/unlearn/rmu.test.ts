// RMU (DESIGN.md §5): the loss is the formula (masked mean over real tokens and hidden units), its gradient is
// the loss's, and a run changes only the modules it names, on GPT-2 and Llama, on each backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { add, backward, noGrad, Rng, scale } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import type { UnlearnItem } from '../../src/unlearn/data.ts';
import type { LossTools } from '../../src/unlearn/loop.ts';
import { controlVector, rmu, RmuOptions, rmuSpec, rmuTrainable } from '../../src/unlearn/methods/rmu.ts';
import { OptionError, validateOptions } from '../../src/unlearn/options.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { FAMILIES, fixtureDir, tokenItems } from './fixtures.ts';

const PAD = 0;
const items = (n: number, seed: number): UnlearnItem[] => tokenItems(n, seed, 1);

/** The fixture with θ moved off the checkpoint (so the retain term is not trivially 0); `original` is the checkpoint. */
function context(name: string, perturb = 0): UnlearnContext {
  const { model } = loadModel(fixtureDir(name));
  const original = model.params.snapshot();
  const rng = new Rng(11);
  for (let i = 0; i < model.params.flat.length; i++) model.params.flat[i]! += perturb * rng.normal();
  return { model, tokenizer: Tokenizer.fromDir(fixtureDir(name)), forget: items(6, 1), retain: items(6, 2), padId: PAD, original };
}

/** The masked mean of ‖h − target‖²/d in float64, read off a full forward pass with keepHidden. */
function expectedMse(model: CausalLM, batchItems: readonly UnlearnItem[], layer: number, target: (b: number, t: number, k: number) => number, answerOnly = false): number {
  const batch = makeBatch(batchItems, PAD);
  const h = noGrad(() => model.forward(batch.answers.ids, { keepHidden: [layer] }).hidden.get(layer)!);
  const [, T, D] = h.shape as [number, number, number];
  let total = 0;
  let tokens = 0;
  batchItems.forEach((it, b) => {
    for (let t = answerOnly ? it.prompt.length : 0; t < it.prompt.length + it.answer.length; t++) {
      for (let k = 0; k < D; k++) total += (h.data[(b * T + t) * D + k]! - target(b, t, k)) ** 2;
      tokens++;
    }
  });
  return total / (tokens * D);
}

const toolsOf = (ctx: UnlearnContext): LossTools => {
  let ref: CausalLM | null = null;
  return { model: ctx.model, reference: () => (ref ??= frozenModel(ctx.model, ctx.original)) };
};

const options = (o: Record<string, unknown>): RmuOptions => validateOptions(RmuOptions, o, 'rmu');

test('the control vector is c·u/‖u‖ with u in [0,1)^d, fixed by the seed', () => {
  const v = controlVector(64, 6.5, 3);
  const norm = Math.sqrt(v.toArray().reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 6.5) < 1e-5);
  assert.ok(v.toArray().every((x) => x >= 0));
  assert.deepEqual(controlVector(64, 6.5, 3).data, v.data);
  assert.notDeepEqual(controlVector(64, 6.5, 4).data, v.data);
});

for (const backendName of backendsUnderTest()) {
  describe(`rmu [${backendName}]`, () => {
    for (const name of FAMILIES) {
      test(`${name}: forget and retain terms are the formula, padding excluded`, () => withBackend(backendName, () => {
        const ctx = context(name, 0.02);
        const tools = toolsOf(ctx);
        const D = ctx.model.config.hiddenSize;
        for (const layer of [0, 1]) {
          const control = controlVector(D, 4, 9);
          const spec = rmuSpec(layer, control);
          // The forget term steers the answer tokens by default, every real token with forgetTokens=all.
          for (const answerOnly of [true, false]) {
            const s = answerOnly ? spec : rmuSpec(layer, control, undefined, 'all');
            const forget = s.forget(makeBatch(ctx.forget, PAD), tools).item();
            const wantForget = expectedMse(ctx.model, ctx.forget, layer, (_b, _t, k) => control.data[k]!, answerOnly);
            assert.ok(Math.abs(forget - wantForget) <= 1e-5 * wantForget, `layer ${layer} answerOnly ${answerOnly}: forget ${forget} vs ${wantForget}`);
          }
          const all = expectedMse(ctx.model, ctx.forget, layer, (_b, _t, k) => control.data[k]!, false);
          const answers = expectedMse(ctx.model, ctx.forget, layer, (_b, _t, k) => control.data[k]!, true);
          assert.notEqual(all, answers, 'the fixture\'s prompts must add tokens for this test to tell the two apart');

          const refBatch = makeBatch(ctx.retain, PAD);
          const frozen = noGrad(() => tools.reference().forward(refBatch.answers.ids, { keepHidden: [layer] }).hidden.get(layer)!);
          const T = frozen.shape[1]!;
          const retain = spec.retain!(refBatch, tools).item();
          const wantRetain = expectedMse(ctx.model, ctx.retain, layer, (b, t, k) => frozen.data[(b * T + t) * D + k]!);
          assert.ok(wantRetain > 0);
          assert.ok(Math.abs(retain - wantRetain) <= 1e-4 * wantRetain, `layer ${layer} retain ${retain} vs ${wantRetain}`);
        }
      }));

      test(`${name}: gradients of γ·forget + α·retain match central finite differences`, () => withBackend(backendName, () => {
        const ctx = context(name, 0.02);
        const tools = toolsOf(ctx);
        const layer = 1;
        const spec = rmuSpec(layer, controlVector(ctx.model.config.hiddenSize, 3, 5));
        const fb = makeBatch(ctx.forget, PAD);
        const rb = makeBatch(ctx.retain, PAD);
        const alpha = 5;
        const loss = () => add(spec.forget(fb, tools), scale(spec.retain!(rb, tools), alpha));
        backward(loss());
        for (const param of rmuTrainable(ctx.model, layer, 2, 'mlp-out').filter((n) => n.endsWith('weight'))) {
          const p = ctx.model.params.get(param);
          const data = p.data as Float32Array;
          const grad = p.grad!.data as Float32Array;
          // The coordinates with the largest gradients, where f32 finite differences are meaningful.
          const top = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, 4);
          for (const i of top) {
            const eps = 1e-2;
            const saved = data[i]!;
            data[i] = saved + eps;
            const up = noGrad(() => loss().item());
            data[i] = saved - eps;
            const down = noGrad(() => loss().item());
            data[i] = saved;
            const fd = (up - down) / (2 * eps);
            assert.ok(Math.abs(fd - grad[i]!) <= 5e-3 * Math.abs(grad[i]!) + 1e-4, `${param}[${i}]: grad ${grad[i]} vs fd ${fd}`);
          }
        }
        ctx.model.params.zeroGrad();
      }));

      const expected: Record<string, Record<string, (n: string) => boolean>> = {
        'gpt2-tiny': {
          'mlp-out': (n) => /^transformer\.h\.\d\.mlp\.c_proj\./.test(n),
          mlp: (n) => /^transformer\.h\.\d\.mlp\./.test(n),
          block: (n) => /^transformer\.h\.\d\./.test(n),
        },
        'llama-tiny-gqa': {
          'mlp-out': (n) => /^model\.layers\.\d\.mlp\.down_proj\./.test(n),
          mlp: (n) => /^model\.layers\.\d\.mlp\./.test(n),
          block: (n) => /^model\.layers\.\d\./.test(n),
        },
      };
      for (const modules of ['mlp-out', 'mlp', 'block'] as const) {
        for (const [layer, trainedLayers, layers] of [[-1, 3, [0, 1]], [1, 1, [1]], [0, 3, [0]]] as const) {
          test(`${name}: modules=${modules} layer=${layer} trainedLayers=${trainedLayers} changes only those parameters`, () => withBackend(backendName, () => {
            const ctx = context(name);
            const o = options({ steps: 3, lr: 1e-2, batchSize: 3, modules, layer, trainedLayers, checkSamples: 2, maxRetainLossRise: 0 });
            const out = rmu.run(ctx, o, {});
            assert.equal(out.stopReason, 'completed');
            assert.equal(out.steps, 3);
            const want = ctx.model.params.entries().map(([n]) => n)
              .filter((n) => expected[name]![modules]!(n) && layers.some((l) => n.match(/\.(\d+)\./)![1] === String(l)));
            assert.deepEqual([...(out.details['trained'] as string[])].sort(), [...want].sort());
            assert.ok(want.length > 0);
            const flat = ctx.model.params.flat;
            for (const [n, p] of ctx.model.params.entries()) {
              const off = ((p.data as Float32Array).byteOffset - flat.byteOffset) / 4;
              const before = ctx.original.subarray(off, off + p.size);
              if (want.includes(n)) assert.notDeepEqual(p.data, before, `${n} was trained`);
              else assert.deepEqual(p.data, before, `${n} is bit-for-bit unchanged`);
            }
          }));
        }
      }

      test(`${name}: c is a multiple of the measured activation norm by default, absolute when given (issue 12 item 2)`, () => withBackend(backendName, () => {
        const relative = rmu.run(context(name), options({ steps: 1, batchSize: 3, coefficientScale: 2, checkSamples: 2, maxRetainLossRise: 0 }), {}).details;
        const norm = relative['forgetActivationNorm'] as number;
        assert.ok(norm > 0);
        assert.equal(relative['coefficient'], 2 * norm);
        const absolute = rmu.run(context(name), options({ steps: 1, batchSize: 3, coefficient: 7, checkSamples: 2, maxRetainLossRise: 0 }), {}).details;
        assert.equal(absolute['coefficient'], 7);
        assert.equal(absolute['coefficientScale'], null);
      }));

      test(`${name}: a layer the model does not have is an option error`, () => withBackend(backendName, () => {
        const ctx = context(name);
        assert.throws(() => rmu.run(ctx, options({ layer: 2, steps: 1 }), {}), (e: Error) => e instanceof OptionError && /layers 0\.\.1/.test(e.message));
        assert.throws(() => options({ layer: -2 }), OptionError);
      }));
    }
  });
}
