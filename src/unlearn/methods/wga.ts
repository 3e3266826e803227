import { z } from 'zod';
import { runLossLoop } from '../loop.ts';
import { weightedAnswerAscent, weightedAscentSpec } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';

/** The WGA forget loss −mean_t p(y_t)^β·NLL_t over the batch's answer tokens, the weights detached; and their mean. */
export function wgaLoss(model: CausalLM, batch: UnlearnBatch, beta: number): ReturnType<typeof weightedAnswerAscent> {
  return weightedAnswerAscent(model, batch, (nll) => Math.exp(-beta * nll));
}

/**
 * WGA, weighted gradient ascent (Wang et al. 2025, "Rethinking LLM Unlearning Objectives"): gradient ascent with each
 * answer token weighted by its own probability p^β (no gradient through the weight), so tokens already forgotten stop
 * pushing and the ascent cannot run away. Plus the shared retain term.
 */
export const wga = defineMethod({
  name: 'wga',
  summary: 'gradient ascent with each answer token weighted by p(token)^β (WGA), plus a retain term',
  retain: 'required',
  options: z.object({
    // β, γ, α and the 5 epochs are open-unlearning's (configs/trainer/WGA.yaml). Its lr 1e-5 on a 4096-wide 7B model
    // (1.6e-4 at width 256) left forget p at 0.451 on the embedded persons model; baseLr 3e-4 met both bars there
    // (docs/unlearning.md).
    ...loopOptionShape({ epochs: 5, lr: 3e-4, gamma: 1, alpha: 1 }),
    beta: z.number().min(0).default(1).describe('exponent β of the token weight p(y_t)^β (0 = plain gradient ascent)'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, weightedAscentSpec((model, batch) => wgaLoss(model, batch, o.beta)), hooks),
});
