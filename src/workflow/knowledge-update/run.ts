import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CausalLM } from '../../model/arch/types.ts';
import { loadModel, writeModelFolder } from '../../model/checkpoint.ts';
import { sha256 } from '../../unlearn/run.ts';
import { checkOutputFolder } from '../../model/io/output-folder.ts';
import { qaTokens } from '../../model/qa-format.ts';
import { countNonFiniteEncoded, encodeFloat, roundToDType } from '../../model/safetensors/dtype.ts';
import type { SaveDType } from '../../model/safetensors/write.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { evenSample } from '../../util/sample.ts';
import { readUnlearnRecords, tokenizeItems, type UnlearnItem } from '../../unlearn/data.ts';
import { runLossLoop } from '../../unlearn/loop.ts';
import { parseOptions, resolveSchedule } from '../../unlearn/options.ts';
import { STOP_REASON_TEXT, type UnlearnContext, type UnlearnHooks, type UnlearnOutcome } from '../../unlearn/types.ts';
import { selfGeneratedText, SELF_TEXT } from '../../unlearn/utility-text.ts';
import { nonMemberAnswers } from '../../unlearn/update/alternatives.ts';
import { readFacts, type LocatedFact } from '../../unlearn/update/facts.ts';
import { oldValueRange, updateLossSpec, type FactTokens } from '../../unlearn/update/loss.ts';
import { UPDATE_OPTIONS, type UpdateOptions } from '../../unlearn/update/options.ts';
import { greedyAnswers, itemProbabilities, mean, nonMemberLevels } from '../../eval/update/measure.ts';
import { valueProbe, type ValueProbeResult } from '../../eval/update/probe.ts';

export interface UpdateRequest {
  modelDir: string;
  factsPath: string;
  retainPath?: string;
  /** `key=value` pairs validated against UPDATE_OPTIONS. */
  options?: readonly string[];
  /** Refuse the whole update when the model does not give some fact's old answer (default: skip those facts). */
  strict?: boolean;
  outDir: string;
  force?: boolean;
}

/** One fact of the file and what became of it. */
export interface FactOutcome {
  line: number;
  id: string | null;
  question: string;
  old_answer: string;
  new_answer: string;
  /** 'updated', or 'skipped' because the original model's greedy answer is not the old answer. */
  status: 'updated' | 'skipped';
  /** The original model's greedy answer (what the screening compared). */
  answerBefore: string;
  /** Updated facts: the answer after, the old and new answers' probabilities before and after, the non-member level. */
  answerAfter?: string;
  oldProbability?: { before: number; after: number };
  newProbability?: { before: number; after: number };
  nonMemberLevel?: number | null;
}

/** The verification figures of update.json, over the updated facts. */
export interface UpdateVerification {
  facts: number;
  /** Fraction of facts whose greedy answer equals new_answer exactly (trimmed), before and after. */
  newExactMatch: { before: number; after: number };
  /** Fraction whose greedy answer is still old_answer exactly. */
  oldExactMatch: { before: number; after: number };
  /**
   * Mean over facts of the old answer's probability (exp mean token log-prob), and the non-member level: the mean over
   * facts of the original model's mean probability of the fact's non-member answers (new answer and alternatives).
   */
  oldProbability: { before: number; after: number; nonMemberLevel: number | null; ratio: number | null; factsAtOrBelowLevel: number; factsWithLevel: number };
  newProbability: { before: number; after: number };
  /** The value probe before and after (null without QA retain records to train it: the reason). */
  probe: { before: ValueProbeResult; after: ValueProbeResult } | { skipped: string };
  /** Retain damage on an even sample of the retain set (null without one). */
  retain: { items: number; probability: { before: number; after: number; ratio: number }; exactMatch: { before: number; after: number; items: number } } | null;
}

export interface UpdateRecord {
  command: 'update';
  source: { model: string };
  data: { facts: { path: string; sha256: string; records: number }; retain: { path: string; sha256: string; records: number; droppedSameQuestion: number } | null };
  options: UpdateOptions;
  schedule: { steps: string; lr: string };
  strict: boolean;
  updated: number;
  skipped: number;
  facts: FactOutcome[];
  verification: UpdateVerification;
  stopReason: UnlearnOutcome['stopReason'];
  stopReasonText: string;
  steps: number;
  curve: UnlearnOutcome['curve'];
  checks: UnlearnOutcome['checks'];
  dtype: SaveDType;
  wallSeconds: number;
}

/** What a model does on the facts and the retain sample: the figures measured before and after the update. */
interface Snapshot {
  answers: string[];
  oldP: number[];
  newP: number[];
  probe: ValueProbeResult | null;
  retainP: number | null;
  retainAnswers: string[];
}

