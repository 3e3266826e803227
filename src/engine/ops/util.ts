import { backend } from '../runtime.ts';
import { broadcastStrides, contiguousStrides, numel, sameShape, type Shape } from '../shape.ts';
import { Tensor, type DType } from '../tensor.ts';

/** A fresh f32 tensor, in storage the backend allocates, to write an op's output into. */
export function empty(shape: Shape): Tensor {
  return Tensor.fromStorage(backend().alloc(numel(shape)), shape);
}

/**
 * A tensor for an op output its kernel writes whole (every element assigned, nothing accumulated): inside a pooled
 * scope its buffer is not zeroed first. The ops' tests run poisoned pooled buffers against fresh ones.
 */
export function emptyOutput(shape: Shape): Tensor {
  return Tensor.fromStorage(backend().allocOutput(numel(shape)), shape);
}

/** emptyOutput for either dtype: the destination of a copy that fills it whole (ops that move values). */
export function emptyOutputOf(dtype: DType, shape: Shape): Tensor {
  return dtype === 'f32' ? emptyOutput(shape) : Tensor.fromStorageI32(backend().allocI32(numel(shape)), shape);
}

/** Product of dims in [from, to). */
export function prod(shape: Shape, from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i]!;
  return n;
}

/** Sums a broadcast gradient back down to `shape` (the backward of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const be = backend();
  let cur = g.storageF32('sumTo');
  let curShape = [...g.shape];
  const lead = curShape.length - shape.length;
  if (lead > 0) {
    const inner = prod(curShape, lead);
    const out = be.alloc(inner);
    be.reduce('sum', cur, 1, prod(curShape, 0, lead), inner, out, null);
    cur = out;
    curShape = curShape.slice(lead);
  }
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 && curShape[d] !== 1) {
      const outer = prod(curShape, 0, d);
      const inner = prod(curShape, d + 1);
      const out = be.alloc(outer * inner);
      be.reduce('sum', cur, outer, curShape[d]!, inner, out, null);
      cur = out;
      curShape[d] = 1;
    }
  }
  return Tensor.fromStorage(cur, shape);
}

/** Broadcasts g (of a shape broadcast-compatible with `shape`) to a new contiguous tensor of `shape`. */
export function expandTo(g: Tensor, shape: Shape): Tensor {
  const out = emptyOutput(shape);
  backend().copyStrided(g.storageF32('expand'), 0, broadcastStrides(g.shape, shape), out.storageF32('expand'), 0,
    contiguousStrides(shape), shape);
  return out;
}
