// bf16 matrix products: operands rounded to bfloat16, products summed in f32 (src/engine/precision.ts).
// The rounding is checked against a float64 definition of "nearest bfloat16", the native GEMM against a float64
// recomputation on the rounded operands (for the hardware kernel where the CPU has AVX512-BF16, and for the
// rounded-operand f32 kernel in a child process that forces it), and the ops' forward and backward against the
// same on both backends. Skipped on the native side when LETHE_BACKEND=ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HostBackend } from '../../src/engine/backend.ts';
import type { HostGemmArgs } from '../../src/engine/backends/host.ts';
import { loadNativeBackend, nativeInfo } from '../../src/engine/backends/native.ts';
import { roundBf16 } from '../../src/engine/backends/ts/bf16.ts';
import { tsBackend } from '../../src/engine/backends/ts/index.ts';
import {
  backward, linear, matmul, matmulPrecision, parameter, Rng, setMatmulPrecision, tensor, useBackend, withMatmulPrecision,
} from '../../src/engine/index.ts';

const nativeSkip = process.env['LETHE_BACKEND'] === 'ts' ? 'LETHE_BACKEND=ts' : false;

/** Nearest bfloat16 by its definition (8 significant bits, ties to even), in float64; subnormals flush to zero. */
function bf16Reference(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2 ** -126) return x < 0 || Object.is(x, -0) ? -0 : 0;
  if (!Number.isFinite(x)) return x;
  const e = Math.floor(Math.log2(ax));
  const ulp = 2 ** (e - 7);
  const q = ax / ulp;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const y = r * ulp;
  return (x < 0 ? -1 : 1) * (y >= 2 ** 128 ? Infinity : y);
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

describe('bf16 rounding', () => {
  test('matches the float64 definition of nearest-even bfloat16, with subnormals to zero and NaN kept', () => {
    const special = [0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 1.5, 3.14159, 65504,
      2 ** -126, -(2 ** -126), 2 ** -127, -(2 ** -130), 3.3895e38, 3.4e38, -3.4e38, Infinity, -Infinity, 1e-30];
    const values = [...special.map(Math.fround), ...randn(5000, 7, 100)];
    for (const x of values) {
      const got = roundBf16(x);
      const want = bf16Reference(x);
      assert.ok(Object.is(got, want), `roundBf16(${x}) = ${got}, expected ${want}`);
    }
    assert.ok(Number.isNaN(roundBf16(NaN)));
  });
});

interface Case { M: number; N: number; K: number; transA: boolean; transB: boolean; alpha: number; beta: number; batch: number; bias: boolean }

const CASES: Case[] = [
  { M: 37, N: 45, K: 63, transA: false, transB: true, alpha: 1, beta: 0, batch: 1, bias: true },
  { M: 64, N: 96, K: 128, transA: false, transB: false, alpha: 1, beta: 0, batch: 1, bias: false },
  { M: 29, N: 70, K: 1, transA: true, transB: false, alpha: 0.5, beta: 1, batch: 1, bias: false },
  { M: 130, N: 33, K: 601, transA: true, transB: true, alpha: -2, beta: 0.25, batch: 1, bias: false },
  { M: 12, N: 32, K: 1100, transA: false, transB: true, alpha: 1, beta: 0, batch: 3, bias: false },
  { M: 3, N: 50, K: 77, transA: false, transB: false, alpha: 1, beta: 0, batch: 1, bias: false }, // GEMV-like: direct path
  { M: 40, N: 2, K: 65, transA: false, transB: true, alpha: 1.5, beta: 0, batch: 2, bias: false }, // few columns of Bᵀ
  { M: 200, N: 131, K: 96, transA: false, transB: true, alpha: 1, beta: 0, batch: 1, bias: true }, // threaded
];

