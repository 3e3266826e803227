import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ks2samp, kstwoSf, smirnovSf } from '../../src/eval/ks.ts';

interface KsCase { name: string; a: string; b: string; statistic: number; pvalue: number; method: 'exact' | 'asymp' }
interface Fixture { arrays: Record<string, number[]>; cases: KsCase[]; kstwo_sf: { n: number; x: number; sf: number }[]; smirnov: { n: number; x: number; sf: number }[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/eval/ks.json', import.meta.url), 'utf8')) as Fixture;

/** 1e-6 relative, as the p-values of scipy are specified; values that underflow towards 0 compare absolutely. */
function closeP(actual: number, expected: number, what: string): void {
  const tol = Math.max(1e-6 * Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, scipy ${expected}`);
}

test('ks2samp matches scipy.stats.ks_2samp (exact and asymptotic, ties, identical samples)', () => {
  for (const c of fx.cases) {
    const r = ks2samp(fx.arrays[c.a]!, fx.arrays[c.b]!);
    assert.ok(Math.abs(r.statistic - c.statistic) <= 1e-12, `${c.name}: D ${r.statistic} vs ${c.statistic}`);
    closeP(r.pValue, c.pvalue, c.name);
    assert.equal(r.method, c.method, c.name);
  }
});

test('kstwo.sf across every algorithm scipy selects', () => {
  for (const c of fx.kstwo_sf) closeP(kstwoSf(c.x, c.n), c.sf, `kstwo.sf(${c.x}, ${c.n})`);
});

test('smirnov (one-sided) matches scipy.special.smirnov', () => {
  for (const c of fx.smirnov) closeP(smirnovSf(c.n, c.x), c.sf, `smirnov(${c.n}, ${c.x})`);
});

test('ks2samp is symmetric, and identical samples give D = 0, p = 1', () => {
  const a = [0.3, 1.2, -0.5, 2.2, 0.9, 0.1];
  const b = [1.1, 0.4, 3.3, -1.0];
  const ab = ks2samp(a, b);
  const ba = ks2samp(b, a);
  assert.equal(ab.statistic, ba.statistic);
  assert.equal(ab.pValue, ba.pValue);
  assert.deepEqual(ks2samp(a, a), { statistic: 0, pValue: 1, method: 'exact' });
  assert.throws(() => ks2samp([], [1]), RangeError);
  assert.throws(() => ks2samp([NaN], [1]), RangeError);
});
