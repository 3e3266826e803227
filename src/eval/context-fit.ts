import { qaTokens } from '../model/qa-format.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { EvalQa, EvalSets } from './datasets.ts';

const SETS = ['forget', 'retain', 'holdout', 'world'] as const;

/** What to do with an evaluation item longer than the model's context. */
export type TooLong = 'refuse' | 'skip';

/** The sets that fit, and how many items each lost (all zero when nothing was too long). */
export interface FittedSets {
  sets: EvalSets;
  skipped: Record<(typeof SETS)[number], number>;
}

/**
 * Checks, before any model is scored, that every evaluation item's prompt and longest answer (true, paraphrased or
 * perturbed) fit in the model's context. `refuse` throws naming the file, the item and its length (the model itself
 * could only say "201 positions exceed the model's context", deep inside a batch); `skip` leaves such items out and
 * counts them, so the report can say how many.
 */
export function fitSetsToContext(sets: EvalSets, tokenizer: Tokenizer, maxPositions: number, mode: TooLong = 'refuse'): FittedSets {
  const skipped = { forget: 0, retain: 0, holdout: 0, world: 0 };
  const fitted = { ...sets };
  for (const name of SETS) {
    fitted[name] = sets[name].filter((q: EvalQa, i) => {
      const answers = [q.answer, ...(q.paraphrasedAnswer === null ? [] : [q.paraphrasedAnswer]), ...q.perturbedAnswers];
      const longest = Math.max(...answers.map((a) => {
        const t = qaTokens(tokenizer, q.question, a);
        return t.prompt.length + t.answer.length;
      }));
      if (longest <= maxPositions) return true;
      if (mode === 'skip') {
        skipped[name]++;
        return false;
      }
      const question = q.question.length > 60 ? `${q.question.slice(0, 57)}…` : q.question;
      throw new RangeError(`${sets.sources[name] ?? name}: ${name} item ${i + 1} ("${question}") needs ${longest} positions, `
        + `more than the model's context of ${maxPositions} (shorten it, leave it out, or pass --too-long skip)`);
    });
  }
  if (skipped.forget > 0 && fitted.forget.length === 0) throw new RangeError(`${sets.sources['forget'] ?? 'forget'}: every forget item is longer than the model's context of ${maxPositions}`);
  return { sets: fitted, skipped };
}
