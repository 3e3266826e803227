import { z } from 'zod';
import { runLossLoop } from '../loop.ts';
import { answerNll } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { allFinite, damageBreach, GuardSample } from '../checks.ts';
import { defineMethod } from '../types.ts';

const { alpha: _a, retainLoss: _r, primalDual: _p, retainEps: _e, dualStep: _d, gamma: _g, targetForgetProb: _t, ...shape } = loopOptionShape({ epochs: 1.2, lr: 1e-4 });

/** θ' = θ − λ(θ_ft − θ) in place over the flat buffer holding θ_ft; returns ‖τ‖. */
export function negateTaskVector(flat: Float32Array, original: Float32Array, lambda: number): number {
  let tauSq = 0;
  for (let i = 0; i < flat.length; i++) {
    const tau = flat[i]! - original[i]!;
    tauSq += tau * tau;
    flat[i] = original[i]! - lambda * tau;
  }
  return Math.sqrt(tauSq);
}

/**
 * TaskVector (MUSE): fine-tune a copy on the forget set, τ = θ_ft − θ, then θ' = θ − λ·τ. The fine-tune phase moves
 * toward the forget data on purpose, so it runs without the guards; the negated model is checked once against θ,
 * and when it breaches a damage bound (or is not finite) the method gives θ back rather than a broken model.
 */
export const taskVector = defineMethod({
  name: 'task-vector',
  summary: 'fine-tune on the forget set, then subtract λ times that update from the original (task-vector negation)',
  retain: 'optional',
  options: z.object({
    ...shape,
    lambda: z.number().positive().default(5).describe('scale λ of the negated task vector'),
  }),
  run: (ctx, o, hooks) => {
    const guard = new GuardSample(ctx, o.checkSamples);
    const start = guard.check(ctx.model, 0);
    hooks.onCheck?.(start);
    const ft = runLossLoop(ctx, { ...o, gamma: 1, targetForgetProb: 0, maxRetainLossRise: 0, maxUtilityLossRise: 0 },
      { forget: (b, t) => answerNll(t.model, b) }, hooks, { phase: 'fine-tune', guards: false });
    const tauNorm = negateTaskVector(ctx.model.params.flat, ctx.original, o.lambda);
    const check = guard.check(ctx.model, ft.steps);
    hooks.onCheck?.(check);
    hooks.onMessage?.(`task vector: ‖τ‖ = ${tauNorm.toExponential(3)}, applied with λ = ${o.lambda}`);
    const breach = allFinite(ctx.model.params.flat) ? damageBreach(start, check, o) : 'non-finite';
    if (breach) {
      ctx.model.params.restore(ctx.original);
      hooks.onMessage?.(`task vector: the negated model breaches a guard (${breach}); weights rolled back to the original`);
    }
    return { ...ft, stopReason: breach ?? ft.stopReason, checks: [start, ...ft.checks, check], details: { taskVectorNorm: tauNorm, lambda: o.lambda } };
  },
});
