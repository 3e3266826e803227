import { z } from 'zod';
import { scale, sub } from '../../engine/index.ts';
import { runLossLoop } from '../loop.ts';
import { logSigmoid, meanAnswerNll, meanRows } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';
import type { Tensor } from '../../engine/index.ts';

/** The SimNPO forget loss, averaged over the batch's rows. */
export function simNpoLoss(model: CausalLM, batch: UnlearnBatch, beta: number, delta: number): Tensor {
  return scale(meanRows(logSigmoid(scale(sub(meanAnswerNll(model, batch), delta), beta))), -2 / beta);
}

/** SimNPO: L_forget = −(2/β)·log σ(β·(NLL_sum/|y| − δ)): length-normalised, no reference model. */
export const simNpo = defineMethod({
  name: 'simnpo',
  summary: 'NPO without a reference model, length-normalised (SimNPO)',
  retain: 'required',
  options: z.object({
    // Tuned on the embedded persons model (docs/unlearning.md): the paper's γ = 0.125 barely moves it.
    ...loopOptionShape({ epochs: 6, lr: 1e-3, gamma: 2, alpha: 5, retainBatchSize: 48 }),
    beta: z.number().positive().default(4.5).describe('inverse temperature β'),
    delta: z.number().default(0).describe('reward margin δ'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, {
    forget: (b, t) => simNpoLoss(t.model, b, o.beta, o.delta),
  }, hooks),
});
