import type { CausalLM } from '../model/arch/types.ts';
import { cloneModel } from '../model/checkpoint.ts';
import type { PromptAnswer } from '../model/logprobs.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { buildExamples, type ExampleSource } from '../train/examples.ts';
import { train } from '../train/trainer.ts';
import { matmulPrecision, Rng, type OptimizerState } from '../engine/index.ts';
import { EnsembleLM } from '../model/ensemble.ts';
import { answerProbability } from './probability.ts';

export interface RelearnOptions {
  /** Fine-tuning steps of the attack. */
  steps: number;
  /** Evaluate the held-out items every this many steps (and at step 0). */
  evalEvery: number;
  lr: number;
  batchSize: number;
  seed: number;
}

export const DEFAULT_RELEARN: RelearnOptions = { steps: 30, evalEvery: 5, lr: 2e-4, batchSize: 16, seed: 0 };

export interface RelearnCurve {
  steps: number[];
  /** The held-out forget score at each step (TOFU probability of the true answers). */
  score: number[];
}

/**
 * Splits items into an attack part and a held-out part by a seeded shuffle. The attack fine-tunes on the first
 * and watches the second: what comes back there was never trained on again, so it came from what was left.
 */
export function splitForRelearning<T>(items: readonly T[], attackFraction: number, seed: number): { attack: T[]; heldOut: T[] } {
  if (!(attackFraction > 0 && attackFraction < 1)) throw new RangeError(`attack fraction ${attackFraction} must be in (0, 1)`);
  const order = items.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(items.length * attackFraction);
  return { attack: order.slice(0, cut).map((i) => items[i]!), heldOut: order.slice(cut).map((i) => items[i]!) };
}

/**
 * The relearning attack: fine-tune a copy of the model on `attackData` (part of the forget set, or related data
 * only) with plain NLL and a constant learning rate, scoring the held-out forget items every evalEvery steps.
 * The model passed in is not changed; `onFinal` sees the attacked copy.
 */
export function relearnCurve(model: CausalLM, tokenizer: Tokenizer, attackData: readonly ExampleSource[], heldOut: readonly PromptAnswer[],
  o: RelearnOptions, onEval?: (step: number, score: number) => void, onFinal?: (attacked: CausalLM) => void): RelearnCurve {
  if (attackData.length === 0 || heldOut.length === 0) throw new RangeError('the relearning attack needs attack data and held-out items');
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const examples = buildExamples(attackData, tokenizer, model.config.maxPositions);
  const curve: RelearnCurve = { steps: [], score: [] };
  const evaluate = (attacked: CausalLM, step: number): void => {
    const score = answerProbability(attacked, heldOut, padId);
    curve.steps.push(step);
    curve.score.push(score);
    onEval?.(step, score);
  };
  // The attack fine-tunes at the precision of the evaluation around it (EvaluateOptions.precision): train() sets
  // its own, f32 unless told.
  const options = { batchSize: o.batchSize, lr: o.lr, minLr: o.lr, warmupSteps: 0, clip: 1, padId, precision: matmulPrecision() };
  if (model instanceof EnsembleLM) {
    // An ensemble is attacked shard by shard: every shard is fine-tuned on the attack data, the same steps each, and
    // the held-out items are scored through the aggregate. The learning rate is constant, so running the steps in
    // chunks between measurements changes only the batch order (each chunk has its own seed), not the schedule.
    const copies = model.members.map(cloneModel);
    const states: (OptimizerState | undefined)[] = copies.map(() => undefined);
    const attacked = new EnsembleLM(copies, model.aggregation);
    evaluate(attacked, 0);
    for (let done = 0, chunk = 0; done < o.steps; chunk++) {
      const steps = Math.min(o.evalEvery, o.steps - done);
      copies.forEach((m, i) => {
        const r = train(m, examples, { ...options, steps, seed: o.seed + 7919 * chunk }, {}, [], false, states[i] ? { optimizer: states[i] } : {});
        states[i] = r.optimizer;
      });
      done += steps;
      evaluate(attacked, done);
    }
    onFinal?.(attacked);
    return curve;
  }
  const copy = cloneModel(model);
  evaluate(copy, 0);
  if (o.steps > 0) train(copy, examples, { ...options, steps: o.steps, seed: o.seed }, {
    onStep: (s) => { if (s.step % o.evalEvery === 0 || s.step === o.steps) evaluate(copy, s.step); },
  });
  // The attacked copy, for callers that score more than the curve does (verification scores each held-out item).
  onFinal?.(copy);
  return curve;
}

export interface Recovery {
  /** First evaluated step at which the held-out score reached 50% / 90% of the target's, or null within the budget. */
  steps50: number | null;
  steps90: number | null;
  /** Final score as a fraction of the target's. */
  finalFraction: number;
}

/** Steps to recover a fraction of the original (target) model's score on the held-out forget items. */
export function recoverySteps(curve: RelearnCurve, targetScore: number): Recovery {
  if (!(targetScore > 0)) throw new RangeError(`target score ${targetScore} must be positive`);
  const first = (fraction: number): number | null => {
    const i = curve.score.findIndex((s) => s >= fraction * targetScore);
    return i < 0 ? null : curve.steps[i]!;
  };
  return { steps50: first(0.5), steps90: first(0.9), finalFraction: (curve.score.at(-1) ?? 0) / targetScore };
}
