import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readTrainingRecords, trainingDataFile } from '../data/jsonl.ts';
import type { FieldMap } from '../data/fields.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel, writeModelFolder } from '../model/checkpoint.ts';
import { readRegularFile } from '../model/io/atomic-file.ts';
import { checkOutputFolder } from '../model/io/output-folder.ts';
import { countNonFiniteEncoded, encodeFloat, MAX_FINITE, roundToDType } from '../model/safetensors/dtype.ts';
import type { SaveDType } from '../model/safetensors/write.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { damageBreach, GuardSample, type DamageBounds } from './checks.ts';
import { readUnlearnRecords, tokenizeItems, type ItemSet, type UnlearnItem } from './data.ts';
import { evenSample } from '../util/sample.ts';
import { parseOptions, resolveSchedule, type LoopOptions, type Schedule } from './options.ts';
import { frozenModel } from './reference.ts';
import { getMethod } from './registry.ts';
import { collectInputGrams, sanitizeUpdate, type SanitizeOptions, type SanitizeReport } from './sanitize.ts';
import { STOP_REASON_TEXT, type CheckEvent, type UnlearnContext, type UnlearnHooks, type UnlearnMethod, type UnlearnOutcome } from './types.ts';
import { selfGeneratedText, SELF_TEXT } from './utility-text.ts';
import type { SourceFreeReport } from './source-free/report.ts';

export interface UnlearnRequest {
  modelDir: string;
  /** A data file, or items already in memory (source-free unlearning's, built from the model's own answers). */
  forgetPath: string | ItemSet;
  retainPath?: string | ItemSet;
  /** Held-out general text (JSONL, text or QA records) for the utility guard; else the model's own text without a retain set. */
  utilityPath?: string;
  /** Lethe's field names → the data files' (`--field question=q,answer=a`), for forget, retain and utility files. */
  fields?: FieldMap;
  method: string;
  /** `key=value` pairs, validated against the method's options. */
  options?: readonly string[];
  /** SAGE-style sanitisation of the final update, after the method. */
  sanitize?: SanitizeRequest;
  outDir: string;
  /** Replace an existing output folder (whole). */
  force?: boolean;
  /** Write the model even when the run changed no weight (otherwise that is an error). */
  allowNoop?: boolean;
  /** What source-free probing found (the forget and retain items' origin), recorded in unlearn.json. */
  sourceFree?: SourceFreeReport;
}

/** Where the utility guard's text came from. */
export interface UtilitySource {
  source: 'file' | 'self-generated' | 'none';
  path: string | null;
  /** SHA-256 of the utility file, so the guard's data is identified like the forget and retain sets. */
  sha256?: string;
  items: number;
}

/** What the written weights do, measured on them after the cast to the stored dtype, against θ. */
export interface WrittenState {
  dtype: SaveDType;
  /** The guard sample scored on θ (before) and on the weights as written (after). */
  before: CheckEvent;
  after: CheckEvent;
  changedTensors: number;
  totalTensors: number;
  utility: UtilitySource;
  /** What the written weights do that a user would not expect of unlearning (e.g. the forget probability rose). */
  warnings: string[];
}

export interface DataFileRecord {
  /** The file read; null for a set held in memory (then sha256 is that of its token ids, and description says what it is). */
  path: string | null;
  description?: string;
  sha256: string;
  records: number;
  truncated: number;
}

/** What `unlearn.json` records next to the unlearned weights. */
export interface UnlearnRecord {
  method: string;
  options: Record<string, unknown>;
  /** How steps and lr (in options) were chosen: given, or derived from the forget set's size and the model's width. */
  schedule: Schedule['rule'] | null;
  source: { model: string };
  /** Per file: its hash, its records, and how many were longer than the model's context and cut to fit. */
  data: { forget: DataFileRecord; retain: DataFileRecord | null };
  stopReason: UnlearnOutcome['stopReason'];
  /** The stop reason in words. */
  stopReasonText: string;
  steps: number;
  /** What the written model does: the summary reads this, never a check the run rejected. */
  result: WrittenState;
  curve: UnlearnOutcome['curve'];
  checks: UnlearnOutcome['checks'];
  details: Record<string, unknown>;
  sanitize: (SanitizeReport & { options: SanitizeRequest }) | null;
  wallSeconds: number;
  /** Source-free runs: the subjects, the claims kept as forget and retain items with their confidences, the baseline. */
  sourceFree?: SourceFreeReport;
}

