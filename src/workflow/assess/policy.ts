/**
 * Which unlearning method an erasure runs, and why — a written policy, not a guess. Exact retraining (SISA) comes
 * first once models are trained in shards; until then the approximate methods are ranked by their measured verdict
 * on the embedded benchmark (`npm run -s bench -- unlearn`, persons forget10, defaults; docs/unlearning.md): the
 * forget-answer probability against the retain model's 0.193, and the retain-answer probability against 0.9× the
 * target's 0.965.
 */
export interface PolicyEntry {
  method: string;
  /** The measured verdict this rank rests on. */
  evidence: string;
  /** Whether the method needs retain data (records of the corpus that are not the subject's). */
  needsRetain: boolean;
}

export const METHOD_POLICY: readonly PolicyEntry[] = [
  { method: 'npo', needsRetain: true, evidence: 'meets both bars with the lowest forget probability: 0.017 (retain model 0.193), retain 0.958 (0.99× the target)' },
  { method: 'rmu', needsRetain: true, evidence: 'meets both bars: forget 0.121, retain 0.876 (0.91×)' },
  { method: 'simnpo', needsRetain: true, evidence: 'meets both bars: forget 0.289, retain 0.919 (0.95×)' },
  { method: 'grad-diff', needsRetain: true, evidence: 'misses the forget bar: 0.510' },
  { method: 'task-vector', needsRetain: false, evidence: 'misses the forget bar: 0.736; needs no retain data' },
];

export interface Recommendation {
  method: string;
  kind: 'exact' | 'approximate';
  why: string;
}

/** The first method of the policy whose needs the data meet. */
export function recommendMethod(o: { sharded: boolean; retainRecords: number }): Recommendation {
  if (o.sharded) return { method: 'sisa', kind: 'exact', why: 'the model was trained in shards: retrain the affected shards from their checkpoints (exact)' };
  const entry = METHOD_POLICY.find((e) => !e.needsRetain || o.retainRecords > 0)!;
  return {
    method: entry.method, kind: 'approximate',
    why: `the model was not trained in shards, so exact retraining is not available; ${entry.method} ${entry.evidence}`
      + (entry.needsRetain ? '' : ' (no retain records were left in the corpus)'),
  };
}