function argsFor(c: Case, seed: number): { g: HostGemmArgs; a: Float32Array; b: Float32Array; c0: Float32Array; bias: Float32Array | null } {
  const { M, N, K, transA, transB, batch } = c;
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const a = randn(batch * M * K, seed);
  const b = randn(batch * K * N, seed + 1);
  const c0 = randn(batch * M * N, seed + 2);
  const bias = c.bias ? randn(N, seed + 3) : null;
  const g: HostGemmArgs = {
    transA, transB, M, N, K, alpha: c.alpha, a, lda, strideA: M * K, b, ldb, strideB: K * N, beta: c.beta,
    c: new Float32Array(c0), ldc: N, strideC: M * N, batch, bias, bf16: true,
  };
  return { g, a, b, c0, bias };
}

/** float64 C on the rounded operands, and the bound for an f32 sum of K such products. */
function reference(c: Case, a: Float32Array, b: Float32Array, c0: Float32Array, bias: Float32Array | null): { want: Float64Array; tol: Float64Array } {
  const { M, N, K, transA, transB, batch } = c;
  const want = new Float64Array(batch * M * N);
  const tol = new Float64Array(batch * M * N);
  // The rounded operands once, as op(A) [M, K] and op(B)ᵀ [N, K] per batch, so the loop below reads rows.
  const ra = new Float64Array(batch * M * K);
  const rb = new Float64Array(batch * N * K);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) ra[(t * M + i) * K + k] = bf16Reference(Math.fround(c.alpha * a[t * M * K + (transA ? k * M + i : i * K + k)]!));
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) rb[(t * N + j) * K + k] = bf16Reference(b[t * K * N + (transB ? j * K + k : k * N + j)]!);
  }
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        let mag = 0;
        const ai = (t * M + i) * K;
        const bj = (t * N + j) * K;
        for (let k = 0; k < K; k++) {
          const p = ra[ai + k]! * rb[bj + k]!;
          sum += p;
          mag += Math.abs(p);
        }
        const o = t * M * N + i * N + j;
        const start = bias ? bias[j]! : c.beta === 0 ? 0 : c.beta * c0[o]!;
        want[o] = start + sum;
        tol[o] = (K + 4) * 2 ** -23 * (mag + Math.abs(start)) + 1e-30;
      }
    }
  }
  return { want, tol };
}

function checkBackend(be: HostBackend, label: string): void {
  CASES.forEach((c, n) => {
    const { g, a, b, c0, bias } = argsFor(c, 100 + 10 * n);
    be.gemm(g);
    const { want, tol } = reference(c, a, b, c0, bias);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(g.c[i]! - want[i]!) <= tol[i]!,
        `${label} ${JSON.stringify(c)}: C[${i}] = ${g.c[i]}, expected ${want[i]} ± ${tol[i]}`);
    }
  });
}

