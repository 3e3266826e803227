import { z } from 'zod';
import { backward, crossEntropy, mul, Rng, scalar, Tensor } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { packAnswers, type AnswerBatch } from '../../model/logprobs.ts';
import { attnOutModule, linearModules, mlpOutModule } from '../../model/modules.ts';
import { evenSample } from '../../util/sample.ts';
import { damageBreach, GuardSample } from '../checks.ts';
import type { UnlearnItem } from '../data.ts';
import { runLossLoop } from '../loop.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod, type UnlearnOutcome } from '../types.ts';

/** A unit that can be removed: an MLP hidden neuron, or an attention head (headDim inputs of the out-projection). */
export interface Unit {
  kind: 'neuron' | 'head';
  layer: number;
  index: number;
  /** The projection whose inputs [from, to) are this unit's output. */
  module: string;
  from: number;
  to: number;
}

export interface ScoredUnit extends Unit {
  /** First-order rise of the forget NLL per answer token if the unit were removed. */
  forget: number;
  /** The same on the retain set (null without contrast). */
  retain: number | null;
  /** forget − retain with contrast, else forget: what the top-k is taken by. */
  score: number;
}

export type UnitSet = 'neurons' | 'heads' | 'both';

/** Every candidate unit of the model, layer by layer (neurons before heads within a layer). */
export function enumerateUnits(model: CausalLM, which: UnitSet): Unit[] {
  const c = model.config;
  const inputs = new Map(linearModules(model).map((m) => [m.module, m.inFeatures]));
  const units: Unit[] = [];
  for (let layer = 0; layer < c.numLayers; layer++) {
    if (which !== 'heads') {
      const module = mlpOutModule(c, layer);
      for (let i = 0; i < inputs.get(module)!; i++) units.push({ kind: 'neuron', layer, index: i, module, from: i, to: i + 1 });
    }
    if (which !== 'neurons') {
      const module = attnOutModule(c, layer);
      for (let h = 0; h < c.numHeads; h++) units.push({ kind: 'head', layer, index: h, module, from: h * c.headDim, to: (h + 1) * c.headDim });
    }
  }
  return units;
}

/**
 * ∂L/∂g at g = 1 for a gate g on every input feature of the given projections, L the summed answer-token NLL of
 * the batch. Multiplying a projection's input by g makes ∂L/∂g_i = Σ_{b,t} x_i·∂L/∂x_i: the gradient × activation
 * attribution, whose negative is the first-order change of L when feature i is zeroed (g: 1 → 0).
 */
export function gateGradients(model: CausalLM, batch: AnswerBatch, modules: readonly string[]): Map<string, Float32Array> {
  const inputs = new Map(linearModules(model).map((m) => [m.module, m.inFeatures]));
  const gates = new Map(modules.map((m) => [m, new Tensor(new Float32Array(inputs.get(m)!).fill(1), [inputs.get(m)!], true)]));
  // Only the gates need gradients: freezing the weights spares backward every weight-gradient matmul.
  const params = model.params.list();
  const was = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  try {
    const logits = model.forward(batch.ids, { linearInput: (m, x) => (gates.has(m) ? mul(x, gates.get(m)!) : x) }).logits!;
    backward(crossEntropy(logits, batch.targets, { reduction: 'sum' }));
  } finally {
    params.forEach((p, i) => (p.requiresGrad = was[i]!));
  }
  return new Map([...gates].map(([m, g]) => [m, g.grad!.f32('localized-ablation')]));
}

/**
 * Per unit: the first-order rise of the NLL per answer token over `items` if the unit were removed,
 * −Σ x·∂L/∂x / tokens. Per-token normalisation makes forget and retain sets of different sizes comparable.
 */
