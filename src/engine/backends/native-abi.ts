/**
 * The native addon's ABI in one table: every kernel function the addon exports, its arguments in order, and the
 * least length of each array argument. Everything else follows from it:
 * - `NativeAddon`, the TypeScript type of the addon, is derived from the table below;
 * - `tools/gen-native-abi.ts` writes `native/src/abi.gen.h` from it (the op-code enums, the op names, and one
 *   X-macro per kernel that `native/src/addon.cc` expands into the argument reader, the length checks and the
 *   export list); test/engine/native-abi.test.ts fails when the committed header is not what the table gives;
 * - the loader (native.ts) checks that the built addon exports these kernels and op names, in this order.
 *
 * An argument is `name: kind` or `name: kind[length]`, the length a product of factors, each an integer
 * argument, an array argument (its length), an integer argument halved (`d/2`), or a number. Kinds:
 * f32 / i32 (Float32Array / Int32Array), `f32|i32` (either), `i32?` (Int32Array or null), f64 (Float64Array of
 * packed shapes and strides), int (an integer in [0, 2^53]), sint (an integer in [−2^53, 2^53]), num (any
 * number), bool, and unaryOp / binaryOp / reduceOp (an op code: the op's index in UNARY_OPS, BINARY_OPS or
 * REDUCE_OPS). Checks the table cannot express (gemm's extents, index values, meta contents) are written per
 * kernel in addon.cc.
 */
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../backend.ts';

/** What each argument kind is on the JavaScript side. */
interface KindTypes {
  f32: Float32Array;
  i32: Int32Array;
  'f32|i32': Float32Array | Int32Array;
  'i32?': Int32Array | null;
  f64: Float64Array;
  int: number;
  sint: number;
  num: number;
  bool: boolean;
  unaryOp: number;
  binaryOp: number;
  reduceOp: number;
}
export type ArgKind = keyof KindTypes;
export const ARG_KINDS: readonly ArgKind[] = [
  'f32', 'i32', 'f32|i32', 'i32?', 'f64', 'int', 'sint', 'num', 'bool', 'unaryOp', 'binaryOp', 'reduceOp',
];

type ArgSpec = `${string}: ${ArgKind}` | `${string}: ${ArgKind}[${string}]`;
interface KernelSpec {
  readonly args: readonly ArgSpec[];
  /** What the kernel returns (nothing by default). */
  readonly returns?: 'number' | 'boolean';
}

function kernel<const A extends readonly ArgSpec[]>(...args: A): { args: A } {
  return { args };
}

export const NATIVE_KERNELS = {
  gemm: kernel('transA: bool', 'transB: bool', 'M: int', 'N: int', 'K: int', 'alpha: num', 'a: f32', 'lda: int',
    'strideA: int', 'b: f32', 'ldb: int', 'strideB: int', 'beta: num', 'c: f32', 'ldc: int', 'strideC: int',
    'batch: int', 'bias: f32', 'bf16: bool'),
  unary: kernel('op: unaryOp', 'x: f32', 'out: f32[x]', 'p: num'),
  unaryBackward: kernel('op: unaryOp', 'x: f32', 'y: f32[x]', 'gy: f32[x]', 'gx: f32[x]', 'p: num'),
  /** meta = [rank, ...shape, ...aStrides, ...bStrides] */
  binary: kernel('op: binaryOp', 'a: f32', 'b: f32', 'out: f32', 'meta: f64'),
  reduce: kernel('op: reduceOp', 'x: f32[outer*n*inner]', 'outer: int', 'n: int', 'inner: int',
    'out: f32[outer*inner]', 'argmax: i32?'),
  /** meta = [rank, srcOffset, dstOffset, ...shape, ...srcStrides, ...dstStrides] */
  copyStrided: kernel('src: f32|i32', 'dst: f32|i32', 'meta: f64'),
  softmax: kernel('x: f32[rows*n]', 'out: f32[rows*n]', 'rows: int', 'n: int', 'log: bool'),
  softmaxBackward: kernel('y: f32[rows*n]', 'gy: f32[rows*n]', 'gx: f32[rows*n]', 'rows: int', 'n: int', 'log: bool'),
  layerNorm: kernel('x: f32[rows*n]', 'w: f32[n]', 'b: f32[n]', 'out: f32[rows*n]', 'mean: f32[rows]',
    'rstd: f32[rows]', 'rows: int', 'n: int', 'eps: num'),
  layerNormBackward: kernel('x: f32[rows*n]', 'w: f32[n]', 'mean: f32[rows]', 'rstd: f32[rows]', 'gy: f32[rows*n]',
    'gx: f32[rows*n]', 'gw: f32[n]', 'gb: f32[n]', 'rows: int', 'n: int'),
  rmsNorm: kernel('x: f32[rows*n]', 'w: f32[n]', 'out: f32[rows*n]', 'rstd: f32[rows]', 'rows: int', 'n: int',
    'eps: num'),
  rmsNormBackward: kernel('x: f32[rows*n]', 'w: f32[n]', 'rstd: f32[rows]', 'gy: f32[rows*n]', 'gx: f32[rows*n]',
    'gw: f32[n]', 'rows: int', 'n: int'),
  crossEntropy: kernel('logits: f32[rows*v]', 'targets: i32[rows]', 'losses: f32[rows]', 'lse: f32[rows]',
    'rows: int', 'v: int', 'ignoreIndex: sint'),
  crossEntropyBackward: kernel('logits: f32[rows*v]', 'targets: i32[rows]', 'lse: f32[rows]', 'gLoss: f32[rows]',
    'gx: f32[rows*v]', 'rows: int', 'v: int', 'ignoreIndex: sint'),
  embedding: kernel('weight: f32', 'ids: i32', 'out: f32[ids*d]', 'd: int'),
  embeddingBackward: kernel('ids: i32', 'gy: f32[ids*d]', 'gw: f32', 'd: int'),
  gather: kernel('x: f32[outer*n*inner]', 'index: i32[outer*m*inner]', 'out: f32[outer*m*inner]', 'outer: int',
    'n: int', 'm: int', 'inner: int'),
  gatherBackward: kernel('index: i32[outer*m*inner]', 'gy: f32[outer*m*inner]', 'gx: f32[outer*n*inner]',
    'outer: int', 'n: int', 'm: int', 'inner: int'),
  rope: kernel('x: f32[bh*t*d]', 'out: f32[bh*t*d]', 'bh: int', 't: int', 'd: int', 'cos: f32[t*d/2]',
    'sin: f32[t*d/2]', 'inverse: bool'),
  attention: kernel('q: f32[B*H*Tq*D]', 'k: f32[B*Hkv*Tk*D]', 'v: f32[B*Hkv*Tk*D]', 'out: f32[B*H*Tq*D]',
    'lse: f32[B*H*Tq]', 'B: int', 'H: int', 'Hkv: int', 'Tq: int', 'Tk: int', 'D: int', 'scale: num',
    'keyStart: i32?[B]'),
  attentionBackward: kernel('q: f32[B*H*Tq*D]', 'k: f32[B*Hkv*Tk*D]', 'v: f32[B*Hkv*Tk*D]', 'out: f32[B*H*Tq*D]',
    'lse: f32[B*H*Tq]', 'gout: f32[B*H*Tq*D]', 'gq: f32[B*H*Tq*D]', 'gk: f32[B*Hkv*Tk*D]', 'gv: f32[B*Hkv*Tk*D]',
    'B: int', 'H: int', 'Hkv: int', 'Tq: int', 'Tk: int', 'D: int', 'scale: num', 'keyStart: i32?[B]'),
  adamw: kernel('param: f32', 'grad: f32[param]', 'm: f32[param]', 'v: f32[param]', 'lr: num', 'beta1: num',
    'beta2: num', 'eps: num', 'weightDecay: num', 'bc1: num', 'bc2: num'),
  axpy: kernel('alpha: num', 'x: f32', 'y: f32[x]'),
  sumSquares: { ...kernel('x: f32'), returns: 'number' },
  hasNonFinite: { ...kernel('x: f32'), returns: 'boolean' },
} as const satisfies Record<string, KernelSpec>;

