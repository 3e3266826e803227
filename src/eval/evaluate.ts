import { poolPhase, withMatmulPrecision, type MatmulPrecision } from '../engine/index.ts';
import { EnsembleLM } from '../model/ensemble.ts';
import type { CausalLM } from '../model/arch/types.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { qaTokens } from '../model/qa-format.ts';
import { evenSample } from '../util/sample.ts';
import type { EvalQa, EvalSets } from './datasets.ts';
import { forgetQuality } from './forget-quality.ts';
import { answerQuality } from './memorisation.ts';
import { miaScores, miaScoresFrom, membershipAuc, privLeak, type MiaAttack, type MiaItem } from './mia.ts';
import { probeAttribute, type ProbeExample } from './probe.ts';
import { scoreQaSet, type QaScores } from './qa-scores.ts';
import { DEFAULT_RELEARN, recoverySteps, relearnCurve, splitForRelearning, type RelearnOptions } from './relearn.ts';
import type { MiaResult, ModelEvaluation, ProbeSummary, RelearnSummary, SetMetrics } from './report-types.ts';
import { rougeL } from './rouge.ts';
import { forgetTruthRatio, retainTruthRatio, truthRatios } from './truth-ratio.ts';
import { modelUtility, optionNormalisedProbability } from './utility.ts';
import { memorisationFrom } from './extraction.ts';
import { ATTACK_NAMES as SUITE, runAttacks, type AttackName, type AttackOptions } from './attacks/index.ts';

export interface EvaluateOptions {
  /** Retain items scored (an even sample; the retain set can be large). */
  retainSample: number;
  /** World items scored. */
  worldSample: number;
  /** Min-K% / Min-K%++ fraction. */
  minK: number;
  /** Relearning attacks to run (none: []). */
  relearnModes: RelearnSummary['mode'][];
  relearn: RelearnOptions;
  /** Items of the retain set the "related data" attack fine-tunes on. */
  relatedItems: number;
  /** Hidden-state probe of one attribute (needs sets with subjects and attributes, as the persons corpus has). */
  probe: { attribute: string; layer: number | null } | null;
  /** The attack suite (src/eval/attacks; none: []). An attack the data or model does not support reports why. */
  attacks: AttackName[];
  /** Its options over DEFAULT_ATTACK_OPTIONS; the seed and batch size are this evaluation's, the probed attribute the probe's. */
  attackOptions: Partial<AttackOptions>;
  batchSize: number;
  seed: number;
  /**
   * The precision of every matrix product of the evaluation — scoring, generation, probes, attacks and the
   * relearning attacks' fine-tuning: 'f32' (the default, as the metric references compute), or 'bf16' (operands
   * rounded to bfloat16, f32 sums, as PyTorch's bf16 autocast; about twice the GEMM speed where the CPU has
   * AVX512-BF16). Compare models only under one precision: it is part of the evaluation cache's key.
   */
  precision: MatmulPrecision;
}

/** open-unlearning's generation length for TOFU (configs/generation/default.yaml: max_new_tokens 200). */
export const TOFU_MAX_NEW_TOKENS = 200;

export const DEFAULT_EVALUATE: EvaluateOptions = {
  retainSample: 400, worldSample: 200, minK: 0.4, relearnModes: ['forget-part', 'related'], relearn: DEFAULT_RELEARN,
  relatedItems: 200, probe: { attribute: 'country', layer: null }, attacks: [...SUITE], attackOptions: {}, batchSize: 32, seed: 0,
  precision: 'f32',
};

/** The evaluation's matmul precision in words, as the report states it. */
export function matmulPrecisionNote(p: MatmulPrecision): string {
  return p === 'bf16' ? 'bf16 operands with f32 sums in every matrix product (as bf16 autocast); other ops f32' : 'f32';
}

/** What every evaluation is compared with: the reference (retain) model's forget truth ratios and Min-K% AUC. */
export interface ReferenceBaseline {
  forgetTruthRatios: Float64Array;
  /** AUC of the Min-K% attack (PrivLeak's base). */
  minKAuc: number;
}

