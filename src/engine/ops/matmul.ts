import type { F32, GemmArgs } from '../backend.ts';
import { gradOutput, record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { matmulPrecision } from '../precision.ts';
import { backend } from '../runtime.ts';
import { sameShape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { empty, emptyOutput, prod } from './util.ts';

export interface MatmulOptions {
  /** Use a's last two dimensions transposed. */
  transA?: boolean;
  /** Use b's last two dimensions transposed. */
  transB?: boolean;
}

/** The (M, K) or (K, N) of a matrix operand given its storage dims and transpose flag. */
function dims(t: Tensor, trans: boolean): [number, number] {
  const r = t.shape[t.rank - 2]!;
  const c = t.shape[t.rank - 1]!;
  return trans ? [c, r] : [r, c];
}

/**
 * C = op(A)·op(B) on the backend; `batch`, strides of 0 broadcast one matrix over the batch; `bf16` as captured
 * by the op at its forward (src/engine/precision.ts), bound first so that backward passes use the same.
 */
function gemmInto(bf16: boolean, a: F32, aRows: number, aCols: number, transA: boolean, strideA: number,
  b: F32, bRows: number, bCols: number, transB: boolean, strideB: number,
  c: F32, batch: number, beta = 0, bias: F32 | null = null): void {
  const M = transA ? aCols : aRows;
  const K = transA ? aRows : aCols;
  const N = transB ? bRows : bCols;
  const args: GemmArgs = {
    transA, transB, M, N, K, alpha: 1, a, lda: aCols, strideA, b, ldb: bCols, strideB,
    beta, c, ldc: N, strideC: M * N, batch, bias, bf16,
  };
  backend().gemm(args);
}

/**
 * Matrix product of the last two dimensions, batched over the leading ones: a [..., M, K] · b [..., K, N]
 * (with transA/transB the stored matrices are [..., K, M] / [..., N, K]). Batch dimensions must be equal, or
 * one side may be a plain matrix that is shared over the batch.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const gemm = gemmInto.bind(null, matmulPrecision() === 'bf16');
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const A = a.storageF32('matmul');
  const B = b.storageF32('matmul');
  if (a.rank < 2 || b.rank < 2) {
    throw new EngineError('matmul', `operands must have at least 2 dimensions, got a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
  }
  const [M, K] = dims(a, transA);
  const [K2, N] = dims(b, transB);
  if (K !== K2) {
    throw new EngineError('matmul', `inner dimensions differ: a ${fmtShape(a.shape)}${transA ? ' (transposed)' : ''} has K=${K}, b ${fmtShape(b.shape)}${transB ? ' (transposed)' : ''} has K=${K2}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length > 0 && bBatch.length > 0 && !sameShape(aBatch, bBatch)) {
    throw new EngineError('matmul', `batch dimensions differ: a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
  }
  const batchShape = aBatch.length > 0 ? aBatch : bBatch;
  const batch = prod(batchShape);
  const [aR, aC] = [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [bR, bC] = [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  const sA = aBatch.length > 0 ? aR * aC : 0;
  const sB = bBatch.length > 0 ? bR * bC : 0;
  const out = emptyOutput([...batchShape, M, N]);
  const C = out.storageF32('matmul');
  // A batch of row-major matrices times one shared matrix is a single tall GEMM.
  const flatten = sB === 0 && !transA && batch > 1;
  if (flatten) gemm(A, batch * aR, aC, false, 0, B, bR, bC, transB, 0, C, 1);
  else gemm(A, aR, aC, transA, sA, B, bR, bC, transB, sB, C, batch);

  return record(out, 'matmul', [a, b], (g) => {
    const G = g.storageF32('matmul');
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = dC·op(B)ᵀ, or (transA) op(B)·dCᵀ; summed over the batch when A was shared.
      const perBatch = empty(sA === 0 ? [batch, aR, aC] : a.shape);
      const P = perBatch.storageF32('matmul');
      if (flatten) gemm(G, batch * M, N, false, 0, B, bR, bC, !transB, 0, P, 1);
      else if (!transA) gemm(G, M, N, false, M * N, B, bR, bC, !transB, sB, P, batch);
      else gemm(B, bR, bC, transB, sB, G, M, N, true, M * N, P, batch);
      ga = sA === 0 ? sumBatch(perBatch, a.shape) : perBatch;
    }
    if (b.requiresGrad) {
      const gbShape = sB === 0 ? [bR, bC] : b.shape;
      if (flatten) {
        // dB = Aᵀ·dC over the flattened rows (or dCᵀ·A when B is stored transposed).
        gb = gradOutput(b);  // b is [bR, bC] here (no batch of its own)
        if (!transB) gemm(A, batch * aR, aC, true, 0, G, batch * M, N, false, 0, gb.storageF32('matmul'), 1);
        else gemm(G, batch * M, N, true, 0, A, batch * aR, aC, false, 0, gb.storageF32('matmul'), 1);
      } else {
        const perBatch = empty(sB === 0 ? [batch, bR, bC] : b.shape);
        const P = perBatch.storageF32('matmul');
        if (!transB) gemm(A, aR, aC, !transA, sA, G, M, N, false, M * N, P, batch);
        else gemm(G, M, N, true, M * N, A, aR, aC, transA, sA, P, batch);
        gb = sB === 0 ? sumBatch(perBatch, gbShape) : perBatch;
      }
    }
    return [ga, gb];
  });
}

function sumBatch(t: Tensor, shape: readonly number[]): Tensor {
  const out = empty(shape);
  backend().reduce('sum', t.storageF32('matmul'), 1, t.shape[0]!, out.size, out.storageF32('matmul'), null);
  return out;
}

export interface LinearOptions {
  /**
   * 'outIn' (default): w is [out, in] as in PyTorch's nn.Linear. 'inOut': w is [in, out], the layout of GPT-2's
   * Conv1D, so checkpoints keep their layout in memory and save back unchanged.
   */
  weightLayout?: 'outIn' | 'inOut';
}

/** y = x·wᵀ + bias with x [..., in], w [out, in] (or x·w with w [in, out] for 'inOut'), bias [out]. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  const X = x.storageF32('linear');
  const W = w.storageF32('linear');
  const gemm = gemmInto.bind(null, matmulPrecision() === 'bf16');
  const inOut = options.weightLayout === 'inOut';
  const inF = w.rank === 2 ? w.shape[inOut ? 0 : 1]! : -1;
  const outF = w.rank === 2 ? w.shape[inOut ? 1 : 0]! : -1;
  if (w.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    const expected = inOut ? 'x [..., in] and w [in, out]' : 'x [..., in] and w [out, in]';
    throw new EngineError('linear', `input ${fmtShape(x.shape)} does not match weight ${fmtShape(w.shape)} (expected ${expected})`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new EngineError('linear', `bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(w.shape)} (expected [${outF}])`);
  }
  const rows = x.size / inF;
  // Written whole by the GEMM, the bias included (added as C's starting value, tile by tile).
  const out = emptyOutput([...x.shape.slice(0, -1), outF]);
  const Y = out.storageF32('linear');
  const be = backend();
  const [wR, wC] = [w.shape[0]!, w.shape[1]!];
  gemm(X, rows, inF, false, 0, W, wR, wC, !inOut, 0, Y, 1, 0, bias ? bias.storageF32('linear') : null);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(out, 'linear', inputs, (g) => {
    const G = g.storageF32('linear');
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gbias: Tensor | null = null;
    if (x.requiresGrad) {
      gx = gradOutput(x);
      gemm(G, rows, outF, false, 0, W, wR, wC, inOut, 0, gx.storageF32('linear'), 1);
    }
    if (w.requiresGrad) {
      gw = gradOutput(w);
      // dW = dYᵀ·X for [out, in]; Xᵀ·dY for [in, out].
      if (inOut) gemm(X, rows, inF, true, 0, G, rows, outF, false, 0, gw.storageF32('linear'), 1);
      else gemm(G, rows, outF, true, 0, X, rows, inF, false, 0, gw.storageF32('linear'), 1);
    }
    if (bias?.requiresGrad) {
      gbias = empty(bias.shape);
      be.reduce('sum', G, 1, rows, outF, gbias.storageF32('linear'), null);
    }
    return [gx, gw, gbias];
  });
}