export type NativeKernel = keyof typeof NATIVE_KERNELS;
export const NATIVE_KERNEL_NAMES = Object.keys(NATIVE_KERNELS) as NativeKernel[];

/** The op lists whose positions are the op codes the addon takes. */
export const NATIVE_OP_LISTS = { unary: UNARY_OPS, binary: BINARY_OPS, reduce: REDUCE_OPS } as const;

/** One argument of the table, parsed. */
export interface NativeArg {
  name: string;
  kind: ArgKind;
  /** Factors of the least length (empty: no requirement the table can state). */
  length: string[];
}

/** Parses `name: kind[length]`; throws on anything else (the table is checked when the header is made). */
export function parseArg(spec: string): NativeArg {
  const m = /^([A-Za-z_]\w*): ([\w|?]+)(?:\[([^\]]+)\])?$/.exec(spec);
  const kind = m?.[2] as ArgKind | undefined;
  if (!m || !kind || !ARG_KINDS.includes(kind)) throw new Error(`native ABI: bad argument "${spec}"`);
  return { name: m[1]!, kind, length: m[3] ? m[3].split('*') : [] };
}

// ---- the addon's TypeScript type, derived from the table ----

type KindOf<S> = S extends `${string}: ${infer K}[${string}]` ? K : S extends `${string}: ${infer K}` ? K : never;
type Params<A extends readonly string[]> = { -readonly [I in keyof A]: KindTypes[KindOf<A[I]> & ArgKind] };
type Returns<K> = K extends { returns: 'number' } ? number : K extends { returns: 'boolean' } ? boolean : void;
type KernelFunctions = {
  [K in NativeKernel]: (...args: Params<(typeof NATIVE_KERNELS)[K]['args']>) => Returns<(typeof NATIVE_KERNELS)[K]>;
};

/** What the addon reports about itself. */
export interface NativeInfo {
  /** Threads the kernels run on (the calling thread included). */
  threads: number;
  /** The GEMM micro-kernel picked for this CPU. */
  gemmKernel: string;
  /** The kernel bf16 products run on: "avx512-bf16", or the f32 kernel on rounded operands. */
  gemmBf16Kernel: string;
  /** The vector ISA the other kernels run with on this CPU. */
  simd: 'avx512' | 'avx2' | 'portable';
}

/** The kernels and op names the addon was built with (from native/src/abi.gen.h). */
export interface NativeAbi {
  kernels: string[];
  unary: string[];
  binary: string[];
  reduce: string[];
}

/** The addon's exports: the table's kernels, plus what it says about itself. */
export type NativeAddon = KernelFunctions & {
  info(): NativeInfo;
  abi(): NativeAbi;
  setThreads(n: number): number;
  /** Returns the C allocator's free memory to the system (malloc_trim on glibc); whether any went back. */
  trimMemory(): boolean;
};
