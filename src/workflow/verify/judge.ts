import { normalQuantile } from '../../util/normal-quantile.ts';
import type { BarPolicy } from './policy.ts';
import type { CriterionResult, ModelVerification, VerificationResult } from './types.ts';

/** A criterion as measured, before it is judged: an AUC (null when it could not be measured, with the reason). */
export interface Measured {
  id: string;
  label: string;
  /** Core criteria (membership inference, extraction) must be judged for a PASSED result. */
  core: boolean;
  n: { subject: number; reference: number };
  value: number | null;
  before: number | null;
  reason?: string;
}

/** Standard error of an AUC between groups of n₁ and n₂ under "no difference" (Mann–Whitney U's null variance). */
export function nullAucStdError(n1: number, n2: number): number {
  return Math.sqrt((n1 + n2 + 1) / (12 * n1 * n2));
}

/**
 * Judges each measured AUC against 0.5 + tolerance + z·SE₀, z = Φ⁻¹(1 − α/k) over the k criteria that can be judged
 * (Bonferroni), so a model that never saw the subject misses the bar with probability ≤ α overall. A criterion with fewer than
 * `minRecords` on a side is not judged: its margin would be too wide to fail.
 */
export function judge(measured: readonly Measured[], policy: BarPolicy): CriterionResult[] {
  const judgeable = (m: Measured): boolean => m.value !== null && m.n.subject >= policy.minRecords && m.n.reference >= policy.minRecords;
  const k = Math.max(1, measured.filter(judgeable).length);
  const z = normalQuantile(1 - policy.alpha / (policy.twoSided ? 2 * k : k));
  return measured.map((m): CriterionResult => {
    const base = { id: m.id, label: m.label, value: m.value, before: m.before, n: m.n };
    if (m.value === null) return { ...base, status: 'not-judged', bar: null, note: m.reason ?? 'not measured' };
    if (!judgeable(m)) return { ...base, status: 'not-judged', bar: null, note: `too few records to judge: ${m.n.subject} of the subject's and ${m.n.reference} non-member records (the bar needs ${policy.minRecords} on each side)` };
    const margin = z * nullAucStdError(m.n.subject, m.n.reference);
    const bar = 0.5 + policy.tolerance + margin;
    const below = m.value < 0.5 - policy.tolerance - margin;
    const missed = m.value > bar || (policy.twoSided && below);
    const note = m.value > bar ? 'the subject\'s records are still recognisable: they score as more known than non-members'
      : below ? `the subject's records score BELOW non-members (over-forgetting: a tell of its own${policy.twoSided ? '' : '; not part of this one-sided bar'})` : null;
    return { ...base, status: missed ? 'missed' : 'met', bar, note };
  });
}

/** The result of an attempt over its models, and one line saying why. */
export function overall(models: readonly Pick<ModelVerification, 'criteria' | 'model'>[]): { result: VerificationResult; summary: string } {
  for (const m of models) {
    const missed = m.criteria.find((c) => c.status === 'missed');
    if (missed) return { result: 'FAILED', summary: `${m.model}: ${missed.label} missed the bar (AUC ${missed.value!.toFixed(3)} > ${missed.bar!.toFixed(3)})` };
  }
  const core = (id: string): boolean => id.startsWith('mia:') || id === 'extraction';
  for (const m of models) {
    const open = m.criteria.find((c) => core(c.id) && c.status === 'not-judged');
    if (open) return { result: 'INCONCLUSIVE', summary: `nothing missed the bar, but ${open.label} could not be judged: ${open.note}` };
  }
  if (models.length === 0) return { result: 'INCONCLUSIVE', summary: 'no model was erased, so nothing was verified' };
  const skipped = [...new Set(models.flatMap((m) => m.criteria.filter((c) => c.status === 'not-judged').map((c) => c.id)))];
  return { result: 'PASSED', summary: `every judged criterion met the bar${skipped.length ? ` (not judged: ${skipped.join(', ')})` : ''}` };
}
