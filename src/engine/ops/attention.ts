import type { AttentionDims } from '../backend.ts';
import { record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { empty, emptyOutput } from './util.ts';

export interface AttentionOptions {
  /** Score scale; 1/sqrt(D) by default. */
  scale?: number;
  /**
   * Left padding: batch row b attends only to keys at index >= keyStart[b] (its first real token). Queries
   * with no visible key (padding positions themselves) output zeros.
   */
  keyStart?: Int32Array;
}

/**
 * Fused causal self-attention with grouped-query heads: q [B, H, Tq, D], k and v [B, Hkv, Tk, D] with H a
 * multiple of Hkv. Query i sits at position i + Tk − Tq (so Tq < Tk is decoding against a KV cache).
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const Q = q.storageF32('causalAttention');
  const K = k.storageF32('causalAttention');
  const V = v.storageF32('causalAttention');
  const bad = (why: string): EngineError =>
    new EngineError('causalAttention', `${why}: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw bad('q, k and v must be 4-D [B, heads, T, D]');
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [Bk, Hkv, Tk, Dk] = k.shape as [number, number, number, number];
  if (Bk !== B || Dk !== D) throw bad('batch and head size of k must match q');
  if (v.shape.some((d, i) => d !== k.shape[i])) throw bad('v must have the shape of k');
  if (Hkv === 0 || H % Hkv !== 0) throw bad(`query heads (${H}) must be a multiple of key/value heads (${Hkv})`);
  if (Tq > Tk) throw bad(`more queries (${Tq}) than keys (${Tk})`);
  const keyStart = options.keyStart ?? null;
  if (keyStart && (keyStart.length !== B || keyStart.some((s) => s < 0 || s > Tk))) {
    throw bad(`keyStart needs ${B} values in [0, ${Tk}], got [${Array.from(keyStart).join(', ')}]`);
  }
  const be = backend();
  const dims: AttentionDims = {
    B, H, Hkv, Tq, Tk, D, scale: options.scale ?? 1 / Math.sqrt(D), keyStart: keyStart && be.fromHostI32(keyStart),
  };
  // Written whole (rows that see no key are zero).
  const out = emptyOutput(q.shape);
  const O = out.storageF32('causalAttention');
  const lse = be.alloc(B * H * Tq);
  be.attention(Q, K, V, O, lse, dims);
  return record(out, 'causalAttention', [q, k, v], (g) => {
    const gq = empty(q.shape);
    const gk = empty(k.shape);
    const gv = empty(v.shape);
    backend().attentionBackward(Q, K, V, O, lse, g.storageF32('causalAttention'), gq.storageF32('causalAttention'),
      gk.storageF32('causalAttention'), gv.storageF32('causalAttention'), dims);
    return [gq, gk, gv];
  });
}
