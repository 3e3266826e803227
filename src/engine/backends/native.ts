/**
 * The native backend: a thin wrapper over the N-API addon built from native/ (native/build/Release/lethe.node).
 * Kernels run in place on the caller's Float32Array/Int32Array memory, multi-threaded and vectorised; the
 * addon validates every call (array kinds, lengths, index ranges) and throws a JS Error naming the kernel
 * rather than touching memory it should not.
 *
 * Op names travel as small integer codes (the index of the op in UNARY_OPS / BINARY_OPS / REDUCE_OPS), and
 * shapes/strides are packed into one reusable Float64Array, so a call costs one native transition and no
 * allocation.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type {
  AdamWArgs, AttentionDims, Backend, BinaryOp, F32, GemmArgs, I32, ReduceOp, UnaryOp,
} from '../backend.ts';

/** What the addon reports about itself. */
export interface NativeInfo {
  /** Threads the kernels run on (the calling thread included). */
  threads: number;
  /** The GEMM micro-kernel picked for this CPU. */
  gemmKernel: string;
  /** The vector ISA the other kernels run with on this CPU. */
  simd: 'avx512' | 'avx2' | 'portable';
}

/** The addon's exports (see native/src/addon.cc for argument order and validation). */
interface NativeAddon {
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, a: F32, lda: number,
    strideA: number, b: F32, ldb: number, strideB: number, beta: number, c: F32, ldc: number, strideC: number,
    batch: number): void;
  unary(op: number, x: F32, out: F32, p: number): void;
  unaryBackward(op: number, x: F32, y: F32, gy: F32, gx: F32, p: number): void;
  /** meta = [rank, ...shape, ...aStrides, ...bStrides] */
  binary(op: number, a: F32, b: F32, out: F32, meta: Float64Array): void;
  reduce(op: number, x: F32, outer: number, n: number, inner: number, out: F32, argmax: I32 | null): void;
  /** meta = [rank, srcOffset, dstOffset, ...shape, ...srcStrides, ...dstStrides] */
  copyStrided(src: F32 | I32, dst: F32 | I32, meta: Float64Array): void;
  softmax(x: F32, out: F32, rows: number, n: number, log: boolean): void;
  softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, n: number, log: boolean): void;
  layerNorm(x: F32, w: F32, b: F32, out: F32, mean: F32, rstd: F32, rows: number, n: number, eps: number): void;
  layerNormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32, gb: F32, rows: number,
    n: number): void;
  rmsNorm(x: F32, w: F32, out: F32, rstd: F32, rows: number, n: number, eps: number): void;
  rmsNormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, n: number): void;
  crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, v: number, ignoreIndex: number): void;
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, gLoss: F32, gx: F32, rows: number, v: number,
    ignoreIndex: number): void;
  embedding(weight: F32, ids: I32, out: F32, d: number): void;
  embeddingBackward(ids: I32, gy: F32, gw: F32, d: number): void;
  gather(x: F32, index: I32, out: F32, outer: number, n: number, m: number, inner: number): void;
  gatherBackward(index: I32, gy: F32, gx: F32, outer: number, n: number, m: number, inner: number): void;
  rope(x: F32, out: F32, bh: number, t: number, d: number, cos: F32, sin: F32, inverse: boolean): void;
  attention(q: F32, k: F32, v: F32, out: F32, lse: F32, B: number, H: number, Hkv: number, Tq: number, Tk: number,
    D: number, scale: number, keyStart: I32 | null): void;
  attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gout: F32, gq: F32, gk: F32, gv: F32, B: number,
    H: number, Hkv: number, Tq: number, Tk: number, D: number, scale: number, keyStart: I32 | null): void;
  adamw(param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, bc1: number, bc2: number): void;
  axpy(alpha: number, x: F32, y: F32): void;
  sumSquares(x: F32): number;
  hasNonFinite(x: F32): boolean;
  info(): NativeInfo;
  setThreads(n: number): number;
}

const ADDON_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'gemm', 'unary', 'unaryBackward', 'binary', 'reduce', 'copyStrided', 'softmax', 'softmaxBackward', 'layerNorm',
  'layerNormBackward', 'rmsNorm', 'rmsNormBackward', 'crossEntropy', 'crossEntropyBackward', 'embedding',
  'embeddingBackward', 'gather', 'gatherBackward', 'rope', 'attention', 'attentionBackward', 'adamw', 'axpy',
  'sumSquares', 'hasNonFinite', 'info', 'setThreads',
];

// Codes = positions in UNARY_OPS / BINARY_OPS / REDUCE_OPS (and the enums in native/src/kernels.h).
const UNARY_CODE: Readonly<Record<UnaryOp, number>> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, tanh: 4, sigmoid: 5, relu: 6, gelu: 7, silu: 8, pow: 9, scale: 10, addScalar: 11,
};
const BINARY_CODE: Readonly<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };
const REDUCE_CODE: Readonly<Record<ReduceOp, number>> = { sum: 0, max: 1, logsumexp: 2 };

/** Highest tensor rank binary/copyStrided accept (kMaxRank in kernels.h). */
const MAX_RANK = 16;

/** Where the addon is built (relative to this file: src/engine/backends → repository root). */
export const NATIVE_ADDON_URL = new URL('../../../native/build/Release/lethe.node', import.meta.url);

