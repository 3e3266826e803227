import { basename, resolve } from 'node:path';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel } from '../model/checkpoint.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { ModelToEvaluate } from './compare.ts';
import type { TooLong } from './context-fit.ts';
import type { MuseSets } from './muse-data.ts';
import {
  DEFAULT_MUSE, knowMemScores, minKTextScores, museAuc, musePrivLeak, prepareMuse, verbMemScores,
  type MuseOptions, type PreparedMuse, type RougeScores,
} from './muse-metrics.ts';

/** Mean ROUGE-L of one generation set (MUSE reports the mean F1, ×100 in its tables). */
export interface MuseRouge {
  items: number;
  /** Mean ROUGE-L F1: MUSE's verbmem_f / knowmem_f / knowmem_r (as a fraction; MUSE prints ×100). */
  rougeLF1: number;
  rougeLRecall: number;
}

export interface MusePrivacy {
  forgetItems: number;
  holdoutItems: number;
  /** Min-K% AUC in MUSE's convention (forget_holdout_Min-40%): ≈ 0 memorised, ≈ 0.5 indistinguishable from unseen text. */
  auc: number;
  /** (AUC − AUC_retain) / AUC_retain × 100; null without a retain model. */
  privLeak: number | null;
  /** Why PrivLeak is missing, when it is. */
  notJudged?: string;
}

/** One model's MUSE scores; a set the folder lacks is null. */
export interface MuseModelResult {
  name: string;
  role: 'target' | 'reference' | 'unlearned';
  dir: string | null;
  verbmem: MuseRouge | null;
  knowmemForget: MuseRouge | null;
  knowmemRetain: MuseRouge | null;
  privacy: MusePrivacy | null;
  /** Per-item outputs and F1 (what MUSE logs), for inspection. */
  samples: Record<'verbmem' | 'knowmemForget' | 'knowmemRetain', { output: string; rougeLF1: number }[]>;
  summary: string;
  seconds: number | null;
}

/** What `lethe eval --data MUSE_DIR` writes to metrics.json. */
export interface MuseReport {
  format: 'muse';
  title: string;
  created: string;
  data: Record<string, string>;
  options: MuseOptions;
  models: MuseModelResult[];
}

export const NOT_JUDGED_PRIVLEAK = 'not judged: needs a retain model';

export interface MuseComparisonInput {
  sets: MuseSets;
  tokenizer: Tokenizer;
  /** The retain model (trained without the forget set): PrivLeak's baseline AUC. */
  reference?: ModelToEvaluate;
  target?: ModelToEvaluate;
  unlearned: readonly ModelToEvaluate[];
  options?: Partial<MuseOptions>;
  tooLong?: TooLong;
  title: string;
  log?: (line: string) => void;
}

function rougeSummary(s: RougeScores): MuseRouge {
  const n = s.f1.length;
  const mean = (xs: Float64Array): number => xs.reduce((a, v) => a + v, 0) / n;
  return { items: n, rougeLF1: mean(s.f1), rougeLRecall: mean(s.recall) };
}

const samplesOf = (s: RougeScores | null): { output: string; rougeLF1: number }[] => (s ? s.outputs.map((output, i) => ({ output, rougeLF1: s.f1[i]! })) : []);

/** MUSE's metrics for one model on prepared sets; PrivLeak against `retainAuc` when there is one. */
export function evaluateMuseModel(model: CausalLM, tokenizer: Tokenizer, prepared: PreparedMuse, retainAuc: number | null, options: Partial<MuseOptions> = {}): Omit<MuseModelResult, 'name' | 'role' | 'dir' | 'summary' | 'seconds'> {
  const o = { ...DEFAULT_MUSE, ...options };
  const verb = prepared.verbmem.length > 0 ? verbMemScores(model, tokenizer, prepared.verbmem, o.batchSize) : null;
  const kf = prepared.knowmemForget.length > 0 ? knowMemScores(model, tokenizer, prepared.knowmemForget, o.batchSize) : null;
  const kr = prepared.knowmemRetain.length > 0 ? knowMemScores(model, tokenizer, prepared.knowmemRetain, o.batchSize) : null;
  let privacy: MusePrivacy | null = null;
  if (prepared.privleakForget.length > 0) {
    const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
    const f = minKTextScores(model, prepared.privleakForget, { k: o.minK, padId, batchSize: o.batchSize });
    const h = minKTextScores(model, prepared.privleakHoldout, { k: o.minK, padId, batchSize: o.batchSize });
    const auc = museAuc(f, h);
    privacy = {
      forgetItems: f.length, holdoutItems: h.length, auc,
      privLeak: retainAuc === null ? null : musePrivLeak(auc, retainAuc),
      ...(retainAuc === null ? { notJudged: NOT_JUDGED_PRIVLEAK } : {}),
    };
  }
  return {
    verbmem: verb && rougeSummary(verb), knowmemForget: kf && rougeSummary(kf), knowmemRetain: kr && rougeSummary(kr), privacy,
    samples: { verbmem: samplesOf(verb), knowmemForget: samplesOf(kf), knowmemRetain: samplesOf(kr) },
  };
}

