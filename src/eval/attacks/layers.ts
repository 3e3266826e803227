/** The residual stream at every layer, and the model's own read-out (final norm + unembedding) applied to it. */
import { layerNorm, linear, noGrad, rmsNorm, Tensor } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { padRight } from '../../model/padding.ts';

/**
 * The residual stream after each layer at one position per sequence (or several: their rows follow each other, in
 * order): out[layer][row] is a [hidden] vector. One forward pass per batch keeps every layer (right padding: a position never sees the padding after it).
 */
export function hiddenAtPositions(model: CausalLM, seqs: readonly (readonly number[])[], positions: readonly (number | readonly number[])[], padId: number, batchSize = 32): Float32Array[][] {
  const L = model.config.numLayers;
  const D = model.config.hiddenSize;
  const layers = Array.from({ length: L }, (_, l) => l);
  const out: Float32Array[][] = layers.map(() => []);
  noGrad(() => {
    for (let s = 0; s < seqs.length; s += batchSize) {
      const chunk = seqs.slice(s, s + batchSize);
      const ids = padRight(chunk, padId);
      const T = ids.shape[1]!;
      // Logits at one position only: the pass is for the hidden states.
      const { hidden } = model.forward(ids, { keepHidden: layers, logitPositions: Int32Array.of(0) });
      for (const l of layers) {
        const h = hidden.get(l)!.f32('hiddenAtPositions');
        chunk.forEach((seq, b) => {
          const at = positions[s + b]!;
          for (const t of typeof at === 'number' ? [at] : at) {
            if (t < 0 || t >= seq.length) throw new RangeError(`position ${t} is outside sequence ${s + b} of ${seq.length} tokens`);
            out[l]!.push(Float32Array.from(h.subarray((b * T + t) * D, (b * T + t + 1) * D)));
          }
        });
      }
    }
  });
  return out;
}

/** The final norm and the unembedding of the model's architecture applied to rows of hidden states: logits [N, vocab]. */
export function readOut(model: CausalLM, rows: readonly Float32Array[]): Float32Array {
  const c = model.config;
  const D = c.hiddenSize;
  const x = new Float32Array(rows.length * D);
  rows.forEach((r, i) => x.set(r, i * D));
  const P = (n: string): Tensor => model.params.get(n);
  return noGrad(() => {
    const h = new Tensor(x, [rows.length, D]);
    if (c.family === 'gpt2') {
      return linear(layerNorm(h, P('transformer.ln_f.weight'), P('transformer.ln_f.bias'), c.normEps), P('transformer.wte.weight')).f32('readOut').slice();
    }
    const head = c.tieWordEmbeddings ? P('model.embed_tokens.weight') : P('lm_head.weight');
    return linear(rmsNorm(h, P('model.norm.weight'), c.normEps), head).f32('readOut').slice();
  });
}
