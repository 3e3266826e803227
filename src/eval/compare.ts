import { basename, resolve } from 'node:path';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel } from '../model/checkpoint.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { fitSetsToContext, type FittedSets, type TooLong } from './context-fit.ts';
import type { EvalSets } from './datasets.ts';
import { evaluateModel, referenceBaseline, withRecovery, type EvaluateOptions, type ReferenceBaseline } from './evaluate.ts';
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
  log?: (line: string) => void;
}

/**
 * The one evaluation entry point (`lethe eval`, the main job, the workflow worker): the reference baseline (when there
 * is a reference), then the reference, the target and every unlearned model, each with the same metrics; with a target, recovery steps and a
 * verdict per model. Models are loaded one at a time when not given, so only one is held besides the reference.
 */
export function evaluateAgainstReference(input: ComparisonInput): EvalReport {
  const log = input.log ?? ((): void => {});
  const shared = input.options ?? {};
  // The sets as they fit the context of the first model loaded (the models of one comparison share a context).
  const fit: { result: FittedSets | null } = { result: null };
  const load = (m: ModelToEvaluate): CausalLM => {
    const model = m.model ?? loadModel(m.dir).model;
    if (!fit.result) {
      fit.result = fitSetsToContext(input.sets, input.tokenizer, model.config.maxPositions, input.tooLong);
      for (const [name, n] of Object.entries(fit.result.skipped)) if (n > 0) log(`${name}: left out ${n} item(s) longer than the model's context of ${model.config.maxPositions}`);
      for (const [name, n] of Object.entries(fit.result.truncated)) if (n > 0) log(`${name}: ${n} item(s) truncated (question cut from the left) to fit the model's context of ${model.config.maxPositions}`);
    }
    return model;
  };
  const setsOf = (): EvalSets => fit.result?.sets ?? input.sets;
  const referenceModel = input.reference ? load(input.reference) : null;
  let baseline: ReferenceBaseline | null = null;
  if (input.reference && referenceModel) {
    log(`evaluating the reference ${input.reference.dir}…`);
    baseline = referenceBaseline(referenceModel, input.tokenizer, setsOf(), shared);
  } else {
    log('no retain model: forget quality, PrivLeak and the never-learned bars are not measured');
  }
  const one = (m: ModelToEvaluate, role: ModelEvaluation['role'], model?: CausalLM): ModelEvaluation => {
    log(`evaluating ${m.dir} (${role})…`);
    const loaded = model ?? load(m);
    const e = evaluateModel({
      name: m.name ?? basename(resolve(m.dir)), role, dir: m.dir, model: loaded, tokenizer: input.tokenizer,
      sets: setsOf(), reference: baseline, options: { ...shared, ...m.options }, log,
    });
    return m.seconds === undefined ? e : { ...e, seconds: m.seconds };
  };
  const reference = input.reference && referenceModel ? one(input.reference, 'reference', referenceModel) : null;
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
      ...input.data,
    },
    models,
  };
}
