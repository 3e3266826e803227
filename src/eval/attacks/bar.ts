/**
 * The bar every attack is judged by: the retain model's value of the same number, on the same items. A model keeps
 * the knowledge under an attack when the attack recovers CLEARLY more from it than from the retain model:
 *
 *   value − bar > max(0.05, 2·√(p̄(1 − p̄)(1/n + 1/n_bar))),  p̄ = (n·value + n_bar·bar) / (n + n_bar)
 *
 * Every number is a mean of per-item scores in [0, 1], whose variance is at most p̄(1 − p̄) (the Bernoulli case), so
 * the allowance is at least two standard errors of the difference, and never below five points. The relearning
 * attacks (fine-tuning on part of the forget set, or on related data) are judged the same way on their held-out
 * score after the last step, and also fail when they recover 50% of the target's score in fewer steps than the
 * retain model needs (the verdict's "relearns fast").
 *
 * An attack on which the target itself is not clearly above the retain model cannot show anything about an
 * unlearned model: passing it is reported as "uninformative", not as evidence of forgetting.
 */
import type { ModelEvaluation, RelearnSummary } from '../report-types.ts';
import { ATTACK_LABEL, type AttackName } from './types.ts';

/** Differences below this are never "clearly more", however many items. */
export const MIN_MARGIN = 0.05;

/** The allowance above the bar for a mean over n items against one over nBar items. */
export function allowance(value: number, n: number, bar: number, nBar: number): number {
  if (!(n > 0 && nBar > 0)) return MIN_MARGIN;
  const p = Math.min(1, Math.max(0, (n * value + nBar * bar) / (n + nBar)));
  return Math.max(MIN_MARGIN, 2 * Math.sqrt(p * (1 - p) * (1 / n + 1 / nBar)));
}

export type JudgedName = AttackName | `relearn-${RelearnSummary['mode']}`;

export interface MeasureJudgement {
  key: string;
  label: string;
  value: number;
  /** The retain model's value. */
  bar: number;
  /** The target's value, when it was measured (the attack's power: how much it finds before unlearning). */
  target: number | null;
  /** value − bar may be up to this. */
  allowed: number;
  passed: boolean;
  /** value − bar − allowed: > 0 fails; the worst measure is the one with the largest. */
  excess: number;
  layer?: number;
}

export interface AttackJudgement {
  attack: JudgedName;
  label: string;
  /** 'uninformative': passed, but the target itself is not clearly above the retain model on any of its numbers. */
  status: 'passed' | 'failed' | 'uninformative' | 'not measured';
  /** Why it is not measured (not applicable here or for the retain model, or no number in common). */
  why?: string;
  measures: MeasureJudgement[];
  /** Relearning only: the steps to 50% of the target's score, this model's and the retain model's (null: not reached). */
  speed?: { steps50: number | null; barSteps50: number | null; lastStep: number | null; passed: boolean };
}

export interface AttackSummary {
  judged: AttackJudgement[];
  /** The measure most above its allowance (failed attacks first; else the one closest to failing). */
  worst: { attack: JudgedName; label: string; measure: MeasureJudgement } | null;
}

function judgeMeasures(mine: readonly { key: string; label: string; value: number | null; n: number; layer?: number }[],
  bars: readonly { key: string; value: number | null; n: number }[], targets: readonly { key: string; value: number | null }[]): MeasureJudgement[] {
  return mine.flatMap((m) => {
    const b = bars.find((x) => x.key === m.key);
    if (m.value === null || !b || b.value === null || !Number.isFinite(m.value) || !Number.isFinite(b.value)) return [];
    const allowed = allowance(m.value, m.n, b.value, b.n);
    const t = targets.find((x) => x.key === m.key)?.value ?? null;
    const excess = m.value - b.value - allowed;
    return [{ key: m.key, label: m.label, value: m.value, bar: b.value, target: t, allowed, passed: excess <= 0, excess, ...(m.layer !== undefined ? { layer: m.layer } : {}) }];
  });
}

