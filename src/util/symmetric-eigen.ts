// The leading eigenpairs of a real symmetric matrix, in float64.
//
// SAGE sanitisation needs, per block projection, every eigenvalue of an input Gram matrix (to find the smallest k
// whose eigenvalues reach an energy fraction of the trace) but only those k eigenvectors — a handful out of 256 or
// 1,024. A full eigendecomposition (ml-matrix's port of JAMA: 12.8 s for n = 1,024 here) spends most of its time
// accumulating the n eigenvectors nobody reads. This follows LAPACK's route for a few vectors (dsytrd → dsterf →
// dstein → dormtr):
//   1. Householder reduction to tridiagonal form T = Qᵀ A Q (4/3·n³ flops, row-major loops over contiguous rows);
//   2. every eigenvalue of T by the implicit QL method without vectors (O(n²));
//   3. the chosen eigenvectors of T by inverse iteration, re-orthogonalised within clusters of close eigenvalues;
//   4. each back-transformed by the stored reflectors, u = Q z (O(n²) per vector).

export interface EigenPairs {
  /** Every eigenvalue, descending. */
  values: Float64Array;
  /** n × k row-major: column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
  k: number;
}

/** Householder vectors v_i (stored in the rows of `house`), their β_i, and the tridiagonal's diagonal and off-diagonal. */
interface Tridiagonal {
  n: number;
  diag: Float64Array;
  /** off[i] = T[i][i+1], i < n − 1. */
  off: Float64Array;
  /** Row i holds v_i on columns i+1..n−1 (the reflector H_i = I − β_i v_i v_iᵀ acts on those coordinates). */
  house: Float64Array;
  beta: Float64Array;
}

/** Reduces a symmetric n × n matrix (row-major; only read, symmetrised on the way) to tridiagonal form. */
function tridiagonalize(a: Float64Array, n: number): Tridiagonal {
  // Working copy, symmetrised: a Gram built by an f32 GEMM need not be bit-symmetric.
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (a[i * n + j]! + a[j * n + i]!);
  const diag = new Float64Array(n);
  const off = new Float64Array(Math.max(0, n - 1));
  const house = new Float64Array(n * n);
  const beta = new Float64Array(n);
  const p = new Float64Array(n);
  const v = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = A[k+1.., k]; H x = alpha e_1 with alpha = −sign(x_0)‖x‖ (no cancellation in v_0 = x_0 − alpha).
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += A[i * n + k]! ** 2;
    const x0 = A[(k + 1) * n + k]!;
    diag[k] = A[k * n + k]!;
    if (norm2 === 0 || norm2 === x0 * x0) {
      // Already tridiagonal in this column: H = I.
      off[k] = x0;
      continue;
    }
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) v[i] = A[i * n + k]!;
    const vv = norm2 - x0 * x0 + v[k + 1]! ** 2;
    const b = 2 / vv;
    beta[k] = b;
    for (let i = k + 1; i < n; i++) house[k * n + i] = v[i]!;
    off[k] = alpha;
    // Trailing block B ← H B H = B − v wᵀ − w vᵀ with p = β B v, w = p − (β/2)(pᵀv) v. Only B's lower triangle
    // is kept (j ≤ i): the product reads each stored entry once for both of its places, the update writes half.
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let s = A[row + i]! * vi;
      for (let j = k + 1; j < i; j++) {
        const aij = A[row + j]!;
        s += aij * v[j]!;
        p[j] = p[j]! + aij * vi;
      }
      p[i] = p[i]! + s;
    }
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = b * p[i]!;
      pv += p[i]! * v[i]!;
    }
    const c = 0.5 * b * pv;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - c * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = k + 1; j <= i; j++) A[row + j] = A[row + j]! - vi * p[j]! - wi * v[j]!;
    }
  }
  if (n >= 2) {
    diag[n - 2] = A[(n - 2) * n + n - 2]!;
    off[n - 2] = A[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) diag[n - 1] = A[(n - 1) * n + n - 1]!;
  return { n, diag, off, house, beta };
}

/** Every eigenvalue of the tridiagonal (diag, off), by the implicit QL method with Wilkinson shifts (EISPACK tql1). */
function tridiagonalEigenvalues(diag: Float64Array, off: Float64Array): Float64Array {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  e.set(off);
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) throw new RangeError('symmetric eigenvalues: the QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  return d;
}

/**
 * The unit eigenvector of the tridiagonal for eigenvalue lambda, by inverse iteration: solve (T − λI) x = b with
 * Gaussian elimination and partial pivoting (the factor is upper-triangular with two super-diagonals), orthogonal
 * to `against` (the vectors already found for eigenvalues in the same cluster).
 */
