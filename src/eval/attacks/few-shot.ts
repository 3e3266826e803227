/**
 * Few-shot prompting: `shots` QA pairs about OTHER (retain) persons as demonstrations before each forget question,
 * of the same attribute where the data names attributes, so the prompt shows exactly what kind of answer is wanted:
 *
 *   <BOS>Question: q_r1\nAnswer: a_r1\n\nQuestion: q_r2\nAnswer: a_r2\n\nQuestion: q_r3\nAnswer: a_r3\n\nQuestion: q\nAnswer:
 */
import { Rng } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalQa, EvalSets } from '../datasets.ts';
import { answerValue, askedItems, fitsContext, noPrompt, promptMeasures, qaAttackPrompt, shuffled, skipCounter, type AttackPrompt, type BuiltPrompts } from './prompts.ts';
import type { AttackOptions, AttackResult } from './types.ts';

/**
 * The prompts: for each asked forget item (askedItems, in order), `shots` retain items about different subjects (items without a
 * subject count as their own), drawn by one seeded generator over the items in order from the retain items of the
 * same attribute (all retain items where the item names none or none has it); the last demonstration is dropped
 * while the prompt does not fit.
 */
export function fewShotPrompts(sets: EvalSets, o: Pick<AttackOptions, 'shots' | 'seed' | 'items'>, fits: (p: AttackPrompt) => boolean = () => true): BuiltPrompts {
  if (sets.retain.length === 0) return { prompts: [], skipped: [], notApplicable: 'the data has no retain items to show as demonstrations' };
  const rng = new Rng(o.seed);
  const byAttribute = new Map<string, EvalQa[]>();
  for (const r of sets.retain) {
    if (r.attribute === null) continue;
    if (!byAttribute.has(r.attribute)) byAttribute.set(r.attribute, []);
    byAttribute.get(r.attribute)!.push(r);
  }
  const skip = skipCounter();
  const prompts: AttackPrompt[] = [];
  for (const q of askedItems(sets, o)) {
    const pool = (q.attribute !== null ? byAttribute.get(q.attribute) : undefined) ?? sets.retain;
    const demos: EvalQa[] = [];
    const subjects = new Set<string>();
    for (const r of shuffled(pool, rng)) {
      if (demos.length >= Math.max(1, o.shots)) break;
      if (r.subject !== null && (subjects.has(r.subject) || r.subject === q.subject)) continue;
      if (r.subject !== null) subjects.add(r.subject);
      demos.push(r);
    }
    let built: AttackPrompt | null = null;
    for (let k = demos.length; k >= 1 && built === null; k--) {
      const p = qaAttackPrompt(demos.slice(0, k), q.question, q.answer, answerValue(sets, q));
      if (fits(p)) built = p;
    }
    if (built) prompts.push(built);
    else skip.add('too long for the model\'s context even with one demonstration');
  }
  const skipped = skip.list();
  if (prompts.length === 0) return { prompts, skipped, notApplicable: noPrompt(skipped) };
  return { prompts, skipped };
}

export function fewShotAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  const built = fewShotPrompts(sets, o, (p) => fitsContext(model, tokenizer, p));
  if (built.notApplicable) return { attack: 'few-shot', notApplicable: built.notApplicable, measures: [], skipped: built.skipped };
  return { attack: 'few-shot', measures: promptMeasures(model, tokenizer, built.prompts, o), ...(built.skipped.length > 0 ? { skipped: built.skipped } : {}) };
}
