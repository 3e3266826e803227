import { Rng } from '../engine/index.ts';
import type { CausalLM } from './arch/types.ts';

/**
 * Fresh weights as transformers initialises them: normal(0, std) matrices and embeddings, zero biases, unit norm
 * weights; GPT-2's residual projections (attn.c_proj, mlp.c_proj) get std/sqrt(2·layers) as in the GPT-2 paper.
 */
export function initWeights(model: CausalLM, seed: number, std = 0.02): void {
  const rng = new Rng(seed);
  const residualStd = std / Math.sqrt(2 * model.config.numLayers);
  for (const [name, p] of model.params.entries()) {
    const data = p.f32('initWeights');
    if (/(ln_\d|ln_f|layernorm|norm)\.weight$/.test(name)) data.fill(1);
    else if (name.endsWith('.bias')) data.fill(0);
    else {
      const s = model.config.family === 'gpt2' && /c_proj\.weight$/.test(name) ? residualStd : std;
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * s;
    }
  }
}
