import type { CausalLM } from '../model/arch/types.ts';
import { cloneModel } from '../model/checkpoint.ts';
import type { Example } from '../train/examples.ts';
import { evaluateLoss, train } from '../train/trainer.ts';

/**
 * The relearning race (SGTM paper's protocol, ../shared/SGTM.md): fine-tune a model on a training mixture with the
 * removed domain upsampled, and count the steps until its held-out loss on that domain comes back down to the
 * original model's. Loss, not QA accuracy: a domain returns as fluency before it returns as facts.
 */
export interface RaceOptions {
  maxSteps: number;
  /** Held-out loss measured every this many steps (and at step 0). */
  evalEvery: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  batchSize: number;
  seed: number;
  /** The bar is reached at loss ≤ bar · (1 + tolerance). */
  tolerance: number;
}

export interface RaceResult {
  /** First measured step at which the held-out loss reached the bar; null: not within maxSteps. */
  steps: number | null;
  steps_evaluated: number[];
  loss: number[];
  bar: number;
}

/** Runs the race on a copy (the model passed in is not changed); stops at the first measurement under the bar. */
export function relearnRace(model: CausalLM, mixture: readonly Example[], heldOut: readonly Example[], bar: number, padId: number,
  o: RaceOptions, onEval?: (step: number, loss: number) => void): RaceResult {
  if (mixture.length === 0 || heldOut.length === 0) throw new RangeError('the relearning race needs a training mixture and held-out examples');
  const copy = cloneModel(model);
  const limit = bar * (1 + o.tolerance);
  const result: RaceResult = { steps: null, steps_evaluated: [], loss: [], bar };
  const record = (step: number, loss: number): void => {
    result.steps_evaluated.push(step);
    result.loss.push(loss);
    if (result.steps === null && loss <= limit) result.steps = step;
    onEval?.(step, loss);
  };
  record(0, evaluateLoss(copy, heldOut, o.batchSize, padId));
  if (result.steps !== null || o.maxSteps === 0) return result;
  train(copy, mixture, {
    steps: o.maxSteps, batchSize: o.batchSize, lr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, clip: 1, seed: o.seed, padId, evalEvery: o.evalEvery,
  }, { onEval: (e) => record(e.step, e.loss), shouldStop: () => result.steps !== null }, heldOut);
  return result;
}