let addonCache: NativeAddon | null = null;

function loadAddon(): NativeAddon {
  if (addonCache) return addonCache;
  const path = fileURLToPath(NATIVE_ADDON_URL);
  if (!existsSync(path)) {
    throw new Error(`native backend is not built: ${path} is missing (run \`npm run build:native\`)`);
  }
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (e) {
    throw new Error(`native backend failed to load from ${path}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e });
  }
  const missing = ADDON_FUNCTIONS.filter((f) => typeof (mod as Record<string, unknown> | null)?.[f] !== 'function');
  if (missing.length > 0) {
    throw new Error(`native backend at ${path} is stale or incomplete (missing ${missing.join(', ')}); rebuild it`);
  }
  addonCache = mod as NativeAddon;
  return addonCache;
}

/** Info about the loaded addon (loads it if needed; throws like loadNativeBackend when it cannot). */
export function nativeInfo(): NativeInfo {
  return loadAddon().info();
}

/** Sets the number of threads the native kernels use (the calling thread included); returns it. */
export function setNativeThreads(n: number): number {
  return loadAddon().setThreads(n);
}

/**
 * Loads the addon and returns the native backend. Throws an Error with a clear message when the addon is not
 * built or cannot be loaded (the caller falls back to the TS backend).
 */
export function loadNativeBackend(): Backend {
  const addon = loadAddon();
  // Shapes and strides for binary/copyStrided, packed per call (read synchronously by the addon).
  const meta = new Float64Array(3 + 3 * MAX_RANK);

  function checkRank(op: string, rank: number): void {
    if (rank > MAX_RANK) throw new Error(`${op}: rank ${rank} exceeds the native backend's limit of ${MAX_RANK}`);
  }

  const backend: Backend = {
    name: 'native',
    get threads(): number {
      return addon.info().threads;
    },

    gemm(g: GemmArgs): void {
      addon.gemm(g.transA, g.transB, g.M, g.N, g.K, g.alpha, g.a, g.lda, g.strideA, g.b, g.ldb, g.strideB, g.beta,
        g.c, g.ldc, g.strideC, g.batch);
    },

    unary(op: UnaryOp, x: F32, out: F32, p: number): void {
      addon.unary(UNARY_CODE[op], x, out, p);
    },
    unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32, p: number): void {
      addon.unaryBackward(UNARY_CODE[op], x, y, gy, gx, p);
    },

    binary(op: BinaryOp, a: F32, aStrides: readonly number[], b: F32, bStrides: readonly number[], out: F32,
      shape: readonly number[]): void {
      const r = shape.length;
      checkRank('binary', r);
      meta[0] = r;
      for (let i = 0; i < r; i++) {
        meta[1 + i] = shape[i]!;
        meta[1 + r + i] = aStrides[i]!;
        meta[1 + 2 * r + i] = bStrides[i]!;
      }
      addon.binary(BINARY_CODE[op], a, b, out, meta);
    },

    reduce(op: ReduceOp, x: F32, outer: number, n: number, inner: number, out: F32, argmax: I32 | null): void {
      addon.reduce(REDUCE_CODE[op], x, outer, n, inner, out, argmax);
    },

    copyStrided(src: F32 | I32, srcOffset: number, srcStrides: readonly number[], dst: F32 | I32, dstOffset: number,
      dstStrides: readonly number[], shape: readonly number[]): void {
      const r = shape.length;
      checkRank('copyStrided', r);
      meta[0] = r;
      meta[1] = srcOffset;
      meta[2] = dstOffset;
      for (let i = 0; i < r; i++) {
        meta[3 + i] = shape[i]!;
        meta[3 + r + i] = srcStrides[i]!;
        meta[3 + 2 * r + i] = dstStrides[i]!;
      }
      addon.copyStrided(src, dst, meta);
    },

    softmax: addon.softmax,
    softmaxBackward: addon.softmaxBackward,
    layerNorm: addon.layerNorm,
    layerNormBackward: addon.layerNormBackward,
    rmsNorm: addon.rmsNorm,
    rmsNormBackward: addon.rmsNormBackward,
    crossEntropy: addon.crossEntropy,
    crossEntropyBackward: addon.crossEntropyBackward,
    embedding: addon.embedding,
    embeddingBackward: addon.embeddingBackward,
    gather: addon.gather,
    gatherBackward: addon.gatherBackward,
    rope: addon.rope,

    attention(q: F32, k: F32, v: F32, out: F32, lse: F32, d: AttentionDims): void {
      addon.attention(q, k, v, out, lse, d.B, d.H, d.Hkv, d.Tq, d.Tk, d.D, d.scale, d.keyStart ?? null);
    },
    attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gout: F32, gq: F32, gk: F32, gv: F32,
      d: AttentionDims): void {
      addon.attentionBackward(q, k, v, out, lse, gout, gq, gk, gv, d.B, d.H, d.Hkv, d.Tq, d.Tk, d.D, d.scale,
        d.keyStart ?? null);
    },

    adamw(param: F32, grad: F32, m: F32, v: F32, a: AdamWArgs): void {
      addon.adamw(param, grad, m, v, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.bc1, a.bc2);
    },
    axpy: addon.axpy,
    sumSquares: addon.sumSquares,
    hasNonFinite: addon.hasNonFinite,
  };
  return backend;
}