export interface EvaluateInput {
  name: string;
  role: ModelEvaluation['role'];
  dir: string | null;
  model: CausalLM;
  tokenizer: Tokenizer;
  sets: EvalSets;
  reference: ReferenceBaseline | null;
  options?: Partial<EvaluateOptions>;
  log?: (line: string) => void;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length === 0 ? NaN : s / xs.length;
};

/** Teacher-forced and greedy scores of one QA set: probability, ROUGE-L recall (stemmed) and truth ratio. */
export function setMetrics(model: CausalLM, tokenizer: Tokenizer, items: readonly EvalQa[], scores: QaScores, role: 'forget' | 'other', maxNewTokens?: number): SetMetrics {
  const withOptions = items.every((q) => q.paraphrasedAnswer === null && q.perturbedAnswers.length > 0);
  // Sets of short facts with wrong options and no paraphrase (TOFU's world facts) report the option-normalised probability.
  const probability = withOptions ? optionNormalisedProbability(scores.answer, scores.perturbed) : mean(Array.from(scores.answer, Math.exp));
  const greedy = answerQuality(model, tokenizer, items, maxNewTokens === undefined ? {} : { maxNewTokens }).answers;
  const rougeRecall = mean(items.map((q, i) => rougeL(q.answer, greedy[i]!, { stem: true }).recall));
  const hasTr = items.every((q) => q.perturbedAnswers.length > 0);
  const trs = hasTr ? truthRatios(scores.paraphrased, scores.perturbed) : null;
  const truthRatio = trs === null ? null : role === 'forget' ? forgetTruthRatio(trs) : retainTruthRatio(trs);
  return { items: items.length, probability, rougeRecall, truthRatio };
}

function miaItems(tokenizer: Tokenizer, items: readonly EvalQa[]): MiaItem[] {
  return items.map((q) => ({ ...qaTokens(tokenizer, q.question, q.answer), text: q.answer }));
}

const ATTACK_NAMES: Record<MiaAttack, MiaResult['attack']> = { loss: 'loss', zlib: 'zlib', minK: 'min-k', minKPlusPlus: 'min-k++', reference: 'reference' };

/** The reference model's numbers every other model is compared with. */
export function referenceBaseline(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, options: Partial<EvaluateOptions> = {}): ReferenceBaseline {
  const o = { ...DEFAULT_EVALUATE, ...options };
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const scores = scoreQaSet(model, tokenizer, sets.forget, padId, o.batchSize);
  const f = miaScores(model, miaItems(tokenizer, sets.forget), { padId, k: o.minK });
  const h = miaScores(model, miaItems(tokenizer, sets.holdout), { padId, k: o.minK });
  return { forgetTruthRatios: truthRatios(scores.paraphrased, scores.perturbed), minKAuc: membershipAuc(f.minK!, h.minK!) };
}

/** Probe training and test examples: the attribute's question for each retain (train) and forget (test) subject. */
function probeExamples(tokenizer: Tokenizer, items: readonly EvalQa[], attribute: string, values: Map<string, string>): ProbeExample[] {
  return items.filter((q) => q.attribute === attribute && q.subject !== null && values.has(q.subject))
    .map((q) => ({ ids: qaTokens(tokenizer, q.question, q.answer).prompt, label: values.get(q.subject!)! }));
}

/**
 * Evaluates one model on the sets: forget/retain/world probability, ROUGE-L and truth ratio; model utility; forget
 * quality against the reference; extraction strength and exact memorisation on the forget set; every
 * membership-inference attack (forget vs holdout) and PrivLeak; the relearning attacks; the hidden-state probe; the
 * attack suite (in-context relearning, paraphrases, few-shot, probe and logit lens at every layer, sampling).
 */
export function evaluateModel(input: EvaluateInput): ModelEvaluation {
  const precision = input.options?.precision ?? DEFAULT_EVALUATE.precision;
  return poolPhase(() => withMatmulPrecision(precision, () => evaluateWith(input)));
}

