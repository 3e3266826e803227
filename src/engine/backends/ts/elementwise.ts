import type { BinaryOp, UnaryOp } from '../../backend.ts';
import type { F32 } from '../host.ts';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export function unary(op: UnaryOp, x: F32, out: F32, p: number): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!); break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!); break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!); break;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!); break;
    case 'relu': for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? x[i]! : 0; break;
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v * v * v)));
      }
      break;
    case 'silu': for (let i = 0; i < n; i++) out[i] = x[i]! * sigmoid(x[i]!); break;
    case 'pow': for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, p); break;
    case 'scale': for (let i = 0; i < n; i++) out[i] = x[i]! * p; break;
    case 'addScalar': for (let i = 0; i < n; i++) out[i] = x[i]! + p; break;
  }
}

export function unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32, p: number): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) gx[i] = -gy[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) gx[i] = gy[i]! * y[i]!; break;
    case 'log': for (let i = 0; i < n; i++) gx[i] = gy[i]! / x[i]!; break;
    case 'sqrt': for (let i = 0; i < n; i++) gx[i] = (gy[i]! * 0.5) / y[i]!; break;
    case 'tanh': for (let i = 0; i < n; i++) gx[i] = gy[i]! * (1 - y[i]! * y[i]!); break;
    case 'sigmoid': for (let i = 0; i < n; i++) gx[i] = gy[i]! * y[i]! * (1 - y[i]!); break;
    case 'relu': for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? gy[i]! : 0; break;
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const t = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
        const dt = (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v);
        gx[i] = gy[i]! * (0.5 * (1 + t) + 0.5 * v * dt);
      }
      break;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const s = sigmoid(x[i]!);
        gx[i] = gy[i]! * s * (1 + x[i]! * (1 - s));
      }
      break;
    case 'pow': for (let i = 0; i < n; i++) gx[i] = gy[i]! * p * Math.pow(x[i]!, p - 1); break;
    case 'scale': for (let i = 0; i < n; i++) gx[i] = gy[i]! * p; break;
    case 'addScalar': for (let i = 0; i < n; i++) gx[i] = gy[i]!; break;
  }
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** Broadcasting binary op: walks the output in row-major order with an odometer over the strided inputs. */
export function binary(op: BinaryOp, a: F32, aStrides: readonly number[], b: F32, bStrides: readonly number[],
  out: F32, shape: readonly number[]): void {
  const rank = shape.length;
  const total = out.length;
  if (total === 0) return;
  const inner = rank === 0 ? 1 : shape[rank - 1]!;
  const sa = rank === 0 ? 0 : aStrides[rank - 1]!;
  const sb = rank === 0 ? 0 : bStrides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < total; o += inner) {
    switch (op) {
      case 'add': for (let j = 0; j < inner; j++) out[o + j] = a[ia + j * sa]! + b[ib + j * sb]!; break;
      case 'sub': for (let j = 0; j < inner; j++) out[o + j] = a[ia + j * sa]! - b[ib + j * sb]!; break;
      case 'mul': for (let j = 0; j < inner; j++) out[o + j] = a[ia + j * sa]! * b[ib + j * sb]!; break;
      case 'div': for (let j = 0; j < inner; j++) out[o + j] = a[ia + j * sa]! / b[ib + j * sb]!; break;
    }
    // Advance the odometer over all but the innermost dimension.
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      ia += aStrides[d]!;
      ib += bStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      ia -= aStrides[d]! * shape[d]!;
      ib -= bStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}
