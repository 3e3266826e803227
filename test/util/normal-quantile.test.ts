import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalQuantile } from '../../src/util/normal-quantile.ts';

// scipy.stats.norm.ppf(p) (scipy 1.10, Debian), printed with repr.
const SCIPY: [number, number][] = [
  [1e-6, -4.753424308822899], [0.001, -3.090232306167813], [0.01, -2.3263478740408408], [0.02, -2.053748910631823],
  [0.3, -0.5244005127080409], [0.5, 0], [0.9, 1.2815515655446004], [0.99, 2.3263478740408408], [0.995, 2.5758293035489004],
  [0.9999, 3.719016485455709],
];

test('normalQuantile matches scipy.stats.norm.ppf to 1e-8 across both tails and the centre', () => {
  for (const [p, want] of SCIPY) assert.ok(Math.abs(normalQuantile(p) - want) <= 1e-8 * Math.max(1, Math.abs(want)), `p=${p}: ${normalQuantile(p)} vs ${want}`);
  assert.throws(() => normalQuantile(0), /p must be in \(0, 1\)/);
  assert.throws(() => normalQuantile(1), /p must be in \(0, 1\)/);
});
