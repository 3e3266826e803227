import type { AdamWArgs } from '../../backend.ts';
import type { F32, I32 } from '../host.ts';

/** Copies an N-d block between two strided layouts (used by permute, slice, concat, broadcast). */
export function copyStrided(src: F32 | I32, srcOffset: number, srcStrides: readonly number[], dst: F32 | I32,
  dstOffset: number, dstStrides: readonly number[], shape: readonly number[]): void {
  const rank = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  if (rank === 0) {
    dst[dstOffset] = src[srcOffset]!;
    return;
  }
  const inner = shape[rank - 1]!;
  const ss = srcStrides[rank - 1]!;
  const ds = dstStrides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let si = srcOffset;
  let di = dstOffset;
  for (let o = 0; o < total; o += inner) {
    for (let j = 0; j < inner; j++) dst[di + j * ds] = src[si + j * ss]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      si += srcStrides[d]!;
      di += dstStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      si -= srcStrides[d]! * shape[d]!;
      di -= dstStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export function adamw(param: F32, grad: F32, m: F32, v: F32, a: AdamWArgs): void {
  const decay = 1 - a.lr * a.weightDecay;
  const stepSize = a.lr / a.bc1;
  const sqrtBc2 = Math.sqrt(a.bc2);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = a.beta1 * m[i]! + (1 - a.beta1) * g;
    const vi = a.beta2 * v[i]! + (1 - a.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + a.eps);
  }
}

export function axpy(alpha: number, x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i]! += alpha * x[i]!;
}

export function sumSquares(x: F32): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

export function hasNonFinite(x: F32): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return true;
  return false;
}
