import type { F32 } from '../backend.ts';
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
  const X = logits.storageF32('crossEntropy');
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
  const be = backend();
  const T32 = targets.storageI32('crossEntropy');
  const losses = be.alloc(rows);
  const lse = be.alloc(rows);
  be.crossEntropy(X, T32, losses, lse, rows, v, ignoreIndex);

  let out: Tensor;
  if (reduction === 'none') {
    out = Tensor.fromStorage(losses, logits.shape.slice(0, -1));
  } else {
    const L = be.toHost(losses);
    let s = 0;
    for (let i = 0; i < rows; i++) s += L[i]!;
    out = new Tensor(Float32Array.of(reduction === 'mean' ? (count === 0 ? 0 : s / count) : s), []);
  }
  return record(out, 'crossEntropy', [logits], (g) => {
    let gLoss: F32;
    if (reduction === 'none') gLoss = g.storageF32('crossEntropy');
    else {
      const G = g.f32('crossEntropy');
      gLoss = be.fromHost(new Float32Array(rows).fill(reduction === 'mean' ? (count === 0 ? 0 : G[0]! / count) : G[0]!));
    }
    const gx = empty(logits.shape);
    be.crossEntropyBackward(X, T32, lse, gLoss, gx.storageF32('crossEntropy'), rows, v, ignoreIndex);
    return [gx];
  });
}
