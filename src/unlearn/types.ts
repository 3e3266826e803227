import type { z } from 'zod';
import type { CausalLM } from '../model/arch/types.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { UnlearnItem } from './data.ts';

/** Why a run ended. */
export type StopReason = 'completed' | 'forget-target' | 'retain-guard' | 'utility-guard' | 'non-finite' | 'stopped';

/** A stop reason in words, for summaries. */
export const STOP_REASON_TEXT: Readonly<Record<StopReason, string>> = {
  'completed': 'ran all its steps',
  'forget-target': 'reached the forget target',
  'retain-guard': 'the retain NLL rose past its bound; rolled back to the last good check',
  'utility-guard': 'the utility NLL rose past its bound; rolled back to the last good check',
  'non-finite': 'a loss or gradient was not finite; rolled back to the last good check',
  'stopped': 'stopped on request',
};

export interface StepEvent {
  /** Phase of a multi-phase method (e.g. "fine-tune" then "negate" for task vectors); "unlearn" otherwise. */
  phase: string;
  step: number;
  totalSteps: number;
  /** The optimised loss and its named parts (forget, retain, …). */
  loss: number;
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
}

/** A guard check on fixed samples of the forget, retain and utility sets. */
export interface CheckEvent {
  step: number;
  /** Mean over forget items of exp(mean answer-token log-prob) (TOFU's probability). */
  forgetProb: number;
  /** Mean answer-token NLL on the retain sample (null without a retain set). */
  retainLoss: number | null;
  /**
   * Mean answer-token NLL on the utility sample: general text the method never trains on (a --utility file, or text
   * the model generated itself before unlearning when there is no retain set); null without one.
   */
  utilityLoss?: number | null;
}

export interface UnlearnHooks {
  onStep?: (e: StepEvent) => void;
  onCheck?: (e: CheckEvent) => void;
  /** A line of news from a method (ablated units, task-vector norm, …). */
  onMessage?: (message: string) => void;
  /** Return true to stop after the current step; the weights of that step are kept. */
  shouldStop?: () => boolean;
  /**
   * Keep a resumable checkpoint of the main optimisation phase in `dir`, written after a passing guard check at
   * least `every` steps after the last one; a run that finds one there (from a killed attempt of the same run)
   * continues from it. The caller removes the folder once the result is written.
   */
  checkpoint?: { dir: string; every: number };
}

/** Everything a method works on. The model is changed in place; `original` keeps θ before unlearning. */
export interface UnlearnContext {
  model: CausalLM;
  tokenizer: Tokenizer;
  forget: readonly UnlearnItem[];
  /** Empty when no retain set was given (only methods whose retain need is 'optional' or 'none' accept that). */
  retain: readonly UnlearnItem[];
  /** Held-out general text only the damage guard reads (absent or empty: no utility guard). */
  utility?: readonly UnlearnItem[];
  padId: number;
  /** θ before unlearning, a copy of model.params.flat. */
  original: Float32Array;
}

export interface UnlearnOutcome {
  stopReason: StopReason;
  steps: number;
  curve: StepEvent[];
  checks: CheckEvent[];
  /** Method-specific facts for unlearn.json (ablated units, task-vector norm, …). */
  details: Record<string, unknown>;
}

/**
 * A method: its name, documented options with defaults (a zod object), and what it does. `UnlearnMethod` (the
 * default S) is any method, as the registry lists them: `run` is written as a method, whose parameters TypeScript
 * checks bivariantly, so every `UnlearnMethod<S>` is one without a cast. The options handed to `run` must come from
 * parsing that method's own schema (parseOptions(method.options, …)).
 */
export interface UnlearnMethod<S extends z.ZodObject = z.ZodObject> {
  name: string;
  /** One line for `lethe methods`. */
  summary: string;
  /** Whether the method takes a retain set. */
  retain: 'required' | 'optional' | 'none';
  options: S;
  run(ctx: UnlearnContext, options: z.infer<S>, hooks: UnlearnHooks): UnlearnOutcome;
}

/** Identity that lets TypeScript infer a method's option types from its schema. */
export function defineMethod<S extends z.ZodObject>(method: UnlearnMethod<S>): UnlearnMethod<S> {
  return method;
}
