import { Tensor } from '../engine/index.ts';

/**
 * Right-pads token sequences into one batch of ids [B, L], L the longest row, padded with padId. Right padding needs
 * no attention mask in a causal model: padding only ever follows the real tokens, which never attend to it. Every
 * batch Lethe runs through a model (training, unlearning, log-probs, probes, sanitisation) is packed here.
 */
export function padRight(rows: readonly ArrayLike<number>[], padId: number): Tensor {
  if (rows.length === 0) throw new RangeError('padRight needs at least one sequence');
  const L = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * L).fill(padId);
  rows.forEach((r, b) => ids.set(r, b * L));
  return new Tensor(ids, [rows.length, L]);
}
