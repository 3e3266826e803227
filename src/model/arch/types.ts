import type { Tensor } from '../../engine/index.ts';
import type { ModelConfig } from '../config.ts';
import type { KVCache } from '../kv-cache.ts';
import type { ParameterStore } from '../params.ts';

export interface ForwardOptions {
  /** Continue from cached positions (generation); the new keys/values are appended to it. */
  cache?: KVCache;
  /** Keep the residual stream after these layers (0-based) in `hidden` (for RMU, probes). */
  keepHidden?: readonly number[];
  /** Stop after this layer and return no logits (saves the head when only hidden states are needed). */
  stopAfterLayer?: number;
}

export interface ForwardOutput {
  /** [B, T, vocab], or null when stopAfterLayer ended the pass early. */
  logits: Tensor | null;
  /** Residual stream [B, T, hidden] after each layer listed in keepHidden, by layer index. */
  hidden: Map<number, Tensor>;
}

/** A decoder-only language model over a ParameterStore whose names are Hugging Face's. */
export interface CausalLM {
  readonly config: ModelConfig;
  readonly params: ParameterStore;
  /** ids: i32 [B, T]. */
  forward(ids: Tensor, options?: ForwardOptions): ForwardOutput;
}
