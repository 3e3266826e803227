import { record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { concat, slice } from './shape.ts';
import { empty } from './util.ts';

/**
 * Rotary position embedding of x [..., T, D] in the Hugging Face "rotate_half" layout: dimension i pairs with
 * i + D/2 and turns by position·invFreq[i]. `positions` is the first position (consecutive positions follow) or
 * one position per step, or (for left-padded batches of x [B, H, T, D]) B·T positions, one row per batch
 * element. Angles are computed in float64 so that large positions stay exact.
 */
export function rope(x: Tensor, invFreq: ArrayLike<number>, positions: number | ArrayLike<number> = 0): Tensor {
  const X = x.storageF32('rope');
  if (x.rank < 2) throw new EngineError('rope', `input must be [..., T, D], got ${fmtShape(x.shape)}`);
  const t = x.shape[x.rank - 2]!;
  const d = x.shape[x.rank - 1]!;
  const batch = x.shape[0]!;
  if (typeof positions !== 'number' && x.rank === 4 && batch > 1 && positions.length === batch * t) {
    const rows = Array.from({ length: batch }, (_, b) =>
      rope(slice(x, 0, b, b + 1), invFreq, Array.from({ length: t }, (_, p) => positions[b * t + p]!)));
    return concat(rows, 0);
  }
  const half = d / 2;
  if (d % 2 !== 0 || invFreq.length !== half) {
    throw new EngineError('rope', `head dimension ${d} of ${fmtShape(x.shape)} needs an even size and ${half} inverse frequencies, got ${invFreq.length}`);
  }
  if (typeof positions !== 'number' && positions.length !== t) {
    throw new EngineError('rope', `${positions.length} positions given for ${t} steps of ${fmtShape(x.shape)} (give T, or B·T for per-row positions)`);
  }
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let p = 0; p < t; p++) {
    const pos = typeof positions === 'number' ? positions + p : positions[p]!;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i]!;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const bh = x.size / (t * d || 1);
  const be = backend();
  const C = be.fromHost(cos);
  const S = be.fromHost(sin);
  const out = empty(x.shape);
  be.rope(X, out.storageF32('rope'), bh, t, d, C, S, false);
  return record(out, 'rope', [x], (g) => {
    const gx = empty(x.shape);
    backend().rope(g.storageF32('rope'), gx.storageF32('rope'), bh, t, d, C, S, true);
    return [gx];
  });
}

/** Standard RoPE inverse frequencies theta^(−2i/D) for i < D/2. */
export function ropeInvFreq(headDim: number, theta = 10000): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  return out;
}
