import { z } from 'zod';
import { mul, noGrad, sub, sum, Tensor } from '../../engine/index.ts';
import { answerTokenNll } from '../../model/logprobs.ts';
import { makeBatch } from '../batches.ts';
import type { UnlearnItem } from '../data.ts';
import { alternativeItems } from './counterexample.ts';
import { runLossLoop } from '../loop.ts';
import { meanRows } from '../losses.ts';
import { oldValueRange as valueRange } from '../update/loss.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';

/** A token range [from, to) of an answer. */
export interface Span { from: number; to: number }

/**
 * Mean NLL per row over its span of answer tokens [B] (0 for an empty span): answer token j of row b is predicted at
 * column prompt + j − 1 of answerTokenNll's [B, L] layout.
 */
export function spanMeanNll(model: CausalLM, batch: UnlearnBatch, spans: readonly Span[]): Tensor {
  const [B, L] = batch.answers.ids.shape as [number, number];
  const w = new Float32Array(B * L);
  batch.items.forEach((it, b) => {
    const { from, to } = spans[b]!;
    for (let j = from; j < to; j++) w[b * L + it.prompt.length + j - 1] = 1 / (to - from);
  });
  return sum(mul(answerTokenNll(model, batch.answers), new Tensor(w, [B, L])), 1);
}

/**
 * The indifference loss for a batch of true answers and, for row i, `perRow` alternatives at rows
 * i·perRow … (i+1)·perRow − 1 of `alternatives`: the mean over rows of (n̄_alt − n̄_true)², n̄ the mean NLL over the
 * value's tokens (where the answers differ: the template tokens they share are left alone) and n̄_alt the mean over
 * the row's alternatives, held constant. Its minimum is a model that finds the true value exactly as likely (per
 * token) as plausible wrong ones: it pushes a known value down, and a value pushed below the alternatives back up,
 * where NPO keeps pushing.
 */
export function indifferenceLoss(model: CausalLM, truth: UnlearnBatch, truthSpans: readonly Span[], alternatives: UnlearnBatch, altSpans: readonly Span[], perRow: number): { loss: Tensor; gap: number } {
  const rows = truth.items.length;
  if (alternatives.items.length !== rows * perRow) throw new RangeError(`indifference: ${alternatives.items.length} alternatives for ${rows} rows × ${perRow}`);
  const alt = noGrad(() => spanMeanNll(model, alternatives, altSpans)).f32('indifference');
  const level = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < perRow; k++) s += alt[i * perRow + k]!;
    level[i] = s / perRow;
  }
  const gap = sub(new Tensor(level, [rows]), spanMeanNll(model, truth, truthSpans));
  const g = gap.f32('indifference');
  let meanGap = 0;
  for (let i = 0; i < rows; i++) meanGap += g[i]! / rows;
  return { loss: meanRows(mul(gap, gap)), gap: meanGap };
}

/**
 * Indifference: train each forget answer to be no more and no less likely than plausible wrong answers to the same
 * question (other retain subjects' answers, swapped in — never the record's perturbed answers, which the truth ratio
 * scores), plus a retain term. A model that never learnt a person cannot tell the true value from another plausible
 * one; NPO instead pushes the true answer, and the person's other facts with it, far below that level, which the
 * truth ratio and membership inference both tell apart from a model that never saw the person.
 */
export const indifference = defineMethod({
  name: 'indifference',
  summary: 'make each forget answer exactly as likely as plausible wrong answers (other subjects\' values swapped in), plus a retain term',
  retain: 'required',
  options: z.object({
    // From three runs on the embedded persons model, forget10 (docs/unlearning.md): at lr 3e-4 the retain guard
    // stopped it (α 1 at step 40, α 10 at step 70); lr 1e-4 with α 10 ran its 200 steps.
    ...loopOptionShape({ epochs: 8, lr: 1e-4, alpha: 10, retainBatchSize: 48 }),
    alternatives: z.number().int().positive().default(2).describe('plausible wrong answers per forget question whose mean sets its level'),
  }),
  run: (ctx, o, hooks) => {
    // Other retain subjects' values (never another forget subject's, which would teach that fact again); a question
    // no retain subject is asked takes a refusal as its alternative: as likely to decline as to state the value.
    const { items, truth, refusals } = alternativeItems(ctx, { source: 'others', alternatives: o.alternatives, seed: o.seed, fallback: 'refusal', method: 'indifference' });
    hooks.onMessage?.(`indifference: ${items.length} alternative answers for ${ctx.forget.length} forget questions${refusals > 0 ? ` (${refusals} with a refusal: no retain subject is asked the same)` : ''}`);
    const found = new Map<UnlearnItem, UnlearnItem[]>();
    for (const alt of items) {
      const of = truth.get(alt)!;
      found.set(of, [...(found.get(of) ?? []), alt]);
    }
    const altItems = new Map<UnlearnItem, { items: UnlearnItem[]; spans: Span[]; truth: Span }>();
    for (const it of ctx.forget) {
      const own = found.get(it)!;
      // A question with fewer alternatives than asked repeats its last one, so that every row has the same count.
      const alts = Array.from({ length: o.alternatives }, (_, k) => own[Math.min(k, own.length - 1)]!);
      // The true value's tokens: where the answer differs from any of its alternatives.
      const spans = alts.map((a) => valueRange(it.answer, a.answer));
      altItems.set(it, { items: alts, spans: alts.map((a) => valueRange(a.answer, it.answer)), truth: { from: Math.min(...spans.map((r) => r.from)), to: Math.max(...spans.map((r) => r.to)) } });
    }
    let gap = 0;
    return runLossLoop(ctx, o, {
      forget: (b, t) => {
        const rows = b.items.map((it) => altItems.get(it)!);
        const alternatives = makeBatch(rows.flatMap((r) => r.items), ctx.padId);
        const r = indifferenceLoss(t.model, b, rows.map((x) => x.truth), alternatives, rows.flatMap((x) => x.spans), o.alternatives);
        gap = r.gap;
        return r.loss;
      },
      parts: () => ({ gap }),
    }, hooks);
  },
});
