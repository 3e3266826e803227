/**
 * The bars of "true forgetting" (an unlearned model statistically indistinguishable from the retain model, and staying
 * so under attack), each judged on an evaluation against the retain model, and the choice of the best unlearned model
 * of a comparison by them. A bar whose evidence is missing is "not judged", never met.
 */
import type { ModelEvaluation } from './report-types.ts';
import { FORGET_QUALITY_BAR } from './verdict.ts';

/** Model utility kept, as a fraction of the target's. */
export const GOAL_UTILITY = 0.95;
/** The loss attack's AUC (forget items vs non-members) within this of the retain model's. */
export const GOAL_MIA_GAP = 0.05;
/** The hidden-state probe's accuracy within this (5 points) of the retain model's. */
export const GOAL_PROBE_GAP = 0.05;
/** Relearning to 50% takes at least this fraction of the retain model's steps. */
export const GOAL_RELEARN_FRACTION = 0.5;

export type GoalId = 'forget-quality' | 'utility' | 'mia' | 'probe' | 'relearn';

export interface GoalCheck {
  id: GoalId;
  /** met / missed, or null when the evaluation has no evidence for it (then `text` says why). */
  met: boolean | null;
  /** The value against the bar, in words: "forget quality 0.0012 < 0.05". */
  text: string;
}

const f2 = (x: number): string => x.toFixed(2);
/** |a − b| ≤ gap, with the gap read as written (0.55 − 0.5 is 0.05000000000000004 in binary). */
const within = (a: number, b: number, gap: number): boolean => Math.abs(a - b) <= gap + 1e-12;
const fq = (p: number): string => (p < 1e-3 ? p.toExponential(1) : p.toFixed(3));

/** Every bar for an unlearned model m, judged against the target (utility) and the retain model (the rest). */
export function goalChecks(m: ModelEvaluation, target: ModelEvaluation, reference: ModelEvaluation): GoalCheck[] {
  const checks: GoalCheck[] = [];
  checks.push(m.forgetQuality === null
    ? { id: 'forget-quality', met: null, text: 'forget quality not measured' }
    : { id: 'forget-quality', met: m.forgetQuality >= FORGET_QUALITY_BAR, text: `forget quality ${fq(m.forgetQuality)} ${m.forgetQuality >= FORGET_QUALITY_BAR ? '≥' : '<'} ${FORGET_QUALITY_BAR}` });
  if (target.modelUtility > 0) {
    const kept = m.modelUtility / target.modelUtility;
    checks.push({ id: 'utility', met: kept >= GOAL_UTILITY, text: `utility ${f2(kept)}× the target's (bar ${GOAL_UTILITY}×)` });
  } else checks.push({ id: 'utility', met: null, text: 'utility: the target\'s is 0, so no ratio' });
  const auc = m.mia.find((a) => a.attack === 'loss')?.auc;
  const refAuc = reference.mia.find((a) => a.attack === 'loss')?.auc;
  checks.push(auc === undefined || refAuc === undefined
    ? { id: 'mia', met: null, text: 'MIA AUC not measured' }
    : { id: 'mia', met: within(auc, refAuc, GOAL_MIA_GAP), text: `MIA AUC ${f2(auc)} vs retain model ${f2(refAuc)} (bar ±${GOAL_MIA_GAP})` });
  checks.push(!m.probe || !reference.probe
    ? { id: 'probe', met: null, text: `probe not measured${m.probeSkipped ? ` (${m.probeSkipped})` : ''}` }
    : {
      id: 'probe', met: within(m.probe.probeAccuracy, reference.probe.probeAccuracy, GOAL_PROBE_GAP),
      text: `probe ${Math.round(m.probe.probeAccuracy * 100)}% vs retain model ${Math.round(reference.probe.probeAccuracy * 100)}% (bar ±${GOAL_PROBE_GAP * 100} points)`,
    });
  const mine = m.relearn.find((r) => r.mode === 'forget-part');
  const ref = reference.relearn.find((r) => r.mode === 'forget-part');
  if (!mine || !ref) checks.push({ id: 'relearn', met: null, text: 'relearning not measured' });
  else {
    // A curve that never reached 50% took more than its last step. When the retain model's did not, its steps are
    // only known to exceed its horizon H: a model at H/2 or sooner misses the bar, one that also never reached 50%
    // meets it, and one in between cannot be judged without a longer relearning run.
    const shown = (s: number | null, r: typeof mine): string => (s !== null ? String(s) : `>${r.steps.at(-1) ?? 0}`);
    const text = `50% relearned after ${shown(mine.steps50, mine)} steps vs retain model ${shown(ref.steps50, ref)} (bar ≥ ${GOAL_RELEARN_FRACTION}×)`;
    let met: boolean | null;
    if (ref.steps50 !== null) met = mine.steps50 === null || mine.steps50 >= GOAL_RELEARN_FRACTION * ref.steps50;
    else if (mine.steps50 === null) met = true;
    else met = mine.steps50 <= GOAL_RELEARN_FRACTION * (ref.steps.at(-1) ?? 0) ? false : null;
    checks.push({ id: 'relearn', met, text: met === null ? `${text}: the retain model did not reach 50% within its ${ref.steps.at(-1) ?? 0} steps, so the bar is not known; a longer relearning run would judge it` : text });
  }
  return checks;
}

export interface BestMethod {
  name: string;
  checks: GoalCheck[];
  /** One line: which model, and why it ranks first. */
  line: string;
}

/**
 * The unlearned model that meets the most bars; ties go to the higher forget quality, then the higher utility. Null
 * without a target, a retain model or an unlearned model.
 */
export function bestMethod(models: readonly ModelEvaluation[]): BestMethod | null {
  const target = models.find((m) => m.role === 'target');
  const reference = models.find((m) => m.role === 'reference');
  const runs = models.filter((m) => m.role === 'unlearned');
  if (!target || !reference || runs.length === 0) return null;
  const scored = runs.map((m) => ({ m, checks: goalChecks(m, target, reference) }));
  const metCount = (c: GoalCheck[]): number => c.filter((x) => x.met === true).length;
  scored.sort((a, b) => metCount(b.checks) - metCount(a.checks)
    || (b.m.forgetQuality ?? -1) - (a.m.forgetQuality ?? -1)
    || b.m.modelUtility - a.m.modelUtility);
  const best = scored[0]!;
  const met = best.checks.filter((c) => c.met === true);
  const missed = best.checks.filter((c) => c.met === false);
  const unjudged = best.checks.filter((c) => c.met === null);
  const others = scored.slice(1).map((s) => `${s.m.name} ${metCount(s.checks)}`).join(', ');
  const line = `best method here: ${best.m.name} — meets ${met.length} of ${best.checks.length} bars of true forgetting`
    + (met.length > 0 ? ` (${met.map((c) => c.text).join('; ')})` : '')
    + (missed.length > 0 ? `; misses ${missed.map((c) => c.text).join('; ')}` : '')
    + (unjudged.length > 0 ? `; not judged: ${unjudged.map((c) => c.text).join('; ')}` : '')
    + (others ? `; the others meet ${others}; ties go to the higher forget quality` : '');
  return { name: best.m.name, checks: best.checks, line };
}
