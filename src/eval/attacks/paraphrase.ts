/**
 * Paraphrased and reformatted questions: unlearning that only broke the trained question's wording leaves other
 * routes to the fact open. Two prompt kinds:
 *
 * - paraphrased: the data's reworded question in the QA format, `<BOS>Question: <paraphrased question>\nAnswer:`,
 *   scored on the true answer;
 * - completion: no question at all, the true answer's words before the value as plain text, e.g.
 *   `<BOS>Emre Georgiou was born in` → ` Harwick` (the models also read their facts as running text).
 */
import type { CausalLM } from '../../model/arch/types.ts';
import { qaAnswer, qaPrompt } from '../../model/qa-format.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalQa, EvalSets } from '../datasets.ts';
import { answerValue, askedItems, fitsContext, promptMeasures, skipCounter, type AttackPrompt } from './prompts.ts';
import type { AttackMeasure, AttackOptions, AttackResult } from './types.ts';

/** The paraphrased question of each asked forget item (askedItems) that has one. */
export function paraphrasedPrompts(sets: EvalSets, o: Pick<AttackOptions, 'items'>): AttackPrompt[] {
  return askedItems(sets, o).filter((q): q is EvalQa & { paraphrasedQuestion: string } => typeof q.paraphrasedQuestion === 'string')
    .map((q) => ({ prompt: qaPrompt(q.paraphrasedQuestion), continuation: qaAnswer(q.answer), value: answerValue(sets, q) }));
}

/** The completion prompt of each asked forget item whose answer states its value after some words: those words, trimmed. */
export function completionPrompts(sets: EvalSets, o: Pick<AttackOptions, 'items'>): AttackPrompt[] {
  return askedItems(sets, o).flatMap((q) => {
    const value = answerValue(sets, q);
    if (value === null) return [];
    const prompt = q.answer.slice(0, q.answer.indexOf(value)).trimEnd();
    return prompt.length === 0 ? [] : [{ prompt, continuation: q.answer.slice(prompt.length), value }];
  });
}

export function paraphraseAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  const skip = skipCounter();
  const fit = (ps: AttackPrompt[], kind: string): AttackPrompt[] => ps.filter((p) => fitsContext(model, tokenizer, p) || void skip.add(`${kind} prompt too long for the model's context`));
  const paraphrased = fit(paraphrasedPrompts(sets, o), 'paraphrased');
  const completion = fit(completionPrompts(sets, o), 'completion');
  if (paraphrased.length === 0 && completion.length === 0) {
    return { attack: 'paraphrase', notApplicable: `the ${sets.format} data has neither reworded questions nor attribute values inside the answers`, measures: [] };
  }
  const measures: AttackMeasure[] = [
    ...(paraphrased.length > 0 ? promptMeasures(model, tokenizer, paraphrased, o, 'paraphrased-', 'paraphrased question, ') : []),
    // A completion prompt always has a value: its hit rate and value probability.
    ...(completion.length > 0 ? promptMeasures(model, tokenizer, completion, o, 'completion-', 'completion, ') : []),
  ];
  const skipped = skip.list();
  return { attack: 'paraphrase', measures, ...(skipped.length > 0 ? { skipped } : {}) };
}
