import { z } from 'zod';
import { scale, sub } from '../../engine/index.ts';
import { runLossLoop } from '../loop.ts';
import { logSigmoid, meanAnswerNll, meanRows } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';

/** SimNPO: L_forget = −(2/β)·log σ(β·(NLL_sum/|y| − δ)): length-normalised, no reference model. */
export const simNpo = defineMethod({
  name: 'simnpo',
  summary: 'NPO without a reference model, length-normalised (SimNPO)',
  retain: 'required',
  options: z.object({
    ...loopOptionShape({ steps: 60, lr: 1e-4, gamma: 0.125 }),
    beta: z.number().positive().default(4.5).describe('inverse temperature β'),
    delta: z.number().default(0).describe('reward margin δ'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, {
    forget: (b, t) => scale(meanRows(logSigmoid(scale(sub(meanAnswerNll(t.model, b), o.delta), o.beta))), -2 / o.beta),
  }, hooks),
});