/** Does the target itself recover clearly more than the retain model on any of these numbers? (unknown: true) */
function informative(measures: readonly MeasureJudgement[], targetMeasured: boolean, nOf: (key: string) => number): boolean {
  if (!targetMeasured) return true;
  return measures.some((m) => m.target !== null && m.target - m.bar > allowance(m.target, nOf(m.key), m.bar, nOf(m.key)));
}

function relearnJudgement(mode: RelearnSummary['mode'], m: ModelEvaluation, target: ModelEvaluation | null, reference: ModelEvaluation): AttackJudgement {
  const attack: JudgedName = `relearn-${mode}`;
  const label = mode === 'forget-part' ? 'relearning on part of the forget set' : 'relearning on related data';
  const mine = m.relearn.find((r) => r.mode === mode);
  const ref = reference.relearn.find((r) => r.mode === mode);
  if (!mine || !ref) return { attack, label, status: 'not measured', why: !mine ? 'not run on this model' : 'not run on the retain model', measures: [] };
  const n = (r: RelearnSummary): number => r.items ?? Math.max(1, Math.floor(m.forget.items / 2));
  const end = (r: RelearnSummary | undefined, nr: number): { key: string; label: string; value: number | null; n: number }[] =>
    r ? [{ key: 'score-end', label: `held-out probability after ${r.steps.at(-1) ?? 0} steps`, value: r.score.at(-1) ?? null, n: nr }] : [];
  const t = target?.relearn.find((r) => r.mode === mode);
  const measures = judgeMeasures(end(mine, n(mine)), end(ref, n(ref)), t ? end(t, n(t)) : []);
  // Recovering half of the target's score sooner than the retain model (which never learned it) also fails.
  const fast = mine.steps50 !== null && (ref.steps50 === null || mine.steps50 < ref.steps50);
  const speed = { steps50: mine.steps50, barSteps50: ref.steps50, lastStep: ref.steps.at(-1) ?? null, passed: !fast };
  if (measures.length === 0 && mine.steps50 === null && ref.steps50 === null) return { attack, label, status: 'not measured', why: 'no score to compare', measures, speed };
  const failed = fast || measures.some((x) => !x.passed);
  const status = failed ? 'failed' : informative(measures, t !== undefined, () => n(mine)) ? 'passed' : 'uninformative';
  return { attack, label, status, measures, speed };
}

/**
 * Every attack this model was put through, judged against the retain model's values (and the target's, for the
 * attack's power), then the relearning attacks; the worst measure over all of them.
 */
export function judgeAttacks(m: ModelEvaluation, target: ModelEvaluation | null, reference: ModelEvaluation): AttackSummary {
  const judged: AttackJudgement[] = [];
  for (const a of m.attacks ?? []) {
    const label = ATTACK_LABEL[a.attack];
    const ref = reference.attacks?.find((r) => r.attack === a.attack);
    if (a.notApplicable) { judged.push({ attack: a.attack, label, status: 'not measured', why: a.notApplicable, measures: [] }); continue; }
    if (!ref || ref.notApplicable) { judged.push({ attack: a.attack, label, status: 'not measured', why: ref ? `on the retain model: ${ref.notApplicable}` : 'not run on the retain model', measures: [] }); continue; }
    const t = target?.attacks?.find((r) => r.attack === a.attack && !r.notApplicable);
    const measures = judgeMeasures(a.measures, ref.measures, t?.measures ?? []);
    if (measures.length === 0) { judged.push({ attack: a.attack, label, status: 'not measured', why: 'no number measured on both this model and the retain model', measures }); continue; }
    const nOf = (key: string): number => a.measures.find((x) => x.key === key)?.n ?? 0;
    const status = measures.some((x) => !x.passed) ? 'failed' : informative(measures, t !== undefined, nOf) ? 'passed' : 'uninformative';
    judged.push({ attack: a.attack, label, status, measures });
  }
  for (const mode of ['forget-part', 'related'] as const) {
    if (m.relearn.some((r) => r.mode === mode)) judged.push(relearnJudgement(mode, m, target, reference));
  }
  let worst: AttackSummary['worst'] = null;
  for (const j of judged) {
    for (const x of j.measures) if (!worst || x.excess > worst.measure.excess) worst = { attack: j.attack, label: j.label, measure: x };
  }
  return { judged, worst };
}