function evaluateWith(input: EvaluateInput): ModelEvaluation {
  const o = { ...DEFAULT_EVALUATE, ...(input.options ?? {}) };
  const { model, tokenizer, sets } = input;
  const log = input.log ?? (() => {});
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const retainItems = evenSample(sets.retain, o.retainSample);
  const worldItems = evenSample(sets.world, o.worldSample);

  log(`  ${input.name}: answer probabilities, truth ratios, greedy answers`);
  // The forget answers' membership statistics and argmax come from the same pass (read below).
  const forgetScores = scoreQaSet(model, tokenizer, sets.forget, padId, o.batchSize, { moments: true, argmax: true });
  // TOFU's answers run to paragraphs: greedy answers get open-unlearning's 200 new tokens (the context permitting),
  // so ROUGE is not cut short; the persons corpus's one-sentence answers keep the shorter default.
  const cap = sets.format === 'tofu' ? TOFU_MAX_NEW_TOKENS : undefined;
  const forget = setMetrics(model, tokenizer, sets.forget, forgetScores, 'forget', cap);
  const retain = setMetrics(model, tokenizer, retainItems, scoreQaSet(model, tokenizer, retainItems, padId, o.batchSize), 'other', cap);
  const world = worldItems.length > 0 ? setMetrics(model, tokenizer, worldItems, scoreQaSet(model, tokenizer, worldItems, padId, o.batchSize), 'other', cap) : null;
  const authorItems = evenSample(sets.realAuthors ?? [], o.worldSample);
  const realAuthors = authorItems.length > 0 ? setMetrics(model, tokenizer, authorItems, scoreQaSet(model, tokenizer, authorItems, padId, o.batchSize), 'other', cap) : null;
  const scoresOf = (m: SetMetrics) => ({ probability: m.probability, rougeL: m.rougeRecall, truthRatio: m.truthRatio ?? 0 });
  const utility = modelUtility({
    retain: scoresOf(retain),
    worldFacts: scoresOf(world ?? retain),
    ...(realAuthors ? { realAuthors: scoresOf(realAuthors) } : {}),
  }).value;
  const forgetTrs = truthRatios(forgetScores.paraphrased, forgetScores.perturbed);
  const fq = input.reference && input.role !== 'reference' ? forgetQuality(forgetTrs, input.reference.forgetTruthRatios).pValue : null;

  log(`  ${input.name}: extraction, membership inference`);
  // The scoring pass above gave the forget answers' membership statistics and the argmax that extraction and
  // memorisation read.
  const forgetItems = miaItems(tokenizer, sets.forget);
  const forgetStats = forgetScores.truthStats!;
  const memo = memorisationFrom(forgetStats.argmax!, forgetItems);
  const f = miaScoresFrom(forgetStats, forgetItems, { k: o.minK });
  const h = miaScores(model, miaItems(tokenizer, sets.holdout), { padId, k: o.minK, batchSize: o.batchSize });
  const mia: MiaResult[] = (Object.keys(f) as MiaAttack[]).map((a) => ({ attack: ATTACK_NAMES[a], auc: membershipAuc(f[a]!, h[a]!) }));
  // PrivLeak uses the Min-K% attack, as MUSE and open-unlearning do.
  const minKAuc = mia.find((m) => m.attack === 'min-k')!.auc;

  const relearn: RelearnSummary[] = [];
  if (o.relearnModes.length > 0) {
    const { attack, heldOut } = splitForRelearning(sets.forget, 0.5, o.seed);
    const heldOutPairs = heldOut.map((q) => qaTokens(tokenizer, q.question, q.answer));
    for (const mode of o.relearnModes) {
      log(`  ${input.name}: relearning attack (${mode})`);
      const data = mode === 'forget-part' ? attack : evenSample(sets.retain, o.relatedItems);
      const curve = relearnCurve(model, tokenizer, data.map((q) => ({ kind: 'qa' as const, question: q.question, answer: q.answer })), heldOutPairs, o.relearn);
      // Recovery is measured against the target's held-out score once it is known (withRecovery).
      relearn.push({ mode, steps: curve.steps, score: curve.score, steps50: null, steps90: null, items: heldOutPairs.length });
    }
  }

  let probe: ProbeSummary | null = null;
  let probeSkipped: string | undefined;
  if (!o.probe) probeSkipped = 'not requested (--no-probe)';
  else if (!sets.attributes) probeSkipped = `the ${sets.format} data names no subject attributes to probe for (the persons format does)`;
  else if (!sets.attributes.get(o.probe.attribute)) probeSkipped = `the data has no attribute "${o.probe.attribute}"`;
  else if (model instanceof EnsembleLM) probeSkipped = 'an ensemble has no single hidden state to probe (its shards each have one)';
  if (o.probe && sets.attributes && !(model instanceof EnsembleLM)) {
    const values = sets.attributes.get(o.probe.attribute);
    if (values) {
      log(`  ${input.name}: hidden-state probe (${o.probe.attribute})`);
      const layer = o.probe.layer ?? Math.floor(model.config.numLayers / 2);
      const train = probeExamples(tokenizer, sets.retain, o.probe.attribute, values);
      const testItems = sets.forget.filter((q) => q.attribute === o.probe!.attribute && q.subject !== null && values.has(q.subject));
      const test = probeExamples(tokenizer, testItems, o.probe.attribute, values);
      const result = probeAttribute(model, train, test, { layer, padId });
      const answers = answerQuality(model, tokenizer, testItems).answers;
      const said = testItems.filter((q, i) => answers[i]!.includes(values.get(q.subject!)!)).length;
      probe = { attribute: o.probe.attribute, layer, probeAccuracy: result.probeAccuracy, outputAccuracy: said / Math.max(1, testItems.length), chance: result.chance };
    }
  }

  if (o.attacks.length > 0) log(`  ${input.name}: attacks (${o.attacks.join(', ')})`);
  const attacks = runAttacks(model, tokenizer, sets, o.attacks, {
    seed: o.seed, batchSize: o.batchSize, ...(o.probe ? { probeAttribute: o.probe.attribute } : {}), ...o.attackOptions,
  }, log);

  return {
    name: input.name, role: input.role, dir: input.dir, forget, retain, world, ...(realAuthors ? { realAuthors } : {}), modelUtility: utility, forgetQuality: fq,
    extractionStrength: memo.meanExtractionStrength, exactMemorisation: memo.meanExactMemorisation, mia,
    privLeak: input.reference ? privLeak(minKAuc, input.reference.minKAuc) : null,
    relearn, probe, ...(probeSkipped ? { probeSkipped } : {}), attacks,
    samples: { forgetTruthRatios: Array.from(forgetTrs), lossForget: Array.from(f.loss!), lossHoldout: Array.from(h.loss!) },
    verdict: null, seconds: null,
  };
}

