import { mul, Tensor } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { createModel } from '../model/checkpoint.ts';
import { parseConfig, type ModelConfig } from '../model/config.ts';
import { linearModules, type LinearModule } from '../model/modules.ts';
import type { SharedOnForget } from './choices.ts';

/**
 * SGTM (selective gradient masking; ../shared/SGTM.md): in each designated layer, the last `mlpUnits` MLP hidden
 * units and the last `heads` attention heads are the *forget parameters*. Forget-labelled steps update only them;
 * retain-labelled steps run with their outputs zeroed; ablation zeroes them after training.
 */
export interface SgtmDesignation {
  mlpUnits: number;
  heads: number;
  layers: number[];
}

/** The config.json key that records a designation, so ablation can be repeated and audited from the folder alone. */
export const SGTM_CONFIG_KEY = 'lethe_sgtm';

export interface SgtmConfigRecord {
  mlp_units: number;
  heads: number;
  layers: number[];
  /** Key/value heads (Llama) whose whole group of query heads is designated: only those k/v rows are forget. */
  kv_heads: number;
  ablated: boolean;
}

export class SgtmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SgtmError';
  }
}

/**
 * A designation checked against the model: defaults as the issue states (the last d_ff/16 units, one head, every
 * layer). At least one unit or head, and at least one of each kind left to retain, or the split means nothing.
 */
export function designate(config: ModelConfig, o: { mlpUnits?: number; heads?: number; layers?: readonly number[] } = {}): SgtmDesignation {
  const I = config.intermediateSize;
  const mlpUnits = o.mlpUnits ?? Math.max(1, Math.floor(I / 16));
  const heads = o.heads ?? 1;
  if (!Number.isInteger(mlpUnits) || mlpUnits < 0) throw new SgtmError(`forget MLP units ${mlpUnits}: must be a whole number ≥ 0`);
  if (mlpUnits >= I) throw new SgtmError(`forget MLP units ${mlpUnits}: the model's MLP has ${I} units (d_ff), so at most ${I - 1} can be designated`);
  if (!Number.isInteger(heads) || heads < 0) throw new SgtmError(`forget heads ${heads}: must be a whole number ≥ 0`);
  if (heads >= config.numHeads) throw new SgtmError(`forget heads ${heads}: the model has ${config.numHeads} attention heads per layer, so at most ${config.numHeads - 1} can be designated`);
  if (mlpUnits === 0 && heads === 0) throw new SgtmError('nothing designated: give at least one forget MLP unit or one forget head');
  const layers = o.layers ? [...new Set(o.layers)].sort((a, b) => a - b) : Array.from({ length: config.numLayers }, (_, l) => l);
  if (layers.length === 0) throw new SgtmError('no layers designated');
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= config.numLayers) throw new SgtmError(`layer ${l}: the model has layers 0–${config.numLayers - 1}`);
  }
  return { mlpUnits, heads, layers };
}

/** Key/value heads all of whose query heads are designated (grouped-query attention shares the others with retain heads). */
export function forgetKvHeads(config: ModelConfig, heads: number): number {
  const group = config.numHeads / config.numKvHeads;
  return Math.floor(heads / group);
}

/** [from, to) feature ranges. */
type Ranges = [number, number][];

/** The last n of `count` blocks of `size` features (heads of headDim, or units of 1), as ranges offset by `base`. */
function lastBlocks(count: number, n: number, size: number, base = 0): Ranges {
  return n === 0 ? [] : [[base + (count - n) * size, base + count * size]];
}

/** Which output features (for projections into the unit) or input features (out of it) of a module are forget. */
function forgetFeatures(c: ModelConfig, d: SgtmDesignation, m: LinearModule): { side: 'out' | 'in'; ranges: Ranges } | null {
  const hd = c.headDim;
  const I = c.intermediateSize;
  const suffix = m.module.slice(m.module.lastIndexOf('.', m.module.lastIndexOf('.') - 1) + 1);
  switch (m.role) {
    case 'mlp-in': return { side: 'out', ranges: lastBlocks(I, d.mlpUnits, 1) };
    case 'mlp-out': return { side: 'in', ranges: lastBlocks(I, d.mlpUnits, 1) };
    case 'attn-out': return { side: 'in', ranges: lastBlocks(c.numHeads, d.heads, hd) };
    case 'attn-in': {
      // GPT-2's fused c_attn holds q, k and v side by side: three ranges.
      if (suffix === 'attn.c_attn') return { side: 'out', ranges: [0, 1, 2].flatMap((s) => lastBlocks(c.numHeads, d.heads, hd, s * c.hiddenSize)) };
      if (suffix === 'self_attn.q_proj') return { side: 'out', ranges: lastBlocks(c.numHeads, d.heads, hd) };
      return { side: 'out', ranges: lastBlocks(c.numKvHeads, forgetKvHeads(c, d.heads), hd) };
    }
  }
  return null;
}

/**
 * Per parameter name, 1 where the element is a forget parameter. Parameters absent from the map hold no forget
 * element (embeddings, norms, output-side biases, undesignated layers). Weights are [in, out] for GPT-2's Conv1D,
 * [out, in] otherwise; a bias follows its projection's output features.
 */
