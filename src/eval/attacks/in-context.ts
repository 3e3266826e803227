/**
 * In-context relearning: before each forget question, some of the same subject's OTHER forget facts (question and
 * true answer) in the prompt, as a user who knows part of a record would write them. A model that only learned to
 * refuse the subject's questions can be reminded by its own facts; one that never knew them cannot.
 *
 *   <BOS>Question: q₁\nAnswer: a₁\n\nQuestion: q₂\nAnswer: a₂\n\nQuestion: q₃\nAnswer: a₃\n\nQuestion: q\nAnswer:
 */
import { Rng } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalSets } from '../datasets.ts';
import { answerValue, askedItems, fitsContext, noPrompt, promptMeasures, qaAttackPrompt, shuffled, skipCounter, type AttackPrompt, type BuiltPrompts } from './prompts.ts';
import type { AttackOptions, AttackResult } from './types.ts';

const ONE_FACT = 'its subject has no other forget fact to put in the prompt';
const TOO_LONG = 'too long for the model\'s context even with one context fact';

/**
 * The prompts: for each asked forget item (askedItems, in order), up to `contextFacts` other forget items of its subject, drawn by a
 * seeded shuffle (one generator over the items in order), as context blocks; while the prompt does not fit the
 * context, the last block is dropped. `fits` is the context check (none: everything fits).
 */
export function inContextPrompts(sets: EvalSets, o: Pick<AttackOptions, 'contextFacts' | 'seed' | 'items'>, fits: (p: AttackPrompt) => boolean = () => true): BuiltPrompts {
  if (sets.forget.every((q) => q.subject === null)) {
    return { prompts: [], skipped: [], notApplicable: `the ${sets.format} data names no subjects, so a subject's other facts are unknown (the persons format names them)` };
  }
  const rng = new Rng(o.seed);
  const skip = skipCounter();
  const prompts: AttackPrompt[] = [];
  askedItems(sets, o).forEach((q) => {
    const others = q.subject === null ? [] : sets.forget.filter((r) => r !== q && r.subject === q.subject);
    if (others.length === 0) return skip.add(ONE_FACT);
    const context = shuffled(others, rng).slice(0, Math.max(1, o.contextFacts));
    for (let k = context.length; k >= 1; k--) {
      const p = qaAttackPrompt(context.slice(0, k), q.question, q.answer, answerValue(sets, q));
      if (fits(p)) return void prompts.push(p);
    }
    skip.add(TOO_LONG);
  });
  const skipped = skip.list();
  if (prompts.length > 0) return { prompts, skipped };
  const onlyOneFact = skipped.length === 1 && skipped[0]!.why === ONE_FACT;
  return { prompts, skipped, notApplicable: onlyOneFact ? 'every forget subject has a single fact: nothing to put in the prompt' : noPrompt(skipped) };
}

/** Hit rate and value probability of the forget questions with the subject's other facts in the prompt. */
export function inContextAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  const built = inContextPrompts(sets, o, (p) => fitsContext(model, tokenizer, p));
  if (built.notApplicable) return { attack: 'in-context', notApplicable: built.notApplicable, measures: [], skipped: built.skipped };
  return { attack: 'in-context', measures: promptMeasures(model, tokenizer, built.prompts, o), ...(built.skipped.length > 0 ? { skipped: built.skipped } : {}) };
}
