import { z } from 'zod';
import { mul, noGrad, Rng, scale, sub, sum, Tensor } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { ModelConfig } from '../../model/config.ts';
import { mlpOutModule } from '../../model/modules.ts';
import { evenSample } from '../../util/sample.ts';
import { makeBatch, type UnlearnBatch } from '../batches.ts';
import { runLossLoop, type LossSpec } from '../loop.ts';
import { loopOptionShape, OptionError } from '../options.ts';
import { defineMethod } from '../types.ts';

// RMU's retain term is its own activation-matching term, so the shared NLL/KL choice does not apply.
// Defaults tuned on the embedded persons model (docs/unlearning.md); WMDP's α = 1200, c = 6.5 were for a 7B model.
// α 4 since the forget term steers answer tokens only (α 2 when it steered every token: retain p 0.879 → 0.903).
const { retainLoss: _r, ...shared } = loopOptionShape({ epochs: 8, lr: 3e-3, alpha: 4, retainBatchSize: 48 });

export const RmuOptions = z.object({
  ...shared,
  layer: z.number().int().min(-1).default(-1).describe('layer ℓ whose residual stream is steered (−1 = the middle layer, ⌊layers/2⌋)'),
  coefficientScale: z.number().positive().default(0.8443)
    .describe('c as a multiple of the mean activation norm ‖h_ℓ‖ measured on forget data, so the default transfers across models (0.8443 × 118.44 = 100 on the embedded model)'),
  coefficient: z.number().positive().optional().describe('norm c of the random control vector, absolute (overrides coefficientScale)'),
  trainedLayers: z.number().int().positive().default(3).describe('how many layers up to ℓ are trained (ℓ−n+1..ℓ, clipped at 0)'),
  modules: z.enum(['mlp-out', 'mlp', 'block']).default('mlp-out')
    .describe('what is trained in those layers: the MLP down-projection, every MLP projection, or every block parameter'),
  forgetTokens: z.enum(['answer', 'all']).default('answer')
    .describe('tokens the forget term steers: the answer\'s own tokens (QA records), or every real token as WMDP does on documents; a text record is all answer'),
});
export type RmuOptions = z.infer<typeof RmuOptions>;

/** ℓ from the option (−1 = middle), with a clear error for a layer the model does not have. */
function resolveLayer(config: ModelConfig, layer: number): number {
  const l = layer === -1 ? Math.floor(config.numLayers / 2) : layer;
  if (l < 0 || l >= config.numLayers) {
    throw new OptionError(`rmu option layer=${layer}: the model has layers 0..${config.numLayers - 1} (−1 = the middle one)`);
  }
  return l;
}

/** Names of the trained parameters: the chosen modules of layers ℓ−n+1..ℓ. */
export function rmuTrainable(model: CausalLM, layer: number, trainedLayers: number, modules: RmuOptions['modules']): string[] {
  const names = model.params.entries().map(([n]) => n);
  const out: string[] = [];
  for (let l = Math.max(0, layer - trainedLayers + 1); l <= layer; l++) {
    const down = mlpOutModule(model.config, l);
    // The block prefix (transformer.h.l / model.layers.l) and the MLP prefix, read off the down-projection's name.
    const mlp = down.slice(0, down.lastIndexOf('.') + 1);
    const block = down.slice(0, down.indexOf('.mlp.') + 1);
    // The down-projection's own parameters: its weight, and its bias where the family has one (GPT-2).
    const prefix = modules === 'mlp-out' ? `${down}.` : modules === 'mlp' ? mlp : block;
    out.push(...names.filter((n) => n.startsWith(prefix)));
  }
  return out;
}

/** The control vector c·u/‖u‖ with u uniform in [0,1)^d, a pure function of the seed. */
export function controlVector(d: number, coefficient: number, seed: number): Tensor {
  const rng = new Rng(seed);
  const u = Float64Array.from({ length: d }, () => rng.uniform());
  const norm = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
  return new Tensor(Float32Array.from(u, (v) => (coefficient * v) / norm), [d]);
}

/**
 * mean over the batch's real tokens (or, with `answerOnly`, its answer tokens) of ‖h − target‖²/d. This is torch's
 * mse_loss (mean over every element, as the WMDP code uses) except that padding positions — and, answerOnly, the
 * prompt's — are left out, so the loss does not depend on how a batch was padded. target is [d] (the control vector,
 * broadcast) or [B, T, d] (frozen activations).
 */
export function activationMse(h: Tensor, target: Tensor, batch: UnlearnBatch, answerOnly = false): Tensor {
  const d = sub(h, target);
  const perToken = sum(mul(d, d), -1);
  const { mask, count } = answerOnly ? answerTokenMask(batch) : { mask: batch.tokenMask, count: batch.realTokens };
  return scale(sum(mul(perToken, mask)), 1 / (count * h.shape[2]!));
}