function removalEffects(model: CausalLM, items: readonly UnlearnItem[], units: readonly Unit[], batchSize: number, padId: number): Float64Array {
  const modules = [...new Set(units.map((u) => u.module))];
  const totals = new Map<string, Float64Array>();
  let tokens = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    for (const [m, g] of gateGradients(model, packAnswers(chunk, padId), modules)) {
      const t = totals.get(m) ?? new Float64Array(g.length);
      for (let i = 0; i < g.length; i++) t[i]! += g[i]!;
      totals.set(m, t);
    }
    tokens += chunk.reduce((n, it) => n + it.answer.length, 0);
  }
  return Float64Array.from(units, (u) => {
    let s = 0;
    for (let i = u.from; i < u.to; i++) s += totals.get(u.module)![i]!;
    return -s / tokens;
  });
}

export interface ScoreOptions {
  units: UnitSet;
  contrast: boolean;
  attributionItems: number;
  batchSize: number;
  padId: number;
}

/** Scores every candidate unit on an even sample of the forget set (and of the retain set, to contrast). */
export function scoreUnits(model: CausalLM, forget: readonly UnlearnItem[], retain: readonly UnlearnItem[], o: ScoreOptions): ScoredUnit[] {
  const units = enumerateUnits(model, o.units);
  const f = removalEffects(model, evenSample(forget, o.attributionItems), units, o.batchSize, o.padId);
  const r = o.contrast ? removalEffects(model, evenSample(retain, o.attributionItems), units, o.batchSize, o.padId) : null;
  return units.map((u, i) => ({ ...u, forget: f[i]!, retain: r ? r[i]! : null, score: f[i]! - (r ? r[i]! : 0) }));
}

/**
 * The k highest-scoring units, among those with a positive score: removing a unit with score ≤ 0 would not
 * (to first order) raise the forget loss more than the retain loss, so it is never worth ablating.
 */
export function topUnits(scored: readonly ScoredUnit[], k: number): ScoredUnit[] {
  return scored.filter((u) => u.score > 0).sort((a, b) => b.score - a.score).slice(0, k);
}

/**
 * Removes units by their output weights (what they write into the residual stream): the input rows of a Conv1D
 * [in, out] weight, the input columns of a Linear [out, in] weight. 'zero' is exactly the forward pass with the
 * unit gated to 0; 'reinit' draws normal values with the std of the whole weight as it was (seeded).
 */
export function ablateUnits(model: CausalLM, units: readonly Unit[], action: 'zero' | 'reinit', seed: number): void {
  const modules = new Map(linearModules(model).map((m) => [m.module, m]));
  // Each weight's std before any of its units changed, so the order of units does not matter.
  const stds = new Map<string, number>();
  for (const name of new Set(units.map((u) => u.module))) {
    const w = modules.get(name)!.weight.f32('localized-ablation');
    let s = 0;
    let s2 = 0;
    for (const v of w) (s += v), (s2 += v * v);
    stds.set(name, Math.sqrt(Math.max(0, s2 / w.length - (s / w.length) ** 2)));
  }
  const rng = new Rng(seed);
  for (const u of units) {
    const m = modules.get(u.module)!;
    const w = m.weight.f32('localized-ablation');
    const std = stds.get(u.module)!;
    for (let i = u.from; i < u.to; i++) {
      for (let o = 0; o < m.outFeatures; o++) {
        w[m.layout === 'inOut' ? i * m.outFeatures + o : o * m.inFeatures + i] = action === 'zero' ? 0 : rng.normal() * std;
      }
    }
  }
}

// Repair is retain-only training: its steps and lr are the repair options, the forget term is off.
const { steps: _s, epochs: _e, lr: _l, baseLr: _b, gamma: _g, alpha: _a, targetForgetProb: _t, primalDual: _p, retainEps: _re, dualStep: _d, ...repairShape } = loopOptionShape({ epochs: 1, lr: 1e-4 });