describe('bf16 GEMM', () => {
  test('TS backend: products of the rounded operands, summed', () => {
    checkBackend(tsBackend, 'ts');
  });

  test('native backend: the same within the f32 summation bound', { skip: nativeSkip }, () => {
    // In the child below, LETHE_GEMM_KERNEL names an f32 kernel, so bf16 products must run on it.
    if (process.env['LETHE_BF16_CHILD'] === '1') assert.equal(nativeInfo().gemmBf16Kernel, nativeInfo().gemmKernel);
    checkBackend(loadNativeBackend(), `native (${nativeInfo().gemmBf16Kernel})`);
  });

  test('native backend with the f32 kernel forced (rounded packing): the same', { skip: nativeSkip }, () => {
    const script = fileURLToPath(import.meta.url);
    // The child reports in TAP, not to this runner: NODE_TEST_CONTEXT would make it talk the runner's protocol.
    const env: NodeJS.ProcessEnv = { ...process.env, LETHE_GEMM_KERNEL: 'avx512', LETHE_BF16_CHILD: '1' };
    delete env['NODE_TEST_CONTEXT'];
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap',
      '--test-name-pattern=^native backend: the same', script], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `child failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass 1\n/);
  });

  test('bf16 is not f32: on the same inputs the results differ by more than f32 rounding', { skip: nativeSkip }, () => {
    const c = CASES[1]!;
    const be = loadNativeBackend();
    const { g } = argsFor(c, 5);
    const f = { ...g, c: new Float32Array(g.c.length), bf16: false };
    be.gemm(g);
    be.gemm(f);
    let maxRel = 0;
    for (let i = 0; i < g.c.length; i++) maxRel = Math.max(maxRel, Math.abs(g.c[i]! - f.c[i]!) / (Math.abs(f.c[i]!) + 1));
    assert.ok(maxRel > 1e-3, `bf16 and f32 results agree to ${maxRel}: the operands were not rounded`);
  });

  test('the kernel name says which path runs', { skip: nativeSkip || process.env['LETHE_BF16_CHILD'] === '1' }, () => {
    const info = nativeInfo();
    const cpuHasBf16 = process.platform === 'linux' && /\bavx512_bf16\b/.test(readCpuFlags());
    assert.equal(info.gemmBf16Kernel, cpuHasBf16 ? 'avx512-bf16' : info.gemmKernel);
  });
});

function readCpuFlags(): string {
  const r = spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' });
  return r.stdout ?? '';
}

describe('matmul precision', () => {
  for (const name of ['ts', 'native'] as const) {
    test(`${name}: linear and matmul forward and backward use bf16 operands, also when backward runs outside the scope`, { skip: name === 'native' && nativeSkip }, () => {
      useBackend(name);
      const x = parameter(tensor(randn(6 * 20, 11), [6, 20]));
      const w = parameter(tensor(randn(9 * 20, 12), [9, 20]));
      const m = parameter(tensor(randn(9 * 5, 13), [9, 5]));
      const out = withMatmulPrecision('bf16', () => matmul(linear(x, w), m));
      assert.equal(matmulPrecision(), 'f32');
      const gy = randn(6 * 5, 14);
      backward(out, tensor(gy, [6, 5]));
      // float64 reference on rounded operands: h = r(x)·r(w)ᵀ, out = r(h)·r(m); dh = r(gy)·r(m)ᵀ;
      // dm = r(h)ᵀ·r(gy); dx = r(dh)·r(w); dw = r(dh)ᵀ·r(x).
      const r = (v: ArrayLike<number>): Float64Array => Float64Array.from(v, (e) => bf16Reference(Math.fround(e)));
      const mm = (A: Float64Array, B: Float64Array, M: number, K: number, N: number, tA: boolean, tB: boolean): Float64Array => {
        const C = new Float64Array(M * N);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[tA ? k * M + i : i * K + k]! * B[tB ? j * K + k : k * N + j]!;
          C[i * N + j] = s;
        }
        return C;
      };
      const X = r(x.toArray()), W = r(w.toArray()), Mm = r(m.toArray()), G = r(gy);
      const h = Float64Array.from(mm(X, W, 6, 20, 9, false, true), Math.fround);
      const H = r(h);
      const dh = Float64Array.from(mm(G, Mm, 6, 5, 9, false, true), Math.fround);
      const DH = r(dh);
      const close = (got: ArrayLike<number>, want: Float64Array, what: string): void => {
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `${what}[${i}] = ${got[i]}, expected ${want[i]}`);
        }
      };
      close(out.toArray(), mm(H, Mm, 6, 9, 5, false, false), 'out');
      close(m.grad!.toArray(), mm(H, G, 9, 6, 5, true, false), 'dm');
      close(x.grad!.toArray(), mm(DH, W, 6, 9, 20, false, false), 'dx');
      close(w.grad!.toArray(), mm(DH, X, 9, 6, 20, true, false), 'dw');
    });
  }

  test('withMatmulPrecision restores the setting after a throw and after a promise settles; bad names are refused', async () => {
    assert.throws(() => withMatmulPrecision('bf16', () => { throw new Error('boom'); }), /boom/);
    assert.equal(matmulPrecision(), 'f32');
    await withMatmulPrecision('bf16', async () => {
      assert.equal(matmulPrecision(), 'bf16');
      await new Promise((res) => setTimeout(res, 1));
    });
    assert.equal(matmulPrecision(), 'f32');
    assert.throws(() => setMatmulPrecision('fp16' as 'f32'), /must be "f32" or "bf16"/);
  });
});
