/**
 * The backend interface: the small set of kernels every backend implements, over storage the backend owns.
 * Kernels work on flat, contiguous row-major buffers and never allocate their outputs; the op layer
 * (src/engine/ops) validates shapes and dtypes before any kernel runs, so a kernel may assume its arguments are
 * consistent.
 *
 * Storage is opaque outside the backends: kernels take `F32` / `I32` handles, which the op layer gets from
 * tensors (`Tensor.storage`) or from the backend's own `alloc*` / `fromHost*`, and reads back only through
 * `toHost*`. The host backends (the TS reference and the native addon) implement `HostBackend`, whose handles
 * are the Float32Array/Int32Array themselves, so the native backend computes in place on the same memory with
 * no copies and every storage method is free. A device backend (GPU) implements `Backend` over its own buffers.
 * See docs/engine-ops.md, "Storage and backends".
 */
declare const storageKind: unique symbol;

/** Handle to f32 storage owned by the active backend; opaque outside src/engine/backends. */
export interface F32 {
  readonly [storageKind]: 'f32';
  readonly length: number;
}

/** Handle to i32 storage owned by the active backend; opaque outside src/engine/backends. */
export interface I32 {
  readonly [storageKind]: 'i32';
  readonly length: number;
}

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
export interface GemmArgs<F = F32> {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  a: F;
  lda: number;
  strideA: number;
  b: F;
  ldb: number;
  strideB: number;
  beta: number;
  c: F;
  ldc: number;
  strideC: number;
  batch: number;
  /**
   * A row of N values added to every row of C (a linear layer's bias), with beta 0: C = bias + alpha·op(A)·op(B),
   * rounded exactly as if C had held the bias and beta were 1. The native GEMM writes it into each tile of C just
   * before the tile's first accumulation, while the tile is in cache, instead of a separate pass over all of C.
   */
  bias?: F | null;
  /**
   * Round every element of alpha·op(A) and of op(B) to bfloat16 (nearest even; subnormals to zero) and multiply
   * those, summing in f32: a matmul under PyTorch's bf16 autocast, with an f32 result. See docs/engine-ops.md,
   * "bf16 matmuls".
   */
  bf16?: boolean;
}

/** Attention sizes: q [B, H, Tq, D], k/v [B, Hkv, Tk, D]; query i sees keys j <= i + Tk - Tq. */
export interface AttentionDims<I = I32> {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  scale: number;
  /** Left padding: row b only sees keys j >= keyStart[b] (null: all keys). Rows with no visible key output 0. */
  keyStart?: I | null;
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

export interface Backend<F = F32, I = I32> {
  readonly name: 'ts' | 'native';
  /** Worker threads the backend computes with. */
  readonly threads: number;

  /** A new zero-filled f32 buffer of n elements. */
  alloc(n: number): F;
  /**
   * An f32 buffer of n elements whose contents are unspecified, for an op output the kernel writes whole (saves
   * zeroing a reused buffer; never use it for outputs a kernel accumulates into).
   */
  allocOutput(n: number): F;
  allocI32(n: number): I;
  /** Storage holding these values. Host backends adopt the array itself (no copy): it must not be reused. */
  fromHost(values: Float32Array): F;
  fromHostI32(values: Int32Array): I;
  /**
   * Host access to a buffer. Host backends return the storage itself, so writes go through; a device backend
   * returns a host mirror it keeps in sync.
   */
  toHost(buf: F): Float32Array;
  toHostI32(buf: I): Int32Array;

  // ---- kernels ----
  gemm(args: GemmArgs<F>): void;

  /** out = f(x). */
  unary(op: UnaryOp, x: F, out: F, p: number): void;
  /** gx = gy · f'(x); `y` = f(x) (some derivatives read it). */
  unaryBackward(op: UnaryOp, x: F, y: F, gy: F, gx: F, p: number): void;
  /** out[i] = a[ia] op b[ib] over `shape`, reading a and b through strides (0 on broadcast dims). */
  binary(op: BinaryOp, a: F, aStrides: readonly number[], b: F, bStrides: readonly number[], out: F,
    shape: readonly number[]): void;