/** SHA-256 of a data file as read (a regular file only), to identify it in unlearn.json and update.json. */
export function sha256(path: string): string {
  return createHash('sha256').update(readRegularFile(path)).digest('hex');
}

/** Identifies a set held in memory by its token ids, as a file's hash identifies a file. */
function itemsSha256(items: readonly UnlearnItem[]): string {
  return createHash('sha256').update(JSON.stringify(items.map((it) => [it.prompt, it.answer]))).digest('hex');
}

/** A forget or retain set from its file, or as given in memory, with its record count and records as tokenized. */
function loadSet(source: string | ItemSet, role: 'forget' | 'retain', tokenizer: Tokenizer, maxLength: number, fields?: FieldMap): { items: UnlearnItem[]; records: number } {
  if (typeof source !== 'string') {
    if (source.items.length === 0) throw new RangeError(`${source.description}: the ${role} set is empty`);
    return { items: [...source.items], records: source.items.length };
  }
  const records = readUnlearnRecords(source, role, fields);
  return { items: tokenizeItems(records, tokenizer, maxLength), records: records.length };
}

export interface OpenedContext {
  ctx: UnlearnContext;
  storedDType: SaveDType;
  forgetRecords: number;
  retainRecords: number;
  utility: UtilitySource;
  /** Items longer than the model's context, cut to fit (see tokenizeItems). */
  truncated: { forget: number; retain: number };
}

/**
 * Loads the model, its tokenizer and the data, tokenized as training saw them, into a method's context. The utility
 * guard's text is the given file, else (with no retain set to guard) text the model generates itself now, before
 * unlearning, so that a run without any held-out data still has a damage guard.
 */
export function openContext(modelDir: string, forgetPath: string | ItemSet, retainPath?: string | ItemSet, utilityPath?: string, fields?: FieldMap): OpenedContext {
  if (!existsSync(join(modelDir, 'tokenizer.json'))) throw new RangeError(`${modelDir}: no tokenizer.json (the forget set must be tokenized as the model was trained)`);
  const { model, storedDType } = loadModel(modelDir);
  const tokenizer = Tokenizer.fromDir(modelDir);
  const maxLength = model.config.maxPositions;
  const forget = loadSet(forgetPath, 'forget', tokenizer, maxLength, fields);
  const retain = retainPath ? loadSet(retainPath, 'retain', tokenizer, maxLength, fields) : { items: [], records: 0 };
  const ctx: UnlearnContext = {
    model, tokenizer, forget: forget.items, retain: retain.items,
    padId: tokenizer.padId ?? tokenizer.eosId ?? 0, original: model.params.snapshot(),
  };
  let utility: UtilitySource = { source: 'none', path: null, items: 0 };
  if (utilityPath) {
    ctx.utility = tokenizeItems(readTrainingRecords(utilityPath, fields ? { fields } : {}), tokenizer, maxLength);
    utility = { source: 'file', path: resolve(utilityPath), sha256: sha256(utilityPath), items: ctx.utility.length };
  } else if (ctx.retain.length === 0) {
    ctx.utility = selfGeneratedText(model, tokenizer, SELF_TEXT);
    utility = { source: 'self-generated', path: null, items: ctx.utility.length };
  }
  const dtype = storedDType === 'F16' || storedDType === 'BF16' ? storedDType : 'F32';
  const cut = (items: readonly { truncated?: true }[]): number => items.filter((it) => it.truncated).length;
  return {
    ctx, storedDType: dtype, forgetRecords: forget.records, retainRecords: retain.records, utility,
    truncated: { forget: cut(ctx.forget), retain: cut(ctx.retain) },
  };
}

