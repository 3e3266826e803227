import type { Claim } from './probe.ts';

/** A claim with its confidence: the mean token log-prob of what the model said (probe.ts), nats per token. */
export type ScoredClaim = Pick<Claim, 'templateId' | 'index' | 'form'> & { confidence: number };

/**
 * The non-member baseline. A model says something about any name it is asked about — a common city, a frequent
 * job, another person's facts when the name resembles theirs — and may say it confidently. What it says about a
 * name it was trained on, it says with more confidence. So the thresholds come from the same questions asked about
 * fictitious names (names.ts), and a claim about a subject is kept when its confidence is strictly above both
 *
 *   template(t)   = Q_q({ confidence(c) : c a claim about a fictitious name, answering template t }) + margin
 *   position(f,i) = Q_p({ confidence(c) : c a fictitious name's claim in form f at sentence position min(i, P) }) + margin
 *
 * Q_q is the empirical q-quantile (the ⌈q·n⌉-th smallest of the n values). The template threshold sets the bar
 * per question (a question whose answers are confident for anyone, a generic prior, gets a high bar). The position
 * threshold sets it per place in the answer: a completion that runs on recites a whole text, and the further it
 * runs, the more it drifts into some other person's facts while staying fluent, so later sentences need more.
 * A template no fictitious name got a claim from takes its form's pooled claims; a position none reached, or too few
 * (minPositionSamples), the last one that had enough.
 *
 * Measured on the varied GPT-2 target (6 forget persons, 24 fictitious names, 3 never-trained persons): with the
 * template threshold alone at q 0.95, recall 0.85 and precision 0.88; adding the position threshold (q 0.9, p 0.975,
 * P 4), recall 0.96 and precision 0.95 (docs/unlearning.md).
 */
export interface CalibrationOptions {
  /** The quantile q of a template's non-member confidences. */
  quantile: number;
  /** The quantile p of a sentence position's non-member confidences. */
  positionQuantile: number;
  /** P: positions 0 … P−1 are calibrated apart, P and later together. */
  positions: number;
  /**
   * A position with fewer non-member claims than this takes the last position that had enough (position 0 keeps its
   * own however few): a question's answer rarely runs past one sentence, and a quantile of two claims is no baseline.
   */
  minPositionSamples: number;
  /** Added to both quantiles, nats per token. */
  margin: number;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = { quantile: 0.9, positionQuantile: 0.975, positions: 4, minPositionSamples: 10, margin: 0 };

export interface Threshold {
  /** The quantile of the non-member confidences this threshold is drawn from. */
  baseline: number;
  /** baseline + margin: claims must be strictly above it. */
  threshold: number;
  /** Non-member claims the baseline is drawn from. */
  samples: number;
  /** 'template'/'position': its own non-member claims; 'form': its form's pooled ones; 'earlier': the last position reached with enough of them. */
  from: 'template' | 'form' | 'position' | 'earlier';
}

export interface Calibration {
  options: CalibrationOptions;
  /** By template id. */
  thresholds: Record<string, Threshold>;
  /** By `form/position` (positionKey). */
  positionThresholds: Record<string, Threshold>;
}

/** The ⌈q·n⌉-th smallest value (q in (0, 1]); the smallest for q·n < 1. */
export function empiricalQuantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('empiricalQuantile of no values');
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** The position bucket of a claim: its form and its sentence index, the last `positions` and on pooled. */
export function positionKey(c: Pick<ScoredClaim, 'form' | 'index'>, positions: number): string {
  return `${c.form}/${Math.min(c.index, positions)}`;
}

const push = (m: Map<string, number[]>, k: string, v: number): void => {
  (m.get(k) ?? m.set(k, []).get(k)!).push(v);
};

/**
 * Thresholds for every template in `templates` (id → form) and every position from the claims about fictitious
 * names. Throws when a form has no non-member claims at all: then there is no baseline to be confident against.
 */
export function calibrate(nonMember: readonly ScoredClaim[], templates: ReadonlyMap<string, 'question' | 'completion'>, o: CalibrationOptions = DEFAULT_CALIBRATION): Calibration {
  if (!(o.margin >= 0)) throw new RangeError(`margin must be ≥ 0, got ${o.margin}`);
  if (!(Number.isInteger(o.positions) && o.positions >= 0)) throw new RangeError(`positions must be an integer ≥ 0, got ${o.positions}`);
  if (!(Number.isInteger(o.minPositionSamples) && o.minPositionSamples >= 1)) throw new RangeError(`minPositionSamples must be an integer ≥ 1, got ${o.minPositionSamples}`);
  const byTemplate = new Map<string, number[]>();
  const byForm = new Map<string, number[]>();
  const byPosition = new Map<string, number[]>();
  for (const c of nonMember) {
    if (!templates.has(c.templateId) || !Number.isFinite(c.confidence)) continue;
    push(byTemplate, c.templateId, c.confidence);
    push(byForm, c.form, c.confidence);
    push(byPosition, positionKey(c, o.positions), c.confidence);
  }
  const threshold = (pool: number[], q: number, from: Threshold['from']): Threshold => {
    const baseline = empiricalQuantile(pool, q);
    return { baseline, threshold: baseline + o.margin, samples: pool.length, from };
  };
  const thresholds: Record<string, Threshold> = {};
  for (const [id, form] of templates) {
    const own = byTemplate.get(id);
    const pool = own ?? byForm.get(form);
    if (!pool) throw new RangeError(`no claim about any fictitious name answered a ${form} template: there is no baseline to calibrate against (more fictitious names, or longer answers)`);
    thresholds[id] = threshold(pool, o.quantile, own ? 'template' : 'form');
  }
  const positionThresholds: Record<string, Threshold> = {};
  for (const form of new Set(templates.values())) {
    let last: Threshold | undefined;
    for (let i = 0; i <= o.positions; i++) {
      const pool = byPosition.get(`${form}/${i}`);
      const enough = pool !== undefined && (pool.length >= o.minPositionSamples || last === undefined);
      const here: Threshold | undefined = enough ? threshold(pool, o.positionQuantile, 'position') : last && { ...last, from: 'earlier' as const };
      if (here) positionThresholds[`${form}/${i}`] = here;
      last = here;
    }
  }
  return { options: o, thresholds, positionThresholds };
}

/** The bar a claim must clear: the higher of its template's and its position's thresholds. */
export function thresholdOf(claim: Pick<ScoredClaim, 'templateId' | 'form' | 'index'>, calibration: Calibration): number {
  const t = calibration.thresholds[claim.templateId];
  if (!t) throw new RangeError(`no threshold for template "${claim.templateId}"`);
  const p = calibration.positionThresholds[positionKey(claim, calibration.options.positions)];
  return Math.max(t.threshold, p?.threshold ?? -Infinity);
}

/** Whether a claim is asserted clearly above the baseline of its template and of its place in the answer. */
export function isConfident(claim: ScoredClaim, calibration: Calibration): boolean {
  return claim.confidence > thresholdOf(claim, calibration);
}
