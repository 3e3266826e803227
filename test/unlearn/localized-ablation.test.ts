// LocalizedAblation (DESIGN.md §5): the gate gradient is gradient × activation and the derivative of the loss in
// a unit's scale; the top-k by score is what gets ablated; 'zero' touches exactly those output rows/columns and
// equals gating the units off; repair is retain-only and works with the guards. GPT-2 and Llama, each backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, crossEntropy, mul, noGrad, Tensor } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { packAnswers } from '../../src/model/logprobs.ts';
import { attnOutModule, linearModules, mlpOutModule } from '../../src/model/modules.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import type { UnlearnItem } from '../../src/unlearn/data.ts';
import {
  ablateUnits, enumerateUnits, gateGradients, localizedAblation, LocalizedAblationOptions, scoreUnits, topUnits, type Unit,
} from '../../src/unlearn/methods/localized-ablation.ts';
import { validateOptions } from '../../src/unlearn/options.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { FAMILIES, fixtureDir, tokenItems } from './fixtures.ts';

const PAD = 0;
const items = (n: number, seed: number): UnlearnItem[] => tokenItems(n, seed);

function context(name: string): UnlearnContext {
  const { model } = loadModel(fixtureDir(name));
  return { model, tokenizer: Tokenizer.fromDir(fixtureDir(name)), forget: items(6, 1), retain: items(8, 2), padId: PAD, original: model.params.snapshot() };
}

// Tests of the ablation itself run without the default repair phase unless they ask for it.
const options = (o: Record<string, unknown>) => validateOptions(LocalizedAblationOptions, { checkSamples: 4, repairSteps: 0, ...o }, 'localized-ablation');

/** Summed answer NLL with the given per-feature input scales on some projections (no graph). */
function gatedLoss(model: CausalLM, batch: ReturnType<typeof packAnswers>, gates: Map<string, Float32Array>): number {
  return noGrad(() => {
    const logits = model.forward(batch.ids, { linearInput: (m, x) => (gates.has(m) ? mul(x, new Tensor(gates.get(m)!, [gates.get(m)!.length])) : x) }).logits!;
    return crossEntropy(logits, batch.targets, { reduction: 'sum' }).item();
  });
}

/** Flat indices of a unit's output weights, derived from the layout independently of ablateUnits. */
function unitIndices(model: CausalLM, u: Unit): number[] {
  const m = linearModules(model).find((x) => x.module === u.module)!;
  const offset = ((m.weight.data as Float32Array).byteOffset - model.params.flat.byteOffset) / 4;
  const out: number[] = [];
  for (let i = u.from; i < u.to; i++) {
    if (m.layout === 'inOut') for (let o = 0; o < m.outFeatures; o++) out.push(offset + i * m.outFeatures + o);
    else for (let o = 0; o < m.outFeatures; o++) out.push(offset + o * m.inFeatures + i);
  }
  return out;
}

