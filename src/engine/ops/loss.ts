import { record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { empty } from './util.ts';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute no loss and no gradient. Default -100 (PyTorch's). */
  ignoreIndex?: number;
  /**
   * 'mean' over non-ignored targets (0 when all are ignored), 'sum', or 'none' for per-token losses shaped like
   * the targets (0 at ignored positions).
   */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy from logits [..., V] and i32 targets [...], with log-softmax fused in. */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = options.reduction ?? 'mean';
  const X = logits.f32('crossEntropy');
  const T = targets.i32('crossEntropy');
  if (logits.rank < 1) throw new EngineError('crossEntropy', `logits must have a class dimension, got ${fmtShape(logits.shape)}`);
  const v = logits.shape[logits.rank - 1]!;
  const rows = v === 0 ? 0 : logits.size / v;
  if (T.length !== rows) {
    throw new EngineError('crossEntropy', `targets ${fmtShape(targets.shape)} do not match logits ${fmtShape(logits.shape)} (expected ${rows} targets)`);
  }
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const t = T[i]!;
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= v) {
      throw new EngineError('crossEntropy', `target ${t} at position ${i} is out of range for ${v} classes (logits ${fmtShape(logits.shape)})`);
    }
    count++;
  }
  const losses = new Float32Array(rows);
  const lse = new Float32Array(rows);
  const be = backend();
  be.crossEntropy(X, T, losses, lse, rows, v, ignoreIndex);

  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(losses, logits.shape.slice(0, -1));
  } else {
    let s = 0;
    for (let i = 0; i < rows; i++) s += losses[i]!;
    out = new Tensor(Float32Array.of(reduction === 'mean' ? (count === 0 ? 0 : s / count) : s), []);
  }
  return record(out, 'crossEntropy', [logits], (g) => {
    const G = g.f32('crossEntropy');
    let gLoss: Float32Array;
    if (reduction === 'none') gLoss = G;
    else gLoss = new Float32Array(rows).fill(reduction === 'mean' ? (count === 0 ? 0 : G[0]! / count) : G[0]!);
    const gx = empty(logits.shape);
    be.crossEntropyBackward(X, T, lse, gLoss, gx.f32('crossEntropy'), rows, v, ignoreIndex);
    return [gx];
  });
}
