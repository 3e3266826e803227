/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, computed as scipy.stats.ks_2samp(a, b) does with its default
 * method='auto' (scipy 1.10; the same algorithms are in current scipy). TOFU's forget quality is this p-value, so
 * it has to agree with scipy's, not merely with some textbook KS test:
 *
 * - the statistic D = max |F_a(x) − F_b(x)| over the pooled values, with each empirical CDF counted with ties
 *   (searchsorted side='right'), so tied values step both CDFs at once;
 * - max(n, m) ≤ 10,000: the exact null distribution. D is snapped to the lattice h / lcm(n, m) and the p-value is
 *   the proportion of monotone lattice paths from (0,0) to (n,m) that leave the band |x/n − y/m| < h/lcm
 *   (Hodges 1958), for n = m in closed form (`_compute_prob_outside_square`), otherwise with Viehmann's
 *   (arXiv:2102.08037) recursion for 1 − p (`_compute_outer_prob_inside_method`). If that comes out outside
 *   [0, 1], scipy falls back to the asymptotic branch, and so do we;
 * - otherwise: kstwo.sf(D, round(n·m/(n+m))), the exact one-sample Kolmogorov distribution evaluated for the
 *   effective sample size (Simard & L'Ecuyer's selection among Durbin–Marsaglia–Tsang–Wang, Pomeranz,
 *   Pelz–Good and 2·Smirnov, as scipy.stats._ksstats._kolmogn does).
 *
 * The code is our own; the numerical recipes (operation order included) follow scipy's so that p-values agree to
 * far better than the 1e-6 relative that the tests require.
 */

export interface KsResult {
  /** D = sup |F_a − F_b| (on the exact branch, snapped to the lattice h/lcm(n, m) as scipy returns it). */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** Which null distribution gave the p-value. */
  method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: the exact distribution is used while both samples have at most this many values. */
const KS_MAX_EXACT_N = 10000;

export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = sortedCopy(a, 'first');
  const y = sortedCopy(b, 'second');
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp: both samples need at least one value');

  // Walk the pooled values in order; after all copies of a value, i/n1 − j/n2 is cdf1 − cdf2 at that value
  // (numpy evaluates it at every pooled element; copies of a value give the same difference).
  let maxS = -Infinity;
  let minDiff = Infinity;
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  let d = minS > maxS ? minS : maxS;

  let method: 'exact' | 'asymp' = Math.max(n1, n2) <= KS_MAX_EXACT_N ? 'exact' : 'asymp';
  let p = NaN;
  if (method === 'exact') {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) p = 1;
    else p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    // scipy: a result outside [0, 1] (round-off) counts as a failed exact computation.
    if (!(p >= 0 && p <= 1)) method = 'asymp';
  }
  if (method === 'asymp') {
    const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
    const en = (m * n) / (m + n);
    p = kstwoSf(d, roundHalfEven(en));
  }
  return { statistic: d, pValue: clip01(p), method };
}

function sortedCopy(values: ArrayLike<number>, which: string): Float64Array {
  const out = Float64Array.from(values);
  for (const v of out) if (Number.isNaN(v)) throw new RangeError(`ks2samp: the ${which} sample contains NaN`);
  return out.sort();
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function clip01(p: number): number {
  return Number.isNaN(p) ? p : Math.min(Math.max(p, 0), 1);
}

/**
 * P(D_{n,n} ≥ h/n) = 2 Σ_{k≥1} (−1)^{k−1} C(2n, n−kh) / C(2n, n), summed Horner-style from the innermost term so
 * the alternating series does not cancel (scipy's `_compute_prob_outside_square`).
 */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) that touch |x/m − y/n| ≥ h/lcm, by the recursion for 1 − p on a
 * sliding window of one column (Viehmann; scipy's `_compute_outer_prob_inside_method`). A holds, for the current
 * column i, the fraction of paths to (i, j) that left the band, normalised by C(i+j, j).
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const jx = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * jx) / (i + jx);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

// ---------------------------------------------------------------------------------------------------------------
// kstwo: the exact distribution of the one-sample two-sided statistic D_n (scipy.stats._ksstats).

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT2PI = Math.sqrt(2 * Math.PI);
const MIN_LOG = -708;
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const STIRLING = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2];

