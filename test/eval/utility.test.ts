import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { harmonicMean, modelUtility, optionNormalisedProbability } from '../../src/eval/utility.ts';

const fx = JSON.parse(readFileSync(new URL('../fixtures/eval/scores.json', import.meta.url), 'utf8'));

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

test('harmonicMean equals scipy.stats.hmean (zero gives zero)', () => {
  for (const c of fx.hmean) close(harmonicMean(c.values), c.hmean, JSON.stringify(c.values));
  assert.equal(harmonicMean([0.5, 0, 0.9]), 0);
  assert.throws(() => harmonicMean([0.5, -0.1]), RangeError);
  assert.throws(() => harmonicMean([]), RangeError);
});

test('option-normalised probability (world facts / real authors) matches open-unlearning and TOFU', () => {
  const c = fx.normalised_probability;
  close(optionNormalisedProbability(c.correct_mean_logprob, c.wrong_mean_logprobs), c['value_eps1e-10'], 'open-unlearning');
  close(optionNormalisedProbability(c.correct_mean_logprob, c.wrong_mean_logprobs, { epsilon: 0 }), c.value_tofu, 'TOFU');
});

test('model utility: harmonic mean over probability, ROUGE-L and truth ratio of each utility set', () => {
  const retain = { probability: 0.9, rougeL: 0.8, truthRatio: 0.5 };
  const worldFacts = { probability: 0.4, rougeL: 0.85, truthRatio: 0.6 };
  const mu = modelUtility({ retain, worldFacts });
  assert.deepEqual(Object.keys(mu.components), ['retain.probability', 'retain.rougeL', 'retain.truthRatio', 'worldFacts.probability', 'worldFacts.rougeL', 'worldFacts.truthRatio']);
  close(mu.value, 6 / (1 / 0.9 + 1 / 0.8 + 1 / 0.5 + 1 / 0.4 + 1 / 0.85 + 1 / 0.6), 'hmean of 6');
  const nine = modelUtility({ retain, worldFacts, realAuthors: { probability: 0.5, rougeL: 0.7, truthRatio: 0.55 } });
  assert.equal(Object.keys(nine.components).length, 9);
  assert.equal(modelUtility({ retain: { ...retain, rougeL: 0 }, worldFacts }).value, 0);
});
