import { createModel } from '../model/checkpoint.ts';
import type { CausalLM } from '../model/arch/types.ts';

/**
 * A frozen model with the given weights (θ before unlearning): NPO's π_ref, RMU's frozen activations and the KL
 * retain term read it. Its parameters do not require gradients, so no backward work is spent on it.
 */
export function frozenModel(like: CausalLM, weights: Float32Array): CausalLM {
  const ref = createModel(like.config);
  ref.params.restore(weights);
  for (const p of ref.params.list()) p.requiresGrad = false;
  return ref;
}
