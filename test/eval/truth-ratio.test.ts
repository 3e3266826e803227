import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { forgetQuality } from '../../src/eval/forget-quality.ts';
import { ks2samp } from '../../src/eval/ks.ts';
import { forgetTruthRatio, retainTruthRatio, truthRatios } from '../../src/eval/truth-ratio.ts';

const fx = JSON.parse(readFileSync(new URL('../fixtures/eval/scores.json', import.meta.url), 'utf8')).truth_ratio;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

test('per-item truth ratios match open-unlearning (ε = 1e-10) and TOFU (ε = 0)', () => {
  const ou = truthRatios(fx.paraphrased_mean_logprob, fx.perturbed_mean_logprobs);
  const tofu = truthRatios(fx.paraphrased_mean_logprob, fx.perturbed_mean_logprobs, { epsilon: 0 });
  fx['tr_eps1e-10'].forEach((v: number, i: number) => close(ou[i]!, v, `TR ${i}`));
  fx.tr_eps0.forEach((v: number, i: number) => close(tofu[i]!, v, `TR(ε=0) ${i}`));
  // Item 0's paraphrase has mean log-prob −30: there the 1e-10 changes the ratio by orders of magnitude.
  assert.ok(tofu[0]! / ou[0]! > 1e3);
});

test('forget and retain aggregates', () => {
  const ou = truthRatios(fx.paraphrased_mean_logprob, fx.perturbed_mean_logprobs);
  const tofu = truthRatios(fx.paraphrased_mean_logprob, fx.perturbed_mean_logprobs, { epsilon: 0 });
  close(forgetTruthRatio(ou), fx['forget_eps1e-10'], 'forget');
  close(retainTruthRatio(ou), fx['retain_eps1e-10'], 'retain');
  close(forgetTruthRatio(tofu, { epsilon: 0 }), fx.forget_tofu, 'forget (TOFU script)');
  close(retainTruthRatio(tofu), fx.retain_tofu, 'retain (TOFU script)');
  // True and false answers equally likely: TR = 1, the best forget score and the worst retain score.
  const tr = truthRatios([-1, -2], [[-1, -1], [-3, -1]], { epsilon: 0 });
  assert.deepEqual([...tr], [1, 1]);
  assert.equal(forgetTruthRatio(tr, { epsilon: 0 }), 1);
  assert.equal(retainTruthRatio(tr), 0);
  assert.throws(() => truthRatios([-1], []), RangeError);
  assert.throws(() => truthRatios([-1], [[]]), RangeError);
});

test('forget quality is the KS p-value of the two models\' forget truth ratios (and invariant under TR → 1/TR)', () => {
  const a = truthRatios(fx.paraphrased_mean_logprob.slice(0, 20), fx.perturbed_mean_logprobs.slice(0, 20));
  const b = truthRatios(fx.paraphrased_mean_logprob.slice(20), fx.perturbed_mean_logprobs.slice(20));
  const fq = forgetQuality(a, b);
  assert.deepEqual(fq, ks2samp(a, b));
  // TOFU's script tests exp(pert loss − para loss) = 1/TR: same statistic, same p-value.
  const inv = ks2samp(a.map((v) => 1 / v), b.map((v) => 1 / v));
  assert.equal(inv.statistic, fq.statistic);
  assert.equal(inv.pValue, fq.pValue);
  assert.equal(forgetQuality(a, a).pValue, 1);
});