export const LocalizedAblationOptions = z.object({
  topK: z.number().int().positive().default(512).describe('units to ablate (the highest-scoring ones with a positive score)'),
  units: z.enum(['neurons', 'heads', 'both']).default('neurons').describe('candidate units: MLP hidden neurons, attention heads, or both'),
  action: z.enum(['zero', 'reinit']).default('zero').describe('zero the units\' output weights, or re-initialise them (normal, the weight\'s std)'),
  contrast: z.boolean().default(true).describe('score = forget attribution − retain attribution (per token), so units the retain set needs are spared'),
  attributionItems: z.number().int().positive().default(400).describe('forget (and retain) items the attribution is computed on'),
  repairSteps: z.number().int().min(0).default(50).describe('retain-only training steps after the ablation (0 = none)'),
  repairLr: z.number().positive().default(1e-4).describe('learning rate of the repair steps at width 256, scaled by 256/d_model like every method\'s baseLr'),
  ...repairShape,
  batchSize: z.number().int().positive().default(16).describe('items per attribution batch and per repair step'),
  seed: z.number().int().min(0).default(0).describe('seed of re-initialisation and of the repair batch order'),
});

/**
 * LocalizedAblation: attribute the forget-set NLL to MLP neurons and attention heads by gradient × activation,
 * remove the units whose removal would raise the forget loss most (minus what it would cost the retain set), and
 * optionally repair the collateral damage with a few retain-only steps. No training touches the forget set.
 */
export const localizedAblation = defineMethod({
  name: 'localized-ablation',
  summary: 'ablate the neurons/heads that gradient × activation credits with the forget answers, then optionally repair',
  retain: 'optional',
  options: LocalizedAblationOptions,
  run: (ctx, o, hooks) => {
    const model = ctx.model;
    const hasRetain = ctx.retain.length > 0;
    if (o.contrast && !hasRetain) hooks.onMessage?.('localized ablation: no retain set, so units are scored on the forget set alone');
    const contrast = o.contrast && hasRetain;
    const scored = scoreUnits(model, ctx.forget, ctx.retain, { units: o.units, contrast, attributionItems: o.attributionItems, batchSize: o.batchSize, padId: ctx.padId });
    const chosen = topUnits(scored, o.topK);
    const guard = new GuardSample(ctx, o.checkSamples);
    const before = guard.check(model, 0);

    ablateUnits(model, chosen, o.action, o.seed);
    const perLayer = new Map<string, number>();
    for (const u of chosen) perLayer.set(`${u.kind}s@${u.layer}`, (perLayer.get(`${u.kind}s@${u.layer}`) ?? 0) + 1);
    hooks.onMessage?.(`localized ablation: ${o.action === 'zero' ? 'zeroed' : 're-initialised'} ${chosen.length} of ${scored.length} units `
      + `(${[...perLayer].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ') || 'none with a positive score'}); `
      + `scores ${chosen.length ? `${chosen[0]!.score.toExponential(2)}..${chosen.at(-1)!.score.toExponential(2)}` : '-'}`);
    const details = {
      action: o.action, contrast, candidates: scored.length, before,
      units: chosen.map(({ kind, layer, index, score, forget, retain }) => ({ kind, layer, index, score, forget, retain })),
    };

    if (o.repairSteps > 0 && hasRetain) {
      // γ = 0 and a constant forget term: the loop still pairs batches, checks and guards, but only the retain
      // term has a gradient. Its first check (the rollback point) is the ablated model.
      const repair = runLossLoop(ctx, { ...o, steps: o.repairSteps, epochs: 1, baseLr: o.repairLr, gamma: 0, alpha: 1, targetForgetProb: 0 },
        { forget: () => scalar(0) }, hooks, { phase: 'repair' });
      return { ...repair, details };
    }
    if (o.repairSteps > 0) hooks.onMessage?.('localized ablation: no retain set, so no repair steps');
    const after = guard.check(model, 0);
    hooks.onCheck?.(after);
    // Without repair nothing else guards the ablation: breaching a damage bound gives θ back, not a broken model.
    const breach = damageBreach(before, after, o);
    if (breach) {
      model.params.restore(ctx.original);
      hooks.onMessage?.(`localized ablation: the ablated model breaches a guard (${breach}); weights rolled back to the original`);
    }
    const outcome: UnlearnOutcome = { stopReason: breach ?? 'completed', steps: 0, curve: [], checks: [before, after], details };
    return outcome;
  },
});
