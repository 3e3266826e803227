import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel, saveModel } from '../model/checkpoint.ts';
import { atomicWrite, type SaveDType } from '../model/safetensors/write.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { allFinite } from './checks.ts';
import { readUnlearnRecords, tokenizeItems } from './data.ts';
import { evenSample } from './batches.ts';
import { parseOptions } from './options.ts';
import { frozenModel } from './reference.ts';
import { getMethod } from './registry.ts';
import { collectInputGrams, sanitizeUpdate, type SanitizeOptions, type SanitizeReport } from './sanitize.ts';
import type { UnlearnContext, UnlearnHooks, UnlearnOutcome } from './types.ts';

export interface UnlearnRequest {
  modelDir: string;
  forgetPath: string;
  retainPath?: string;
  method: string;
  /** `key=value` pairs, validated against the method's options. */
  options?: readonly string[];
  /** SAGE-style sanitisation of the final update, after the method. */
  sanitize?: SanitizeRequest;
  outDir: string;
}

/** What `unlearn.json` records next to the unlearned weights. */
export interface UnlearnRecord {
  method: string;
  options: Record<string, unknown>;
  source: { model: string };
  data: { forget: { path: string; sha256: string; records: number }; retain: { path: string; sha256: string; records: number } | null };
  stopReason: UnlearnOutcome['stopReason'];
  steps: number;
  curve: UnlearnOutcome['curve'];
  checks: UnlearnOutcome['checks'];
  details: Record<string, unknown>;
  sanitize: (SanitizeReport & { options: SanitizeRequest }) | null;
  wallSeconds: number;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The whole `lethe unlearn` job: validate everything first (method, options, model, data), run the method, optionally
 * sanitise the update, refuse to write a non-finite model, then write the HF folder and unlearn.json. Nothing is
 * written unless all of that succeeded.
 */
export interface OpenedContext {
  ctx: UnlearnContext;
  storedDType: SaveDType;
  forgetRecords: number;
  retainRecords: number;
}

/** Loads the model, its tokenizer and the data, tokenized as training saw them, into a method's context. */
export function openContext(modelDir: string, forgetPath: string, retainPath?: string): OpenedContext {
  if (!existsSync(join(modelDir, 'tokenizer.json'))) throw new RangeError(`${modelDir}: no tokenizer.json (the forget set must be tokenized as the model was trained)`);
  const { model, storedDType } = loadModel(modelDir);
  const tokenizer = Tokenizer.fromDir(modelDir);
  const forgetRecords = readUnlearnRecords(forgetPath, 'forget');
  const retainRecords = retainPath ? readUnlearnRecords(retainPath, 'retain') : [];
  const maxLength = model.config.maxPositions;
  const ctx: UnlearnContext = {
    model, tokenizer, forget: tokenizeItems(forgetRecords, tokenizer, maxLength), retain: tokenizeItems(retainRecords, tokenizer, maxLength),
    padId: tokenizer.padId ?? tokenizer.eosId ?? 0, original: model.params.snapshot(),
  };
  const dtype = storedDType === 'F16' || storedDType === 'BF16' ? storedDType : 'F32';
  return { ctx, storedDType: dtype, forgetRecords: forgetRecords.length, retainRecords: retainRecords.length };
}

export type SanitizeRequest = SanitizeOptions & { samples: number };

/** SAGE-style sanitisation of ctx.model's update against inputs of a sample of the retain set, seen by θ. */
export function sanitizeContext(ctx: UnlearnContext, o: SanitizeRequest): SanitizeReport {
  const original = frozenModel(ctx.model, ctx.original);
  const sample = evenSample(ctx.retain, o.samples).map((it) => Int32Array.from([...it.prompt, ...it.answer]));
  const grams = collectInputGrams(original, sample, { padId: ctx.padId });
  return sanitizeUpdate(ctx.model, ctx.original, grams, o);
}

/**
 * The whole `lethe unlearn` job: validate everything first (method, options, model, data), run the method, optionally
 * sanitise the update, refuse to write a non-finite model, then write the HF folder and unlearn.json. Nothing is
 * written unless all of that succeeded.
 */
export function unlearn(req: UnlearnRequest, hooks: UnlearnHooks = {}): UnlearnRecord {
  const method = getMethod(req.method);
  const options = parseOptions(method.options, req.options ?? [], method.name);
  if (resolve(req.outDir) === resolve(req.modelDir)) throw new RangeError('--out must differ from --model (the original stays as it is)');
  if (method.retain === 'required' && !req.retainPath) throw new RangeError(`${method.name} needs a retain set (--retain)`);
  if (req.sanitize && !req.retainPath) throw new RangeError('--sanitize needs a retain set (--retain): its inputs define what must not change');
  const opened = openContext(req.modelDir, req.forgetPath, method.retain === 'none' ? undefined : req.retainPath);
  const { ctx } = opened;

  const started = performance.now();
  const outcome = method.run(ctx, options, hooks);
  let sanitize: UnlearnRecord['sanitize'] = null;
  if (req.sanitize) {
    sanitize = { ...sanitizeContext(ctx, req.sanitize), options: req.sanitize };
    hooks.onMessage?.(`sanitised the update (${req.sanitize.mode}, energy ${req.sanitize.energy}) on ${Math.min(req.sanitize.samples, ctx.retain.length)} retain items`);
  }
  if (!allFinite(ctx.model.params.flat)) throw new RangeError('the unlearned weights are not finite; nothing was written');
  const wallSeconds = (performance.now() - started) / 1000;

  saveModel(ctx.model, req.outDir, { dtype: opened.storedDType, copyFrom: req.modelDir, metadata: { lethe_method: method.name } });
  const record: UnlearnRecord = {
    method: method.name,
    options: options as Record<string, unknown>,
    source: { model: resolve(req.modelDir) },
    data: {
      forget: { path: resolve(req.forgetPath), sha256: sha256(req.forgetPath), records: opened.forgetRecords },
      retain: req.retainPath && method.retain !== 'none' ? { path: resolve(req.retainPath), sha256: sha256(req.retainPath), records: opened.retainRecords } : null,
    },
    stopReason: outcome.stopReason, steps: outcome.steps, curve: outcome.curve, checks: outcome.checks,
    details: outcome.details, sanitize, wallSeconds,
  };
  atomicWrite(join(req.outDir, 'unlearn.json'), [Buffer.from(JSON.stringify(record, null, 2) + '\n')]);
  return record;
}
