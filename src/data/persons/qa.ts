import type { QaRecord } from '../schema.ts';
import type { Draw } from './draw.ts';
import type { Registry } from './person.ts';
import { wrongValues } from './perturb.ts';
import { TEMPLATES } from './templates.ts';
import type { Person, World } from './types.ts';

/** Number of wrong answers per QA pair (TOFU uses 5 for persons). */
export const N_PERTURBED = 5;

/**
 * The 20 QA records of one person, with their evaluation fields. Perturbed answers reuse the paraphrased
 * answer's sentence frame with a wrong value, so the truth ratio compares values, not wording.
 */
export function personQa(p: Person, draw: Draw, world: World, reg: Registry): QaRecord[] {
  return TEMPLATES.map((t) => {
    const value = t.value(p);
    const wrong = wrongValues(t.attribute, p, draw, world, reg, N_PERTURBED);
    return {
      id: `${p.id}-${t.attribute}`,
      subject: p.full_name,
      attribute: t.attribute,
      question: t.question(p),
      answer: t.answer(p, value),
      paraphrased_question: t.paraphrasedQuestion(p),
      paraphrased_answer: t.paraphrasedAnswer(p, value),
      perturbed_answers: wrong.map((w) => t.paraphrasedAnswer(p, w)),
    };
  });
}