  /** Reduce x viewed as [outer, n, inner] over n into out [outer, inner]; max also writes the argmax. */
  reduce(op: ReduceOp, x: F, outer: number, n: number, inner: number, out: F, argmax: I | null): void;

  /** Copies `shape` elements from src (at srcOffset, srcStrides) to dst (at dstOffset, dstStrides). */
  copyStrided(src: F | I, srcOffset: number, srcStrides: readonly number[], dst: F | I, dstOffset: number,
    dstStrides: readonly number[], shape: readonly number[]): void;

  /** Softmax (or log-softmax) of each row of x [rows, n]. */
  softmax(x: F, out: F, rows: number, n: number, log: boolean): void;
  softmaxBackward(y: F, gy: F, gx: F, rows: number, n: number, log: boolean): void;

  layerNorm(x: F, w: F, b: F, out: F, mean: F, rstd: F, rows: number, n: number, eps: number): void;
  /** Writes gx, gw, gb (gw and gb are overwritten, summed over rows). */
  layerNormBackward(x: F, w: F, mean: F, rstd: F, gy: F, gx: F, gw: F, gb: F, rows: number,
    n: number): void;
  rmsNorm(x: F, w: F, out: F, rstd: F, rows: number, n: number, eps: number): void;
  rmsNormBackward(x: F, w: F, rstd: F, gy: F, gx: F, gw: F, rows: number, n: number): void;

  /** Per-row loss = logsumexp(row) − row[target] (0 where target = ignoreIndex); also writes lse per row. */
  crossEntropy(logits: F, targets: I, losses: F, lse: F, rows: number, v: number, ignoreIndex: number): void;
  /** gx[row] = gLoss[row] · (softmax(row) − onehot(target)); zero rows where target = ignoreIndex. */
  crossEntropyBackward(logits: F, targets: I, lse: F, gLoss: F, gx: F, rows: number, v: number,
    ignoreIndex: number): void;

  /** out[i, :] = weight[ids[i], :] for rows of width d. */
  embedding(weight: F, ids: I, out: F, d: number): void;
  /** gw[ids[i], :] += gy[i, :] (gw is accumulated into, not overwritten). */
  embeddingBackward(ids: I, gy: F, gw: F, d: number): void;

  /** torch.gather over `axis` of x [outer, n, inner] with index [outer, m, inner]. */
  gather(x: F, index: I, out: F, outer: number, n: number, m: number, inner: number): void;
  /** gx += scatter of gy (gx accumulated into). */
  gatherBackward(index: I, gy: F, gx: F, outer: number, n: number, m: number, inner: number): void;

  /**
   * Rotary embedding of x [bh, t, d] with cos/sin tables [t, d/2] (rotate_half convention); inverse applies the
   * opposite rotation, which is the backward.
   */
  rope(x: F, out: F, bh: number, t: number, d: number, cos: F, sin: F, inverse: boolean): void;

  /** Causal attention; writes out [B, H, Tq, D] and the per-row logsumexp of the scaled scores [B, H, Tq]. */
  attention(q: F, k: F, v: F, out: F, lse: F, dims: AttentionDims<I>): void;
  /** Writes (overwrites) gq, gk, gv from gout, recomputing the probabilities from lse. */
  attentionBackward(q: F, k: F, v: F, out: F, lse: F, gout: F, gq: F, gk: F, gv: F,
    dims: AttentionDims<I>): void;

  /** One AdamW step in place on param, m, v (decoupled weight decay). */
  adamw(param: F, grad: F, m: F, v: F, args: AdamWArgs): void;
  /** y += alpha·x. */
  axpy(alpha: number, x: F, y: F): void;
  /** Σ x². */
  sumSquares(x: F): number;
  /** True if any element is NaN or infinite. */
  hasNonFinite(x: F): boolean;
}

/** A backend whose storage is host memory (the TS reference and the native addon). */
export type HostBackend = Backend<Float32Array, Int32Array>;
