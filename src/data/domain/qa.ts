import type { QaRecord, RecordLabel } from '../schema.ts';
import type { Draw } from '../persons/draw.ts';
import type { QaTemplate } from './types.ts';

/** Number of wrong answers per QA pair, as in the persons corpus. */
export const N_PERTURBED = 5;

/**
 * The QA records of one subject, with their evaluation fields and the domain's label. Perturbed answers reuse the
 * paraphrased answer's frame with a wrong value, so the truth ratio compares values, not wording.
 */
export function subjectQa<S extends { id: string; name: string }>(
  s: S, templates: readonly QaTemplate<S>[], draw: Draw, label: RecordLabel,
): QaRecord[] {
  return templates.map((t) => {
    const value = t.value(s);
    return {
      id: `${s.id}-${t.attribute}`,
      subject: s.name,
      label,
      attribute: t.attribute,
      question: t.question(s),
      answer: t.answer(s, value),
      paraphrased_question: t.paraphrasedQuestion(s),
      paraphrased_answer: t.paraphrasedAnswer(s, value),
      perturbed_answers: t.wrong(s, draw, N_PERTURBED).map((w) => t.paraphrasedAnswer(s, w)),
    };
  });
}
