import { z } from 'zod';
import { neg } from '../../engine/index.ts';
import { runLossLoop } from '../loop.ts';
import { answerNll } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';

/** GradDiff: γ·(−NLL(forget)) + α·L_retain, with L_retain NLL or (retainLoss=kl) KL to the starting model. */
export const gradDiff = defineMethod({
  name: 'grad-diff',
  summary: 'gradient ascent on forget answers plus a retain term (NLL, or KL to the original with retainLoss=kl)',
  retain: 'required',
  // Tuned on the embedded persons model (docs/unlearning.md); no setting tried met both bars there.
  options: z.object(loopOptionShape({ epochs: 6, lr: 3e-4, alpha: 10, retainBatchSize: 48 })),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, { forget: (b, t) => neg(answerNll(t.model, b)) }, hooks),
});
