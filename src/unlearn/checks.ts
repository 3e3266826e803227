import { answerProbability, meanAnswerTokenNll } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { evenSample } from './batches.ts';
import type { UnlearnItem } from './data.ts';
import type { CheckEvent } from './types.ts';

/**
 * Scores fixed samples of the forget and retain sets: the forget probability the early-stop target reads, and the
 * retain NLL the damage guard reads. The same items every time, so checks are comparable along a run.
 */
export class GuardSample {
  private readonly forget: UnlearnItem[];
  private readonly retain: UnlearnItem[];

  constructor(forget: readonly UnlearnItem[], retain: readonly UnlearnItem[], samples: number, private readonly padId: number) {
    this.forget = evenSample(forget, samples);
    this.retain = evenSample(retain, samples);
  }

  check(model: CausalLM, step: number): CheckEvent {
    const forgetProb = answerProbability(model, this.forget, this.padId);
    const retainLoss = this.retain.length > 0 ? meanAnswerTokenNll(model, this.retain, this.padId) : null;
    return { step, forgetProb, retainLoss };
  }
}

/** True when every weight is a finite number (the last line of defence before a model is written). */
export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
