import { judgeAttacks, type AttackJudgement, type AttackSummary, type MeasureJudgement } from './attacks/bar.ts';
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
    const head = nothingToForget
      ? `before unlearning: already does not answer the forget questions (${knew}): nothing to forget, so no run on it can show forgetting`
      : `before unlearning: answers the forget questions (probability ${m.forget.probability.toFixed(2)})`;
    return m.attacks === undefined ? head : `${head}; ${attackPower(judgeAttacks(m, null, reference))}`;
  }
  if (m.role === 'reference') return 'gold standard: never trained on the forget set';
  const parts: string[] = [];
  const fq = m.forgetQuality;
  // The attack suite (when this evaluation ran it): no model is called forgotten that an attack gets more out of
  // than the retain model.
  const attacks = m.attacks === undefined ? null : judgeAttacks(m, target, reference);
  const failed = attacks?.judged.filter((j) => j.status === 'failed') ?? [];
  const butAttacks = failed.length > 0 ? `, but ${failed.length === 1 ? 'an attack recovers' : `${failed.length} attacks recover`} clearly more than from the retain model (${failed.map(failedText).join('; ')})` : '';
  if (nothingToForget) parts.push(`NOT JUDGED — the target never knew the forget set (${knew}), so this run shows nothing about forgetting`);
  else if (forgetQualityBlind(target)) {
    const gone = m.forget.probability <= 2 * reference.forget.probability;
    parts.push(`NOT JUDGED BY FORGET QUALITY — on these ${m.forget.items} items the KS test cannot tell even the target from the retain model `
      + `(target forget quality ${fmtP(target.forgetQuality!)}); by probability the answers are ${gone ? 'gone' : 'still there'} `
      + `(${m.forget.probability.toFixed(2)}; target ${target.forget.probability.toFixed(2)}, retain model ${reference.forget.probability.toFixed(2)})`);
  } else if (fq !== null && fq >= FORGET_QUALITY_BAR) {
    parts.push(failed.length > 0 ? `RECOVERABLE — indistinguishable from the retain model on the plain questions (forget quality ${fmtP(fq)})${butAttacks}`
      : `FORGETS — indistinguishable from the retain model (forget quality ${fmtP(fq)})`);
  } else if (m.forget.probability <= 2 * reference.forget.probability) {
    parts.push(failed.length > 0 ? `RECOVERABLE — answers gone on the plain questions (forget quality ${fq === null ? '—' : fmtP(fq)})${butAttacks}`
      : `PARTLY — answers gone, but truth ratios differ from the retain model (forget quality ${fq === null ? '—' : fmtP(fq)})`);
  } else parts.push(`FAILS — still answers (forget probability ${m.forget.probability.toFixed(2)} vs ${reference.forget.probability.toFixed(2)})`);
  parts.push(utilityText(m, target));
  if (attacks) parts.push(attackText(attacks, m.attacks!.length === 0));
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

const num = (x: number): string => x.toFixed(2);

function measureText(x: MeasureJudgement): string {
  return `${x.label}${x.layer !== undefined ? ` (layer ${x.layer})` : ''} ${num(x.value)} vs ${num(x.bar)}`;
}

/** A failed attack in a few words: its worst number against the retain model's, or how fast it relearned. */
function failedText(j: AttackJudgement): string {
  const worst = j.measures.filter((x) => !x.passed).sort((a, b) => b.excess - a.excess)[0];
  if (worst) return `${j.label}: ${measureText(worst)}`;
  const s = j.speed!;
  return `${j.label}: 50% back after ${s.steps50} steps; retain model: ${s.barSteps50 ?? `>${s.lastStep}`}`;
}

/**
 * What the attack suite showed, never more: how many attacks were judged and failed, the worst number, the attacks
 * that cannot show anything here (the target itself is not above the retain model) and those not measured.
 */
export function attackText(a: AttackSummary, noneRequested: boolean): string {
  const by = (status: AttackJudgement['status']): AttackJudgement[] => a.judged.filter((j) => j.status === status);
  const judged = a.judged.filter((j) => j.status !== 'not measured');
  if (judged.length === 0) {
    const nm = by('not measured');
    return noneRequested && nm.length === 0 ? 'no attack suite run: robustness to attacks not measured'
      : `no attack could be judged against the retain model${nm.length > 0 ? ` (${nm.map((j) => `${j.label}: ${j.why}`).join('; ')})` : ''}`;
  }
  const failed = by('failed');
  const parts = [`attacks: ${failed.length} of ${judged.length} recover clearly more than from the retain model`];
  if (a.worst) parts.push(`worst: ${a.worst.label}, ${measureText(a.worst.measure)}${a.worst.measure.passed ? ' (within the allowance)' : ''}`);
  const weak = by('uninformative');
  if (weak.length > 0) parts.push(`uninformative here (the target itself is not above the retain model): ${weak.map((j) => j.label).join(', ')}`);
  const nm = by('not measured');
  if (nm.length > 0) parts.push(`not measured: ${nm.map((j) => `${j.label} (${j.why})`).join(', ')}`);
  return parts.join('; ');
}

/** For the target: which attacks find the forget facts at all (above the retain model), i.e. can show anything. */
function attackPower(a: AttackSummary): string {
  const judged = a.judged.filter((j) => j.status !== 'not measured');
  if (judged.length === 0) return 'no attack could be judged against the retain model';
  const finds = judged.filter((j) => j.status === 'failed');
  return `attacks that find more than in the retain model: ${finds.length} of ${judged.length}${finds.length > 0 ? ` (${finds.map((j) => j.label).join(', ')})` : ''}`;
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
  const ran = (m.attacks ?? []).filter((a) => !a.notApplicable).length;
  if (ran > 0) parts.push(`${ran} attack${ran === 1 ? '' : 's'} run, not judged (their bar is the retain model's value)`);
  return parts.join('; ');
}