/** x·2^e without overflowing the intermediate power of two. */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** Survival function P(D_n > x) of the two-sided one-sample KS statistic (scipy.stats.kstwo.sf(x, n)). */
export function kstwoSf(x: number, n: number): number {
  if (!Number.isInteger(n) || n <= 0) return NaN;
  if (Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: 1/(2n) < x ≤ 1/n.
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - dmtwCdf(n, x));
    if (nxsquared <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxsquared >= 18) cdf = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = dmtwCdf(n, x);
  else cdf = pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

/** P(D_n ≤ d) by the Durbin matrix in Marsaglia–Tsang–Wang's form: a power of a (2k−1)² matrix, rescaled. */
function dmtwCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1]! *= fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let r = 0; r < m; r++) Hpwr[r * m + r] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > E128) {
      for (let q = 0; q < H.length; q++) H[q]! /= E128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = Hpwr[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return clip01(p);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l]!;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j]! += ail * b[l * m + j]!;
    }
  }
  return out;
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n ≤ x) by Pomeranz's recursion (used by scipy for n ≤ 140, 0.754693 < n·x² ≤ 4). */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // np.convolve(V0[k1−V0s : k1−V0s+ln2], pwrs[:ln2]) (full mode), entries conv_start … conv_start+conv_len−1.
      const aStart = k1 - V0s;
      const aLen = Math.max(0, Math.min(ln2, npwrs - aStart));
      const bLen = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let vmax = -Infinity;
      for (let q = 0; q < convLen; q++) {
        const c = convStart + q;
        let s = 0;
        const lo = Math.max(0, c - bLen + 1);
        const hi = Math.min(aLen - 1, c);
        for (let r = lo; r <= hi; r++) s += V0[aStart + r]! * pwrs[c - r]!;
        V1[q] = s;
      }
      for (const v of V1) if (v > vmax) vmax = v;
      if (vmax > 0 && vmax < EM128) {
        for (let q = 0; q < V1.length; q++) V1[q]! *= E128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/** Pelz–Good asymptotic series for P(D_n ≤ x) (scipy uses it for large n·x^1.5 with n > 140). */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let c = 0; c < 4; c++) K[c] = K[c]! * qpower + coeffs[c]!;
  }
  const denom = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let c = 0; c < 4; c++) K[c] = (K[c]! * q * SQRT2PI) / denom[c]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qp;
  }
  K[2]! += (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3]! += (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let c = 0; c < 4; c++) sum += K[c]! / n ** (c / 2);
  return sum;
}

// ---------------------------------------------------------------------------------------------------------------
// Smirnov: the one-sided statistic D+_n (scipy.special.smirnov, cephes kolmogorov.c).

const MINLOG = -708.3964185322641;

/** n·x as an exact integer part and fractional part (cephes `modNX` does this in double-double). */
function floorNX(n: number, x: number): { fl: number; alpha: number } {
  const p = n * x;
  // Dekker's TwoProduct: p + e == n·x exactly.
  const split = (v: number): [number, number] => {
    const c = 134217729 * v;
    const hi = c - (c - v);
    return [hi, v - hi];
  };
  const [nh, nl] = split(n);
  const [xh, xl] = split(x);
  const e = nh * xh - p + nh * xl + nl * xh + nl * xl;
  let fl = Math.floor(p);
  let alpha = p - fl + e;
  if (alpha < 0) {
    fl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    fl += 1;
    alpha = 0;
  }
  return { fl, alpha };
}

/**
 * P(D+_n ≥ x) = x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^{v−1} (1 − x − v/n)^{n−v} (Birnbaum–Tingey). Terms are
 * positive and formed in log space; cephes' double-double arithmetic buys digits that a p-value does not need.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { fl: nxfl, alpha } = floorNX(n, x);
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) return clip01(1 - x * (1 + x) ** (n - 1));
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return clip01((1 - x) ** n);
  if (n > 1000000) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  const nUpperTerms = n - n1mxceil + 1;
  const useUpper = (nUpperTerms <= 1 && x < 0.5) || (n >= 10 && nUpperTerms <= 3 && x <= 0.5 / Math.sqrt(n));
  // log C(n, v), advanced term by term.
  let logC = 0;
  let sum = 0;
  if (useUpper) {
    // The few terms above n(1−x), alternating in sign: P(D+ < x) = x Σ_{v=n1mxceil}^{n} A_v.
    for (let v = n; v >= n1mxceil; v--) {
      const base = (n - v - nxfl - alpha) / n;
      const lg = logC + (v - 1) * Math.log((nxfl + v + alpha) / n) + (n - v === 0 ? 0 : (n - v) * Math.log(Math.abs(base)));
      const sign = base < 0 && (n - v) % 2 === 1 ? -1 : 1;
      sum += sign * Math.exp(lg);
      logC += Math.log(v / (n - v + 1));
    }
    return clip01(1 - x * sum);
  }
  // x + v/n and 1 − x − v/n from the exact split n·x = nxfl + alpha, so the last, smallest bases keep their digits.
  for (let v = 0; v <= n1mxfl; v++) {
    const lg = logC + (v - 1) * Math.log((nxfl + v + alpha) / n) + (n - v) * Math.log((n - v - nxfl - alpha) / n);
    if (lg > -745) sum += Math.exp(lg);
    logC += Math.log((n - v) / (v + 1));
  }
  return clip01(x * sum);
}
