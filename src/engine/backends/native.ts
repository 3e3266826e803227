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
import type { AdamWArgs, AttentionDims, BinaryOp, GemmArgs, HostBackend, ReduceOp, UnaryOp } from '../backend.ts';
import { hostStorage, type F32, type I32 } from './host.ts';
import { NATIVE_KERNEL_NAMES, NATIVE_OP_LISTS, type NativeAbi, type NativeAddon, type NativeInfo } from './native-abi.ts';

export type { NativeInfo } from './native-abi.ts';

const ADDON_FUNCTIONS: readonly (keyof NativeAddon)[] = [...NATIVE_KERNEL_NAMES, 'info', 'abi', 'setThreads'];

/** Op name → code: the op's position in its list, as the addon's enums (generated from the same lists). */
function codes<T extends string>(ops: readonly T[]): Readonly<Record<T, number>> {
  return Object.fromEntries(ops.map((op, i) => [op, i])) as Record<T, number>;
}
const UNARY_CODE = codes(NATIVE_OP_LISTS.unary);
const BINARY_CODE = codes(NATIVE_OP_LISTS.binary);
const REDUCE_CODE = codes(NATIVE_OP_LISTS.reduce);

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
  const addon = mod as NativeAddon;
  const mismatch = abiMismatch(addon.abi());
  if (mismatch) throw new Error(`native backend at ${path} is stale: ${mismatch}; rebuild it`);
  addonCache = addon;
  return addonCache;
}

/** Where the addon's kernels or op codes differ from the table in native-abi.ts (null: they agree). */
export function abiMismatch(abi: NativeAbi): string | null {
  const lists: [string, readonly string[], readonly string[]][] = [
    ['kernels', abi.kernels, NATIVE_KERNEL_NAMES],
    ['unary ops', abi.unary, NATIVE_OP_LISTS.unary],
    ['binary ops', abi.binary, NATIVE_OP_LISTS.binary],
    ['reduce ops', abi.reduce, NATIVE_OP_LISTS.reduce],
  ];
  for (const [what, built, table] of lists) {
    if (built.join() !== table.join()) return `its ${what} are [${built.join(', ')}], the table's [${table.join(', ')}]`;
  }
  return null;
}

/** Info about the loaded addon (loads it if needed; throws like loadNativeBackend when it cannot). */
export function nativeInfo(): NativeInfo {
  return loadAddon().info();
}

/** The kernels and op names the loaded addon was built with (they match the table, or it would not load). */
export function nativeAbi(): NativeAbi {
  return loadAddon().abi();
}

/**
 * Gives the C allocator's free memory back to the system (malloc_trim on glibc): after a worker thread has ended,
 * its arena still holds what its buffers used. Returns false when nothing went back or the addon is not loaded.
 */
export function releaseFreeMemory(): boolean {
  try {
    return loadAddon().trimMemory();
  } catch {
    return false;
  }
}

/** gemm's bias argument when there is none (the addon takes an empty array for "no bias"). */
const NO_BIAS = new Float32Array(0);

/** Sets the number of threads the native kernels use (the calling thread included); returns it. */
export function setNativeThreads(n: number): number {
  return loadAddon().setThreads(n);
}

/**
 * Loads the addon and returns the native backend. Throws an Error with a clear message when the addon is not
 * built or cannot be loaded (the caller falls back to the TS backend).
 */
export function loadNativeBackend(): HostBackend {
  const addon = loadAddon();
  // Shapes and strides for binary/copyStrided, packed per call (read synchronously by the addon).
  const meta = new Float64Array(3 + 3 * MAX_RANK);

  function checkRank(op: string, rank: number): void {
    if (rank > MAX_RANK) throw new Error(`${op}: rank ${rank} exceeds the native backend's limit of ${MAX_RANK}`);
  }

  const backend: HostBackend = {
    name: 'native',
    get threads(): number {
      return addon.info().threads;
    },
    ...hostStorage,

    gemm(g: GemmArgs<F32>): void {
      addon.gemm(g.transA, g.transB, g.M, g.N, g.K, g.alpha, g.a, g.lda, g.strideA, g.b, g.ldb, g.strideB, g.beta,
        g.c, g.ldc, g.strideC, g.batch, g.bias ?? NO_BIAS, g.bf16 ?? false);
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

    attention(q: F32, k: F32, v: F32, out: F32, lse: F32, d: AttentionDims<I32>): void {
      addon.attention(q, k, v, out, lse, d.B, d.H, d.Hkv, d.Tq, d.Tk, d.D, d.scale, d.keyStart ?? null);
    },
    attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gout: F32, gq: F32, gk: F32, gv: F32,
      d: AttentionDims<I32>): void {
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
