import { record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { normalizeAxis } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { exp, mul, sub } from './elementwise.ts';
import { empty, expandTo, prod } from './util.ts';

interface Plan {
  outer: number;
  n: number;
  inner: number;
  /** Output shape with the reduced axis kept as 1 (what backward broadcasts from). */
  kept: number[];
  out: number[];
}

function plan(op: string, a: Tensor, axis: number | undefined, keepDim: boolean): Plan {
  if (axis === undefined) {
    const kept = a.shape.map(() => 1);
    return { outer: 1, n: a.size, inner: 1, kept, out: keepDim ? kept : [] };
  }
  const ax = normalizeAxis(op, axis, a.rank, a.shape);
  const kept = a.shape.map((d, i) => (i === ax ? 1 : d));
  const out = keepDim ? kept : a.shape.filter((_, i) => i !== ax);
  return { outer: prod(a.shape, 0, ax), n: a.shape[ax]!, inner: prod(a.shape, ax + 1), kept, out };
}

/** Sum of all elements, or over one axis. */
export function sum(a: Tensor, axis?: number, keepDim = false): Tensor {
  const p = plan('sum', a, axis, keepDim);
  const out = empty(p.out);
  backend().reduce('sum', a.storageF32('sum'), p.outer, p.n, p.inner, out.storageF32('sum'), null);
  return record(out, 'sum', [a], (g) => [expandTo(g.withShape(p.kept), a.shape)]);
}

/** Mean of all elements, or over one axis. */
export function mean(a: Tensor, axis?: number, keepDim = false): Tensor {
  const p = plan('mean', a, axis, keepDim);
  const out = empty(p.out);
  const o = out.storageF32('mean');
  backend().reduce('sum', a.storageF32('mean'), p.outer, p.n, p.inner, o, null);
  backend().unary('scale', o, o, 1 / p.n);
  return record(out, 'mean', [a], (g) => {
    const gx = expandTo(g.withShape(p.kept), a.shape);
    backend().unary('scale', gx.storageF32('mean'), gx.storageF32('mean'), 1 / p.n);
    return [gx];
  });
}

/** Maximum over an axis; the gradient flows to the first maximal element. */
export function max(a: Tensor, axis: number, keepDim = false): Tensor {
  const p = plan('max', a, axis, keepDim);
  if (p.n === 0) throw new EngineError('max', `cannot take the max over an empty axis of ${fmtShape(a.shape)}`);
  const out = empty(p.out);
  const argmax = backend().allocI32(p.outer * p.inner);
  backend().reduce('max', a.storageF32('max'), p.outer, p.n, p.inner, out.storageF32('max'), argmax);
  return record(out, 'max', [a], (g) => {
    const gx = empty(a.shape);
    backend().gatherBackward(argmax, g.storageF32('max'), gx.storageF32('max'), p.outer, p.n, 1, p.inner);
    return [gx];
  });
}

/** log Σ exp over an axis, computed stably. */
export function logsumexp(a: Tensor, axis: number, keepDim = false): Tensor {
  const p = plan('logsumexp', a, axis, keepDim);
  const out = empty(p.out);
  backend().reduce('logsumexp', a.storageF32('logsumexp'), p.outer, p.n, p.inner, out.storageF32('logsumexp'), null);
  return record(out, 'logsumexp', [a], (g) => {
    // d lse / dx = softmax(x) along the axis
    const soft = exp(sub(a.detach(), out.withShape(p.kept)));
    return [mul(soft, g.withShape(p.kept))];
  });
}
