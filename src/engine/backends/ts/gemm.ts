import type { HostGemmArgs as GemmArgs } from '../host.ts';
import { roundedBf16Copy } from './bf16.ts';

/**
 * Reference GEMM: straightforward loops with float64 accumulation, so it serves as the oracle for the native
 * kernels. Row i of C is accumulated in a float64 buffer; the k-loop is outermost within a row so that the
 * common non-transposed B is read contiguously. With `bf16`, alpha·A and B are first rounded to bfloat16 (copies),
 * so the products are those of the native bf16 GEMM and only the order and precision of the sums differ.
 */
export function gemm(g: GemmArgs): void {
  if (g.bf16) {
    gemm({ ...g, bf16: false, alpha: 1, a: roundedBf16Copy(g.a, g.alpha), b: roundedBf16Copy(g.b) });
    return;
  }
  const { M, N, K, transA, transB, alpha, a, b, c, lda, ldb, ldc } = g;
  const bias = g.bias ?? null;
  if (bias && g.beta !== 0) throw new RangeError('gemm: a bias needs beta 0');
  if (bias && bias.length < N) throw new RangeError(`gemm: bias has ${bias.length} values, N is ${N}`);
  // A bias is C's starting value with beta 1 (the native GEMM's rounding).
  const beta = bias ? 1 : g.beta;
  const acc = new Float64Array(N);
  for (let batch = 0; batch < g.batch; batch++) {
    const aOff = batch * g.strideA;
    const bOff = batch * g.strideB;
    const cOff = batch * g.strideC;
    if (bias) for (let i = 0; i < M; i++) c.set(bias.subarray(0, N), cOff + i * ldc);
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[aOff + k * lda + i]! : a[aOff + i * lda + k]!;
        if (!transB) {
          const row = bOff + k * ldb;
          for (let j = 0; j < N; j++) acc[j]! += aik * b[row + j]!;
        } else {
          for (let j = 0; j < N; j++) acc[j]! += aik * b[bOff + j * ldb + k]!;
        }
      }
      const row = cOff + i * ldc;
      for (let j = 0; j < N; j++) {
        c[row + j] = beta === 0 ? alpha * acc[j]! : alpha * acc[j]! + beta * c[row + j]!;
      }
    }
  }
}
