import { changedSpan, type FactRecord } from './facts.ts';

/**
 * The answers that define a fact's non-member level: plausible answers to its question that the original model never
 * learned. Always the new answer (before the update the model never saw it); then the record's `alternatives` when
 * it has them, else the other facts' old values put into this fact's frame (its answer with its old value replaced),
 * taken from facts of the same `attribute` when the records name one (a date does not stand in for a city). The
 * old answer itself never counts. Deterministic: file order, duplicates dropped.
 */
export function nonMemberAnswers(facts: readonly FactRecord[]): string[][] {
  const spans = facts.map((f) => changedSpan(f.old_answer, f.new_answer));
  return facts.map((f, i) => {
    let pool: string[];
    if (f.alternatives) pool = f.alternatives;
    else {
      const { prefix, suffix } = spans[i]!;
      pool = facts.flatMap((g, j) => (j !== i && g.attribute === f.attribute && spans[j]!.oldValue.length > 0 ? [prefix + spans[j]!.oldValue + suffix] : []));
    }
    const old = f.old_answer.trim();
    return [...new Set([f.new_answer, ...pool].map((a) => a.trim()))].filter((a) => a !== old && a.length > 0);
  });
}