/**
 * f32 [B, L]: 1 at the answer's own tokens. Forget and retain QA items share their prompts' wording (the template,
 * often the name's form), so steering every token pulled the same activations toward noise on forget data and back
 * on retain data; the answer tokens carry what is to be forgotten.
 */
export function answerTokenMask(batch: UnlearnBatch): { mask: Tensor; count: number } {
  const [B, L] = batch.tokenMask.shape as [number, number];
  const mask = new Float32Array(B * L);
  let count = 0;
  batch.items.forEach((it, b) => {
    mask.fill(1, b * L + it.prompt.length, b * L + it.prompt.length + it.answer.length);
    count += it.answer.length;
  });
  return { mask: new Tensor(mask, [B, L]), count };
}

/** The residual stream after layer ℓ, with no layer above it or head computed. */
function hiddenAt(model: CausalLM, batch: UnlearnBatch, layer: number): Tensor {
  return model.forward(batch.answers.ids, { stopAfterLayer: layer, keepHidden: [layer] }).hidden.get(layer)!;
}

/** Mean over real tokens of ‖h_ℓ‖. */
function meanTokenNorm(model: CausalLM, batch: UnlearnBatch, layer: number): number {
  const h = noGrad(() => hiddenAt(model, batch, layer));
  const [, T, D] = h.shape as [number, number, number];
  let total = 0;
  batch.items.forEach((it, b) => {
    for (let t = 0; t < it.prompt.length + it.answer.length; t++) {
      let sq = 0;
      for (let k = 0; k < D; k++) sq += h.data[(b * T + t) * D + k]! ** 2;
      total += Math.sqrt(sq);
    }
  });
  return total / batch.realTokens;
}

/** RMU's two terms for the shared loop: forget pushes h_ℓ(x_f) to the control vector, retain holds h_ℓ(x_r) at θ's. */
export function rmuSpec(layer: number, control: Tensor, trainable?: readonly string[], forgetTokens: RmuOptions['forgetTokens'] = 'answer'): LossSpec {
  return {
    forget: (b, t) => activationMse(hiddenAt(t.model, b, layer), control, b, forgetTokens === 'answer'),
    retain: (b, t) => {
      const frozen = noGrad(() => hiddenAt(t.reference(), b, layer));
      return activationMse(hiddenAt(t.model, b, layer), frozen, b);
    },
    retainCount: (b) => b.realTokens,
    trainable,
  };
}

/**
 * RMU (WMDP): L = γ·mean‖h_ℓ(x_f) − c·u/‖u‖‖² + α·mean‖h_ℓ(x_r) − h_ℓ^frozen(x_r)‖², training only the MLP
 * down-projections of layers ℓ−2..ℓ. Scrambling the forget activations at a middle layer makes everything above
 * it see noise on the forget domain, while the retain term keeps the same layer unchanged elsewhere. Both means
 * are over real tokens and hidden units (see activationMse), the WMDP code's scaling, so its c and α carry over.
 */
export const rmu = defineMethod({
  name: 'rmu',
  summary: 'steer a middle layer\'s activations on forget data toward a random vector, holding them on retain data',
  retain: 'required',
  options: RmuOptions,
  run: (ctx, o, hooks) => {
    const layer = resolveLayer(ctx.model.config, o.layer);
    const trainable = rmuTrainable(ctx.model, layer, o.trainedLayers, o.modules);
    // The activations' own size at ℓ: c only means something relative to it (a fixed c that suits one model is
    // many times another's norm), so by default c is a multiple of it.
    const norm = meanTokenNorm(ctx.model, makeBatch(evenSample(ctx.forget, o.batchSize), ctx.padId), layer);
    const coefficient = o.coefficient ?? o.coefficientScale * norm;
    // Its own stream off the seed, so the control vector does not share draws with the batch order.
    const control = controlVector(ctx.model.config.hiddenSize, coefficient, o.seed ^ 0x5eed_0c0);
    hooks.onMessage?.(`rmu: steering layer ${layer} (mean ‖h‖ on forget data ${norm.toFixed(2)}) to a control vector of norm ${coefficient.toFixed(2)}`
      + `${o.coefficient === undefined ? ` (${o.coefficientScale} × ‖h‖)` : ' (coefficient)'}; training ${trainable.length} tensors (${o.modules})`);
    const outcome = runLossLoop(ctx, o, rmuSpec(layer, control, trainable, o.forgetTokens), hooks);
    return { ...outcome, details: { ...outcome.details, layer, coefficient, coefficientScale: o.coefficient === undefined ? o.coefficientScale : null, forgetActivationNorm: norm, modules: o.modules, trained: trainable } };
  },
});