/**
 * The reference model's evaluation and the baseline every other model is compared with, from one evaluation: the
 * baseline is its own forget truth ratios and Min-K% AUC, which the evaluation computes anyway (PrivLeak of the
 * reference against itself is 0 by definition; its forget quality is not measured, as against itself it is 1).
 */
export function evaluateReference(input: Omit<EvaluateInput, 'role' | 'reference'>): { evaluation: ModelEvaluation; baseline: ReferenceBaseline } {
  const evaluation = evaluateModel({ ...input, role: 'reference', reference: null });
  const minKAuc = evaluation.mia.find((m) => m.attack === 'min-k')!.auc;
  const baseline: ReferenceBaseline = { forgetTruthRatios: Float64Array.from(evaluation.samples.forgetTruthRatios), minKAuc };
  return { evaluation: { ...evaluation, privLeak: privLeak(minKAuc, minKAuc) }, baseline };
}

/** Fills each relearning summary's steps to 50% / 90% of the target's held-out forget score (the target's step 0). */
export function withRecovery(models: ModelEvaluation[], target: ModelEvaluation): void {
  for (const m of models) {
    for (const r of m.relearn) {
      const targetScore = target.relearn.find((t) => t.mode === r.mode)?.score[0];
      if (targetScore === undefined || !(targetScore > 0)) continue;
      const rec = recoverySteps({ steps: r.steps, score: r.score }, targetScore);
      r.steps50 = rec.steps50;
      r.steps90 = rec.steps90;
    }
  }
}