function tridiagonalEigenvector(diag: Float64Array, off: Float64Array, lambda: number, scale: number, against: readonly Float64Array[], seed: number): Float64Array {
  const n = diag.length;
  const x = new Float64Array(n);
  if (n === 1) {
    x[0] = 1;
    return x;
  }
  // LU of T − λI with row interchanges: U has diagonal u0, super-diagonals u1, u2; multipliers ml; swapped flags.
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const ml = new Float64Array(n);
  const swapped = new Uint8Array(n);
  // A pivot of exactly zero (λ an exact eigenvalue of a leading block) is replaced by a tiny one, as dstein does
  // (scale > 0: the zero matrix never gets here).
  const tiny = scale * 2 ** -52;
  let a = diag[0]! - lambda;
  let b = off[0]!;
  let c = 0;
  for (let i = 0; i < n - 1; i++) {
    const sub = off[i]!;
    const nextDiag = diag[i + 1]! - lambda;
    const nextOff = i + 1 < n - 1 ? off[i + 1]! : 0;
    if (Math.abs(a) >= Math.abs(sub)) {
      const pivot = a === 0 ? tiny : a;
      const m = sub / pivot;
      u0[i] = pivot; u1[i] = b; u2[i] = c;
      ml[i] = m;
      a = nextDiag - m * b;
      b = nextOff - m * c;
      c = 0;
    } else {
      // Swap rows i and i+1: the pivot row is (sub, nextDiag, nextOff).
      const m = a / sub;
      u0[i] = sub; u1[i] = nextDiag; u2[i] = nextOff;
      ml[i] = m;
      swapped[i] = 1;
      const na = b - m * nextDiag;
      const nb = c - m * nextOff;
      a = na;
      b = nb;
      c = 0;
    }
  }
  u0[n - 1] = a === 0 ? tiny : a;
  // Start: a fixed pseudo-random vector (deterministic), as dstein starts from random entries.
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    x[i] = state / 2 ** 32 - 0.5;
  }
  const y = new Float64Array(n);
  for (let iteration = 0; iteration < 5; iteration++) {
    // Forward: apply the row swaps and multipliers to the right-hand side.
    y.set(x);
    for (let i = 0; i < n - 1; i++) {
      if (swapped[i]) {
        const t = y[i]!;
        y[i] = y[i + 1]!;
        y[i + 1] = t - ml[i]! * y[i]!;
      } else y[i + 1] = y[i + 1]! - ml[i]! * y[i]!;
    }
    // Back substitution with U.
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      if (i + 1 < n) s -= u1[i]! * x[i + 1]!;
      if (i + 2 < n) s -= u2[i]! * x[i + 2]!;
      x[i] = s / u0[i]!;
    }
    for (const q of against) {
      let d = 0;
      for (let i = 0; i < n; i++) d += q[i]! * x[i]!;
      for (let i = 0; i < n; i++) x[i] = x[i]! - d * q[i]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += x[i]! * x[i]!;
    norm = Math.sqrt(norm);
    if (!(norm > 0) || !Number.isFinite(norm)) throw new RangeError('symmetric eigenvectors: inverse iteration broke down');
    for (let i = 0; i < n; i++) x[i] = x[i]! / norm;
    // Converged once one step grows the vector by the reciprocal of the residual bound (‖(T−λI)⁻¹x‖ ≥ 1/(n·eps·‖T‖)).
    if (norm * scale * n * 2 ** -52 * 16 >= 1 && iteration >= 1) break;
  }
  return x;
}

/**
 * Eigenvalues of a real symmetric n × n matrix (row-major, float64), all of them, descending; and the eigenvectors
 * of the first `count(values)` of them. `count` sees every eigenvalue before any vector is computed, so a caller
 * choosing k by an energy fraction pays only for the k vectors it keeps.
 */
export function leadingEigenpairs(a: Float64Array, n: number, count: (valuesDescending: Float64Array) => number): EigenPairs {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) throw new RangeError(`symmetric eigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new RangeError(`symmetric eigen: entry ${i} is ${a[i]} (every entry must be finite)`);
  const t = tridiagonalize(a, n);
  const values = tridiagonalEigenvalues(t.diag, t.off).sort().reverse();
  const k = count(values);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`symmetric eigen: count chose ${k} vectors of ${n}`);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(t.diag[i]!) + (i > 0 ? Math.abs(t.off[i - 1]!) : 0) + (i < n - 1 ? Math.abs(t.off[i]!) : 0));
  // Eigenvalues closer than this belong to one cluster, whose vectors are kept mutually orthogonal (dstein's 1e-3‖T‖).
  const clusterGap = 1e-3 * scale;
  const vectors = new Float64Array(n * k);
  if (scale === 0) {
    // The zero matrix: every vector is an eigenvector; the first k unit vectors.
    for (let j = 0; j < k; j++) vectors[j * k + j] = 1;
    return { values, vectors, k };
  }
  let cluster: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    if (j === 0 || values[j - 1]! - values[j]! > clusterGap) cluster = [];
    const z = tridiagonalEigenvector(t.diag, t.off, values[j]!, scale, cluster, j);
    cluster.push(z);
    // u = Q z = H_0 H_1 ⋯ H_{n−3} z: the reflectors applied last-first.
    const u = Float64Array.from(z);
    for (let r = n - 3; r >= 0; r--) {
      const b = t.beta[r]!;
      if (b === 0) continue;
      const row = r * n;
      let s = 0;
      for (let i = r + 1; i < n; i++) s += t.house[row + i]! * u[i]!;
      s *= b;
      for (let i = r + 1; i < n; i++) u[i] = u[i]! - s * t.house[row + i]!;
    }
    for (let i = 0; i < n; i++) vectors[i * k + j] = u[i]!;
  }
  return { values, vectors, k };
}
