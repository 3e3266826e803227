import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { leadingEigenpairs } from '../../src/util/symmetric-eigen.ts';

/** A seeded uniform generator in [−0.5, 0.5), so every case is the same on every run. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = uniform(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r();
  return a;
}

/** XᵀX of rows × n values, a few columns much larger (as layer inputs are), so the spectrum spans orders of magnitude. */
function gram(rows: number, n: number, seed: number): Float64Array {
  const r = uniform(seed);
  const x = Float64Array.from({ length: rows * n }, (_, i) => r() * (i % n < 3 ? 40 : 1));
  const g = new Float64Array(n * n);
  for (let k = 0; k < rows; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] = g[i * n + j]! + x[k * n + i]! * x[k * n + j]!;
  return g;
}

/** Q diag(values) Qᵀ with Q a product of seeded reflections: a symmetric matrix whose spectrum is exactly `values`. */
function withSpectrum(values: readonly number[], seed: number): Float64Array {
  const n = values.length;
  const r = uniform(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = values[i]!;
  for (let h = 0; h < 3; h++) {
    const v = Float64Array.from({ length: n }, r);
    const vv = v.reduce((s, x) => s + x * x, 0);
    // A ← H A H with H = I − 2vvᵀ/vᵀv.
    const av = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) av[i] = av[i]! + a[i * n + j]! * v[j]!;
    const vav = v.reduce((s, x, i) => s + x * av[i]!, 0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      a[i * n + j] = a[i * n + j]! + (-2 * v[i]! * av[j]! - 2 * av[i]! * v[j]!) / vv + (4 * vav * v[i]! * v[j]!) / (vv * vv);
    }
  }
  return a;
}

/** The reference: ml-matrix's full eigendecomposition (a port of JAMA's tred2/tql2), eigenvalues descending. */
function reference(a: Float64Array, n: number): { values: number[]; vectors: number[][] } {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, a[i * n + j]!);
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]);
  return { values: order.map(([v]) => v), vectors: order.map(([, i]) => evd.eigenvectorMatrix.getColumn(i)) };
}

/** Eigenvalues equal to the reference's, each vector an eigenvector (small residual), the vectors orthonormal. */
function check(a: Float64Array, n: number, k: number): void {
  const got = leadingEigenpairs(a, n, () => k);
  const ref = reference(a, n);
  const scale = Math.max(1e-300, ...ref.values.map(Math.abs));
  assert.equal(got.k, k);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(got.values[i]! - ref.values[i]!) <= 1e-12 * scale * n, `eigenvalue ${i}: ${got.values[i]} vs ${ref.values[i]}`);
  const col = (j: number): Float64Array => Float64Array.from({ length: n }, (_, i) => got.vectors[i * k + j]!);
  for (let j = 0; j < k; j++) {
    const u = col(j);
    let r2 = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += a[i * n + c]! * u[c]!;
      r2 += (s - got.values[j]! * u[i]!) ** 2;
    }
    assert.ok(Math.sqrt(r2) <= 1e-11 * scale * Math.sqrt(n), `vector ${j}: residual ${Math.sqrt(r2)} (scale ${scale})`);
    for (let l = 0; l <= j; l++) {
      const w = col(l);
      const dot = u.reduce((s, x, i) => s + x * w[i]!, 0);
      assert.ok(Math.abs(dot - (l === j ? 1 : 0)) <= 1e-10, `vectors ${l}, ${j}: dot ${dot}`);
    }
    // A simple eigenvalue has one unit eigenvector up to sign: the reference's.
    const gap = Math.min(j > 0 ? ref.values[j - 1]! - ref.values[j]! : Infinity, j < n - 1 ? ref.values[j]! - ref.values[j + 1]! : Infinity);
    if (gap > 1e-6 * scale) {
      const dot = u.reduce((s, x, i) => s + x * ref.vectors[j]![i]!, 0);
      assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-9, `vector ${j} vs the reference: |dot| ${Math.abs(dot)}`);
    }
  }
}

describe('leadingEigenpairs against ml-matrix (JAMA tred2/tql2)', () => {
  test('random symmetric matrices (indefinite), every vector', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [3, 3], [7, 4], [40, 5]] as const) check(randomSymmetric(n, seed), n, n);
  });

  test('Gram matrices whose spectrum spans orders of magnitude, the leading vectors', () => {
    check(gram(200, 64, 6), 64, 10);
    check(gram(30, 48, 7), 48, 48); // rank 30: eighteen eigenvalues at rounding level
  });

  test('repeated and clustered eigenvalues give an orthonormal basis of each eigenspace', () => {
    check(withSpectrum([5, 5, 5, 2, 2, 1, 1e-9, 0, 0, -3], 8), 10, 10);
    check(withSpectrum([1, 1 + 1e-13, 1 - 1e-13, 0.5, 0.25, 0.125], 9), 6, 6);
  });

  test('diagonal, already tridiagonal, and zero matrices', () => {
    check(Float64Array.from([3, 0, 0, 0, 1, 0, 0, 0, 2]), 3, 3);
    check(Float64Array.from([2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2]), 4, 4);
    const zero = leadingEigenpairs(new Float64Array(16), 4, () => 2);
    assert.deepEqual(Array.from(zero.values), [0, 0, 0, 0]);
    const gotNorm = [0, 1].map((j) => Math.hypot(...Array.from({ length: 4 }, (_, i) => zero.vectors[i * 2 + j]!)));
    for (const v of gotNorm) assert.ok(Math.abs(v - 1) < 1e-12);
  });

  test('an unsymmetric input is read as its symmetric part (a Gram from an f32 GEMM need not be bit-symmetric)', () => {
    const a = randomSymmetric(12, 10);
    const skewed = Float64Array.from(a, (x, i) => x + Math.sign(i % 12 - Math.floor(i / 12)) * 1e-3);
    const got = leadingEigenpairs(skewed, 12, () => 0);
    const ref = reference(a, 12);
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(got.values[i]! - ref.values[i]!) < 1e-12);
  });

  test('count sees every eigenvalue, descending, before choosing k; bad input is refused', () => {
    let seen: number[] = [];
    leadingEigenpairs(withSpectrum([4, 3, 2, 1], 11), 4, (v) => ((seen = Array.from(v)), 1));
    assert.deepEqual(seen.map((x) => Math.round(x * 1e9) / 1e9), [4, 3, 2, 1]);
    assert.throws(() => leadingEigenpairs(new Float64Array(5), 2, () => 0), /expected 2×2 = 4 values, got 5/);
    assert.throws(() => leadingEigenpairs(Float64Array.from([1, NaN, NaN, 1]), 2, () => 0), /entry 1 is NaN/);
    assert.throws(() => leadingEigenpairs(Float64Array.from([1, 0, 0, 1]), 2, () => 3), /count chose 3 vectors of 2/);
  });
});
