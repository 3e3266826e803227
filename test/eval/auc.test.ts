import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { rocAuc } from '../../src/eval/auc.ts';
import { Rng } from '../../src/engine/index.ts';

interface Fixture { cases: { name: string; positives: number[]; negatives: number[]; auc: number }[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/eval/auc.json', import.meta.url), 'utf8')) as Fixture;

test('rocAuc matches sklearn roc_auc_score (ties, separated, random)', () => {
  for (const c of fx.cases) {
    const auc = rocAuc(c.positives, c.negatives);
    assert.ok(Math.abs(auc - c.auc) <= 1e-9, `${c.name}: ${auc} vs sklearn ${c.auc}`);
  }
});

test('AUC = 0.5 on identically distributed scores, exactly 0.5 on identical samples', () => {
  const rng = new Rng(7);
  const a = Array.from({ length: 20000 }, () => rng.normal());
  const b = Array.from({ length: 20000 }, () => rng.normal());
  // Under H0 the AUC has standard deviation sqrt((n+m+1)/(12nm)) ≈ 0.0029 here; 5 sd is a safe bound.
  assert.ok(Math.abs(rocAuc(a, b) - 0.5) < 0.015, `AUC ${rocAuc(a, b)}`);
  assert.equal(rocAuc(a, a), 0.5);
  assert.equal(rocAuc([3, 3, 3], [3, 3]), 0.5);
});

test('AUC = 1 on separated scores (0 when reversed); ties count one half', () => {
  const low = [0.1, 0.2, 0.3, 0.25];
  const high = [1.1, 1.7, 2.0];
  assert.equal(rocAuc(high, low), 1);
  assert.equal(rocAuc(low, high), 0);
  // one tied pair out of 2×2: (1 + 1 + 0.5 + 0)/4
  assert.equal(rocAuc([2, 1], [1, 3]), 0.375);
  assert.throws(() => rocAuc([], [1]), RangeError);
  assert.throws(() => rocAuc([NaN], [1]), RangeError);
});
