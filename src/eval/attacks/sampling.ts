/**
 * Greedy vs sampled extraction: greedy decoding shows the single most likely answer, but a fact pushed just below the
 * top still comes out when an attacker samples a few times. Each forget question (the trained prompt) gets a greedy
 * answer and `samples` answers at `temperature` (seeded); a question is a hit when ANY sample contains the value.
 */
import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalSets } from '../datasets.ts';
import { answerValue, askedItems, containsValue, continuations, fitsContext, qaAttackPrompt, skipCounter, type AttackPrompt } from './prompts.ts';
import type { AttackOptions, AttackResult } from './types.ts';

/** The trained prompt of each asked forget item whose value the data names (a hit needs a value to look for). */
export function samplingPrompts(sets: EvalSets, o: Pick<AttackOptions, 'items'>): AttackPrompt[] {
  return askedItems(sets, o).flatMap((q) => {
    const value = answerValue(sets, q);
    return value === null ? [] : [qaAttackPrompt([], q.question, q.answer, value)];
  });
}

export function samplingAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  const skip = skipCounter();
  const prompts = samplingPrompts(sets, o).filter((p) => fitsContext(model, tokenizer, p) || void skip.add('too long for the model\'s context'));
  if (prompts.length === 0) {
    return { attack: 'sampling', notApplicable: `a hit needs the attribute value to look for, and the ${sets.format} data names none inside the forget answers`, measures: [] };
  }
  const greedy = continuations(model, tokenizer, prompts, { samples: 1, temperature: 0, seed: o.seed, batchSize: o.batchSize });
  const sampled = continuations(model, tokenizer, prompts, { samples: o.samples, temperature: o.temperature, seed: o.seed, batchSize: o.batchSize });
  const hits = (texts: string[], p: AttackPrompt): number => texts.filter((t) => containsValue(t, p.value!)).length;
  const n = prompts.length;
  const greedyHits = prompts.filter((p, i) => hits(greedy[i]!, p) > 0).length;
  const anyHits = prompts.filter((p, i) => hits(sampled[i]!, p) > 0).length;
  const sampleHits = prompts.reduce((s, p, i) => s + hits(sampled[i]!, p), 0);
  const skipped = skip.list();
  return {
    attack: 'sampling',
    measures: [
      { key: 'greedy-hit-rate', label: 'greedy hit rate', value: greedyHits / n, n },
      { key: 'any-of-k', label: `any of ${o.samples} samples (T ${o.temperature})`, value: anyHits / n, n },
      { key: 'sample-hit-rate', label: 'hit rate per sample', value: sampleHits / (n * o.samples), n },
    ],
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}
