import { z } from 'zod';
import { runLossLoop } from '../loop.ts';
import { weightedAnswerAscent, weightedAscentSpec } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';

/** The SatImp forget loss −mean_t p^β1·(1 − p)^β2·NLL_t over the batch's answer tokens, the weights detached. */
export function satImpLoss(model: CausalLM, batch: UnlearnBatch, beta1: number, beta2: number): ReturnType<typeof weightedAnswerAscent> {
  // 1 − p as −expm1(−NLL): exact for tokens the model is sure of, where 1 − e^(−NLL) would cancel.
  return weightedAnswerAscent(model, batch, (nll) => Math.exp(-beta1 * nll) * (-Math.expm1(-nll)) ** beta2);
}

/**
 * SatImp (Yang et al. 2025, "Exploring Criteria of Loss Reweighting to Enhance LLM Unlearning"): gradient ascent with
 * each answer token weighted by p^β1 (saturation: forgotten tokens stop pushing) times (1 − p)^β2 (importance: tokens
 * the model is certain of push less), the weight detached. Plus the shared retain term.
 */
export const satImp = defineMethod({
  name: 'satimp',
  summary: 'gradient ascent with answer tokens weighted by p^β1·(1−p)^β2 (SatImp), plus a retain term',
  retain: 'required',
  options: z.object({
    // β1, β2, γ = 0.1, α = 1 and the 5 epochs are open-unlearning's (configs/trainer/SatImp.yaml); its lr 1e-5 on a
    // 4096-wide 7B model is 1.6e-4 at width 256 under baseLr's 256/d_model rule. Not tuned on the embedded model.
    ...loopOptionShape({ epochs: 5, lr: 1.6e-4, gamma: 0.1, alpha: 1 }),
    beta1: z.number().min(0).default(5).describe('exponent β1 of the saturation weight p^β1'),
    beta2: z.number().min(0).default(1).describe('exponent β2 of the importance weight (1 − p)^β2'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, weightedAscentSpec((model, batch) => satImpLoss(model, batch, o.beta1, o.beta2)), hooks),
});
