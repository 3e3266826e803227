import { gradOutput, record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { emptyOutput } from './util.ts';

function checkNormArgs(op: string, x: Tensor, params: readonly Tensor[]): number {
  if (x.rank < 1) throw new EngineError(op, `input must have at least 1 dimension, got ${fmtShape(x.shape)}`);
  const n = x.shape[x.rank - 1]!;
  for (const p of params) {
    p.storageF32(op);
    if (p.rank !== 1 || p.shape[0] !== n) {
      throw new EngineError(op, `parameter ${fmtShape(p.shape)} does not match the last dimension of input ${fmtShape(x.shape)} (expected [${n}])`);
    }
  }
  return n;
}

/** Layer normalisation over the last dimension with weight and bias (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const n = checkNormArgs('layerNorm', x, [w, b]);
  const rows = x.size / n;
  const out = emptyOutput(x.shape);
  const mean = backend().alloc(rows);
  const rstd = backend().alloc(rows);
  const X = x.storageF32('layerNorm');
  const W = w.storageF32('layerNorm');
  backend().layerNorm(X, W, b.storageF32('layerNorm'), out.storageF32('layerNorm'), mean, rstd, rows, n, eps);
  return record(out, 'layerNorm', [x, w, b], (g) => {
    const gx = gradOutput(x);
    const gw = gradOutput(w);
    const gb = gradOutput(b);
    backend().layerNormBackward(X, W, mean, rstd, g.storageF32('layerNorm'), gx.storageF32('layerNorm'), gw.storageF32('layerNorm'),
      gb.storageF32('layerNorm'), rows, n);
    return [gx, gw, gb];
  });
}

/** RMS normalisation over the last dimension (Llama): x · rsqrt(mean(x²) + eps) · w. */
export function rmsNorm(x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  const n = checkNormArgs('rmsNorm', x, [w]);
  const rows = x.size / n;
  const out = emptyOutput(x.shape);
  const rstd = backend().alloc(rows);
  const X = x.storageF32('rmsNorm');
  const W = w.storageF32('rmsNorm');
  backend().rmsNorm(X, W, out.storageF32('rmsNorm'), rstd, rows, n, eps);
  return record(out, 'rmsNorm', [x, w], (g) => {
    const gx = gradOutput(x);
    const gw = gradOutput(w);
    backend().rmsNormBackward(X, W, rstd, g.storageF32('rmsNorm'), gx.storageF32('rmsNorm'), gw.storageF32('rmsNorm'), rows, n);
    return [gx, gw];
  });
}
