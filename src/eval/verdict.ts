import type { ModelEvaluation } from './report-types.ts';

/** Forget quality at or above this cannot be told apart from the retain model (TOFU's reading of the KS p-value). */
export const FORGET_QUALITY_BAR = 0.05;
/** Model utility kept, as a fraction of the target's, for "keeps utility". */
export const UTILITY_BAR = 0.9;

/** Utility above this fraction of the target's is reported as higher, not as "kept" (run-to-run noise is below it). */
const UTILITY_ABOVE = 1.05;

/**
 * The target already answers the forget questions no more often than twice the retain model does: then no unlearning
 * run on it can show forgetting, and a verdict must not claim any.
 */
function targetNeverKnew(target: ModelEvaluation, reference: ModelEvaluation): boolean {
  return target.forget.probability <= 2 * reference.forget.probability;
}

/**
 * The KS test of forget quality cannot tell the target itself from the retain model (on few items it often cannot,
 * even when the target answers far more often): then forget quality of an unlearned model proves nothing either way.
 */
function forgetQualityBlind(target: ModelEvaluation): boolean {
  return target.forgetQuality !== null && target.forgetQuality >= FORGET_QUALITY_BAR;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const fmtP = (p: number): string => (p < 1e-3 ? p.toExponential(1) : p.toFixed(3));

/**
 * One line a data-protection officer can read: did the model forget like a model that never saw the data, what did
 * it cost, and does the evidence from attacks (relearning, probing) contradict the output metrics?
 */
export function verdictFor(m: ModelEvaluation, target: ModelEvaluation, reference: ModelEvaluation | null): string {
  if (!reference) return verdictWithoutReference(m, target);
  const nothingToForget = targetNeverKnew(target, reference);
  const knew = `probability ${target.forget.probability.toFixed(2)} vs retain model ${reference.forget.probability.toFixed(2)}`;
  if (m.role === 'target') {
    return nothingToForget
      ? `before unlearning: already does not answer the forget questions (${knew}): nothing to forget, so no run on it can show forgetting`
      : `before unlearning: answers the forget questions (probability ${m.forget.probability.toFixed(2)})`;
  }
  if (m.role === 'reference') return 'gold standard: never trained on the forget set';
  const parts: string[] = [];
  const fq = m.forgetQuality;
  if (nothingToForget) parts.push(`NOT JUDGED — the target never knew the forget set (${knew}), so this run shows nothing about forgetting`);
  else if (forgetQualityBlind(target)) {
    const gone = m.forget.probability <= 2 * reference.forget.probability;
    parts.push(`NOT JUDGED BY FORGET QUALITY — on these ${m.forget.items} items the KS test cannot tell even the target from the retain model `
      + `(target forget quality ${fmtP(target.forgetQuality!)}); by probability the answers are ${gone ? 'gone' : 'still there'} `
      + `(${m.forget.probability.toFixed(2)}; target ${target.forget.probability.toFixed(2)}, retain model ${reference.forget.probability.toFixed(2)})`);
  } else if (fq !== null && fq >= FORGET_QUALITY_BAR) parts.push(`FORGETS — indistinguishable from the retain model (forget quality ${fmtP(fq)})`);
  else if (m.forget.probability <= 2 * reference.forget.probability) parts.push(`PARTLY — answers gone, but truth ratios differ from the retain model (forget quality ${fq === null ? '—' : fmtP(fq)})`);
  else parts.push(`FAILS — still answers (forget probability ${m.forget.probability.toFixed(2)} vs ${reference.forget.probability.toFixed(2)})`);
  parts.push(utilityText(m, target));
  const mine = m.relearn.find((r) => r.mode === 'forget-part');
  const ref = reference.relearn.find((r) => r.mode === 'forget-part');
  if (mine && ref && mine.steps50 !== null && (ref.steps50 === null || mine.steps50 < ref.steps50)) {
    parts.push(`relearns fast (50% back after ${mine.steps50} steps; retain model: ${ref.steps50 ?? `>${ref.steps.at(-1)}`})`);
  }
  if (m.probe && reference.probe && m.probe.probeAccuracy >= reference.probe.probeAccuracy + 0.2 && m.probe.outputAccuracy < m.probe.probeAccuracy) {
    parts.push(`${m.probe.attribute} still decodable from layer ${m.probe.layer} (probe ${pct(m.probe.probeAccuracy)} vs retain model ${pct(reference.probe.probeAccuracy)}): suppression, not erasure`);
  }
  return parts.join('; ');
}

function utilityText(m: ModelEvaluation, target: ModelEvaluation): string {
  // Utility is a harmonic mean: one zero part makes it 0, and then no ratio means anything.
  if (!(target.modelUtility > 0)) return `utility ${m.modelUtility.toFixed(3)} (the target's is ${target.modelUtility.toFixed(3)}, so no ratio)`;
  const kept = m.modelUtility / target.modelUtility;
  if (kept > UTILITY_ABOVE) {
    // A harmonic mean rises when its smallest part does, even while the others fall: show the parts.
    const parts = [['retain probability', m.retain.probability, target.retain.probability], ['retain ROUGE-L', m.retain.rougeRecall, target.retain.rougeRecall],
      ...(m.world && target.world ? [['world ROUGE-L', m.world.rougeRecall, target.world.rougeRecall]] as const : [])] as const;
    const fell = parts.filter(([, a, b]) => a < b).map(([n, a, b]) => `${n} ${b.toFixed(3)} → ${a.toFixed(3)}`);
    return `utility ${pct(kept)} of the target's (its harmonic mean rose${fell.length > 0 ? `, yet ${fell.join(', ')}` : ''})`;
  }
  return kept >= UTILITY_BAR ? `keeps ${pct(kept)} of utility` : `loses utility (${pct(kept)} kept)`;
}

/** What an AUC of forget items against non-members says: 0.5 is indistinguishable, far from it either way is not. */
function miaReading(auc: number): string {
  if (auc > 0.6) return 'still told apart from unseen data: 0.5 would be indistinguishable';
  if (auc < 0.4) return 'over-unlearned: the forget items now look less familiar than unseen data, which also gives them away; 0.5 would be indistinguishable';
  return 'close to 0.5, indistinguishable from unseen data';
}

/**
 * Without a retain model only what the evidence at hand shows: the forget probability against the target's, how well
 * membership inference tells forget items from non-members (the holdout set), utility, and relearning; forget quality
 * and the "never learned" bars are named as not judged, never guessed.
 */
function verdictWithoutReference(m: ModelEvaluation, target: ModelEvaluation): string {
  const auc = m.mia.find((a) => a.attack === 'loss')?.auc;
  const mia = auc === undefined || !Number.isFinite(auc) ? '' : `; membership AUC ${auc.toFixed(2)} against non-members (${miaReading(auc)})`;
  if (m.role === 'target') return `before unlearning: forget probability ${m.forget.probability.toFixed(2)}${mia}`;
  const parts = [`NO RETAIN MODEL — forget probability ${m.forget.probability.toFixed(2)} (target ${target.forget.probability.toFixed(2)})${mia}; `
    + 'forget quality and the never-learned bars not judged (they need a retain model)'];
  parts.push(utilityText(m, target));
  const mine = m.relearn.find((r) => r.mode === 'forget-part');
  if (mine && mine.steps50 !== null) parts.push(`50% of the forget answers back after ${mine.steps50} relearning steps`);
  return parts.join('; ');
}