const f3 = (x: number): string => x.toFixed(3);

/** One line per model: what it still reproduces and knows, what it kept, and PrivLeak or why it is missing. */
function summaryFor(m: MuseModelResult, target: MuseModelResult | null): string {
  if (m.role === 'reference') return 'retain model: the bar of never having seen the forget set';
  const parts: string[] = [];
  const vs = (mine: MuseRouge | null, theirs: MuseRouge | null | undefined, what: string): void => {
    if (!mine) return;
    parts.push(theirs && m.role !== 'target' ? `${what} ${f3(mine.rougeLF1)} (target ${f3(theirs.rougeLF1)})` : `${what} ${f3(mine.rougeLF1)}`);
  };
  vs(m.verbmem, target?.verbmem, 'verbmem');
  vs(m.knowmemForget, target?.knowmemForget, 'knowmem forget');
  vs(m.knowmemRetain, target?.knowmemRetain, 'knowmem retain');
  if (m.privacy) {
    parts.push(m.privacy.privLeak === null ? `Min-K% AUC ${f3(m.privacy.auc)}; PrivLeak ${NOT_JUDGED_PRIVLEAK}` : `PrivLeak ${m.privacy.privLeak.toFixed(1)}%`);
  }
  return parts.join('; ');
}

/**
 * `lethe eval` on a MUSE folder: the sets are fitted to the first model's context, then every model (reference first,
 * for its AUC) is scored with MUSE's metrics. Models are loaded one at a time when not given.
 */
export function evaluateMuseAgainstReference(input: MuseComparisonInput): MuseReport {
  const log = input.log ?? ((): void => {});
  const options = { ...DEFAULT_MUSE, ...input.options };
  let prepared: PreparedMuse | null = null;
  const load = (m: ModelToEvaluate): CausalLM => {
    const model = m.model ?? loadModel(m.dir).model;
    if (!prepared) {
      prepared = prepareMuse(input.sets, input.tokenizer, model.config.maxPositions, input.tooLong, options);
      for (const [name, n] of Object.entries(prepared.skipped)) if (n > 0) log(`${name}: left out ${n} item(s) longer than the model's context of ${model.config.maxPositions}`);
      for (const [name, n] of Object.entries(prepared.truncated)) if (n > 0) log(`${name}: ${n} item(s) truncated (prompt cut from the left) to fit the model's context of ${model.config.maxPositions}`);
    }
    return model;
  };
  const one = (m: ModelToEvaluate, role: MuseModelResult['role'], retainAuc: number | null): MuseModelResult => {
    log(`evaluating ${m.dir} (${role}, MUSE metrics)…`);
    const started = Date.now();
    const model = load(m);
    const scores = evaluateMuseModel(model, input.tokenizer, prepared!, retainAuc, options);
    return { name: m.name ?? basename(resolve(m.dir)), role, dir: m.dir, ...scores, summary: '', seconds: m.seconds ?? (Date.now() - started) / 1000 };
  };
  if (options.icl && input.sets.knowmem.forgetIcl.length === 0 && input.sets.knowmem.retainIcl.length === 0) log('knowmem: no _icl files in the folder, so no few-shot examples (--knowmem-icl has nothing to add)');
  const reference = input.reference ? one(input.reference, 'reference', null) : null;
  const retainAuc = reference?.privacy?.auc ?? null;
  if (reference?.privacy) {
    reference.privacy.privLeak = musePrivLeak(reference.privacy.auc, reference.privacy.auc);
    delete reference.privacy.notJudged;
  }
  if (!reference) log(`no retain model: PrivLeak ${NOT_JUDGED_PRIVLEAK} (the Min-K% AUC is reported alone)`);
  const target = input.target ? one(input.target, 'target', retainAuc) : null;
  const models = [...input.unlearned.map((m) => one(m, 'unlearned', retainAuc)), ...(target ? [target] : []), ...(reference ? [reference] : [])];
  if (models.length === 0) throw new RangeError('nothing to evaluate: give a model, a target or a reference');
  for (const m of models) m.summary = summaryFor(m, target);
  const fitted = prepared as PreparedMuse | null;
  const counted = (what: 'skipped' | 'truncated', text: string): Record<string, string> => Object.fromEntries(
    Object.entries(fitted?.[what] ?? {}).filter(([, n]) => n > 0).map(([name, n]) => [`${name}_${what}`, `${n} item(s) ${text}`]));
  return {
    format: 'muse',
    title: input.title,
    created: new Date().toISOString(),
    data: {
      ...input.sets.sources,
      ...counted('skipped', 'longer than the model\'s context, left out'),
      ...counted('truncated', 'truncated: prompt cut from the left to fit the model\'s context'),
      ...(input.reference ? { reference: input.reference.dir } : {}), ...(input.target ? { target: input.target.dir } : {}),
    },
    options,
    models,
  };
}
