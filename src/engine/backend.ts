/**
 * The backend interface: the small set of kernels every backend implements. Kernels work on flat, contiguous
 * row-major buffers and never allocate their outputs; the op layer (src/engine/ops) validates shapes and dtypes
 * before any kernel runs, so a kernel may assume its arguments are consistent.
 *
 * Host backends (the TS reference and the native addon) use Float32Array/Int32Array storage directly, so the
 * native backend computes in place on the same memory without copies. A device backend (GPU) will implement the
 * same kernel list over device buffers.
 */
export type F32 = Float32Array;
export type I32 = Int32Array;

/** Elementwise ops of one input. `p` is the op's scalar parameter (pow: exponent, scale: factor, addScalar: addend). */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'silu'
  | 'pow' | 'scale' | 'addScalar';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export type ReduceOp = 'sum' | 'max' | 'logsumexp';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'gelu', 'silu', 'pow', 'scale', 'addScalar',
];
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div'];
export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'logsumexp'];

/** C_b = alpha·op(A_b)·op(B_b) + beta·C_b for b < batch, row-major; beta = 0 ignores C's old contents. */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  a: F32;
  lda: number;
  strideA: number;
  b: F32;
  ldb: number;
  strideB: number;
  beta: number;
  c: F32;
  ldc: number;
  strideC: number;
  batch: number;
}

/** Attention sizes: q [B, H, Tq, D], k/v [B, Hkv, Tk, D]; query i sees keys j <= i + Tk - Tq. */
export interface AttentionDims {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  scale: number;
  /** Left padding: row b only sees keys j >= keyStart[b] (null: all keys). Rows with no visible key output 0. */
  keyStart?: I32 | null;
}

export interface AdamWArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 − beta1^t and 1 − beta2^t for the current step t (bias corrections). */
  bc1: number;
  bc2: number;
}

export interface Backend {
  readonly name: 'ts' | 'native';
  /** Worker threads the backend computes with. */
  readonly threads: number;

  gemm(args: GemmArgs): void;

  /** out = f(x). */
  unary(op: UnaryOp, x: F32, out: F32, p: number): void;
  /** gx = gy · f'(x); `y` = f(x) (some derivatives read it). */
  unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32, p: number): void;
  /** out[i] = a[ia] op b[ib] over `shape`, reading a and b through strides (0 on broadcast dims). */
  binary(op: BinaryOp, a: F32, aStrides: readonly number[], b: F32, bStrides: readonly number[], out: F32,
    shape: readonly number[]): void;

  /** Reduce x viewed as [outer, n, inner] over n into out [outer, inner]; max also writes the argmax. */
  reduce(op: ReduceOp, x: F32, outer: number, n: number, inner: number, out: F32, argmax: I32 | null): void;

  /** Copies `shape` elements from src (at srcOffset, srcStrides) to dst (at dstOffset, dstStrides). */
  copyStrided(src: F32 | I32, srcOffset: number, srcStrides: readonly number[], dst: F32 | I32, dstOffset: number,
    dstStrides: readonly number[], shape: readonly number[]): void;

  /** Softmax (or log-softmax) of each row of x [rows, n]. */
  softmax(x: F32, out: F32, rows: number, n: number, log: boolean): void;
  softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, n: number, log: boolean): void;

  layerNorm(x: F32, w: F32, b: F32, out: F32, mean: F32, rstd: F32, rows: number, n: number, eps: number): void;
  /** Writes gx, gw, gb (gw and gb are overwritten, summed over rows). */
  layerNormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32, gb: F32, rows: number,
    n: number): void;
  rmsNorm(x: F32, w: F32, out: F32, rstd: F32, rows: number, n: number, eps: number): void;
  rmsNormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, n: number): void;

  /** Per-row loss = logsumexp(row) − row[target] (0 where target = ignoreIndex); also writes lse per row. */
  crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, v: number, ignoreIndex: number): void;
  /** gx[row] = gLoss[row] · (softmax(row) − onehot(target)); zero rows where target = ignoreIndex. */
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, gLoss: F32, gx: F32, rows: number, v: number,
    ignoreIndex: number): void;

  /** out[i, :] = weight[ids[i], :] for rows of width d. */
  embedding(weight: F32, ids: I32, out: F32, d: number): void;
  /** gw[ids[i], :] += gy[i, :] (gw is accumulated into, not overwritten). */
  embeddingBackward(ids: I32, gy: F32, gw: F32, d: number): void;

  /** torch.gather over `axis` of x [outer, n, inner] with index [outer, m, inner]. */
  gather(x: F32, index: I32, out: F32, outer: number, n: number, m: number, inner: number): void;
  /** gx += scatter of gy (gx accumulated into). */
  gatherBackward(index: I32, gy: F32, gx: F32, outer: number, n: number, m: number, inner: number): void;

  /**
   * Rotary embedding of x [bh, t, d] with cos/sin tables [t, d/2] (rotate_half convention); inverse applies the
   * opposite rotation, which is the backward.
   */
  rope(x: F32, out: F32, bh: number, t: number, d: number, cos: F32, sin: F32, inverse: boolean): void;

  /** Causal attention; writes out [B, H, Tq, D] and the per-row logsumexp of the scaled scores [B, H, Tq]. */
  attention(q: F32, k: F32, v: F32, out: F32, lse: F32, dims: AttentionDims): void;
  /** Writes (overwrites) gq, gk, gv from gout, recomputing the probabilities from lse. */
  attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gout: F32, gq: F32, gk: F32, gv: F32,
    dims: AttentionDims): void;

  /** One AdamW step in place on param, m, v (decoupled weight decay). */
  adamw(param: F32, grad: F32, m: F32, v: F32, args: AdamWArgs): void;
  /** y += alpha·x. */
  axpy(alpha: number, x: F32, y: F32): void;
  /** Σ x². */
  sumSquares(x: F32): number;
  /** True if any element is NaN or infinite. */
  hasNonFinite(x: F32): boolean;
}
