import type { UnlearnItem } from './data.ts';
import { fnv1a } from './refusals.ts';

/**
 * Plausible wrong answers to forget questions (counterexample fine-tuning). Two sources:
 * - `perturbed`: the record's own perturbed_answers (TOFU's and the persons corpus's wrong answers phrased alike);
 * - `others`: the same question asked of another subject, whose recorded answer is swapped in. "When was A born?"
 *   takes B's answer with B's name replaced by A's ("A was born on <B's date>"); a question that does not name its
 *   subject ("Who was born in X on D?") keeps its own answer with A's name replaced by B's. Same question means the
 *   same `attribute` where the data names it, else the same wording once the subject's name is taken out.
 * The choice among candidates is a hash of the seed, the question and the candidate: reproducible, and the same
 * whatever the order of the records.
 */
export type AlternativeSource = 'auto' | 'perturbed' | 'others';


/** Which fact the item asks for, so that items of other subjects asking the same can be found (null: unknown). */
function questionKey(it: UnlearnItem): string | null {
  if (it.attribute !== undefined) return `attribute:${it.attribute}`;
  if (it.subject && it.question?.includes(it.subject)) return `question:${it.question.replaceAll(it.subject, '\u0000')}`;
  return null;
}

/** Another subject's answer to the same question, made into a wrong answer about this item's subject. */
function swapIn(it: UnlearnItem, other: UnlearnItem): string {
  const [own, theirs] = [it.subject, other.subject];
  if (own === null || theirs === null) return other.answerText!;
  return it.question!.includes(own) ? other.answerText!.replaceAll(theirs, own) : it.answerText!.replaceAll(own, theirs);
}

/** The first `count` of the distinct candidates that differ from the true answer, in the seed's order. */
function pick(it: UnlearnItem, candidates: Iterable<string>, count: number, seed: number): string[] {
  const distinct = [...new Set(candidates)].filter((c) => c !== it.answerText);
  const key = (c: string): number => fnv1a(`${it.question}\u0001${c}`, seed);
  return distinct.sort((a, b) => key(a) - key(b) || (a < b ? -1 : 1)).slice(0, count);
}

/**
 * Up to `count` alternative answers per forget item, from `source` (`auto`: the record's perturbed answers when it
 * has them, else other subjects'). `pool` holds the records other subjects' answers may come from (counterexample
 * gives the retain set only). An item for which none is found gets `fallback`'s answer, or without one is an error
 * naming it; a text record is always an error.
 */
export function alternativeAnswers(forget: readonly UnlearnItem[], pool: readonly UnlearnItem[],
  o: { source: AlternativeSource; count: number; seed: number; fallback?: (it: UnlearnItem) => string; method?: string }): string[][] {
  const who = o.method ?? 'counterexample';
  const byKey = new Map<string, UnlearnItem[]>();
  for (const it of pool) {
    const k = it.question !== null && it.answerText !== undefined ? questionKey(it) : null;
    if (k === null) continue;
    const group = byKey.get(k);
    if (group) group.push(it);
    else byKey.set(k, [it]);
  }
  return forget.map((it, i) => {
    const where = `forget item ${i + 1}`;
    if (it.question === null) throw new RangeError(`${who} needs question–answer forget records (${where} is a text record, which has no question to answer otherwise)`);
    if (it.answerText === undefined) throw new RangeError(`${who}: ${where} ("${it.question}") carries no answer text to compare alternatives with`);
    const perturbed = it.perturbed ?? [];
    const fromOthers = (): string[] => {
      const k = questionKey(it);
      const others = k === null ? [] : (byKey.get(k) ?? []).filter((x) => x.subject !== it.subject || it.subject === null);
      return others.map((x) => swapIn(it, x));
    };
    const usePerturbed = o.source === 'perturbed' || (o.source === 'auto' && perturbed.length > 0);
    const found = pick(it, usePerturbed ? perturbed : fromOthers(), o.count, o.seed);
    if (found.length === 0 && o.fallback) return [o.fallback(it)];
    if (found.length === 0) {
      const why = usePerturbed ? 'it has no perturbed_answers that differ from its answer'
        : 'no record of another subject answers the same question (same attribute, or the same wording with the subject\'s name taken out)';
      throw new RangeError(`${who}: no alternative answer for ${where} ("${it.question}"): ${why}; give records with perturbed_answers (source=perturbed), more subjects with the same questions (source=others), or let such questions take a refusal (fallback=refusal)`);
    }
    return found;
  });
}
