import { isGradEnabled, transient, type Tensor } from '../../engine/index.ts';
import type { ModelConfig } from '../config.ts';
import type { KVCache } from '../kv-cache.ts';
import type { ParameterStore } from '../params.ts';

export interface ForwardOptions {
  /** Continue from cached positions (generation); the new keys/values are appended to it. */
  cache?: KVCache;
  /**
   * Left padding: row b's real tokens start at keyStart[b]. Padding is masked out of attention and positions
   * count from each row's first real token, so a padded row computes what it would alone.
   */
  keyStart?: Int32Array;
  /** Keep the residual stream after these layers (0-based) in `hidden` (for RMU, probes). */
  keepHidden?: readonly number[];
  /** Stop after this layer and return no logits (saves the head when only hidden states are needed). */
  stopAfterLayer?: number;
  /**
   * Called with the input of every linear projection inside the blocks, by module name (e.g.
   * `transformer.h.0.mlp.c_proj`, `model.layers.0.self_attn.q_proj`); the projection uses what it returns. Return
   * `x` to only observe. Unlearning records layer inputs with it (SAGE), gates units to attribute loss to them
   * (localized ablation) and masks units (SGTM).
   */
  linearInput?: (module: string, x: Tensor) => Tensor;
  /**
   * Right padding: row b has lengths[b] real tokens, the rest is padding nobody reads. The blocks then compute
   * on real tokens only (see packing.ts); logits at padded positions are zero. With a `cache` (and `keyStart`
   * inside the cached prefix) the new tokens attend over the prefix as usual, and the cache cannot grow after the
   * pass. The tensors `linearInput` sees are then [N, D] over the N real tokens.
   */
  lengths?: Int32Array;
  /**
   * Compute logits only at these flat positions b·T + t (in this order): `logits` is then [K, vocab]. The loss
   * functions need the answer positions only, a third of a batch on QA data, and the head is the widest matmul.
   */
  logitPositions?: Int32Array;
}

/** The identity tap: what a forward pass uses when no `linearInput` is given. */
export function tapOf(options: ForwardOptions): (module: string, x: Tensor) => Tensor {
  return options.linearInput ?? ((_module, x) => x);
}

export interface ForwardOutput {
  /** [B, T, vocab] ([K, vocab] with logitPositions), or null when stopAfterLayer ended the pass early. */
  logits: Tensor | null;
  /** Residual stream [B, T, hidden] after each layer listed in keepHidden, by layer index. */
  hidden: Map<number, Tensor>;
}

/** Position ids [B·T] for T new steps after `past` cached ones, counted from each row's first real token. */
export function positionIds(B: number, T: number, past: number, keyStart?: Int32Array): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = keyStart ? keyStart[b]! : 0;
    for (let t = 0; t < T; t++) pos[b * T + t] = Math.max(0, past + t - start);
  }
  return pos;
}

/** A decoder-only language model over a ParameterStore whose names are Hugging Face's. */
export interface CausalLM {
  readonly config: ModelConfig;
  readonly params: ParameterStore;
  /** ids: i32 [B, T]. */
  forward(ids: Tensor, options?: ForwardOptions): ForwardOutput;
}

/**
 * Runs one block of a forward pass. Without a graph (noGrad) and without a tap, the block's temporaries go back to
 * the pool as soon as it returns, keeping only its output, the hidden state it kept and its KV cache entries: a
 * pooled scoring pass then holds one block's temporaries, not every block's (pool.ts `transient`). With a graph the
 * tape reads them in backward; a tap may hold what it saw.
 */
export function runBlock(options: ForwardOptions, layer: number, hidden: ReadonlyMap<number, Tensor>, body: () => Tensor): Tensor {
  if (isGradEnabled() || options.linearInput) return body();
  return transient(body, (x) => [x.data, hidden.get(layer)?.data ?? null, ...(options.cache?.layerData(layer) ?? [])]);
}
