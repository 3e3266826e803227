/**
 * ROC AUC of two groups of scores, by the Mann–Whitney identity: AUC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) over all pairs
 * (one score from each group), computed from average ranks so that ties count one half. This is exactly what
 * sklearn.metrics.roc_auc_score(y, s) returns with y = 1 for `positives` (its trapezoidal ROC integrates tied
 * thresholds as a diagonal segment, which is the same half credit).
 *
 * Convention: `positives` are the group expected to score HIGHER. AUC 1 = every positive scores above every
 * negative, 0.5 = the scores do not separate the groups, 0 = every positive scores below. For membership
 * inference see `membershipAuc` in mia.ts, which fixes which group is "positive" for loss-like attack scores.
 */
export function rocAuc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const nPos = positives.length;
  const nNeg = negatives.length;
  // sklearn raises on a single class; an AUC over an empty group is undefined.
  if (nPos === 0 || nNeg === 0) throw new RangeError('rocAuc needs at least one positive and one negative score');
  const n = nPos + nNeg;
  const scores = new Float64Array(n);
  for (let i = 0; i < nPos; i++) scores[i] = positives[i]!;
  for (let i = 0; i < nNeg; i++) scores[nPos + i] = negatives[i]!;
  for (const s of scores) if (Number.isNaN(s)) throw new RangeError('rocAuc: scores contain NaN');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Sum of the positives' 1-based ranks, tied runs sharing the mean of their ranks. Ranks are multiples of ½,
  // so the sum is exact in float64 for any realistic n.
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const avgRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (order[k]! < nPos) rankSum += avgRank;
    start = end;
  }
  const u = rankSum - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}
