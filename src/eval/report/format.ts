/**
 * Number and cell formatting shared by the HTML report and the printed table, so both show the same digits.
 * Missing values (null, a model without a relearning run, without a probe, without an attack) are "—".
 */
import { judgeAttacks, type AttackSummary } from '../attacks/bar.ts';
import type { EvalReport, MiaResult, ModelEvaluation, RelearnSummary } from '../report-types.ts';

export const DASH = '—';

function finite(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A fixed-point number (probabilities, ROUGE-L, truth ratios, utility, AUC: 3 digits). */
export function fmtNum(x: number | null | undefined, digits = 3): string {
  return finite(x) ? x.toFixed(digits) : DASH;
}

/** A p-value: fixed point from 0.001 up, scientific notation below ("3.2e-5"), "0" for an underflowed 0. */
export function fmtP(p: number | null | undefined): string {
  if (!finite(p)) return DASH;
  if (p === 0) return '0';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** A signed percentage-like number (PrivLeak): "+12.3", "-4.0", "0.0". */
export function fmtSigned(x: number | null | undefined, digits = 1): string {
  if (!finite(x)) return DASH;
  const s = x.toFixed(digits);
  return x > 0 && Number(s) !== 0 ? `+${s}` : s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s;
}

/** The AUC of one attack, or null when the model was not attacked that way. */
export function miaAuc(model: ModelEvaluation, attack: MiaResult['attack']): number | null {
  const hit = model.mia.find((m) => m.attack === attack);
  return hit && finite(hit.auc) ? hit.auc : null;
}

const RELEARN_MODES: readonly RelearnSummary['mode'][] = ['forget-part', 'related'];

/** The relearning modes any model in the report was attacked with, in a fixed order. */
export function relearnModes(report: EvalReport): RelearnSummary['mode'][] {
  return RELEARN_MODES.filter((mode) => report.models.some((m) => m.relearn.some((r) => r.mode === mode)));
}

export function relearnOf(model: ModelEvaluation, mode: RelearnSummary['mode']): RelearnSummary | undefined {
  return model.relearn.find((r) => r.mode === mode);
}

/**
 * Steps to recover a fraction of the target's held-out forget score. "—" when the model was not attacked in that
 * mode; ">N" when the attack ran N steps and the score never got there (null steps with a non-empty curve).
 */
export function fmtRelearnSteps(summary: RelearnSummary | undefined, which: 50 | 90): string {
  if (!summary) return DASH;
  const v = which === 50 ? summary.steps50 : summary.steps90;
  if (finite(v)) return String(v);
  const last = summary.steps.filter(finite).at(-1);
  return last === undefined ? DASH : `>${last}`;
}

/** "50/90" steps in one cell: "10/25", ">40/>40", "—". */
export function fmtRelearnPair(summary: RelearnSummary | undefined): string {
  if (!summary) return DASH;
  const a = fmtRelearnSteps(summary, 50);
  const b = fmtRelearnSteps(summary, 90);
  return a === DASH && b === DASH ? DASH : `${a}/${b}`;
}

/** Probe accuracy vs output accuracy in one cell: "0.85/0.10". */
export function fmtProbe(model: ModelEvaluation, digits = 2): string {
  const p = model.probe;
  if (!p) return DASH;
  return `${fmtNum(p.probeAccuracy, digits)}/${fmtNum(p.outputAccuracy, digits)}`;
}

export const MODE_LABEL: Record<RelearnSummary['mode'], string> = {
  'forget-part': 'part of the forget set',
  related: 'related data only',
};

/** Whether any model in the report ran the attack suite (then the tables get an attacks column). */
export function hasAttacks(report: EvalReport): boolean {
  return report.models.some((m) => (m.attacks ?? []).length > 0);
}

/** A model's attacks judged against the report's retain model (and target); null without a retain model, or for it. */
export function attackSummaryOf(report: EvalReport, m: ModelEvaluation): AttackSummary | null {
  const reference = report.models.find((x) => x.role === 'reference');
  if (!reference || m === reference || m.attacks === undefined) return null;
  return judgeAttacks(m, report.models.find((x) => x.role === 'target') ?? null, reference);
}

/** "failed/judged" attacks in one cell ("1/7"), "—" where nothing was judged. */
export function fmtAttacks(report: EvalReport, m: ModelEvaluation): string {
  const a = attackSummaryOf(report, m);
  if (!a) return DASH;
  const judged = a.judged.filter((j) => j.status !== 'not measured');
  return judged.length === 0 ? DASH : `${judged.filter((j) => j.status === 'failed').length}/${judged.length}`;
}
