// Native backend kernels against the TS reference kernels (the oracle), on random inputs of several sizes: odd
// sizes, size 1, and sizes large enough to run multi-threaded. Also checks that bad arguments throw JS errors
// naming the kernel instead of crashing, and that results do not depend on the thread count.
//
// The addon must be built (`npm run build:native`): without it this suite fails, unless LETHE_BACKEND=ts, in
// which case it is skipped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BINARY_OPS, REDUCE_OPS, UNARY_OPS, type BinaryOp, type HostBackend as Backend, type UnaryOp,
} from '../../src/engine/backend.ts';
import type { F32, HostAttentionDims as AttentionDims, HostGemmArgs as GemmArgs, I32 } from '../../src/engine/backends/host.ts';
import { loadNativeBackend, nativeInfo, setNativeThreads } from '../../src/engine/backends/native.ts';
import { tsBackend as ts } from '../../src/engine/backends/ts/index.ts';
import { Rng } from '../../src/engine/random.ts';

const skip = process.env['LETHE_BACKEND'] === 'ts' ? 'LETHE_BACKEND=ts' : false;

let nativeBackend: Backend | null = null;
let loadError = '';
if (!skip) {
  try {
    nativeBackend = loadNativeBackend();
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
  }
}

/** The native backend; fails the calling test when the addon is not loadable. */
function nat(): Backend {
  if (!nativeBackend) assert.fail(`native addon is not loadable: ${loadError}`);
  return nativeBackend;
}

// ---- helpers ------------------------------------------------------------------------------------------------

/** Seeded uniform numbers for test data (the engine's own generator). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

let seed = 1;
function randn(n: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed++);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = offset + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}
function uniform(n: number, lo: number, hi: number): Float32Array {
  const r = rng(seed++);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}
function randInt(n: number, lo: number, hi: number): Int32Array {
  const r = rng(seed++);
  return Int32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo)));
}

/** max|a − b| / max|b| (absolute below a 1e-6 floor); NaN must match NaN and infinities must match exactly. */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length mismatch');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) return Infinity;
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) return Infinity;
      continue;
    }
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff / Math.max(scale, 1e-6);
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  const err = relErr(actual, expected);
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(2)} > ${tol}`);
}

function same(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (Object.is(actual[i], expected[i])) continue;
    if (actual[i] === expected[i]) continue;  // +0 / -0
    assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

const clone = (x: Float32Array): Float32Array => x.slice();

function contiguous(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d]!;
  }
  return st;
}
/** Strides reading an array of `src` shape (right-aligned, size-1 dims broadcast) over `out` shape. */
function broadcastStrides(src: readonly number[], out: readonly number[]): number[] {
  const cs = contiguous(src);
  return out.map((_, i) => {
    const j = i - (out.length - src.length);
    if (j < 0 || src[j] === 1) return 0;
    return cs[j]!;
  });
}
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function throwsNamed(fn: () => unknown, kernel: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'not an Error');
    assert.ok(e.message.startsWith(`${kernel}:`), `message should name ${kernel}: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

const SIZES = [1, 7, 33, 1000, 100_003];

// ---- tests --------------------------------------------------------------------------------------------------

