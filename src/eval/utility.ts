/**
 * TOFU's model utility: the harmonic mean of the utility-set scores, so that one collapsed score drags the whole
 * number down (any zero gives zero). Exactly which numbers enter (TOFU aggregate_eval_stat.py get_model_utility;
 * open-unlearning configs/eval/tofu_metrics/model_utility.yaml, handler hm_aggregate = scipy.stats.hmean):
 *
 *   for each utility set — retain persons, world facts, and real authors where that set exists —
 *     probability  retain: mean over items of exp(mean answer-token log-prob)            (probability.ts)
 *                  world facts / real authors: the option-normalised probability below
 *     ROUGE-L      mean ROUGE-L recall (stemmed) of the greedy answer against the true answer
 *     truth ratio  retainTruthRatio(): mean max(0, 1 − TR); the true side is the paraphrased answer for retain,
 *                  the given answer for world facts / real authors
 *
 * i.e. 9 numbers in TOFU (3 sets × 3), 6 when there is no real-authors set. The forget set never enters.
 */

export interface UtilitySetScores {
  probability: number;
  rougeL: number;
  truthRatio: number;
}

export interface UtilityInputs {
  retain: UtilitySetScores;
  worldFacts: UtilitySetScores;
  realAuthors?: UtilitySetScores;
}

export interface ModelUtility {
  value: number;
  /** The numbers that entered the harmonic mean, by name (e.g. "retain.probability"). */
  components: Record<string, number>;
}

export function modelUtility(inputs: UtilityInputs): ModelUtility {
  const components: Record<string, number> = {};
  const sets: [string, UtilitySetScores | undefined][] = [['retain', inputs.retain], ['realAuthors', inputs.realAuthors], ['worldFacts', inputs.worldFacts]];
  for (const [set, s] of sets) {
    if (!s) continue;
    components[`${set}.probability`] = s.probability;
    components[`${set}.rougeL`] = s.rougeL;
    components[`${set}.truthRatio`] = s.truthRatio;
  }
  return { value: harmonicMean(Object.values(components)), components };
}

/** scipy.stats.hmean: n / Σ 1/v; 0 if any value is 0; negative values are an error. */
export function harmonicMean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('harmonicMean of no values');
  let inv = 0;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v < 0) throw new RangeError(`harmonicMean needs values >= 0, got ${v}`);
    if (v === 0) return 0;
    inv += 1 / v;
  }
  return values.length / inv;
}

/**
 * TOFU's probability for sets with wrong options (world facts, real authors): per item
 * P(true) / (P(true) + Σ_j P(wrong_j) + ε), each P = exp(mean token log-prob of that answer), averaged over items
 * (open-unlearning probability_w_options, ε = 1e-10; TOFU's own script has ε = 0). A model that prefers the true
 * answer to every listed wrong one scores near 1; one that has no idea scores near 1/(1 + #options).
 */
export function optionNormalisedProbability(trueMeanLogProbs: ArrayLike<number>, wrongMeanLogProbs: readonly ArrayLike<number>[], options: { epsilon?: number } = {}): number {
  const eps = options.epsilon ?? 1e-10;
  const n = trueMeanLogProbs.length;
  if (n === 0) throw new RangeError('optionNormalisedProbability of no items');
  if (wrongMeanLogProbs.length !== n) throw new RangeError(`optionNormalisedProbability: ${n} true answers but ${wrongMeanLogProbs.length} lists of wrong answers`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const pTrue = Math.exp(trueMeanLogProbs[i]!);
    let pWrong = 0;
    const wrong = wrongMeanLogProbs[i]!;
    for (let j = 0; j < wrong.length; j++) pWrong += Math.exp(wrong[j]!);
    total += pTrue / (pTrue + pWrong + eps);
  }
  return total / n;
}
