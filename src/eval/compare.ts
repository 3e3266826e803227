import { basename, resolve } from 'node:path';
import type { CausalLM } from '../model/arch/types.ts';
import { loadAnyModel } from '../train/sisa/load.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { fitSetsToContext, type FittedSets, type TooLong } from './context-fit.ts';
import type { EvalSets } from './datasets.ts';
import type { EvalCache } from './cache.ts';
import { DEFAULT_EVALUATE, evaluateModel, evaluateReference, matmulPrecisionNote, withRecovery, type EvaluateOptions, type ReferenceBaseline } from './evaluate.ts';
import type { EvalReport, ModelEvaluation } from './report-types.ts';
import { verdictFor } from './verdict.ts';

/** A model to evaluate: its folder, and the weights when they are already in memory (else they are loaded). */
export interface ModelToEvaluate {
  dir: string;
  /** Name in the report (default: the folder's name). */
  name?: string;
  model?: CausalLM;
  /** Options for this model only, over the shared ones (e.g. fewer relearning steps for the target). */
  options?: Partial<EvaluateOptions>;
  /** Wall time of the unlearning that made it, shown in the report. */
  seconds?: number | null;
}

export interface ComparisonInput {
  sets: EvalSets;
  tokenizer: Tokenizer;
  /**
   * The retain model: trained without the forget set, the gold standard the others are compared with. Real users
   * rarely have one: without it, every metric that needs it (forget quality, PrivLeak, the never-learned bars) is
   * left out and the verdicts say so.
   */
  reference?: ModelToEvaluate;
  /** The model before unlearning: with it, verdicts and relearning recovery steps. */
  target?: ModelToEvaluate;
  unlearned: readonly ModelToEvaluate[];
  options?: Partial<EvaluateOptions>;
  /** Items longer than the model's context: refuse (the default, naming the item), leave out, or cut the question from the left; counted. */
  tooLong?: TooLong;
  title: string;
  /** Extra provenance for the report's data section (the sets' sources are always there). */
  data?: Record<string, string>;
  /** Where evaluations are kept between runs (see cache.ts); none: everything is evaluated. */
  cache?: EvalCache;
  /**
   * The sets as fitSetsToContext already fitted them to these models' context, with the same tokenizer and
   * tooLong (a caller running several comparisons of the same models, e.g. in threads); fitted here otherwise.
   */
  fitted?: FittedSets;
  log?: (line: string) => void;
}

/** The report's matmul_precision: one note when every model was evaluated alike, else each model's. */
function precisionNote(models: readonly (ModelToEvaluate | undefined)[], shared: Partial<EvaluateOptions>): string {
  const each = models.filter((m): m is ModelToEvaluate => m !== undefined)
    .map((m) => ({ name: m.name ?? basename(resolve(m.dir)), precision: m.options?.precision ?? shared.precision ?? DEFAULT_EVALUATE.precision }));
  const kinds = new Set(each.map((m) => m.precision));
  if (kinds.size <= 1) return matmulPrecisionNote([...kinds][0] ?? shared.precision ?? DEFAULT_EVALUATE.precision);
  return `mixed, not comparable figure for figure: ${each.map((m) => `${m.name} ${matmulPrecisionNote(m.precision)}`).join('; ')}`;
}

/**
 * The one evaluation entry point (`lethe eval`, the main job, the workflow worker): the reference first (when there
 * is one: its evaluation gives the baseline), then the target and every unlearned model, each with the same metrics; with a target, recovery steps and a
 * verdict per model. Models are loaded one at a time when not given, so only one is held besides the reference.
 */