function snapshot(model: CausalLM, tokenizer: Tokenizer, facts: readonly LocatedFact[], tokens: readonly FactTokens[], retainQa: readonly { question: string; answer: string; item: UnlearnItem }[],
  retainSample: readonly UnlearnItem[], padId: number, probeItems: readonly UnlearnItem[] | null): Snapshot {
  return {
    answers: greedyAnswers(model, tokenizer, facts.map((f) => f.record.question)),
    oldP: itemProbabilities(model, tokens.map((t) => t.old), padId),
    newP: itemProbabilities(model, tokens.map((t) => t.learn), padId),
    probe: probeItems ? valueProbe(model, tokens, probeItems, padId) : null,
    retainP: retainSample.length > 0 ? mean(itemProbabilities(model, retainSample, padId)) : null,
    retainAnswers: greedyAnswers(model, tokenizer, retainQa.map((r) => r.question)),
  };
}

/** A run refused before anything was written (the model gives no old answer, or --strict and some it does not). */
export class UpdateRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpdateRefused';
  }
}

/** The in-memory job: read, screen, measure, train, measure again. Writes nothing. */
export function runUpdate(req: Omit<UpdateRequest, 'outDir' | 'force'>, hooks: UnlearnHooks = {}): { model: CausalLM; record: UpdateRecord } {
  const started = performance.now();
  const options = parseOptions(UPDATE_OPTIONS, req.options ?? [], 'update');
  const all = readFacts(req.factsPath);
  if (!existsSync(join(req.modelDir, 'tokenizer.json'))) throw new RangeError(`${req.modelDir}: no tokenizer.json (the facts must be tokenized as the model was trained)`);
  const { model, storedDType } = loadModel(req.modelDir);
  const dtype: SaveDType = storedDType === 'F16' || storedDType === 'BF16' ? storedDType : 'F32';
  const tokenizer = Tokenizer.fromDir(req.modelDir);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const maxLength = model.config.maxPositions;

  // Screening: a fact is updated only where the model gives its old answer now (greedy, exact after trimming).
  const answersBefore = greedyAnswers(model, tokenizer, all.map((f) => f.record.question));
  const given = all.filter((f, i) => answersBefore[i] === f.record.old_answer.trim());
  const missing = all.filter((_, i) => answersBefore[i] !== all[i]!.record.old_answer.trim());
  const where = (f: LocatedFact): string => `line ${f.line}${f.record.id ? ` (${f.record.id})` : ''}`;
  if (missing.length > 0) {
    const first = missing[0]!;
    const text = `${missing.length} of ${all.length} fact(s) have an old answer the model does not give (first: ${where(first)}, the model answers ${JSON.stringify(answersBefore[all.indexOf(first)])})`;
    if (req.strict) throw new UpdateRefused(`${req.factsPath}: ${text}; --strict refuses the update (without it those facts are skipped)`);
    if (given.length === 0) throw new UpdateRefused(`${req.factsPath}: the model gives none of the old answers (${text}); nothing to update`);
    hooks.onMessage?.(`${text}: skipped`);
  }

  // The retain set, less any record asking an updated question (it would teach the old answer back).
  const questions = new Set(given.map((f) => f.record.question.trim()));
  const retainRecords = req.retainPath ? readUnlearnRecords(req.retainPath, 'retain') : [];
  const keptRetain = retainRecords.filter((r) => r.kind !== 'qa' || !questions.has(r.question.trim()));
  const dropped = retainRecords.length - keptRetain.length;
  if (dropped > 0) hooks.onMessage?.(`retain: left out ${dropped} record(s) asking an updated question`);
  const retain = tokenizeItems(keptRetain, tokenizer, maxLength);

  const tokens: FactTokens[] = given.map((f) => {
    const learn = { ...qaTokens(tokenizer, f.record.question, f.record.new_answer), question: f.record.question, subject: f.record.subject ?? null };
    const old = { ...qaTokens(tokenizer, f.record.question, f.record.old_answer), question: f.record.question, subject: f.record.subject ?? null };
    if (learn.prompt.length + learn.answer.length > maxLength || old.prompt.length + old.answer.length > maxLength) {
      throw new RangeError(`${req.factsPath}:${f.line}: the question and an answer run past the model's context of ${maxLength} tokens`);
    }
    const { from, to } = oldValueRange(old.answer, learn.answer);
    return { learn, old, oldFrom: from, oldTo: to };
  });
  const retainSample = evenSample(retain, options.samples);
  const retainQa = evenSample(keptRetain.flatMap((r, i) => (r.kind === 'qa' ? [{ question: r.question, answer: r.answer.trim(), item: retain[i]! }] : [])), options.samples);
  // The probe reads every retain item (it picks those that hold a value token), not only the sample.
  const probeSkipped = retain.length === 0 ? 'the value probe is trained on the retain answers: give --retain' : null;

  const original = model.params.snapshot();
  const levels = nonMemberLevels(model, tokenizer, given.map((f) => f.record), nonMemberAnswers(given.map((f) => f.record)), padId);
  const before = snapshot(model, tokenizer, given, tokens, retainQa, retainSample, padId, probeSkipped === null ? retain : null);

  const ctx: UnlearnContext = { model, tokenizer, forget: tokens.map((t) => t.learn), retain, padId, original };
  if (retain.length === 0) ctx.utility = selfGeneratedText(model, tokenizer, SELF_TEXT);
  const schedule = resolveSchedule(options, model.config.hiddenSize, tokens.length);
  options.steps = schedule.steps;
  options.lr = schedule.lr;
  const outcome = runLossLoop(ctx, options, updateLossSpec(tokens, padId, options.lambda), hooks);

  // Measured on the weights as they will be stored.
  const bad = countNonFiniteEncoded(dtype, encodeFloat(dtype, model.params.flat));
  if (bad > 0) throw new UpdateRefused(`${bad} updated weights are not finite as stored in ${dtype}; nothing was written`);
  roundToDType(dtype, model.params.flat);
  const after = snapshot(model, tokenizer, given, tokens, retainQa, retainSample, padId, probeSkipped === null ? retain : null);

  const n = given.length;
  const rate = (answers: string[], pick: (f: LocatedFact) => string): number => answers.filter((a, i) => a === pick(given[i]!).trim()).length / n;
  const withLevel = levels.flatMap((l, i) => (l === null ? [] : [{ level: l, old: after.oldP[i]! }]));
  const level = withLevel.length > 0 ? mean(withLevel.map((x) => x.level)) : null;
  const oldAfterOnLevelFacts = withLevel.length > 0 ? mean(withLevel.map((x) => x.old)) : null;
  const retainRate = (answers: string[]): number => answers.filter((a, i) => a === retainQa[i]!.answer).length / Math.max(1, answers.length);
  const verification: UpdateVerification = {
    facts: n,
    newExactMatch: { before: rate(before.answers, (f) => f.record.new_answer), after: rate(after.answers, (f) => f.record.new_answer) },
    oldExactMatch: { before: rate(before.answers, (f) => f.record.old_answer), after: rate(after.answers, (f) => f.record.old_answer) },
    oldProbability: {
      before: mean(before.oldP), after: mean(after.oldP), nonMemberLevel: level,
      ratio: level === null || oldAfterOnLevelFacts === null ? null : oldAfterOnLevelFacts / level,
      factsAtOrBelowLevel: withLevel.filter((x) => x.old <= x.level).length, factsWithLevel: withLevel.length,
    },
    newProbability: { before: mean(before.newP), after: mean(after.newP) },
    probe: before.probe && after.probe ? { before: before.probe, after: after.probe }
      : { skipped: probeSkipped ?? 'the retain answers hold fewer than two of the facts\' value tokens to train the probe on' },
    retain: before.retainP === null || after.retainP === null ? null : {
      items: retainSample.length,
      probability: { before: before.retainP, after: after.retainP, ratio: after.retainP / before.retainP },
      exactMatch: { before: retainRate(before.retainAnswers), after: retainRate(after.retainAnswers), items: retainQa.length },
    },
  };
  const facts: FactOutcome[] = all.map((f, i) => {
    const base = { line: f.line, id: f.record.id ?? null, question: f.record.question, old_answer: f.record.old_answer, new_answer: f.record.new_answer, answerBefore: answersBefore[i]! };
    const k = given.indexOf(f);
    if (k < 0) return { ...base, status: 'skipped' };
    return {
      ...base, status: 'updated', answerAfter: after.answers[k]!, oldProbability: { before: before.oldP[k]!, after: after.oldP[k]! },
      newProbability: { before: before.newP[k]!, after: after.newP[k]! }, nonMemberLevel: levels[k]!,
    };
  });
  const record: UpdateRecord = {
    command: 'update', source: { model: resolve(req.modelDir) },
    data: {
      facts: { path: resolve(req.factsPath), sha256: sha256(req.factsPath), records: all.length },
      retain: req.retainPath ? { path: resolve(req.retainPath), sha256: sha256(req.retainPath), records: retainRecords.length, droppedSameQuestion: dropped } : null,
    },
    options, schedule: schedule.rule, strict: req.strict ?? false, updated: n, skipped: missing.length, facts, verification,
    stopReason: outcome.stopReason, stopReasonText: STOP_REASON_TEXT[outcome.stopReason], steps: outcome.steps, curve: outcome.curve, checks: outcome.checks,
    dtype, wallSeconds: (performance.now() - started) / 1000,
  };
  return { model, record };
}

/** The inputs the output folder must not overlap. */
function inputsOf(req: UpdateRequest): { path: string; what: string }[] {
  return [{ path: req.modelDir, what: 'model' }, { path: req.factsPath, what: 'facts file' }, ...(req.retainPath ? [{ path: req.retainPath, what: 'retain set' }] : [])];
}

/**
 * The whole `lethe update` job: check the output can be written, run, then write the Hugging Face folder with
 * update.json, whole or not at all (the writer `lethe unlearn` uses).
 */
export function update(req: UpdateRequest, hooks: UnlearnHooks = {}): UpdateRecord {
  checkOutputFolder(req.outDir, inputsOf(req), req.force);
  const { model, record } = runUpdate(req, hooks);
  writeModelFolder(model, req.outDir, {
    dtype: record.dtype, copyFrom: req.modelDir, metadata: { lethe_method: 'update' },
    extraFiles: { 'update.json': JSON.stringify(record, null, 2) + '\n' }, force: req.force, inputs: inputsOf(req),
  });
  return record;
}
