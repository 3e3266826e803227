import type { Claim } from './probe.ts';

/** A claim with its confidence (the lift over fictitious names, probe.ts liftOverNames). */
export type ScoredClaim = Claim & { confidence: number };

/**
 * The non-member baseline. A model says something about any name it is asked about — a common city, a frequent
 * job, the template words of its training text — and says it with some confidence. What it says about a name it
 * was trained on, it says with more. So each template's threshold comes from the same template asked about
 * fictitious names (names.ts). A claim's confidence is its lift (probe.ts liftOverNames): how much more likely the
 * model finds it about its own name than about fictitious ones, nats per token. Then
 *
 *   threshold(t) = Q_q({ confidence(c) : c a claim about a fictitious name, answering template t }) + margin
 *
 * Q_q is the empirical q-quantile (the ⌈q·n⌉-th smallest of the n values), the fictitious names' lifts measured
 * against the other fictitious names, and a claim about a subject is kept when its confidence is strictly
 * above its template's threshold. With q = 0.95, a fictitious name passes a template with about 5% chance before
 * the margin; the margin (in nats per token) makes that chance small enough that a name the model never saw yields
 * nothing. A template no fictitious name got a claim from has the threshold of its form's pooled claims, so that
 * a question the model only answers for names it knows is not a free pass.
 */
export interface CalibrationOptions {
  /** The quantile q of the non-member confidences. */
  quantile: number;
  /** Added to the quantile, nats per token. */
  margin: number;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = { quantile: 0.95, margin: 0.1 };

export interface Threshold {
  /** Q_q of the non-member confidences this threshold is drawn from. */
  baseline: number;
  /** baseline + margin: claims must be strictly above it. */
  threshold: number;
  /** Non-member claims the baseline is drawn from. */
  samples: number;
  /** 'template': its own non-member claims; 'form': all of its form's (the template got none). */
  from: 'template' | 'form';
}

export interface Calibration {
  options: CalibrationOptions;
  /** By template id. */
  thresholds: Record<string, Threshold>;
}

/** The ⌈q·n⌉-th smallest value (q in (0, 1]); the smallest for q·n < 1. */
export function empiricalQuantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('empiricalQuantile of no values');
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Thresholds for every template in `templates` (id → form) from the claims about fictitious names. Throws when a
 * form has no non-member claims at all: then there is no baseline to be confident against.
 */
export function calibrate(nonMember: readonly Pick<ScoredClaim, 'templateId' | 'confidence'>[], templates: ReadonlyMap<string, 'question' | 'completion'>, o: CalibrationOptions = DEFAULT_CALIBRATION): Calibration {
  if (!(o.margin >= 0)) throw new RangeError(`margin must be ≥ 0, got ${o.margin}`);
  const byTemplate = new Map<string, number[]>();
  const byForm = new Map<string, number[]>();
  for (const c of nonMember) {
    const form = templates.get(c.templateId);
    if (form === undefined) continue;
    (byTemplate.get(c.templateId) ?? byTemplate.set(c.templateId, []).get(c.templateId)!).push(c.confidence);
    (byForm.get(form) ?? byForm.set(form, []).get(form)!).push(c.confidence);
  }
  const thresholds: Record<string, Threshold> = {};
  for (const [id, form] of templates) {
    const own = byTemplate.get(id);
    const pool = own ?? byForm.get(form);
    if (!pool) throw new RangeError(`no claim about any fictitious name answered a ${form} template: there is no baseline to calibrate against (more fictitious names, or longer answers)`);
    const baseline = empiricalQuantile(pool, o.quantile);
    thresholds[id] = { baseline, threshold: baseline + o.margin, samples: pool.length, from: own ? 'template' : 'form' };
  }
  return { options: o, thresholds };
}

/** Whether a claim is asserted clearly above its template's baseline. */
export function isConfident(claim: Pick<ScoredClaim, 'templateId' | 'confidence'>, calibration: Calibration): boolean {
  const t = calibration.thresholds[claim.templateId];
  if (!t) throw new RangeError(`no threshold for template "${claim.templateId}"`);
  return claim.confidence > t.threshold;
}