export function forgetMasks(model: CausalLM, d: SgtmDesignation): Map<string, Uint8Array> {
  const c = model.config;
  const layers = new Set(d.layers);
  const masks = new Map<string, Uint8Array>();
  for (const m of linearModules(model)) {
    if (!layers.has(m.layer)) continue;
    const f = forgetFeatures(c, d, m);
    if (!f || f.ranges.length === 0) continue;
    const rows = m.weight.shape[0]!;
    const cols = m.weight.shape[1]!;
    const w = new Uint8Array(rows * cols);
    // Output features are columns in [in, out] storage and rows in [out, in]; input features the other way round.
    const onColumns = (f.side === 'out') === (m.layout === 'inOut');
    for (const [from, to] of f.ranges) {
      if (onColumns) for (let r = 0; r < rows; r++) w.fill(1, r * cols + from, r * cols + to);
      else w.fill(1, from * cols, to * cols);
    }
    masks.set(`${m.module}.weight`, w);
    if (f.side === 'out' && model.params.has(`${m.module}.bias`)) {
      const b = new Uint8Array(m.outFeatures);
      for (const [from, to] of f.ranges) b.fill(1, from, to);
      masks.set(`${m.module}.bias`, b);
    }
  }
  return masks;
}

/**
 * A forget step's rule, applied after backward: every gradient of the block projections outside the forget
 * parameters becomes exactly zero (their retain slices, output-side biases, undesignated layers), and with 'freeze'
 * every other parameter's too. Adam's momentum and weight decay still move masked parameters, as in the reference.
 */
export function keepForgetGradients(model: CausalLM, masks: ReadonlyMap<string, Uint8Array>, shared: SharedOnForget = 'freeze'): void {
  const projections = shared === 'update' ? new Set(linearModules(model).flatMap((m) => [`${m.module}.weight`, `${m.module}.bias`])) : null;
  for (const [name, p] of model.params.entries()) {
    if (!p.grad) continue;
    const g = p.grad.f32('sgtm');
    const mask = masks.get(name);
    if (!mask) {
      // 'update' keeps what belongs to no block projection (embeddings, norms, a separate head) learning.
      if (!projections || projections.has(name)) g.fill(0);
      continue;
    }
    for (let i = 0; i < g.length; i++) if (mask[i] === 0) g[i] = 0;
  }
}

/**
 * A retain step's forward tap: the forget MLP units' activations and the forget heads' outputs are multiplied by
 * zero where they enter their output projection, so the step learns without them and sends them no gradient.
 */
export function retainTap(model: CausalLM, d: SgtmDesignation): (module: string, x: Tensor) => Tensor {
  const c = model.config;
  const layers = new Set(d.layers);
  const gates = new Map<string, Tensor>();
  for (const m of linearModules(model)) {
    if (!layers.has(m.layer) || (m.role !== 'mlp-out' && m.role !== 'attn-out')) continue;
    const f = forgetFeatures(c, d, m)!;
    if (f.ranges.length === 0) continue;
    const g = new Float32Array(m.inFeatures).fill(1);
    for (const [from, to] of f.ranges) g.fill(0, from, to);
    gates.set(m.module, new Tensor(g, [m.inFeatures]));
  }
  return (module, x) => {
    const g = gates.get(module);
    return g ? mul(x, g) : x;
  };
}

/** Zeroes every forget parameter in place (projection biases on the residual side are left, as the reference does). */
export function ablateInPlace(model: CausalLM, d: SgtmDesignation): number {
  let zeroed = 0;
  for (const [name, mask] of forgetMasks(model, d)) {
    const w = model.params.get(name).f32('sgtm ablate');
    for (let i = 0; i < w.length; i++) {
      if (mask[i] === 1) {
        w[i] = 0;
        zeroed++;
      }
    }
  }
  return zeroed;
}

/** How many parameters (elements) are designated forget. */
export function forgetParameterCount(model: CausalLM, d: SgtmDesignation): number {
  let n = 0;
  for (const mask of forgetMasks(model, d).values()) for (const v of mask) n += v;
  return n;
}

/** The designation as recorded in config.json. */
export function configRecord(model: CausalLM, d: SgtmDesignation, ablated: boolean): SgtmConfigRecord {
  return { mlp_units: d.mlpUnits, heads: d.heads, layers: d.layers, kv_heads: forgetKvHeads(model.config, d.heads), ablated };
}

/** The same weights under a config that records the designation (what a saved folder carries). */
export function withDesignation(model: CausalLM, d: SgtmDesignation, ablated: boolean): CausalLM {
  const raw = { ...model.config.raw, [SGTM_CONFIG_KEY]: configRecord(model, d, ablated) };
  return createModel(parseConfig(raw, 'the SGTM config'), model.params);
}

/** The designation a folder's config records, checked against its shape; null when it has none. */
export function readDesignation(model: CausalLM): { designation: SgtmDesignation; ablated: boolean } | null {
  const rec = model.config.raw[SGTM_CONFIG_KEY];
  if (rec === undefined) return null;
  const r = rec as Partial<SgtmConfigRecord>;
  if (typeof rec !== 'object' || rec === null || typeof r.mlp_units !== 'number' || typeof r.heads !== 'number' || !Array.isArray(r.layers)) {
    throw new SgtmError(`config.json: "${SGTM_CONFIG_KEY}" is damaged (expected mlp_units, heads and layers)`);
  }
  return { designation: designate(model.config, { mlpUnits: r.mlp_units, heads: r.heads, layers: r.layers as number[] }), ablated: r.ablated === true };
}
