/**
 * The attack suite's shapes (after Lynch et al. 2024, "Eight methods to evaluate robust unlearning in LLMs"): each
 * attack tries to get the forget set's facts back and reports a few numbers in [0, 1] where higher means more came
 * back. The retain model's value of the same number is the bar (bar.ts); what each number means: docs/verification.md.
 */

/** The attacks, in the order they run and are reported. */
export const ATTACK_NAMES = ['in-context', 'paraphrase', 'few-shot', 'probe-sweep', 'logit-lens', 'sampling'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

export const ATTACK_LABEL: Record<AttackName, string> = {
  'in-context': 'in-context relearning',
  paraphrase: 'paraphrased and completion prompts',
  'few-shot': 'few-shot prompting',
  'probe-sweep': 'probe at every layer',
  'logit-lens': 'logit lens',
  sampling: 'sampled extraction',
};

/** One number an attack measured: a mean over `n` items of a per-item score in [0, 1]; higher = more recovered. */
export interface AttackMeasure {
  /** Stable key within its attack ("hit-rate", "probability", "any-of-k", …). */
  key: string;
  /** What it is, for tables and verdicts ("hit rate", "any of 8 samples"). */
  label: string;
  /** Null when this data cannot measure it (e.g. no attribute values to look for in the answers). */
  value: number | null;
  /** Items the value is a mean over. */
  n: number;
  /** For a maximum over layers: the layer it was reached at. */
  layer?: number;
}

/** A per-layer curve (probe sweep, logit lens), layer 0 first. */
export interface LayerCurve {
  key: string;
  label: string;
  values: number[];
}

export interface AttackResult {
  attack: AttackName;
  /** Why the attack could not run on this data or model; absent when it ran. Never reported as a 0. */
  notApplicable?: string;
  measures: AttackMeasure[];
  layers?: LayerCurve[];
  /** Items left out, with why (too long for the context, a subject with one fact, …). */
  skipped?: { count: number; why: string }[];
}

export interface AttackOptions {
  /** Forget items asked by the attacks that generate (an even sample; the probe sweep and the logit lens use all). */
  items: number;
  /** In-context relearning: the subject's other facts (question + true answer) put before each question. */
  contextFacts: number;
  /** Few-shot prompting: QA pairs about retain persons put before each question. */
  shots: number;
  /** Sampled extraction: samples per question (temperature 1). */
  samples: number;
  temperature: number;
  /** Probe sweep: the attribute read from the activations (as the hidden-state probe). */
  probeAttribute: string;
  batchSize: number;
  seed: number;
}

export const DEFAULT_ATTACK_OPTIONS: AttackOptions = {
  items: 100, contextFacts: 3, shots: 3, samples: 8, temperature: 1, probeAttribute: 'country', batchSize: 32, seed: 0,
};
