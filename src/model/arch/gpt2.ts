import {
  add, causalAttention, causalAttentionPacked, embedding, EngineError, gelu, layerNorm, linear, permute, reshape, slice, Tensor,
} from '../../engine/index.ts';
import type { ModelConfig } from '../config.ts';
import { ParameterStore, type ParamSpec } from '../params.ts';
import { logitsAt, packingFor } from './packing.ts';
import { positionIds, runBlock, tapOf, type CausalLM, type ForwardOptions, type ForwardOutput } from './types.ts';

/** GPT-2's weights under their Hugging Face names; Conv1D weights are [in, out]. lm_head is tied to wte. */
export function gpt2ParamSpecs(c: ModelConfig): ParamSpec[] {
  const D = c.hiddenSize;
  const I = c.intermediateSize;
  const specs: ParamSpec[] = [
    { name: 'transformer.wte.weight', shape: [c.vocabSize, D] },
    { name: 'transformer.wpe.weight', shape: [c.maxPositions, D] },
  ];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `transformer.h.${l}`;
    specs.push(
      { name: `${p}.ln_1.weight`, shape: [D] }, { name: `${p}.ln_1.bias`, shape: [D] },
      { name: `${p}.attn.c_attn.weight`, shape: [D, 3 * D] }, { name: `${p}.attn.c_attn.bias`, shape: [3 * D] },
      { name: `${p}.attn.c_proj.weight`, shape: [D, D] }, { name: `${p}.attn.c_proj.bias`, shape: [D] },
      { name: `${p}.ln_2.weight`, shape: [D] }, { name: `${p}.ln_2.bias`, shape: [D] },
      { name: `${p}.mlp.c_fc.weight`, shape: [D, I] }, { name: `${p}.mlp.c_fc.bias`, shape: [I] },
      { name: `${p}.mlp.c_proj.weight`, shape: [I, D] }, { name: `${p}.mlp.c_proj.bias`, shape: [D] },
    );
  }
  specs.push({ name: 'transformer.ln_f.weight', shape: [D] }, { name: 'transformer.ln_f.bias', shape: [D] });
  return specs;
}

const CONV1D = { weightLayout: 'inOut' } as const;

export class GPT2 implements CausalLM {
  readonly config: ModelConfig;
  readonly params: ParameterStore;

  constructor(config: ModelConfig, params?: ParameterStore) {
    this.config = config;
    this.params = params ?? new ParameterStore(gpt2ParamSpecs(config));
  }

  forward(ids: Tensor, options: ForwardOptions = {}): ForwardOutput {
    const c = this.config;
    const P = (n: string): Tensor => this.params.get(n);
    const tap = tapOf(options);
    if (ids.rank !== 2) throw new EngineError('gpt2', `ids must be [batch, time], got [${ids.shape.join(', ')}]`);
    const [B, T] = ids.shape as [number, number];
    const D = c.hiddenSize;
    const H = c.numHeads;
    const hd = c.headDim;
    const past = options.cache?.length ?? 0;
    if (past + T > c.maxPositions) {
      throw new EngineError('gpt2', `${past + T} positions exceed the model's context of ${c.maxPositions}`);
    }
    const packing = packingFor('gpt2', B, T, options);
    const positionArr = positionIds(B, T, past, options.keyStart);
    // Packed: the N real tokens as rows [N, D]; else [B, T, D].
    const tokens = packing ? new Tensor(packing.packIds(ids.i32('gpt2')), [packing.N]) : ids;
    const positions = packing ? new Tensor(packing.packIds(positionArr), [packing.N]) : new Tensor(positionArr, [B, T]);
    let x = add(embedding(P('transformer.wte.weight'), tokens), embedding(P('transformer.wpe.weight'), positions));
    const hidden = new Map<number, Tensor>();
    // Attention of layer l on heads [3, B, H, T, hd]: decoding appends k and v to the cache first; otherwise q, k
    // and v stay one tensor, whose gradient the attention backward writes whole (see causalAttentionPacked).
    const attention = (heads: Tensor, l: number): Tensor => {
      if (!options.cache) return causalAttentionPacked(heads, { keyStart: options.keyStart });
      const part = (i: number): Tensor => reshape(slice(heads, 0, i, i + 1), [B, H, T, hd]);
      const [k, v] = options.cache.append(l, part(1), part(2));
      return causalAttention(part(0), k, v, { keyStart: options.keyStart });
    };
    const last = options.stopAfterLayer ?? c.numLayers - 1;
    for (let l = 0; l <= last; l++) {
      x = runBlock(options, l, hidden, () => {
        const p = `transformer.h.${l}`;
        // Attention: one Conv1D makes q, k, v; split into heads [B, H, T, hd].
        const h = layerNorm(x, P(`${p}.ln_1.weight`), P(`${p}.ln_1.bias`), c.normEps);
        const qkv = linear(tap(`${p}.attn.c_attn`, h), P(`${p}.attn.c_attn.weight`), P(`${p}.attn.c_attn.bias`), CONV1D);
        const heads = permute(reshape(packing ? packing.unpack(qkv) : qkv, [B, T, 3, H, hd]), [2, 0, 3, 1, 4]);
        const attB = reshape(permute(attention(heads, l), [0, 2, 1, 3]), [B, T, D]);
        const att = packing ? packing.pack(attB) : attB;
        x = add(x, linear(tap(`${p}.attn.c_proj`, att), P(`${p}.attn.c_proj.weight`), P(`${p}.attn.c_proj.bias`), CONV1D));
        // MLP with gelu_new.
        const h2 = layerNorm(x, P(`${p}.ln_2.weight`), P(`${p}.ln_2.bias`), c.normEps);
        const up = gelu(linear(tap(`${p}.mlp.c_fc`, h2), P(`${p}.mlp.c_fc.weight`), P(`${p}.mlp.c_fc.bias`), CONV1D));
        x = add(x, linear(tap(`${p}.mlp.c_proj`, up), P(`${p}.mlp.c_proj.weight`), P(`${p}.mlp.c_proj.bias`), CONV1D));
        if (options.keepHidden?.includes(l)) hidden.set(l, packing ? packing.unpackZero(x) : x);
        return x;
      });
    }
    if (options.cache) options.cache.advance(T);
    if (last < c.numLayers - 1) return { logits: null, hidden };
    const y = layerNorm(x, P('transformer.ln_f.weight'), P('transformer.ln_f.bias'), c.normEps);
    return { logits: logitsAt('gpt2', y, (r) => linear(r, P('transformer.wte.weight')), packing, B, T, options), hidden };
  }
}