export type SanitizeRequest = SanitizeOptions & { samples: number };

/** SAGE-style sanitisation of ctx.model's update against inputs of a sample of the retain set, seen by θ. */
export function sanitizeContext(ctx: UnlearnContext, o: SanitizeRequest): SanitizeReport {
  const original = frozenModel(ctx.model, ctx.original);
  const sample = evenSample(ctx.retain, o.samples).map((it) => Int32Array.from([...it.prompt, ...it.answer]));
  const grams = collectInputGrams(original, sample, { padId: ctx.padId });
  return sanitizeUpdate(ctx.model, ctx.original, grams, o);
}

/** A run refused at the end: nothing was written. The message says what the weights would have been and why. */
export class UnlearnRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnlearnRefused';
  }
}

/** The guard settings a method's options carry (every loop-based method has them), else the loop's defaults. */
function boundsOf(options: Record<string, unknown>): DamageBounds & { checkSamples: number } {
  const num = (k: string, d: number): number => (typeof options[k] === 'number' ? (options[k] as number) : d);
  return { maxRetainLossRise: num('maxRetainLossRise', 1), maxUtilityLossRise: num('maxUtilityLossRise', 1), checkSamples: num('checkSamples', 64) };
}

function changedTensors(model: CausalLM, original: Float32Array): number {
  let changed = 0;
  for (const [, p] of model.params.entries()) {
    const data = p.f32('changedTensors');
    const from = model.params.offsetOf(p.name!);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== original[from + i]) {
        changed++;
        break;
      }
    }
  }
  return changed;
}

/**
 * The last line of defence before writing, on the weights exactly as they will be stored: rounds them to the stored
 * dtype, refuses values that are not finite there (1e38 is finite in f32 and Inf in F16), measures the guard sample
 * on them against θ, and refuses a run that changed nothing (unless allowed) or that damages the model past the
 * method's bounds. Returns what the written model does.
 */
function assessResult(ctx: UnlearnContext, dtype: SaveDType, options: Record<string, unknown>, outcome: Pick<UnlearnOutcome, 'stopReason' | 'steps' | 'details'>,
  utility: UtilitySource, o: { allowNoop?: boolean } = {}): WrittenState {
  const flat = ctx.model.params.flat;
  const bad = countNonFiniteEncoded(dtype, encodeFloat(dtype, flat));
  if (bad > 0) {
    throw new UnlearnRefused(`${bad} of ${flat.length} unlearned weights are not finite as stored in ${dtype} (${dtype} holds at most ${MAX_FINITE[dtype].toExponential(3)}); nothing was written`);
  }
  roundToDType(dtype, flat);
  const bounds = boundsOf(options);
  const guard = new GuardSample(ctx, bounds.checkSamples);
  const current = ctx.model.params.snapshot();
  ctx.model.params.restore(ctx.original);
  const before = guard.check(ctx.model, 0);
  ctx.model.params.restore(current);
  // After a roll-back the written weights are those of an earlier check: label them with its step.
  const weightsFrom = typeof outcome.details['weightsFromStep'] === 'number' ? outcome.details['weightsFromStep'] : outcome.steps;
  const after = guard.check(ctx.model, weightsFrom);
  const warnings: string[] = [];
  if (after.forgetProb > before.forgetProb) {
    warnings.push(`the forget probability rose (${before.forgetProb.toPrecision(3)} → ${after.forgetProb.toPrecision(3)}): the written model knows the forget set better than before`);
  }
  const state: WrittenState = {
    dtype, before, after, changedTensors: changedTensors(ctx.model, ctx.original), totalTensors: ctx.model.params.entries().length, utility, warnings,
  };
  if (state.changedTensors === 0 && !o.allowNoop) {
    throw new UnlearnRefused(`the run changed no weight (${outcome.stopReason} at step ${outcome.steps}: ${STOP_REASON_TEXT[outcome.stopReason]}), `
      + 'so the model would be written unchanged; nothing was written (pass --allow-noop to write it anyway, or try a smaller learning rate or other options)');
  }
  const breach = damageBreach(before, after, bounds);
  if (breach) {
    const [what, b, a, bound] = breach === 'retain-guard'
      ? ['retain', before.retainLoss!, after.retainLoss!, bounds.maxRetainLossRise]
      : ['utility', before.utilityLoss!, after.utilityLoss!, bounds.maxUtilityLossRise];
    throw new UnlearnRefused(`the unlearned model's ${what} NLL rose from ${b.toFixed(4)} to ${a.toFixed(4)}, more than the bound of ${bound} nat(s); `
      + `nothing was written (raise max${what === 'retain' ? 'Retain' : 'Utility'}LossRise, or 0 to turn the guard off, to accept it)`);
  }
  return state;
}