export function evaluateAgainstReference(input: ComparisonInput): EvalReport {
  const log = input.log ?? ((): void => {});
  const shared = input.options ?? {};
  // The sets as they fit the context of the first model loaded (the models of one comparison share a context).
  const fit: { result: FittedSets | null } = { result: input.fitted ?? null };
  const load = (m: ModelToEvaluate): CausalLM => {
    const model = m.model ?? loadAnyModel(m.dir).model;
    if (!fit.result) {
      fit.result = fitSetsToContext(input.sets, input.tokenizer, model.config.maxPositions, input.tooLong);
      for (const [name, n] of Object.entries(fit.result.skipped)) if (n > 0) log(`${name}: left out ${n} item(s) longer than the model's context of ${model.config.maxPositions}`);
      for (const [name, n] of Object.entries(fit.result.truncated)) if (n > 0) log(`${name}: ${n} item(s) truncated (question cut from the left) to fit the model's context of ${model.config.maxPositions}`);
    }
    return model;
  };
  const setsOf = (): EvalSets => fit.result?.sets ?? input.sets;
  let baseline: ReferenceBaseline | null = null;
  /** One model's evaluation, read from the cache when these weights were evaluated the same way before. */
  const one = (m: ModelToEvaluate, role: ModelEvaluation['role'], model?: CausalLM): ModelEvaluation => {
    log(`evaluating ${m.dir} (${role})…`);
    const loaded = model ?? load(m);
    const name = m.name ?? basename(resolve(m.dir));
    const options = { ...shared, ...m.options };
    const key = input.cache?.key({ model: loaded, tokenizer: input.tokenizer, sets: setsOf(), options: { ...DEFAULT_EVALUATE, ...options }, role, baseline });
    const hit = key ? input.cache!.get(key) : null;
    let e: ModelEvaluation;
    if (hit) {
      log(`  ${name}: the same weights, data and options were evaluated before; read from ${input.cache!.dir}`);
      e = { ...hit.evaluation, name, dir: m.dir };
      if (role === 'reference') baseline = hit.baseline;
    } else {
      const args = { name, dir: m.dir, model: loaded, tokenizer: input.tokenizer, sets: setsOf(), options, log };
      if (role === 'reference') {
        // The baseline is the reference's own forget truth ratios and Min-K% AUC: one evaluation gives both.
        const r = evaluateReference(args);
        e = r.evaluation;
        baseline = r.baseline;
      } else {
        e = evaluateModel({ ...args, role, reference: baseline });
      }
      if (key) input.cache!.put(key, { evaluation: e, baseline: role === 'reference' ? baseline : null });
    }
    return m.seconds === undefined ? e : { ...e, seconds: m.seconds };
  };
  const reference = input.reference ? one(input.reference, 'reference') : null;
  if (!reference) log('no retain model: forget quality, PrivLeak and the never-learned bars are not measured');
  const target = input.target ? one(input.target, 'target') : null;
  const models = [...input.unlearned.map((m) => one(m, 'unlearned')), ...(target ? [target] : []), ...(reference ? [reference] : [])];
  if (models.length === 0) throw new RangeError('nothing to evaluate: give a model, a target or a reference');
  if (target) {
    withRecovery(models, target);
    for (const m of models) m.verdict = verdictFor(m, target, reference);
  }
  return {
    title: input.title,
    created: new Date().toISOString(),
    data: {
      ...input.sets.sources,
      ...Object.fromEntries(Object.entries(fit.result?.skipped ?? {}).filter(([, n]) => n > 0)
        .map(([name, n]) => [`${name}_skipped`, `${n} item(s) longer than the model's context, left out`])),
      ...Object.fromEntries(Object.entries(fit.result?.truncated ?? {}).filter(([, n]) => n > 0)
        .map(([name, n]) => [`${name}_truncated`, `${n} item(s) truncated: question cut from the left to fit the model's context`])), ...(input.reference ? { reference: input.reference.dir } : {}), ...(input.target ? { target: input.target.dir } : {}),
      // Every figure of the report depends on it, and mixed precisions must not be compared unnoticed.
      matmul_precision: precisionNote([input.reference, input.target, ...input.unlearned], shared),
      ...input.data,
    },
    models,
  };
}
