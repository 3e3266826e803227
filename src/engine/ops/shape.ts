import { record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { contiguousStrides, normalizeAxis, numel, type Shape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { empty, emptyOutput, emptyOutputOf, prod } from './util.ts';

/** A view with a new shape (no copy); one dimension may be -1. */
export function reshape(a: Tensor, shape: Shape): Tensor {
  const resolved = resolveShape(a, shape);
  const out = a.withShape(resolved);
  return record(out, 'reshape', [a], (g) => [g.withShape(a.shape)]);
}

function resolveShape(a: Tensor, shape: Shape): number[] {
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new EngineError('reshape', `only one dimension may be -1, got ${fmtShape(shape)}`);
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : a.size / known) : d));
  if (resolved.some((d) => !Number.isInteger(d) || d < 0) || numel(resolved) !== a.size) {
    throw new EngineError('reshape', `cannot reshape ${fmtShape(a.shape)} (${a.size} elements) to ${fmtShape(shape)}`);
  }
  return resolved;
}

/** Reorders dimensions (a copy into contiguous storage). */
export function permute(a: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== a.rank) {
    throw new EngineError('permute', `dims ${fmtShape(dims)} do not match the rank of ${fmtShape(a.shape)}`);
  }
  const norm = dims.map((d) => normalizeAxis('permute', d, a.rank, a.shape));
  if (new Set(norm).size !== norm.length) {
    throw new EngineError('permute', `dims ${fmtShape(dims)} repeat an axis`);
  }
  const outShape = norm.map((d) => a.shape[d]!);
  const srcStrides = contiguousStrides(a.shape);
  const out = emptyOutputOf(a.dtype, outShape);
  backend().copyStrided(a.storage, 0, norm.map((d) => srcStrides[d]!), out.storage, 0, contiguousStrides(outShape), outShape);
  const inverse = new Array<number>(norm.length);
  norm.forEach((d, i) => (inverse[d] = i));
  return record(out, 'permute', [a], (g) => [permute(g, inverse)]);
}

/** Swaps two dimensions (the last two by default). */
export function transpose(a: Tensor, d0 = -2, d1 = -1): Tensor {
  const x = normalizeAxis('transpose', d0, a.rank, a.shape);
  const y = normalizeAxis('transpose', d1, a.rank, a.shape);
  const dims = a.shape.map((_, i) => i);
  dims[x] = y;
  dims[y] = x;
  return permute(a, dims);
}

/** Elements [start, end) along an axis. Along a leading axis this is a view of the same storage. */
export function slice(a: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normalizeAxis('slice', axis, a.rank, a.shape);
  const len = a.shape[ax]!;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > len || start > end) {
    throw new EngineError('slice', `range [${start}, ${end}) is outside axis ${axis} of length ${len} in ${fmtShape(a.shape)}`);
  }
  const outShape = a.shape.map((d, i) => (i === ax ? end - start : d));
  const strides = contiguousStrides(a.shape);
  const offset = start * (strides[ax] ?? 1);
  let out: Tensor;
  if (prod(a.shape, 0, ax) === 1) {
    // A leading-axis slice is contiguous: a view of the same storage, taken on the host view (host backends).
    out = new Tensor(a.data.subarray(offset, offset + numel(outShape)), outShape);
  } else {
    out = emptyOutputOf(a.dtype, outShape);
    backend().copyStrided(a.storage, offset, strides, out.storage, 0, contiguousStrides(outShape), outShape);
  }
  return record(out, 'slice', [a], (g) => {
    const gx = empty(a.shape);
    backend().copyStrided(g.storage, 0, contiguousStrides(outShape), gx.storage, offset, strides, outShape);
    return [gx];
  });
}

/** Joins tensors along an axis; all other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new EngineError('concat', 'needs at least one tensor');
  const first = tensors[0]!;
  const ax = normalizeAxis('concat', axis, first.rank, first.shape);
  for (const t of tensors) {
    const ok = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) {
      throw new EngineError('concat', `shapes ${tensors.map((x) => `${x.dtype} ${fmtShape(x.shape)}`).join(', ')} do not agree outside axis ${axis}`);
    }
  }
  const outShape = first.shape.map((d, i) => (i === ax ? tensors.reduce((n, t) => n + t.shape[ax]!, 0) : d));
  // The pieces tile the output, so it is written whole.
  const out = emptyOutputOf(first.dtype, outShape);
  const outStrides = contiguousStrides(outShape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    backend().copyStrided(t.storage, 0, contiguousStrides(t.shape), out.storage, at * outStrides[ax]!, outStrides, t.shape);
    at += t.shape[ax]!;
  }
  return record(out, 'concat', tensors, (g) => tensors.map((t, i) => {
    if (!t.requiresGrad) return null;
    const gx = emptyOutput(t.shape);
    backend().copyStrided(g.storage, offsets[i]! * outStrides[ax]!, outStrides, gx.storage, 0, contiguousStrides(t.shape), t.shape);
    return gx;
  }));
}

/** torch.gather: out[..., j, ...] = a[..., index[..., j, ...], ...] along `axis`. */
export function gather(a: Tensor, axis: number, index: Tensor): Tensor {
  const idx = index.i32('gather');
  const x = a.storageF32('gather');
  const ax = normalizeAxis('gather', axis, a.rank, a.shape);
  const ok = index.rank === a.rank && index.shape.every((d, i) => i === ax || d === a.shape[i]);
  if (!ok) {
    throw new EngineError('gather', `index ${fmtShape(index.shape)} must match ${fmtShape(a.shape)} in every dimension but axis ${axis}`);
  }
  const n = a.shape[ax]!;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i]! < 0 || idx[i]! >= n) {
      throw new EngineError('gather', `index value ${idx[i]} is out of range for axis ${axis} of length ${n} in ${fmtShape(a.shape)}`);
    }
  }
  const outer = prod(a.shape, 0, ax);
  const inner = prod(a.shape, ax + 1);
  const m = index.shape[ax]!;
  const out = emptyOutput(index.shape);
  const I = index.storageI32('gather');
  backend().gather(x, I, out.storageF32('gather'), outer, n, m, inner);
  return record(out, 'gather', [a], (g) => {
    const gx = empty(a.shape);
    backend().gatherBackward(I, g.storageF32('gather'), gx.storageF32('gather'), outer, n, m, inner);
    return [gx];
  });
}