/** An unlearning run held in memory, ready to be written. */
export interface UnlearnResult {
  model: CausalLM;
  record: UnlearnRecord;
  /** The folder the model came from (its tokenizer files are copied). */
  sourceDir: string;
}

/** A validated request with its context loaded: what a method runs on. */
export interface PreparedUnlearning {
  req: Omit<UnlearnRequest, 'outDir' | 'force'>;
  method: UnlearnMethod;
  options: Record<string, unknown>;
  schedule: Schedule['rule'] | null;
  opened: OpenedContext;
}

/** Validates everything first (method, options, model, data) and loads the context. */
export function prepareUnlearning(req: Omit<UnlearnRequest, 'outDir' | 'force'>, hooks: UnlearnHooks = {}): PreparedUnlearning {
  const method = getMethod(req.method);
  const options = parseOptions(method.options, req.options ?? [], method.name) as Record<string, unknown>;
  if (method.retain === 'required' && !req.retainPath) throw new RangeError(`${method.name} needs a retain set (--retain)`);
  if (req.sanitize && !req.retainPath) throw new RangeError('--sanitize needs a retain set (--retain): its inputs define what must not change');
  const opened = openContext(req.modelDir, req.forgetPath, method.retain === 'none' ? undefined : req.retainPath, req.utilityPath, req.fields);
  for (const [role, n] of Object.entries(opened.truncated)) {
    if (n > 0) hooks.onMessage?.(`${role}: ${n} record(s) are longer than the model's context of ${opened.ctx.model.config.maxPositions} tokens and were cut to fit (the prompt's start, the answer's end)`);
  }
  if (opened.utility.source === 'self-generated') {
    hooks.onMessage?.(`no retain set: the damage guard reads ${opened.utility.items} texts the model generated before unlearning (or give --utility FILE)`);
  }
  // Loop-based methods: steps and lr not given are derived from this forget set and this model's width, and written
  // into the options, so that unlearn.json states the values the run used.
  let schedule: Schedule['rule'] | null = null;
  if (typeof options['epochs'] === 'number' && typeof options['baseLr'] === 'number') {
    const s = resolveSchedule(options as Pick<LoopOptions, 'steps' | 'epochs' | 'lr' | 'baseLr' | 'batchSize'>, opened.ctx.model.config.hiddenSize, opened.ctx.forget.length);
    options['steps'] = s.steps;
    options['lr'] = s.lr;
    options['checkEvery'] = s.checkEvery;
    schedule = s.rule;
    hooks.onMessage?.(`schedule: ${s.steps} steps (${s.rule.steps}), lr ${s.lr.toExponential(2)} (${s.rule.lr}), a guard check every ${s.checkEvery}`);
  }
  return { req, method, options, schedule, opened };
}

/**
 * After the method: optionally sanitise the update, assess the weights as they will be stored (assessResult), and
 * make the record. `started` is when the work being timed began (performance.now()).
 */