describe('native kernels', { skip }, () => {
  test('the addon loads and reports itself', () => {
    const b = nat();
    assert.equal(b.name, 'native');
    const info = nativeInfo();
    assert.ok(Number.isInteger(info.threads) && info.threads >= 1, `threads ${info.threads}`);
    assert.equal(b.threads, info.threads);
    assert.ok(['avx512', 'avx2', 'portable'].includes(info.simd), `simd ${info.simd}`);
    assert.equal(typeof info.gemmKernel, 'string');
  });

  /** Input for op: positive where the op needs it. */
  function unaryInput(op: UnaryOp, n: number, p: number): Float32Array {
    if (op === 'log' || op === 'sqrt' || (op === 'pow' && !Number.isInteger(p))) return uniform(n, 0.01, 5);
    if (op === 'exp') return randn(n, 4);
    return randn(n, 3);
  }
  const UNARY_PARAMS: Record<UnaryOp, number[]> = {
    neg: [0], exp: [0], log: [0], sqrt: [0], tanh: [0], sigmoid: [0], relu: [0], gelu: [0], silu: [0],
    pow: [2, 3, 0.5, -1, 1.7, 0, 1], scale: [0.37], addScalar: [-1.25],
  };

  for (const op of UNARY_OPS) {
    test(`unary ${op} and its backward`, () => {
      const b = nat();
      for (const p of UNARY_PARAMS[op]) {
        for (const n of SIZES) {
          const x = unaryInput(op, n, p);
          const want = new Float32Array(n);
          const got = new Float32Array(n);
          ts.unary(op, x, want, p);
          b.unary(op, x, got, p);
          close(got, want, `${op}(p=${p}) n=${n}`);
          const gy = randn(n);
          const gw = new Float32Array(n);
          const gg = new Float32Array(n);
          ts.unaryBackward(op, x, want, gy, gw, p);
          b.unaryBackward(op, x, want, gy, gg, p);
          close(gg, gw, `${op}'(p=${p}) n=${n}`);
        }
      }
    });
  }

  test('unary transcendental ops on extreme inputs', () => {
    const b = nat();
    const x = Float32Array.from([0, -0, 1e-30, -1e-30, 1, -1, 20, -20, 88, -88, 89, -89, 100, -100, 200, -200,
      1e30, -1e30, Infinity, -Infinity, NaN, 0.625, -0.625, 15, -15]);
    for (const op of ['exp', 'tanh', 'sigmoid', 'gelu', 'silu'] as const) {
      const want = new Float32Array(x.length);
      const got = new Float32Array(x.length);
      ts.unary(op, x, want, 0);
      b.unary(op, x, got, 0);
      for (let i = 0; i < x.length; i++) {
        const w = want[i]!;
        const g = got[i]!;
        if (Number.isNaN(w)) {
          assert.ok(Number.isNaN(g), `${op}(${x[i]}) = ${g}, expected NaN`);
        } else if (!Number.isFinite(w) || w === 0) {
          assert.ok(g === w, `${op}(${x[i]}) = ${g}, expected ${w}`);
        } else {
          assert.ok(Math.abs(g - w) <= 1e-6 * Math.abs(w) + 1e-44, `${op}(${x[i]}) = ${g}, expected ${w}`);
        }
      }
    }
  });

  test('unary works in place (out === x)', () => {
    const b = nat();
    const x = randn(10_001);
    const want = new Float32Array(x.length);
    ts.unary('gelu', x, want, 0);
    const y = clone(x);
    b.unary('gelu', y, y, 0);
    close(y, want, 'gelu in place');
  });

  const BINARY_CASES: { a: number[]; b: number[] }[] = [
    { a: [1], b: [1] },
    { a: [7], b: [7] },
    { a: [100_003], b: [100_003] },
    { a: [], b: [] },
    { a: [4, 1, 5], b: [1, 3, 5] },
    { a: [2, 3, 33], b: [33] },
    { a: [300, 400], b: [400] },
    { a: [300, 400], b: [300, 1] },
    { a: [5, 6], b: [] },
    { a: [], b: [64, 2000] },
    { a: [2, 1, 3, 1, 7], b: [1, 4, 1, 5, 7] },
  ];

  for (const op of BINARY_OPS) {
    test(`binary ${op} with broadcasting`, () => {
      const nb = nat();
      for (const c of BINARY_CASES) {
        const rank = Math.max(c.a.length, c.b.length);
        const out = new Array<number>(rank);
        for (let i = 0; i < rank; i++) {
          const da = c.a[i - (rank - c.a.length)] ?? 1;
          const db = c.b[i - (rank - c.b.length)] ?? 1;
          out[i] = Math.max(da, db);
        }
        const a = randn(prod(c.a));
        const b = op === 'div' ? uniform(prod(c.b), 0.5, 2) : randn(prod(c.b));
        const as = broadcastStrides(c.a, out);
        const bs = broadcastStrides(c.b, out);
        const want = new Float32Array(prod(out));
        const got = new Float32Array(prod(out));
        ts.binary(op, a, as, b, bs, want, out);
        nb.binary(op, a, as, b, bs, got, out);
        same(got, want, `${op} [${c.a}] [${c.b}]`);
      }
    });
  }

  test('binary reads transposed (non-contiguous) operands', () => {
    const nb = nat();
    for (const [r, c] of [[3, 5], [257, 300]] as const) {
      const a = randn(r * c);
      const b = randn(r * c);
      const shape = [c, r];
      const at = [1, c];  // a viewed transposed
      const bc = contiguous(shape);
      for (const op of BINARY_OPS satisfies readonly BinaryOp[]) {
        const want = new Float32Array(r * c);
        const got = new Float32Array(r * c);
        ts.binary(op, a, at, b, bc, want, shape);
        nb.binary(op, a, at, b, bc, got, shape);
        same(got, want, `${op} transposed ${r}x${c}`);
      }
    }
  });

  const REDUCE_SHAPES: [number, number, number][] = [
    [1, 1, 1], [3, 7, 1], [2, 5, 3], [1, 100_003, 1], [7, 33, 129], [1, 3, 70_000], [500, 300, 1], [2, 40_000, 1],
    [3, 0, 2],
  ];

  for (const op of REDUCE_OPS) {
    test(`reduce ${op}`, () => {
      const b = nat();
      for (const [outer, n, inner] of REDUCE_SHAPES) {
        const x = randn(outer * n * inner, 2);
        const want = new Float32Array(outer * inner);
        const got = new Float32Array(outer * inner);
        const amW = op === 'max' ? new Int32Array(outer * inner) : null;
        const amG = op === 'max' ? new Int32Array(outer * inner) : null;
        ts.reduce(op, x, outer, n, inner, want, amW);
        b.reduce(op, x, outer, n, inner, got, amG);
        close(got, want, `${op} [${outer}, ${n}, ${inner}]`);
        if (amW && amG) same(amG, amW, `argmax [${outer}, ${n}, ${inner}]`);
      }
    });
  }

  test('reduce max/logsumexp: NaN, -Infinity and ties follow the TS rule', () => {
    const b = nat();
    const rows = [
      [1, NaN, 3, NaN, 2],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [2, 5, 5, 1, 5],
      [Infinity, 1, 2, 3, 4],
      [0, -0, 0, -1, -2],
    ];
    // Also a long row (vector lanes + tail) with the NaN late and the maximum repeated.
    const long = randn(1_003);
    long[900] = 50;
    long[950] = 50;
    long[1001] = NaN;
    for (const row of [...rows.map((r) => Float32Array.from(r)), long]) {
      for (const [outer, n, inner] of [[1, row.length, 1], [row.length, 1, 1]] as const) {
        for (const op of ['max', 'logsumexp'] as const) {
          const want = new Float32Array(outer * inner);
          const got = new Float32Array(outer * inner);
          const amW = new Int32Array(outer * inner);
          const amG = new Int32Array(outer * inner);
          ts.reduce(op, row, outer, n, inner, want, amW);
          b.reduce(op, row, outer, n, inner, got, amG);
          close(got, want, `${op} of [${Array.from(row.slice(0, 6))}...]`);
          if (op === 'max') same(amG, amW, `argmax of [${Array.from(row.slice(0, 6))}...]`);
        }
      }
      // The same row along a strided axis: x [1, n, 2] with the row in both columns.
      const x2 = new Float32Array(row.length * 2);
      for (let i = 0; i < row.length; i++) x2[2 * i] = x2[2 * i + 1] = row[i]!;
      const want = new Float32Array(2);
      const got = new Float32Array(2);
      const amW = new Int32Array(2);
      const amG = new Int32Array(2);
      ts.reduce('max', x2, 1, row.length, 2, want, amW);
      b.reduce('max', x2, 1, row.length, 2, got, amG);
      close(got, want, 'strided max');
      same(amG, amW, 'strided argmax');
    }
  });

  test('copyStrided: permutes, slices, offsets, f32 and i32, large', () => {
    const b = nat();
    const cases: { shape: number[]; src: number[]; srcOff: number; srcLen: number }[] = [
      { shape: [], src: [], srcOff: 3, srcLen: 5 },
      { shape: [1], src: [1], srcOff: 0, srcLen: 1 },
      { shape: [4, 5, 6], src: [1, 4, 20], srcOff: 0, srcLen: 120 },  // permute
      { shape: [3, 4], src: [10, 2], srcOff: 7, srcLen: 40 },  // strided slice with offset
      { shape: [2, 3, 4, 5], src: [0, 20, 5, 1], srcOff: 0, srcLen: 60 },  // broadcast
      { shape: [64, 128, 32], src: [32, 2048, 1], srcOff: 0, srcLen: 262_144 },  // large permute [0,2,1]
      { shape: [2, 1, 3, 1, 2, 1, 2, 3], src: [36, 0, 12, 0, 6, 0, 3, 1], srcOff: 0, srcLen: 72 },  // rank 8
    ];
    for (const c of cases) {
      const total = prod(c.shape);
      for (const kind of ['f32', 'i32'] as const) {
        const src: F32 | I32 = kind === 'f32' ? randn(c.srcLen) : randInt(c.srcLen, -1000, 1000);
        const dstOff = 2;
        const mk = (): F32 | I32 => (kind === 'f32' ? new Float32Array(total + 5) : new Int32Array(total + 5));
        const want = mk();
        const got = mk();
        const ds = contiguous(c.shape);
        ts.copyStrided(src, c.srcOff, c.src, want, dstOff, ds, c.shape);
        b.copyStrided(src, c.srcOff, c.src, got, dstOff, ds, c.shape);
        same(got, want, `copyStrided ${kind} [${c.shape}]`);
      }
    }
    // Scatter into a strided destination (concat-style write into a slice).
    const src = randn(6 * 7);
    const want = new Float32Array(6 * 10);
    const got = new Float32Array(6 * 10);
    ts.copyStrided(src, 0, [7, 1], want, 3, [10, 1], [6, 7]);
    b.copyStrided(src, 0, [7, 1], got, 3, [10, 1], [6, 7]);
    same(got, want, 'copyStrided into a slice');
  });

  test('softmax / logSoftmax and their backward', () => {
    const b = nat();
    for (const [rows, n] of [[1, 1], [3, 7], [5, 33], [6144, 128], [4, 5003], [2, 70_000]] as const) {
      const x = randn(rows * n, 3);
      if (n > 2) x[1] = -Infinity;  // a masked entry
      for (const log of [false, true]) {
        const want = new Float32Array(rows * n);
        const got = new Float32Array(rows * n);
        ts.softmax(x, want, rows, n, log);
        b.softmax(x, got, rows, n, log);
        close(got, want, `softmax(log=${log}) [${rows}, ${n}]`);
        const gy = randn(rows * n);
        const gw = new Float32Array(rows * n);
        const gg = new Float32Array(rows * n);
        ts.softmaxBackward(want, gy, gw, rows, n, log);
        b.softmaxBackward(want, gy, gg, rows, n, log);
        close(gg, gw, `softmaxBackward(log=${log}) [${rows}, ${n}]`);
      }
    }
  });

  test('layerNorm and rmsNorm, forward and backward', () => {
    const b = nat();
    for (const [rows, n] of [[1, 1], [3, 7], [5, 1000], [512, 768], [2, 33]] as const) {
      const x = randn(rows * n, 2, 0.5);
      const w = randn(n, 1, 1);
      const bias = randn(n);
      const gy = randn(rows * n);
      const o = [new Float32Array(rows * n), new Float32Array(rows * n)];
      const mean = [new Float32Array(rows), new Float32Array(rows)];
      const rstd = [new Float32Array(rows), new Float32Array(rows)];
      ts.layerNorm(x, w, bias, o[0]!, mean[0]!, rstd[0]!, rows, n, 1e-5);
      b.layerNorm(x, w, bias, o[1]!, mean[1]!, rstd[1]!, rows, n, 1e-5);
      close(o[1]!, o[0]!, `layerNorm out [${rows}, ${n}]`);
      close(mean[1]!, mean[0]!, `layerNorm mean [${rows}, ${n}]`);
      close(rstd[1]!, rstd[0]!, `layerNorm rstd [${rows}, ${n}]`);
      const gx = [new Float32Array(rows * n), new Float32Array(rows * n)];
      const gw = [new Float32Array(n), new Float32Array(n).fill(7)];  // overwritten, not accumulated
      const gb = [new Float32Array(n), new Float32Array(n).fill(7)];
      ts.layerNormBackward(x, w, mean[0]!, rstd[0]!, gy, gx[0]!, gw[0]!, gb[0]!, rows, n);
      b.layerNormBackward(x, w, mean[0]!, rstd[0]!, gy, gx[1]!, gw[1]!, gb[1]!, rows, n);
      close(gx[1]!, gx[0]!, `layerNorm gx [${rows}, ${n}]`);
      close(gw[1]!, gw[0]!, `layerNorm gw [${rows}, ${n}]`);
      close(gb[1]!, gb[0]!, `layerNorm gb [${rows}, ${n}]`);

      ts.rmsNorm(x, w, o[0]!, rstd[0]!, rows, n, 1e-6);
      b.rmsNorm(x, w, o[1]!, rstd[1]!, rows, n, 1e-6);
      close(o[1]!, o[0]!, `rmsNorm out [${rows}, ${n}]`);
      close(rstd[1]!, rstd[0]!, `rmsNorm rstd [${rows}, ${n}]`);
      gw[1]!.fill(7);
      ts.rmsNormBackward(x, w, rstd[0]!, gy, gx[0]!, gw[0]!, rows, n);
      b.rmsNormBackward(x, w, rstd[0]!, gy, gx[1]!, gw[1]!, rows, n);
      close(gx[1]!, gx[0]!, `rmsNorm gx [${rows}, ${n}]`);
      close(gw[1]!, gw[0]!, `rmsNorm gw [${rows}, ${n}]`);
    }
  });

  test('crossEntropy and its backward, with ignored rows', () => {
    const b = nat();
    for (const [rows, v] of [[1, 1], [5, 7], [33, 5000], [256, 1000], [3, 50_257]] as const) {
      const logits = randn(rows * v, 3);
      const targets = randInt(rows, 0, v);
      if (rows > 2) targets[1] = -100;
      const l = [new Float32Array(rows), new Float32Array(rows)];
      const lse = [new Float32Array(rows), new Float32Array(rows)];
      ts.crossEntropy(logits, targets, l[0]!, lse[0]!, rows, v, -100);
      b.crossEntropy(logits, targets, l[1]!, lse[1]!, rows, v, -100);
      close(l[1]!, l[0]!, `crossEntropy losses [${rows}, ${v}]`);
      close(lse[1]!, lse[0]!, `crossEntropy lse [${rows}, ${v}]`);
      const gLoss = uniform(rows, 0.1, 1);
      const gx = [new Float32Array(rows * v), new Float32Array(rows * v).fill(3)];
      ts.crossEntropyBackward(logits, targets, lse[0]!, gLoss, gx[0]!, rows, v, -100);
      b.crossEntropyBackward(logits, targets, lse[0]!, gLoss, gx[1]!, rows, v, -100);
      close(gx[1]!, gx[0]!, `crossEntropyBackward [${rows}, ${v}]`);
    }
  });

  test('embedding and embeddingBackward (accumulates, repeated ids)', () => {
    const b = nat();
    for (const [vocab, d, count] of [[1, 1, 1], [50, 3, 17], [50, 64, 2000], [97, 100, 513], [20, 1, 40_000],
      [1000, 768, 300]] as const) {
      const weight = randn(vocab * d);
      const ids = randInt(count, 0, vocab);
      const want = new Float32Array(count * d);
      const got = new Float32Array(count * d);
      ts.embedding(weight, ids, want, d);
      b.embedding(weight, ids, got, d);
      same(got, want, `embedding v=${vocab} d=${d} n=${count}`);
      const gy = randn(count * d);
      const gw0 = randn(vocab * d);
      const gwW = clone(gw0);
      const gwG = clone(gw0);
      ts.embeddingBackward(ids, gy, gwW, d);
      b.embeddingBackward(ids, gy, gwG, d);
      same(gwG, gwW, `embeddingBackward v=${vocab} d=${d} n=${count}`);  // same order: bit-identical
    }
  });

  test('gather and gatherBackward', () => {
    const b = nat();
    for (const [outer, n, m, inner] of [[1, 5, 3, 1], [4, 7, 9, 3], [2, 50, 40, 300], [1000, 10, 1, 1],
      [1, 1, 1, 1]] as const) {
      const x = randn(outer * n * inner);
      const index = randInt(outer * m * inner, 0, n);
      const want = new Float32Array(outer * m * inner);
      const got = new Float32Array(outer * m * inner);
      ts.gather(x, index, want, outer, n, m, inner);
      b.gather(x, index, got, outer, n, m, inner);
      same(got, want, `gather [${outer}, ${n}, ${m}, ${inner}]`);
      const gy = randn(outer * m * inner);
      const g0 = randn(outer * n * inner);
      const gW = clone(g0);
      const gG = clone(g0);
      ts.gatherBackward(index, gy, gW, outer, n, m, inner);
      b.gatherBackward(index, gy, gG, outer, n, m, inner);
      same(gG, gW, `gatherBackward [${outer}, ${n}, ${m}, ${inner}]`);
    }
  });

  test('rope forward and inverse, also in place', () => {
    const b = nat();
    for (const [bh, t, d] of [[1, 1, 2], [3, 5, 8], [48, 128, 64], [2, 7, 20]] as const) {
      const x = randn(bh * t * d);
      const cos = uniform(t * (d / 2), -1, 1);
      const sin = uniform(t * (d / 2), -1, 1);
      for (const inverse of [false, true]) {
        const want = new Float32Array(x.length);
        const got = new Float32Array(x.length);
        ts.rope(x, want, bh, t, d, cos, sin, inverse);
        b.rope(x, got, bh, t, d, cos, sin, inverse);
        close(got, want, `rope(inverse=${inverse}) [${bh}, ${t}, ${d}]`);
        const inPlace = clone(x);
        b.rope(inPlace, inPlace, bh, t, d, cos, sin, inverse);
        close(inPlace, want, `rope in place [${bh}, ${t}, ${d}]`);
      }
    }
  });

  const ATTN_CASES: (AttentionDims & { what: string })[] = [
    { what: 'MHA tiny', B: 1, H: 1, Hkv: 1, Tq: 1, Tk: 1, D: 1, scale: 1 },
    { what: 'MHA odd sizes', B: 2, H: 3, Hkv: 3, Tq: 17, Tk: 17, D: 8, scale: 1 / Math.sqrt(8) },
    { what: 'MHA GPT-2 head', B: 1, H: 2, Hkv: 2, Tq: 128, Tk: 128, D: 64, scale: 0.125 },
    { what: 'MHA threaded', B: 2, H: 4, Hkv: 4, Tq: 70, Tk: 70, D: 32, scale: 0.2 },
    { what: 'GQA Tq < Tk', B: 2, H: 4, Hkv: 2, Tq: 5, Tk: 19, D: 16, scale: 0.25 },
    { what: 'GQA Tq < Tk, D not a multiple of 16', B: 1, H: 6, Hkv: 2, Tq: 40, Tk: 101, D: 20, scale: 0.3 },
    { what: 'MQA decode step', B: 3, H: 4, Hkv: 1, Tq: 1, Tk: 33, D: 64, scale: 0.125 },
    { what: 'Tq > Tk (early rows see nothing)', B: 1, H: 2, Hkv: 1, Tq: 9, Tk: 4, D: 16, scale: 0.25 },
    { what: 'no keys', B: 1, H: 2, Hkv: 1, Tq: 3, Tk: 0, D: 8, scale: 0.25 },
    { what: 'left padding (keyStart), MHA', B: 3, H: 2, Hkv: 2, Tq: 12, Tk: 12, D: 16, scale: 0.25,
      keyStart: Int32Array.of(0, 5, 12) },
    { what: 'left padding (keyStart), GQA decode with Tq < Tk', B: 3, H: 4, Hkv: 2, Tq: 3, Tk: 20, D: 20, scale: 0.3,
      keyStart: Int32Array.of(7, 0, 19) },
    { what: 'left padding (keyStart), GPT-2 heads, threaded', B: 2, H: 4, Hkv: 4, Tq: 128, Tk: 128, D: 64,
      scale: 0.125, keyStart: Int32Array.of(0, 77) },
    { what: 'D = 0', B: 1, H: 1, Hkv: 1, Tq: 3, Tk: 3, D: 0, scale: 1 },
  ];

  for (const dims of ATTN_CASES) {
    test(`attention and attentionBackward: ${dims.what}`, () => {
      const b = nat();
      const { B, H, Hkv, Tq, Tk, D } = dims;
      const q = randn(B * H * Tq * D);
      const k = randn(B * Hkv * Tk * D);
      const v = randn(B * Hkv * Tk * D);
      const out = [new Float32Array(q.length), new Float32Array(q.length)];
      const lse = [new Float32Array(B * H * Tq), new Float32Array(B * H * Tq)];
      ts.attention(q, k, v, out[0]!, lse[0]!, dims);
      b.attention(q, k, v, out[1]!, lse[1]!, dims);
      close(out[1]!, out[0]!, 'out');
      close(lse[1]!, lse[0]!, 'lse');
      const gout = randn(q.length);
      const gq = [new Float32Array(q.length), new Float32Array(q.length).fill(9)];
      const gk = [new Float32Array(k.length), new Float32Array(k.length).fill(9)];
      const gv = [new Float32Array(v.length), new Float32Array(v.length).fill(9)];
      ts.attentionBackward(q, k, v, out[0]!, lse[0]!, gout, gq[0]!, gk[0]!, gv[0]!, dims);
      b.attentionBackward(q, k, v, out[0]!, lse[0]!, gout, gq[1]!, gk[1]!, gv[1]!, dims);
      close(gq[1]!, gq[0]!, 'gq');
      close(gk[1]!, gk[0]!, 'gk');
      close(gv[1]!, gv[0]!, 'gv');
    });
  }

  test('adamw matches the TS update bit for bit', () => {
    const b = nat();
    for (const n of SIZES) {
      const p0 = randn(n);
      const g = randn(n, 0.1);
      const m0 = randn(n, 0.01);
      const v0 = uniform(n, 0, 0.001);
      const args = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, bc1: 1 - 0.9 ** 7,
        bc2: 1 - 0.95 ** 7 };
      const s = [[clone(p0), clone(m0), clone(v0)], [clone(p0), clone(m0), clone(v0)]] as const;
      ts.adamw(s[0][0], g, s[0][1], s[0][2], args);
      b.adamw(s[1][0], g, s[1][1], s[1][2], args);
      same(s[1][0], s[0][0], `adamw param n=${n}`);
      same(s[1][1], s[0][1], `adamw m n=${n}`);
      same(s[1][2], s[0][2], `adamw v n=${n}`);
    }
  });

  test('axpy, sumSquares, hasNonFinite', () => {
    const b = nat();
    for (const n of [0, ...SIZES]) {
      const x = randn(n);
      const y0 = randn(n);
      const yW = clone(y0);
      const yG = clone(y0);
      ts.axpy(-0.37, x, yW);
      b.axpy(-0.37, x, yG);
      same(yG, yW, `axpy n=${n}`);
      const sw = ts.sumSquares(x);
      const sg = b.sumSquares(x);
      assert.ok(Math.abs(sg - sw) <= 1e-12 * Math.max(1, sw), `sumSquares n=${n}: ${sg} vs ${sw}`);
      assert.equal(b.hasNonFinite(x), false, `hasNonFinite n=${n}`);
      if (n > 0) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          for (const at of [0, n - 1, n >> 1]) {
            const z = clone(x);
            z[at] = bad;
            assert.equal(b.hasNonFinite(z), true, `hasNonFinite n=${n} ${bad} at ${at}`);
          }
        }
      }
    }
    const big = new Float32Array(3_000_000).fill(3.4e38);
    assert.equal(b.hasNonFinite(big), false, 'hasNonFinite of max floats');
  });

  test('gemm (smoke test through the addon; the GEMM has its own suite)', () => {
    const b = nat();
    const cases: [boolean, boolean, number, number, number, number][] = [
      [false, false, 1, 1, 1, 1], [false, true, 7, 5, 3, 2], [true, false, 33, 17, 9, 3], [true, true, 64, 96, 80, 1],
    ];
    for (const [transA, transB, M, N, K, batch] of cases) {
      const a = randn(batch * M * K);
      const bm = randn(batch * K * N);
      const c0 = randn(batch * M * N);
      const mk = (c: F32): GemmArgs => ({
        transA, transB, M, N, K, alpha: 0.7, a, lda: transA ? M : K, strideA: M * K, b: bm, ldb: transB ? K : N,
        strideB: K * N, beta: 0.3, c, ldc: N, strideC: M * N, batch,
      });
      const want = clone(c0);
      const got = clone(c0);
      ts.gemm(mk(want));
      b.gemm(mk(got));
      close(got, want, `gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}x${N}x${K} batch ${batch}`);
    }
  });

  test('gemm with a bias: bit for bit C prefilled with the bias and beta 1, on every path; refused with beta ≠ 0', () => {
    const b = nat();
    // Direct (M ≤ 4), blocked with edge tiles and several K slices (K > 512), K = 0, a batch, and threads.
    const cases: [boolean, boolean, number, number, number, number][] = [
      [false, false, 3, 40, 16, 1], [false, true, 37, 29, 700, 1], [false, false, 130, 257, 64, 2], [false, false, 5, 9, 0, 1], [true, false, 64, 96, 80, 1],
    ];
    const threads = nativeInfo().threads;
    try {
      for (const n of [1, 3]) {
        setNativeThreads(n);
        for (const [transA, transB, M, N, K, batch] of cases) {
          const a = randn(batch * M * K);
          const bm = randn(batch * K * N);
          const bias = randn(N);
          const mk = (c: F32, beta: number, withBias: boolean): GemmArgs => ({
            transA, transB, M, N, K, alpha: 0.7, a, lda: transA ? M : K, strideA: M * K, b: bm, ldb: transB ? K : N,
            strideB: K * N, beta, c, ldc: N, strideC: M * N, batch, bias: withBias ? bias : null,
          });
          const prefilled = new Float32Array(batch * M * N);
          for (let r = 0; r < batch * M; r++) prefilled.set(bias, r * N);
          b.gemm(mk(prefilled, 1, false));
          const fused = randn(batch * M * N); // old contents are ignored
          b.gemm(mk(fused, 0, true));
          same(fused, prefilled, `gemm + bias ${M}x${N}x${K} batch ${batch}, ${n} thread(s)`);
          const reference = randn(batch * M * N);
          ts.gemm(mk(reference, 0, true));
          close(fused, reference, `gemm + bias vs the TS reference ${M}x${N}x${K}`);
        }
      }
    } finally {
      setNativeThreads(threads);
    }
    const args = (beta: number, bias: F32): GemmArgs => ({ transA: false, transB: false, M: 4, N: 4, K: 4, alpha: 1, a: randn(16), lda: 4,
      strideA: 0, b: randn(16), ldb: 4, strideB: 0, beta, c: randn(16), ldc: 4, strideC: 0, batch: 1, bias });
    throwsNamed(() => b.gemm(args(0.5, randn(4))), 'gemm', /a bias needs beta 0/);
    throwsNamed(() => b.gemm(args(0, randn(3))), 'gemm', /bias is too short/);
  });

  test('results do not depend on the thread count and are repeatable', () => {
    const b = nat();
    const threads = nativeInfo().threads;
    const rows = 512;
    const n = 768;
    const x = randn(rows * n);
    const w = randn(n);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    ts.layerNorm(x, w, w, new Float32Array(rows * n), mean, rstd, rows, n, 1e-5);
    const gy = randn(rows * n);
    const ids = randInt(4096, 0, 100);
    const gyE = randn(4096 * 64);
    const dims: AttentionDims = { B: 2, H: 4, Hkv: 2, Tq: 64, Tk: 64, D: 64, scale: 0.125 };
    const q = randn(2 * 4 * 64 * 64);
    const k = randn(2 * 2 * 64 * 64);
    const v = randn(2 * 2 * 64 * 64);
    const big = randn(1_000_003);
    function run(): Float32Array[] {
      const gx = new Float32Array(rows * n);
      const gw = new Float32Array(n);
      const gb = new Float32Array(n);
      b.layerNormBackward(x, w, mean, rstd, gy, gx, gw, gb, rows, n);
      const gE = new Float32Array(100 * 64);
      b.embeddingBackward(ids, gyE, gE, 64);
      const out = new Float32Array(q.length);
      const lse = new Float32Array(2 * 4 * 64);
      b.attention(q, k, v, out, lse, dims);
      const gq = new Float32Array(q.length);
      const gk = new Float32Array(k.length);
      const gv = new Float32Array(v.length);
      b.attentionBackward(q, k, v, out, lse, gy.subarray(0, q.length), gq, gk, gv, dims);
      const red = new Float32Array(1);
      b.reduce('sum', big, 1, big.length, 1, red, null);
      const sq = Float32Array.of(b.sumSquares(big));
      return [gx, gw, gb, gE, out, lse, gq, gk, gv, red, sq];
    }
    try {
      const first = run();
      const again = run();
      setNativeThreads(1);
      const single = run();
      setNativeThreads(Math.max(3, threads));
      const more = run();
      for (let i = 0; i < first.length; i++) {
        same(again[i]!, first[i]!, `repeat, result ${i}`);
        same(single[i]!, first[i]!, `1 thread vs ${threads}, result ${i}`);
        same(more[i]!, first[i]!, `${Math.max(3, threads)} threads vs ${threads}, result ${i}`);
      }
    } finally {
      setNativeThreads(threads);
    }
  });

  test('bad arguments throw JS errors naming the kernel', () => {
    const b = nat();
    const f = (n: number): Float32Array => new Float32Array(n);
    const asF32 = (x: unknown): F32 => x as F32;
    const asI32 = (x: unknown): I32 => x as I32;
    // Wrong typed-array kinds.
    throwsNamed(() => b.unary('exp', asF32(new Float64Array(4)), f(4), 0), 'unary', /Float32Array/);
    throwsNamed(() => b.unary('exp', asF32([1, 2, 3]), f(4), 0), 'unary', /typed array/);
    throwsNamed(() => b.embedding(f(10), asI32(new Float32Array(2)), f(10), 5), 'embedding', /Int32Array/);
    throwsNamed(() => b.softmax(asF32(new Int32Array(4)), f(4), 2, 2, false), 'softmax', /Float32Array/);
    // Too short.
    throwsNamed(() => b.unary('exp', f(10), f(9), 0), 'unary', /out is too short/);
    throwsNamed(() => b.softmax(f(10), f(12), 3, 4, false), 'softmax', /x is too short/);
    throwsNamed(() => b.layerNorm(f(12), f(3), f(4), f(12), f(3), f(3), 3, 4, 1e-5), 'layerNorm', /w is too short/);
    throwsNamed(() => b.adamw(f(10), f(10), f(10), f(9), { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1, weightDecay: 0,
      bc1: 1, bc2: 1 }), 'adamw', /v is too short/);
    throwsNamed(() => b.attention(f(64), f(64), f(63), f(64), f(4), { B: 1, H: 1, Hkv: 1, Tq: 4, Tk: 4, D: 16,
      scale: 1 }), 'attention', /v is too short/);
    throwsNamed(() => b.attention(f(96), f(64), f(64), f(96), f(6), { B: 1, H: 3, Hkv: 2, Tq: 2, Tk: 2, D: 16,
      scale: 1 }), 'attention', /multiple of Hkv/);
    throwsNamed(() => b.attention(f(64), f(64), f(64), f(64), f(4), { B: 1, H: 1, Hkv: 1, Tq: 4, Tk: 4, D: 16,
      scale: 1, keyStart: Int32Array.of(5) }), 'attention', /keyStart\[0\] = 5 is out of range/);
    throwsNamed(() => b.attentionBackward(f(128), f(128), f(128), f(128), f(8), f(128), f(128), f(128), f(128),
      { B: 2, H: 1, Hkv: 1, Tq: 4, Tk: 4, D: 16, scale: 1, keyStart: Int32Array.of(1) }), 'attentionBackward',
    /keyStart is too short/);
    throwsNamed(() => b.attention(f(64), f(64), f(64), f(64), f(4), { B: 1, H: 1, Hkv: 1, Tq: 4, Tk: 4, D: 16,
      scale: 1, keyStart: asI32(Float32Array.of(0)) }), 'attention', /keyStart must be an Int32Array/);
    throwsNamed(() => b.gemm({ transA: false, transB: false, M: 4, N: 4, K: 4, alpha: 1, a: f(16), lda: 4,
      strideA: 0, b: f(16), ldb: 4, strideB: 0, beta: 0, c: f(15), ldc: 4, strideC: 0, batch: 1 }), 'gemm',
    /c is too short/);
    throwsNamed(() => b.binary('add', f(5), [1], f(6), [1], f(6), [6]), 'binary', /a is too short/);
    throwsNamed(() => b.binary('add', f(6), [1, 3], f(6), [1, 1], f(6), [2, 3]), 'binary', /too short/);
    throwsNamed(() => b.copyStrided(f(10), 5, [1], f(10), 0, [1], [6]), 'copyStrided', /src is too short/);
    throwsNamed(() => b.copyStrided(f(10), 0, [1], f(10), 0, [-1], [2]), 'copyStrided', /dst is too short/);
    throwsNamed(() => b.copyStrided(f(10), 0, [2, 1], f(10), 0, [1], [2, 2]), 'copyStrided', /dstStrides must be an integer/);
    throwsNamed(() => b.reduce('max', f(6), 2, 3, 1, f(2), new Int32Array(1)), 'reduce', /argmax is too short/);
    throwsNamed(() => b.rope(f(16), f(16), 1, 2, 8, f(7), f(8), false), 'rope', /cos is too short/);
    // Out-of-range indices.
    throwsNamed(() => b.embedding(f(10), Int32Array.of(0, 5), f(4), 2), 'embedding', /ids\[1\] = 5 is out of range/);
    throwsNamed(() => b.embedding(f(10), Int32Array.of(-1), f(2), 2), 'embedding', /out of range/);
    throwsNamed(() => b.embeddingBackward(Int32Array.of(3, 9), f(4), f(10), 2), 'embeddingBackward', /out of range/);
    throwsNamed(() => b.gather(f(6), Int32Array.of(0, 3), f(2), 1, 3, 2, 1), 'gather', /index\[1\] = 3/);
    throwsNamed(() => b.gatherBackward(Int32Array.of(-2), f(1), f(3), 1, 3, 1, 1), 'gatherBackward', /out of range/);
    throwsNamed(() => b.crossEntropy(f(6), Int32Array.of(0, 3), f(2), f(2), 2, 3, -100), 'crossEntropy',
      /targets\[1\] = 3/);
    throwsNamed(() => b.crossEntropyBackward(f(6), Int32Array.of(-5, 1), f(2), f(2), f(6), 2, 3, -100),
      'crossEntropyBackward', /out of range/);
    // Non-integer and negative sizes.
    throwsNamed(() => b.softmax(f(10), f(10), 2.5, 4, false), 'softmax', /rows must be an integer/);
    throwsNamed(() => b.softmax(f(10), f(10), -1, 4, false), 'softmax', /rows must be an integer/);
    throwsNamed(() => b.unary('nope' as UnaryOp, f(2), f(2), 0), 'unary', /op must be a number/);
    // Ignored targets are allowed even though they are out of range.
    b.crossEntropy(f(6), Int32Array.of(-100, 2), f(2), f(2), 2, 3, -100);
  });
});