for (const backendName of backendsUnderTest()) {
  describe(`localized ablation [${backendName}]`, () => {
    for (const name of FAMILIES) {
      test(`${name}: the gate gradient is Σ x·∂L/∂x, and dL/dg of scaling a unit`, () => withBackend(backendName, () => {
        const { model } = context(name);
        const batch = packAnswers(items(5, 3), PAD);
        const modules = [mlpOutModule(model.config, 0), attnOutModule(model.config, 1)];
        const gates = gateGradients(model, batch, modules);

        // Σ x·∂L/∂x by making the projection's input a leaf (one module per pass: a leaf cuts the graph below it).
        for (const m of modules) {
          let x: Tensor | null = null;
          const logits = model.forward(batch.ids, {
            linearInput: (name, input) => (name === m ? (x = new Tensor((input.data as Float32Array).slice(), input.shape, true)) : input),
          }).logits!;
          backward(crossEntropy(logits, batch.targets, { reduction: 'sum' }));
          model.params.zeroGrad();
          const leaf = x as Tensor | null;
          const n = leaf!.shape[2]!;
          const want = new Float64Array(n);
          for (let j = 0; j < leaf!.size; j++) want[j % n]! += leaf!.data[j]! * leaf!.grad!.data[j]!;
          const got = gates.get(m)!;
          const scale = Math.max(...want.map(Math.abs));
          want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= 1e-4 * scale, `${m}[${i}]: ${got[i]} vs ${w}`));
        }

        // Finite differences of the loss in the scale of whole units (a neuron, a head: the sum over its inputs).
        const units = enumerateUnits(model, 'both').filter((u) => (u.kind === 'neuron' && u.layer === 0) || (u.kind === 'head' && u.layer === 1));
        const analytic = (u: Unit): number => gates.get(u.module)!.slice(u.from, u.to).reduce((s, v) => s + v, 0);
        const picked = [...units.filter((u) => u.kind === 'neuron').sort((a, b) => Math.abs(analytic(b)) - Math.abs(analytic(a))).slice(0, 3),
          ...units.filter((u) => u.kind === 'head')];
        const eps = 1e-2;
        for (const u of picked) {
          const scaled = (g: number): number => {
            const gate = new Float32Array(linearModules(model).find((x) => x.module === u.module)!.inFeatures).fill(1);
            gate.fill(g, u.from, u.to);
            return gatedLoss(model, batch, new Map([[u.module, gate]]));
          };
          const fd = (scaled(1 + eps) - scaled(1 - eps)) / (2 * eps);
          const a = analytic(u);
          assert.ok(Math.abs(fd - a) <= 2e-2 * Math.abs(a) + 2e-3, `${u.kind} ${u.layer}.${u.index}: gate grad ${a} vs fd ${fd}`);
        }
      }));

      test(`${name}: 'zero' zeroes exactly the units' output rows/columns and equals gating them off`, () => withBackend(backendName, () => {
        const { model } = context(name);
        const before = model.params.snapshot();
        const all = enumerateUnits(model, 'both');
        const chosen = [all.find((u) => u.kind === 'neuron' && u.layer === 0 && u.index === 3)!,
          all.find((u) => u.kind === 'neuron' && u.layer === 1 && u.index === 17)!,
          all.find((u) => u.kind === 'head' && u.layer === 1 && u.index === 2)!];
        const batch = packAnswers(items(4, 5), PAD);
        const gates = new Map<string, Float32Array>();
        for (const u of chosen) {
          const g = gates.get(u.module) ?? new Float32Array(linearModules(model).find((x) => x.module === u.module)!.inFeatures).fill(1);
          g.fill(0, u.from, u.to);
          gates.set(u.module, g);
        }
        const gatedLogits = noGrad(() => model.forward(batch.ids, {
          linearInput: (m, x) => (gates.has(m) ? mul(x, new Tensor(gates.get(m)!, [gates.get(m)!.length])) : x),
        }).logits!.data.slice());

        ablateUnits(model, chosen, 'zero', 0);
        const zeroed = new Set(chosen.flatMap((u) => unitIndices(model, u)));
        assert.equal(zeroed.size, chosen.reduce((n, u) => n + (u.to - u.from), 0) * model.config.hiddenSize);
        const flat = model.params.flat;
        for (let i = 0; i < flat.length; i++) {
          if (zeroed.has(i)) assert.equal(flat[i], 0);
          else if (!Object.is(flat[i], before[i])) assert.fail(`weight ${i} changed outside the ablated units`);
        }
        const ablatedLogits = noGrad(() => model.forward(batch.ids).logits!.data);
        const scale = Math.max(...Array.from(gatedLogits, Math.abs));
        ablatedLogits.forEach((v, i) => assert.ok(Math.abs(v - gatedLogits[i]!) <= 1e-5 * scale, `logit ${i}: ${v} vs ${gatedLogits[i]}`));
      }));

      test(`${name}: 'reinit' redraws only those weights, at the weight's scale, fixed by the seed`, () => withBackend(backendName, () => {
        const { model } = context(name);
        const before = model.params.snapshot();
        const chosen = enumerateUnits(model, 'both').filter((u) => u.index === 1);
        ablateUnits(model, chosen, 'reinit', 4);
        const changed = new Set(chosen.flatMap((u) => unitIndices(model, u)));
        const after = model.params.snapshot();
        for (let i = 0; i < after.length; i++) {
          if (changed.has(i)) assert.notEqual(after[i], before[i]);
          else assert.ok(Object.is(after[i], before[i]), `weight ${i} changed outside the units`);
        }
        // The new values' spread is that of the weight they sit in.
        for (const u of chosen) {
          const w = before.subarray(...(() => {
            const m = linearModules(model).find((x) => x.module === u.module)!;
            const off = ((m.weight.data as Float32Array).byteOffset - model.params.flat.byteOffset) / 4;
            return [off, off + m.weight.size] as const;
          })());
          const std = (v: ArrayLike<number>): number => {
            const a = Array.from(v);
            const mean = a.reduce((s, x) => s + x, 0) / a.length;
            return Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
          };
          const drawn = unitIndices(model, u).map((i) => after[i]!);
          assert.ok(Math.abs(std(drawn) / std(w) - 1) < 0.6, `${u.module}: std ${std(drawn)} vs ${std(w)}`);
        }
        const again = context(name).model;
        ablateUnits(again, chosen, 'reinit', 4);
        assert.deepEqual(again.params.flat, model.params.flat);
      }));

      for (const contrast of [true, false]) {
        test(`${name}: the run ablates the top-k by score (contrast=${contrast}) and reports them`, () => withBackend(backendName, () => {
          const ctx = context(name);
          const scored = scoreUnits(context(name).model, ctx.forget, ctx.retain, { units: 'both', contrast, attributionItems: 400, batchSize: 3, padId: PAD });
          const messages: string[] = [];
          const out = localizedAblation.run(ctx, options({ topK: 7, units: 'both', contrast, batchSize: 3 }), { onMessage: (m) => messages.push(m) });
          const reported = out.details['units'] as { kind: string; layer: number; index: number; score: number; retain: number | null }[];
          assert.equal(reported.length, 7);
          assert.equal(out.steps, 0);
          assert.equal(out.checks.length, 2, 'before and after the ablation');
          assert.ok(messages.some((m) => m.includes('zeroed 7 of')));

          // The top 7 by score, independent of topUnits: every chosen score ≥ every other.
          const key = (u: { kind: string; layer: number; index: number }): string => `${u.kind}/${u.layer}/${u.index}`;
          const picked = new Set(reported.map(key));
          const minPicked = Math.min(...scored.filter((u) => picked.has(key(u))).map((u) => u.score));
          const maxOther = Math.max(...scored.filter((u) => !picked.has(key(u))).map((u) => u.score));
          assert.ok(minPicked >= maxOther && minPicked > 0);
          assert.deepEqual(reported.map(key), topUnits(scored, 7).map(key));
          for (const u of scored) {
            if (contrast) assert.ok(u.retain !== null && Math.abs(u.score - (u.forget - u.retain)) < 1e-12);
            else assert.ok(u.retain === null && u.score === u.forget);
          }

          // Exactly the reported units' weights are zero; everything else is θ.
          const units = enumerateUnits(ctx.model, 'both').filter((u) => picked.has(key(u)));
          const zeroed = new Set(units.flatMap((u) => unitIndices(ctx.model, u)));
          const flat = ctx.model.params.flat;
          for (let i = 0; i < flat.length; i++) {
            if (zeroed.has(i)) assert.equal(flat[i], 0);
            else if (!Object.is(flat[i], ctx.original[i])) assert.fail(`weight ${i} changed outside the ablated units`);
          }
        }));
      }

      test(`${name}: the score is the first-order rise of the per-token forget loss on removal`, () => withBackend(backendName, () => {
        const ctx = context(name);
        const scored = scoreUnits(ctx.model, ctx.forget, [], { units: 'heads', contrast: false, attributionItems: 400, batchSize: 4, padId: PAD });
        const batch = packAnswers(ctx.forget, PAD);
        const tokens = ctx.forget.reduce((n, it) => n + it.answer.length, 0);
        const base = gatedLoss(ctx.model, batch, new Map()) / tokens;
        // Scaling a head by (1 − ε) changes the loss by ε·score to first order.
        const eps = 1e-2;
        for (const u of scored) {
          const gate = new Float32Array(u.to - u.from).fill(1 - eps);
          const full = new Float32Array(ctx.model.config.numHeads * ctx.model.config.headDim).fill(1);
          full.set(gate, u.from);
          const shrunk = gatedLoss(ctx.model, batch, new Map([[u.module, full]])) / tokens;
          const fd = (shrunk - base) / eps;
          assert.ok(Math.abs(fd - u.score) <= 5e-2 * Math.abs(u.score) + 5e-4, `head ${u.layer}.${u.index}: score ${u.score} vs ${fd}`);
        }
      }));

      test(`${name}: repair is retain-only training that starts from, and rolls back to, the ablated model`, () => withBackend(backendName, () => {
        const ablatedOnly = context(name);
        localizedAblation.run(ablatedOnly, options({ topK: 5, batchSize: 3 }), {});
        const ablated = ablatedOnly.model.params.snapshot();

        const ctx = context(name);
        const out = localizedAblation.run(ctx, options({ topK: 5, batchSize: 3, repairSteps: 3, repairLr: 1e-3, checkEvery: 1, maxRetainLossRise: 0 }), {});
        assert.equal(out.stopReason, 'completed');
        assert.equal(out.curve.length, 3);
        assert.ok(out.curve.every((e) => e.phase === 'repair' && e.parts['forget'] === 0 && e.parts['retain']! > 0));
        assert.equal((out.details['units'] as unknown[]).length, 5);
        assert.notDeepEqual(ctx.model.params.flat, ablated);

        // A retain guard that trips at once rolls back to the ablated weights, not to θ.
        const guarded = context(name);
        const g = localizedAblation.run(guarded, options({ topK: 5, batchSize: 3, repairSteps: 5, repairLr: 0.5, checkEvery: 1, maxRetainLossRise: 1e-6 }), {});
        assert.equal(g.stopReason, 'retain-guard');
        assert.deepEqual(guarded.model.params.flat, ablated);
      }));

      test(`${name}: without repair, an ablation that breaches the retain bound gives θ back (issue 11 item 2)`, () => withBackend(backendName, () => {
        const ctx = context(name);
        const out = localizedAblation.run(ctx, options({ topK: 20, contrast: false, batchSize: 3, repairSteps: 0, maxRetainLossRise: 1e-6 }), {});
        assert.equal(out.stopReason, 'retain-guard');
        assert.ok(out.checks[1]!.retainLoss! - out.checks[0]!.retainLoss! > 1e-6, 'the ablation did breach');
        assert.deepEqual(ctx.model.params.flat, ctx.original);
      }));
    }
  });
}