export function finishUnlearning(p: PreparedUnlearning, outcome: UnlearnOutcome, started: number, hooks: UnlearnHooks = {}): UnlearnResult {
  const { req, opened } = p;
  const { ctx } = opened;
  let sanitize: UnlearnRecord['sanitize'] = null;
  if (req.sanitize) {
    sanitize = { ...sanitizeContext(ctx, req.sanitize), options: req.sanitize };
    hooks.onMessage?.(`sanitised the update (${req.sanitize.mode}, energy ${req.sanitize.energy}) on ${Math.min(req.sanitize.samples, ctx.retain.length)} retain items`);
  }
  const result = assessResult(ctx, opened.storedDType, p.options, outcome, opened.utility, { allowNoop: req.allowNoop });
  const wallSeconds = (performance.now() - started) / 1000;
  // The files actually read (a MUSE folder stands for its raw texts), so the hashes identify the data; a set held in
  // memory is identified by its token ids.
  const dataRecord = (source: string | ItemSet, role: 'forget' | 'retain', items: readonly UnlearnItem[], records: number, truncated: number): DataFileRecord => {
    if (typeof source !== 'string') return { path: null, description: source.description, sha256: itemsSha256(items), records, truncated };
    const file = trainingDataFile(source, role);
    return { path: resolve(file), sha256: sha256(file), records, truncated };
  };
  const record: UnlearnRecord = {
    method: p.method.name,
    options: p.options,
    schedule: p.schedule,
    source: { model: resolve(req.modelDir) },
    data: {
      forget: dataRecord(req.forgetPath, 'forget', ctx.forget, opened.forgetRecords, opened.truncated.forget),
      retain: req.retainPath !== undefined && p.method.retain !== 'none'
        ? dataRecord(req.retainPath, 'retain', ctx.retain, opened.retainRecords, opened.truncated.retain)
        : null,
    },
    stopReason: outcome.stopReason, stopReasonText: STOP_REASON_TEXT[outcome.stopReason], steps: outcome.steps, result,
    curve: outcome.curve, checks: outcome.checks, details: outcome.details, sanitize, wallSeconds,
    ...(req.sourceFree ? { sourceFree: req.sourceFree } : {}),
  };
  return { model: ctx.model, record, sourceDir: req.modelDir };
}

/** The in-memory job: prepare, run the method, finish. Writes nothing. */
export function runUnlearning(req: Omit<UnlearnRequest, 'outDir' | 'force'>, hooks: UnlearnHooks = {}): UnlearnResult {
  const p = prepareUnlearning(req, hooks);
  const started = performance.now();
  const outcome = p.method.run(p.opened.ctx, p.options, hooks);
  return finishUnlearning(p, outcome, started, hooks);
}

/** The inputs an unlearning output must not overlap (compared by real path); sets held in memory have none. */
export function inputsOf(req: Pick<UnlearnRequest, 'modelDir' | 'forgetPath' | 'retainPath' | 'utilityPath'>): { path: string; what: string }[] {
  return [
    { path: req.modelDir, what: 'model' },
    ...(typeof req.forgetPath === 'string' ? [{ path: req.forgetPath, what: 'forget set' }] : []),
    ...(typeof req.retainPath === 'string' ? [{ path: req.retainPath, what: 'retain set' }] : []),
    ...(req.utilityPath ? [{ path: req.utilityPath, what: 'utility set' }] : []),
  ];
}

/** Writes an unlearned model and its unlearn.json as one folder, whole or not at all. */
export function writeUnlearned(result: UnlearnResult, outDir: string, o: { force?: boolean; inputs?: { path: string; what: string }[] } = {}): void {
  writeModelFolder(result.model, outDir, {
    dtype: result.record.result.dtype, copyFrom: result.sourceDir, metadata: { lethe_method: result.record.method },
    extraFiles: { 'unlearn.json': JSON.stringify(result.record, null, 2) + '\n' }, force: o.force, inputs: o.inputs,
  });
}

/**
 * The whole `lethe unlearn` job: check the output can be written, run (runUnlearning), then write the HF folder and
 * unlearn.json whole or not at all. Nothing is written unless all of that succeeded.
 */
export function unlearn(req: UnlearnRequest, hooks: UnlearnHooks = {}): UnlearnRecord {
  getMethod(req.method);
  checkOutputFolder(req.outDir, inputsOf(req), req.force);
  const result = runUnlearning(req, hooks);
  writeUnlearned(result, req.outDir, { force: req.force, inputs: inputsOf(req) });
  return result.record;
}
