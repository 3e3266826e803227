import { z } from 'zod';
import { makeBatch } from '../batches.ts';
import { alternativeAnswers, type AlternativeSource } from '../alternatives.ts';
import { withAnswer, type UnlearnItem } from '../data.ts';
import { runLossLoop } from '../loop.ts';
import { answerNll } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { refusalFor } from '../refusals.ts';
import { defineMethod, type UnlearnContext } from '../types.ts';
import { dpoLoss } from './dpo-idk.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';
import type { Tensor } from '../../engine/index.ts';

/**
 * The counterexample forget loss on a batch of alternative answers: their mean answer-token NLL (`nll`), or DPO with
 * each alternative preferred over the true answer to the same question (`preference`; `truth` holds those, row for
 * row, and `reference` is the frozen original).
 */
export function counterexampleLoss(model: CausalLM, alt: UnlearnBatch, pref: { reference: CausalLM; truth: UnlearnBatch; beta: number } | null): Tensor {
  return pref ? dpoLoss(model, pref.reference, alt, pref.truth, pref.beta) : answerNll(model, alt);
}

/**
 * The training items: each forget question with each of its alternatives as the answer, cut to the model's context as
 * the forget items were (an alternative can be longer than the true answer); `truth` maps an item back to its forget
 * item, whose true answer the preference form pushes down.
 */
export function alternativeItems(ctx: UnlearnContext, o: { source: AlternativeSource; alternatives: number; seed: number; fallback: 'refusal' | 'error'; method?: string }): { items: UnlearnItem[]; truth: Map<UnlearnItem, UnlearnItem>; refusals: number } {
  let refusals = 0;
  const fallback = o.fallback === 'error' ? undefined : (it: UnlearnItem): string => {
    refusals++;
    return refusalFor(it.question!, o.seed);
  };
  // Other subjects' answers come from the retain set only: a forget subject's value attached to another name would
  // teach the model again the very facts being erased (another forget person's address, employer, …).
  const alts = alternativeAnswers(ctx.forget, ctx.retain, { source: o.source, count: o.alternatives, seed: o.seed, ...(fallback ? { fallback } : {}), ...(o.method ? { method: o.method } : {}) });
  const room = ctx.model.config.maxPositions;
  const truth = new Map<UnlearnItem, UnlearnItem>();
  const items = ctx.forget.flatMap((it, i) => alts[i]!.map((a) => {
    const alt = withAnswer(it, a, ctx.tokenizer);
    const cut = alt.answer.length > room - it.prompt.length ? { ...alt, answer: alt.answer.slice(0, room - it.prompt.length), truncated: true as const } : alt;
    truth.set(cut, it);
    return cut;
  }));
  return { items, truth, refusals };
}

/**
 * Counterexample fine-tuning ("Who's Harry Potter", Eldan & Russinovich 2023; AltPO, Mekala et al. 2025): train each
 * forget question toward a plausible wrong answer — another subject's answer to the same question, or the record's
 * perturbed answers — so the model answers like one that never learnt the fact, instead of being pushed off the
 * answer into gibberish as gradient ascent does. L_forget = NLL(alternative), or with form=preference
 * −(2/β)·log σ(β·[(log π_θ − log π_ref)(alternative) − (log π_θ − log π_ref)(true answer)]) as AltPO.
 */
export const counterexample = defineMethod({
  name: 'counterexample',
  summary: 'fine-tune forget questions toward plausible wrong answers (other subjects\' answers or perturbed answers), plus a retain term',
  retain: 'required',
  options: z.object({
    // Tuned on the embedded persons model, forget10 vs retain90 (docs/unlearning.md): the nll form left the true
    // answers at 0.53 (it moves only the first token where the answers part), so the default is the preference form.
    ...loopOptionShape({ epochs: 10, lr: 3e-4, alpha: 10, retainBatchSize: 48 }),
    form: z.enum(['nll', 'preference']).default('preference').describe('nll: fine-tune on the alternatives; preference: DPO with the alternative preferred over the true answer, against the frozen original (AltPO)'),
    beta: z.number().positive().default(0.1).describe('inverse temperature β of the preference form'),
    source: z.enum(['auto', 'perturbed', 'others']).default('others').describe('where alternatives come from: others = a retain subject\'s answer to the same question, swapped in; perturbed = the record\'s perturbed_answers (the wrong answers the truth ratio scores, so that metric is no longer held out); auto = perturbed where a record has them, else others'),
    alternatives: z.number().int().positive().default(1).describe('alternatives per forget question (each a training item: an epoch is a pass over all of them)'),
    fallback: z.enum(['refusal', 'error']).default('refusal').describe('a forget question with no alternative (no perturbed answers, no retain subject asked the same): refusal = train it toward a shipped refusal ("I don\'t know", as idk-ft; counted in the log and unlearn.json), error = stop with an error naming it'),
  }),
  run: (ctx, o, hooks) => {
    const { items, truth, refusals } = alternativeItems(ctx, o);
    // Counts only: the messages reach job logs, which must not repeat the facts being erased.
    hooks.onMessage?.(`counterexample: ${items.length} alternative answers for ${ctx.forget.length} forget questions (source ${o.source})`
      + (refusals > 0 ? `; ${refusals} question(s) had none and take a refusal instead` : ''));
    const out = runLossLoop(ctx, o, {
      forget: (b, t) => counterexampleLoss(t.model, b, o.form === 'preference'
        ? { reference: t.reference(), truth: makeBatch(b.items.map((it) => truth.get(it)!), ctx.padId), beta: o.beta }
        : null),
    }, hooks, { forget: items });
    return { ...out, details: { ...out.details, alternatives: items.length, refusals } };
  },
});
