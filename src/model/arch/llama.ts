import {
  add, causalAttention, embedding, EngineError, linear, mul, permute, reshape, rmsNorm, rope, silu, Tensor,
} from '../../engine/index.ts';
import { ropeFrequencies, type ModelConfig } from '../config.ts';
import { ParameterStore, type ParamSpec } from '../params.ts';
import { logitsAt, packingFor } from './packing.ts';
import { positionIds, runBlock, tapOf, type CausalLM, type ForwardOptions, type ForwardOutput } from './types.ts';

/** Llama-family weights under their Hugging Face names (Linear layout [out, in]). */
export function llamaParamSpecs(c: ModelConfig): ParamSpec[] {
  const D = c.hiddenSize;
  const I = c.intermediateSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, D] }];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [qDim, D] });
    if (c.qkvBias) specs.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qDim] });
    specs.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kvDim, D] });
    if (c.qkvBias) specs.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kvDim] });
    specs.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kvDim, D] });
    if (c.qkvBias) specs.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kvDim] });
    specs.push({ name: `${p}.self_attn.o_proj.weight`, shape: [D, qDim] });
    if (c.oBias) specs.push({ name: `${p}.self_attn.o_proj.bias`, shape: [D] });
    for (const [proj, shape] of [['gate_proj', [I, D]], ['up_proj', [I, D]], ['down_proj', [D, I]]] as const) {
      specs.push({ name: `${p}.mlp.${proj}.weight`, shape: [...shape] });
      if (c.mlpBias) specs.push({ name: `${p}.mlp.${proj}.bias`, shape: [shape[0]] });
    }
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [D] }, { name: `${p}.post_attention_layernorm.weight`, shape: [D] });
  }
  specs.push({ name: 'model.norm.weight', shape: [D] });
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, D] });
  return specs;
}

export class Llama implements CausalLM {
  readonly config: ModelConfig;
  readonly params: ParameterStore;
  private readonly invFreq: Float32Array;

  constructor(config: ModelConfig, params?: ParameterStore) {
    this.config = config;
    this.params = params ?? new ParameterStore(llamaParamSpecs(config));
    this.invFreq = ropeFrequencies(config);
  }

  forward(ids: Tensor, options: ForwardOptions = {}): ForwardOutput {
    const c = this.config;
    const P = (n: string): Tensor => this.params.get(n);
    const opt = (n: string): Tensor | null => (this.params.has(n) ? this.params.get(n) : null);
    const tap = tapOf(options);
    // A projection by module name, its input passed through the tap.
    const proj = (module: string, input: Tensor): Tensor => linear(tap(module, input), P(`${module}.weight`), opt(`${module}.bias`));
    if (ids.rank !== 2) throw new EngineError('llama', `ids must be [batch, time], got [${ids.shape.join(', ')}]`);
    const [B, T] = ids.shape as [number, number];
    const hd = c.headDim;
    const past = options.cache?.length ?? 0;
    if (past + T > c.maxPositions) {
      throw new EngineError('llama', `${past + T} positions exceed the model's context of ${c.maxPositions}`);
    }
    if (c.slidingWindow !== null && past + T > c.slidingWindow) {
      throw new EngineError('llama', `${past + T} positions exceed the sliding attention window of ${c.slidingWindow}, which Lethe does not implement`);
    }
    const packing = packingFor('llama', B, T, options);
    // Packed, the blocks run on the N real tokens [N, D]; attention gets the padded layout back.
    const heads = (t: Tensor, n: number): Tensor => permute(reshape(packing ? packing.unpack(t) : t, [B, T, n, hd]), [0, 2, 1, 3]);
    const positions = options.keyStart ? positionIds(B, T, past, options.keyStart) : past;
    let x = embedding(P('model.embed_tokens.weight'), packing ? new Tensor(packing.packIds(ids.i32('llama')), [packing.N]) : ids);
    const hidden = new Map<number, Tensor>();
    const last = options.stopAfterLayer ?? c.numLayers - 1;
    for (let l = 0; l <= last; l++) {
      x = runBlock(options, l, hidden, () => {
        const p = `model.layers.${l}`;
        const a = `${p}.self_attn`;
        // Attention with rotary positions and grouped-query heads: q [B, H, T, hd], k/v [B, Hkv, T, hd].
        const h = rmsNorm(x, P(`${p}.input_layernorm.weight`), c.normEps);
        const q = rope(heads(proj(`${a}.q_proj`, h), c.numHeads), this.invFreq, positions);
        let k = rope(heads(proj(`${a}.k_proj`, h), c.numKvHeads), this.invFreq, positions);
        let v = heads(proj(`${a}.v_proj`, h), c.numKvHeads);
        if (options.cache) [k, v] = options.cache.append(l, k, v);
        const attB = reshape(permute(causalAttention(q, k, v, { keyStart: options.keyStart }), [0, 2, 1, 3]), [B, T, c.numHeads * hd]);
        const att = packing ? packing.pack(attB) : attB;
        x = add(x, proj(`${a}.o_proj`, att));
        // SwiGLU MLP: down(silu(gate(h)) · up(h)).
        const m = `${p}.mlp`;
        const h2 = rmsNorm(x, P(`${p}.post_attention_layernorm.weight`), c.normEps);
        const gated = mul(silu(proj(`${m}.gate_proj`, h2)), proj(`${m}.up_proj`, h2));
        x = add(x, proj(`${m}.down_proj`, gated));
        if (options.keepHidden?.includes(l)) hidden.set(l, packing ? packing.unpackZero(x) : x);
        return x;
      });
    }
    if (options.cache) options.cache.advance(T);
    if (last < c.numLayers - 1) return { logits: null, hidden };
    const y = rmsNorm(x, P('model.norm.weight'), c.normEps);
    const head = c.tieWordEmbeddings ? P('model.embed_tokens.weight') : P('lm_head.weight');
    return { logits: logitsAt('llama', y, (r) => linear(r, head), packing, B, T, options), hidden };
  }
}
