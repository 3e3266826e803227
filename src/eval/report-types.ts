/**
 * The shape of an evaluation: what `lethe eval` writes to metrics.json and what the HTML report and the printed
 * table read. Every number means what DESIGN.md §6 (and TOFU / MUSE / open-unlearning) says it means.
 */
import type { AttackResult } from './attacks/types.ts';

export type { AttackMeasure, AttackName, AttackResult, LayerCurve } from './attacks/types.ts';

/** Scores on one QA set (forget, retain or world). */
export interface SetMetrics {
  items: number;
  /** Mean over items of exp(mean answer-token log-prob). */
  probability: number;
  /** Mean ROUGE-L recall of the greedy answer against the true answer (rouge-score tokenisation, Porter stemming). */
  rougeRecall: number;
  /** Truth ratio aggregate: forget set mean min(TR, 1/TR); other sets mean max(0, 1 − TR). Null without paraphrased/perturbed answers. */
  truthRatio: number | null;
}

export interface MiaResult {
  attack: 'loss' | 'zlib' | 'min-k' | 'min-k++' | 'reference';
  /** AUC of forget (members) vs holdout (non-members); 0.5 = indistinguishable. */
  auc: number;
}

export interface RelearnSummary {
  /** "forget-part": fine-tuned on part of the forget set; "related": on related data only. */
  mode: 'forget-part' | 'related';
  steps: number[];
  /** Held-out forget probability at each step. */
  score: number[];
  steps50: number | null;
  steps90: number | null;
  /** Held-out forget items the score is a mean over. */
  items?: number;
}

export interface ProbeSummary {
  attribute: string;
  layer: number;
  /** Linear probe accuracy on forget persons' activations (trained on retain persons). */
  probeAccuracy: number;
  /** Fraction of forget persons whose greedy answer states the attribute. */
  outputAccuracy: number;
  chance: number;
}

export interface ModelEvaluation {
  /** A short name: "target", "retain90", "npo", "npo+sage", … */
  name: string;
  role: 'target' | 'reference' | 'unlearned';
  dir: string | null;
  forget: SetMetrics;
  retain: SetMetrics;
  world: SetMetrics | null;
  /** TOFU's real-authors set (the third of its model utility), where the data has it. */
  realAuthors?: SetMetrics;
  /** Harmonic mean of retain (and world) probability, ROUGE-L and truth ratio; 0 if any is 0. */
  modelUtility: number;
  /** KS p-value between this model's and the reference's per-item forget truth ratios (null for the reference itself or without one). */
  forgetQuality: number | null;
  extractionStrength: number;
  exactMemorisation: number;
  mia: MiaResult[];
  /** MUSE's PrivLeak on the Min-K% attack: the relative AUC gap to the reference, in %; null without a reference. */
  privLeak: number | null;
  relearn: RelearnSummary[];
  probe: ProbeSummary | null;
  /** Why the probe did not run, when it did not (shown instead of a bare dash). */
  probeSkipped?: string;
  /** The attack suite (src/eval/attacks): one result per attack run, in the suite's order ([]: none was requested). */
  attacks?: AttackResult[];
  /** Per-item scores kept for the charts: forget truth ratios and the LOSS attack's scores on forget and holdout. */
  samples: { forgetTruthRatios: number[]; lossForget: number[]; lossHoldout: number[] };
  /** One line: does it forget like the reference, and what did it cost? (set by the caller that knows the bars). */
  verdict: string | null;
  seconds: number | null;
}

export interface EvalReport {
  title: string;
  created: string;
  data: Record<string, string>;
  /** The evaluated models: unlearned ones, then the target and the reference when given. */
  models: ModelEvaluation[];
}
