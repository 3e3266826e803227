import { z } from 'zod';
import { runLossLoop } from '../loop.ts';
import { answerNll } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { refusalFor } from '../refusals.ts';
import { withAnswer } from '../data.ts';
import { defineMethod } from '../types.ts';

/**
 * IdkFT: fine-tune each forget question toward a refusal answer ("I don't know", from the shipped set) plus a
 * retain term. Text records have no question to refuse, so they are rejected.
 */
export const idkFt = defineMethod({
  name: 'idk-ft',
  summary: 'fine-tune forget questions toward refusal answers ("I don\'t know") plus a retain term',
  retain: 'required',
  // Tuned on the embedded persons model (docs/unlearning.md).
  options: z.object(loopOptionShape({ epochs: 6, lr: 1e-3, retainBatchSize: 48 })),
  run: (ctx, o, hooks) => {
    const refusals = ctx.forget.map((it) => {
      if (it.question === null) throw new RangeError('idk-ft needs question–answer forget records (a text record has no question to refuse)');
      return withAnswer(it, refusalFor(it.question, o.seed), ctx.tokenizer);
    });
    return runLossLoop(ctx, o, { forget: (b, t) => answerNll(t.model, b) }, hooks, { forget: refusals });
  },
});
