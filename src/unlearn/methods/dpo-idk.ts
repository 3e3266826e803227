import { z } from 'zod';
import { scale, sub } from '../../engine/index.ts';
import { makeBatch } from '../batches.ts';
import { withAnswer } from '../data.ts';
import { runLossLoop } from '../loop.ts';
import { answerLogProb, logSigmoid, meanRows, referenceLogProb } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { refusalFor } from '../refusals.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';
import type { Tensor } from '../../engine/index.ts';

/** The DPO loss for preferred (win) and rejected (lose) answers to the same prompts, averaged over rows. */
export function dpoLoss(model: CausalLM, reference: CausalLM, win: UnlearnBatch, lose: UnlearnBatch, beta: number): Tensor {
  const winRatio = sub(answerLogProb(model, win), referenceLogProb(reference, win));
  const loseRatio = sub(answerLogProb(model, lose), referenceLogProb(reference, lose));
  return scale(meanRows(logSigmoid(scale(sub(winRatio, loseRatio), beta))), -2 / beta);
}

/**
 * DPO-Idk: direct preference optimisation with a refusal preferred over the true answer:
 * L_forget = −(2/β)·log σ(β·[(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))]),
 * y_w the refusal, y_l the true answer (the scale 2/β as open-unlearning's DPO).
 */
export const dpoIdk = defineMethod({
  name: 'dpo-idk',
  summary: 'DPO preferring a refusal over the true answer, against the frozen original, plus a retain term',
  retain: 'required',
  options: z.object({
    // Tuned on the embedded persons model (docs/unlearning.md); no setting reached the forget bar there.
    ...loopOptionShape({ epochs: 6, lr: 1e-3, retainBatchSize: 48 }),
    beta: z.number().positive().default(0.1).describe('inverse temperature β'),
  }),
  run: (ctx, o, hooks) => {
    for (const it of ctx.forget) {
      if (it.question === null) throw new RangeError('dpo-idk needs question–answer forget records (a text record has no question to refuse)');
    }
    return runLossLoop(ctx, o, {
      forget: (lose, t) => {
        const win = makeBatch(lose.items.map((it) => withAnswer(it, refusalFor(it.question!, o.seed), ctx.tokenizer)), ctx.padId);
        return dpoLoss(t.model, t.reference(), win, lose, o.beta);
      },
    }, hooks);
  },
});
