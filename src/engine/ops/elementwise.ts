import type { BinaryOp, UnaryOp } from '../backend.ts';
import { record } from '../autograd.ts';
import { backend } from '../runtime.ts';
import { broadcastShapes, broadcastStrides } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { emptyOutput, sumTo } from './util.ts';

function unaryOp(op: UnaryOp, a: Tensor, p = 0, name: string = op): Tensor {
  const x = a.storageF32(name);
  const out = emptyOutput(a.shape);
  const y = out.storageF32(name);
  backend().unary(op, x, y, p);
  return record(out, name, [a], (g) => {
    const gx = emptyOutput(a.shape);
    backend().unaryBackward(op, x, y, g.storageF32(name), gx.storageF32(name), p);
    return [gx];
  });
}

export const neg = (a: Tensor): Tensor => unaryOp('neg', a);
export const exp = (a: Tensor): Tensor => unaryOp('exp', a);
export const log = (a: Tensor): Tensor => unaryOp('log', a);
export const sqrt = (a: Tensor): Tensor => unaryOp('sqrt', a);
export const tanh = (a: Tensor): Tensor => unaryOp('tanh', a);
export const sigmoid = (a: Tensor): Tensor => unaryOp('sigmoid', a);
export const relu = (a: Tensor): Tensor => unaryOp('relu', a);
/** GELU with the tanh approximation (GPT-2's "gelu_new"). */
export const gelu = (a: Tensor): Tensor => unaryOp('gelu', a);
export const silu = (a: Tensor): Tensor => unaryOp('silu', a);
export const pow = (a: Tensor, p: number): Tensor => unaryOp('pow', a, p);
export const scale = (a: Tensor, s: number): Tensor => unaryOp('scale', a, s);

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    switch (op) {
      case 'add': return unaryOp('addScalar', a, b, op);
      case 'sub': return unaryOp('addScalar', a, -b, op);
      case 'mul': return unaryOp('scale', a, b, op);
      case 'div': return unaryOp('scale', a, 1 / b, op);
    }
  }
  const A = a.storageF32(op);
  const B = b.storageF32(op);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = emptyOutput(shape);
  const be = backend();
  be.binary(op, A, broadcastStrides(a.shape, shape), B, broadcastStrides(b.shape, shape), out.storageF32(op), shape);
  return record(out, op, [a, b], (g) => {
    const ga = a.requiresGrad ? gradA(op, g, b) : null;
    const gb = b.requiresGrad ? gradB(op, g, a, b, out) : null;
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

// Backward closures run with recording off, so these compose ops without building a graph.
function gradA(op: BinaryOp, g: Tensor, b: Tensor): Tensor {
  switch (op) {
    case 'add': case 'sub': return g;
    case 'mul': return binaryOp('mul', g, b);
    case 'div': return binaryOp('div', g, b);
  }
}

function gradB(op: BinaryOp, g: Tensor, a: Tensor, b: Tensor, out: Tensor): Tensor {
  switch (op) {
    case 'add': return g;
    case 'sub': return neg(g);
    case 'mul': return binaryOp('mul', g, a);
    case 'div': return neg(binaryOp('div', binaryOp('mul', g, out), b)); // d(a/b)/db = −(a/b)/b
  }
}

/** a + b with broadcasting; b may be a number. */
export const add = (a: Tensor, b: Tensor | number): Tensor => binaryOp('add', a, b);
export const sub = (a: Tensor, b: Tensor | number): Tensor => binaryOp('sub', a, b);
export const mul = (a: Tensor, b: Tensor | number): Tensor => binaryOp('mul', a, b);
export const div = (a: Tensor, b: Tensor | number): Tensor => binaryOp('div', a, b);
