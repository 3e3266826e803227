import type { Tensor } from '../engine/index.ts';
import type { CausalLM } from './arch/types.ts';
import type { ModelConfig } from './config.ts';

/** What a projection does in its block. */
export type ModuleRole = 'attn-in' | 'attn-out' | 'mlp-in' | 'mlp-out';

/** A linear projection inside a block, by the module name the forward pass's `linearInput` tap reports. */
export interface LinearModule {
  module: string;
  layer: number;
  role: ModuleRole;
  weight: Tensor;
  /** GPT-2's Conv1D stores [in, out]; everything else [out, in] (torch.nn.Linear). */
  layout: 'inOut' | 'outIn';
  inFeatures: number;
  outFeatures: number;
}

const GPT2_MODULES: [string, ModuleRole][] = [['attn.c_attn', 'attn-in'], ['attn.c_proj', 'attn-out'], ['mlp.c_fc', 'mlp-in'], ['mlp.c_proj', 'mlp-out']];
const LLAMA_MODULES: [string, ModuleRole][] = [
  ['self_attn.q_proj', 'attn-in'], ['self_attn.k_proj', 'attn-in'], ['self_attn.v_proj', 'attn-in'], ['self_attn.o_proj', 'attn-out'],
  ['mlp.gate_proj', 'mlp-in'], ['mlp.up_proj', 'mlp-in'], ['mlp.down_proj', 'mlp-out'],
];

function blockPrefix(config: ModelConfig, layer: number): string {
  return config.family === 'gpt2' ? `transformer.h.${layer}` : `model.layers.${layer}`;
}

/** Every linear projection of the blocks, layer by layer, in forward order. */
export function linearModules(model: CausalLM): LinearModule[] {
  const c = model.config;
  const table = c.family === 'gpt2' ? GPT2_MODULES : LLAMA_MODULES;
  const out: LinearModule[] = [];
  for (let layer = 0; layer < c.numLayers; layer++) {
    for (const [suffix, role] of table) {
      const module = `${blockPrefix(c, layer)}.${suffix}`;
      const weight = model.params.get(`${module}.weight`);
      const layout = c.family === 'gpt2' ? 'inOut' : 'outIn';
      const [a, b] = weight.shape as [number, number];
      out.push({ module, layer, role, weight, layout, inFeatures: layout === 'inOut' ? a : b, outFeatures: layout === 'inOut' ? b : a });
    }
  }
  return out;
}

/** The MLP's output projection of a layer: its input units are the MLP's hidden neurons. */
export function mlpOutModule(config: ModelConfig, layer: number): string {
  return `${blockPrefix(config, layer)}.${config.family === 'gpt2' ? 'mlp.c_proj' : 'mlp.down_proj'}`;
}

/** The attention's output projection of a layer: its input is the heads' outputs side by side. */
export function attnOutModule(config: ModelConfig, layer: number): string {
  return `${blockPrefix(config, layer)}.${config.family === 'gpt2' ? 'attn.c_proj' : 'self_attn.o_proj'}`;
}
