import { qaTokens } from '../model/qa-format.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { EvalQa, EvalSets } from './datasets.ts';

const SETS = ['forget', 'retain', 'holdout', 'world'] as const;

/**
 * Refuses, before any model is scored, an evaluation item whose prompt and longest answer (true, paraphrased or
 * perturbed) do not fit in the model's context, naming the file, the item and its length; the model itself could
 * only say "201 positions exceed the model's context", deep inside a batch.
 */
export function checkSetsFitContext(sets: EvalSets, tokenizer: Tokenizer, maxPositions: number): void {
  for (const name of SETS) {
    sets[name].forEach((q: EvalQa, i) => {
      const answers = [q.answer, ...(q.paraphrasedAnswer === null ? [] : [q.paraphrasedAnswer]), ...q.perturbedAnswers];
      const longest = Math.max(...answers.map((a) => {
        const t = qaTokens(tokenizer, q.question, a);
        return t.prompt.length + t.answer.length;
      }));
      if (longest > maxPositions) {
        const question = q.question.length > 60 ? `${q.question.slice(0, 57)}…` : q.question;
        throw new RangeError(`${sets.sources[name] ?? name}: ${name} item ${i + 1} ("${question}") needs ${longest} positions, `
          + `more than the model's context of ${maxPositions} (shorten it, or leave it out of the set)`);
      }
    });
  }
}
