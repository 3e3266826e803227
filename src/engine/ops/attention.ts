import type { AttentionDims, F32 } from '../backend.ts';
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

/** The forward of both entry points: validates the shapes, runs the kernel, returns the output and what backward reads. */
function attend(Q: F32, K: F32, V: F32, qShape: readonly number[], kShape: readonly number[], vShape: readonly number[],
  options: AttentionOptions): { out: Tensor; O: F32; lse: F32; dims: AttentionDims } {
  const bad = (why: string): EngineError =>
    new EngineError('causalAttention', `${why}: q ${fmtShape(qShape)}, k ${fmtShape(kShape)}, v ${fmtShape(vShape)}`);
  if (qShape.length !== 4 || kShape.length !== 4 || vShape.length !== 4) throw bad('q, k and v must be 4-D [B, heads, T, D]');
  const [B, H, Tq, D] = qShape as [number, number, number, number];
  const [Bk, Hkv, Tk, Dk] = kShape as [number, number, number, number];
  if (Bk !== B || Dk !== D) throw bad('batch and head size of k must match q');
  if (vShape.some((d, i) => d !== kShape[i])) throw bad('v must have the shape of k');
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
  const out = emptyOutput(qShape);
  const O = out.storageF32('causalAttention');
  const lse = be.alloc(B * H * Tq);
  be.attention(Q, K, V, O, lse, dims);
  return { out, O, lse, dims };
}

/**
 * Fused causal self-attention with grouped-query heads: q [B, H, Tq, D], k and v [B, Hkv, Tk, D] with H a
 * multiple of Hkv. Query i sits at position i + Tk − Tq (so Tq < Tk is decoding against a KV cache).
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const Q = q.storageF32('causalAttention');
  const K = k.storageF32('causalAttention');
  const V = v.storageF32('causalAttention');
  const { out, O, lse, dims } = attend(Q, K, V, q.shape, k.shape, v.shape, options);
  return record(out, 'causalAttention', [q, k, v], (g) => {
    const gq = empty(q.shape);
    const gk = empty(k.shape);
    const gv = empty(v.shape);
    backend().attentionBackward(Q, K, V, O, lse, g.storageF32('causalAttention'), gq.storageF32('causalAttention'),
      gk.storageF32('causalAttention'), gv.storageF32('causalAttention'), dims);
    return [gq, gk, gv];
  });
}

/**
 * causalAttention of q, k and v stacked in one tensor qkv [3, B, H, T, D] (GPT-2's fused c_attn output split into
 * heads): the same forward, and one gradient [3, B, H, T, D] that the attention backward writes directly. Taking q,
 * k and v as three slices instead costs a zero-filled gradient of the whole stack per slice and two additions of
 * them (13% of an NPO step on the embedded model). Same results bit for bit.
 */
export function causalAttentionPacked(qkv: Tensor, options: AttentionOptions = {}): Tensor {
  if (qkv.rank !== 5 || qkv.shape[0] !== 3) {
    throw new EngineError('causalAttention', `qkv must be [3, B, heads, T, D], got ${fmtShape(qkv.shape)}`);
  }
  const shape = qkv.shape.slice(1);
  const n = qkv.size / 3;
  // The three parts are contiguous views of the stack (host backends, as slice's views).
  const part = (t: Tensor, i: number): F32 => new Tensor(t.data.subarray(i * n, (i + 1) * n), shape).storageF32('causalAttention');
  const [Q, K, V] = [part(qkv, 0), part(qkv, 1), part(qkv, 2)];
  const { out, O, lse, dims } = attend(Q, K, V, shape, shape, shape, options);
  return record(out, 'causalAttention', [qkv], (g) => {
    const gqkv = empty(qkv.shape);
    backend().attentionBackward(Q, K, V, O, lse, g.storageF32('causalAttention'), part(gqkv, 0), part(gqkv, 1), part(gqkv, 2), dims);
    return [gqkv];
  });
}
