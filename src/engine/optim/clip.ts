import { backend } from '../runtime.ts';
import type { Tensor } from '../tensor.ts';

/**
 * Scales all gradients so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping, which training logs report.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const be = backend();
  let sq = 0;
  for (const p of params) if (p.grad) sq += be.sumSquares(p.grad.storageF32('clipGradNorm'));
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      if (p.grad) {
        const g = p.grad.storageF32('clipGradNorm');
        be.unary('scale', g, g, coef);
      }
    }
  }
  return norm;
}
