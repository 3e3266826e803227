import { z } from 'zod';
import { scale, sub } from '../../engine/index.ts';
import { runLossLoop } from '../loop.ts';
import { answerLogProb, logSigmoid, meanRows, referenceLogProb } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';
import type { Tensor } from '../../engine/index.ts';

/** The NPO forget loss, averaged over the batch's rows. */
export function npoLoss(model: CausalLM, reference: CausalLM, batch: UnlearnBatch, beta: number): Tensor {
  const ratio = sub(answerLogProb(model, batch), referenceLogProb(reference, batch));
  return scale(meanRows(logSigmoid(scale(ratio, -beta))), -2 / beta);
}

/**
 * NPO: L_forget = −(2/β)·log σ(−β·(log π_θ(y|x) − log π_ref(y|x))), sequence log-probs summed over answer tokens,
 * π_ref the frozen starting model. Unlike gradient ascent the push fades once π_θ falls below π_ref.
 */
export const npo = defineMethod({
  name: 'npo',
  summary: 'negative preference optimisation against the frozen original, plus a retain term',
  retain: 'required',
  options: z.object({
    // Tuned on the embedded persons model, forget10 vs retain90 (docs/unlearning.md).
    ...loopOptionShape({ epochs: 8, lr: 3e-4, alpha: 10, retainBatchSize: 48 }),
    beta: z.number().positive().default(0.1).describe('inverse temperature β of the preference loss'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, {
    forget: (b, t) => npoLoss(t.model, t.reference(), b, o.beta),
  }, hooks),
});
