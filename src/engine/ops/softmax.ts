import { record } from '../autograd.ts';
import { backend } from '../runtime.ts';
import { normalizeAxis } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { transpose } from './shape.ts';
import { emptyOutput } from './util.ts';

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  const X = x.storageF32(op);
  const ax = normalizeAxis(op, axis, x.rank, x.shape);
  // The kernel works on contiguous rows; another axis is moved last and back.
  if (ax !== x.rank - 1) return transpose(softmaxOp(op, transpose(x, ax, -1), -1), ax, -1);
  const n = x.shape[ax]!;
  const rows = n === 0 ? 0 : x.size / n;
  const log = op === 'logSoftmax';
  const out = emptyOutput(x.shape);
  const Y = out.storageF32(op);
  backend().softmax(X, Y, rows, n, log);
  return record(out, op, [x], (g) => {
    const gx = emptyOutput(x.shape);
    backend().softmaxBackward(Y, g.storageF32(op), gx.storageF32(op), rows, n, log);
    return [gx];
  });
}

export const softmax = (x: Tensor, axis = -1): Tensor => softmaxOp('softmax', x, axis);
export const logSoftmax = (x: Tensor, axis = -1): Tensor => softmaxOp('logSoftmax', x, axis);
