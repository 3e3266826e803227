/**
 * TOFU's truth ratio, as open-unlearning computes it (src/evals/metrics/memorization.py: truth_ratio), from
 * per-answer *mean* token log-probabilities (what scoreAnswers(...).mean gives; open-unlearning's avg_loss is its
 * negative), so every answer is length-normalised on its own:
 *
 *   P_true(i)  = exp(mean log-prob of item i's paraphrased answer)         (the correct answer for world facts)
 *   P_false(i) = exp(mean over the perturbed answers j of their mean log-prob)
 *              = geometric mean of the perturbed answers' per-token probabilities
 *   TR(i)      = P_false(i) / (P_true(i) + ε)        ε = 1e-10 in open-unlearning; TOFU's own code has none
 *
 * A model that knows the fact puts more mass on the true answer than on wrong ones: TR ≪ 1. A model that never
 * saw it finds true and false answers about equally likely: TR ≈ 1.
 *
 * Aggregates (the per-item TRs feed forget quality, see forget-quality.ts):
 * - forget set ("closer_to_1_better"): mean of min(TR, 1/(TR + ε)) — 1 when true and false are equally likely;
 * - other sets ("true_better"): mean of max(0, 1 − TR) — 1 when the true answer dominates.
 */

export interface TruthRatioOptions {
  /**
   * Added to P_true in the ratio, and to TR in the forget aggregate's 1/TR, as open-unlearning does (default
   * 1e-10). 0 reproduces TOFU's original aggregate_eval_stat.py. It only matters once P_true is below ~1e-6,
   * i.e. for answers a model has all but erased.
   */
  epsilon?: number;
}

const DEFAULT_EPSILON = 1e-10;

/**
 * Per-item truth ratios. `trueMeanLogProbs[i]` is the mean token log-prob of item i's paraphrased (or correct)
 * answer; `perturbedMeanLogProbs[i]` the mean token log-probs of its perturbed answers.
 */
export function truthRatios(trueMeanLogProbs: ArrayLike<number>, perturbedMeanLogProbs: readonly ArrayLike<number>[], options: TruthRatioOptions = {}): Float64Array {
  const eps = options.epsilon ?? DEFAULT_EPSILON;
  const n = trueMeanLogProbs.length;
  if (perturbedMeanLogProbs.length !== n) throw new RangeError(`truthRatios: ${n} true answers but ${perturbedMeanLogProbs.length} lists of perturbed answers`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pert = perturbedMeanLogProbs[i]!;
    if (pert.length === 0) throw new RangeError(`truthRatios: item ${i} has no perturbed answers`);
    // open-unlearning averages the perturbed answers' avg_loss (= −mean log-prob) before exponentiating.
    let lossSum = 0;
    for (let j = 0; j < pert.length; j++) lossSum += -pert[j]!;
    const pFalse = Math.exp(-(lossSum / pert.length));
    const pTrue = Math.exp(trueMeanLogProbs[i]!);
    out[i] = pFalse / (pTrue + eps);
  }
  return out;
}

/** Forget-set aggregate: mean of min(TR, 1/(TR + ε)); 1 = the model cannot tell true from false answers. */
export function forgetTruthRatio(trs: ArrayLike<number>, options: TruthRatioOptions = {}): number {
  const eps = options.epsilon ?? DEFAULT_EPSILON;
  return meanOf(trs, (tr) => Math.min(tr, 1 / (tr + eps)));
}

/** Retain / real-authors / world-facts aggregate: mean of max(0, 1 − TR); 1 = the true answer dominates. */
export function retainTruthRatio(trs: ArrayLike<number>): number {
  return meanOf(trs, (tr) => Math.max(0, 1 - tr));
}

function meanOf(values: ArrayLike<number>, f: (v: number) => number): number {
  if (values.length === 0) throw new RangeError('truth ratio aggregate of no items');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += f(values[i]!);
  return s / values.length;
}
