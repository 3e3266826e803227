import { answerProbability, meanAnswerTokenNll } from '../model/logprobs.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { evenSample } from '../util/sample.ts';
import type { UnlearnItem } from './data.ts';
import type { CheckEvent, StopReason, UnlearnContext } from './types.ts';

/**
 * Scores fixed samples at each check: the forget probability the early-stop target reads, the retain NLL and the
 * utility NLL the damage guards read. The same items every time, so checks are comparable along a run.
 */
export class GuardSample {
  private readonly forget: UnlearnItem[];
  private readonly retain: UnlearnItem[];
  private readonly utility: UnlearnItem[];
  private readonly padId: number;

  constructor(ctx: Pick<UnlearnContext, 'forget' | 'retain' | 'utility' | 'padId'>, samples: number) {
    this.forget = evenSample(ctx.forget, samples);
    this.retain = evenSample(ctx.retain, samples);
    this.utility = evenSample(ctx.utility ?? [], samples);
    this.padId = ctx.padId;
  }

  check(model: CausalLM, step: number): CheckEvent {
    const forgetProb = answerProbability(model, this.forget, this.padId);
    const retainLoss = this.retain.length > 0 ? meanAnswerTokenNll(model, this.retain, this.padId) : null;
    const utilityLoss = this.utility.length > 0 ? meanAnswerTokenNll(model, this.utility, this.padId) : null;
    return { step, forgetProb, retainLoss, utilityLoss };
  }
}

/** The bounds of the damage guards, in nats per token over their value at the start (0 = that guard is off). */
export interface DamageBounds {
  maxRetainLossRise: number;
  maxUtilityLossRise: number;
}

/** Which damage guard a check breaches against the start, if any (a NaN loss breaches too: it is damage). */
export function damageBreach(start: CheckEvent, c: CheckEvent, b: DamageBounds): Extract<StopReason, 'retain-guard' | 'utility-guard'> | null {
  const rose = (now: number | null, then: number | null, bound: number): boolean =>
    bound > 0 && now !== null && then !== null && !(now - then <= bound);
  if (rose(c.retainLoss, start.retainLoss, b.maxRetainLossRise)) return 'retain-guard';
  if (rose(c.utilityLoss ?? null, start.utilityLoss ?? null, b.maxUtilityLossRise)) return 'utility-guard';
  return null;
}

/** True when every weight is a finite number. */
export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
