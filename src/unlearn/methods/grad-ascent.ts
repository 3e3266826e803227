import { z } from 'zod';
import { neg } from '../../engine/index.ts';
import { runLossLoop } from '../loop.ts';
import { answerNll } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';

const { alpha: _a, retainLoss: _r, primalDual: _p, retainEps: _e, dualStep: _d, ...shape } = loopOptionShape({ epochs: 1.2, lr: 1e-4 });

/** GradAscent: L = −NLL(forget). No retain term (a retain set, if given, only feeds the damage guard). */
export const gradAscent = defineMethod({
  name: 'grad-ascent',
  summary: 'gradient ascent on the forget answers (−NLL); fast, and unbounded: it damages everything else',
  retain: 'optional',
  options: z.object(shape),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, { forget: (b, t) => neg(answerNll(t.model, b)) }, hooks),
});
