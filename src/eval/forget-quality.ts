import { ks2samp, type KsResult } from './ks.ts';

/**
 * TOFU's forget quality: the p-value of a two-sample Kolmogorov–Smirnov test between the per-item truth ratios
 * of the unlearned model on the forget set and those of the retain model (trained without the forget set) on the
 * same items — open-unlearning's ks_test on forget_truth_ratio's value_by_index, scipy.stats.ks_2samp with its
 * defaults. High (≥ 0.05, ideally near 1): the unlearned model's truth ratios are distributed like a model that
 * never saw the data. Pass per-item ratios from truthRatios() with the same epsilon for both models.
 *
 * TOFU's original script ran the test on exp(perturbed loss − paraphrased loss) = 1/TR instead; the KS statistic
 * depends only on the order of the pooled values, which 1/x reverses for both samples alike, so the p-value is
 * the same.
 */
export function forgetQuality(unlearnedForgetTruthRatios: ArrayLike<number>, retainModelForgetTruthRatios: ArrayLike<number>): KsResult {
  return ks2samp(unlearnedForgetTruthRatios, retainModelForgetTruthRatios);
}
