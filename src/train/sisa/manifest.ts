import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SHARD_BY } from './assign.ts';

/**
 * An ensemble folder (SISA, Bourtoule et al. 2021):
 *   ensemble.json                     this manifest
 *   tokenizer.json, …                 the tokenizer every shard shares
 *   shards/shard-K/                   shard K's model, a Hugging Face folder
 *   checkpoints/shard-K/stage-R/      weights (and optimizer state from stage 1 on) after stage R; stage 0 = the start
 *   data/shard-K.jsonl                shard K's records, in manifest order: what a retrain reads
 * Stage R trains on slices 0..R−1 of the shard, so erasing a record of slice k retrains from stage k's start
 * (the checkpoint after stage k) and nothing before it changes.
 */
export const MANIFEST = 'ensemble.json';

export const StageOptionsSchema = z.object({
  /** Passes over a stage's data (its slices so far). */
  epochs: z.number().positive(),
  batchSize: z.number().int().positive(),
  lr: z.number().positive(),
  /** Linear warmup at the start of stage 1 only; constant learning rate after it. */
  warmupSteps: z.number().int().min(0),
  weightDecay: z.number().min(0),
  clip: z.number().min(0),
  seed: z.number().int().min(0),
});
export type StageOptions = z.infer<typeof StageOptionsSchema>;

const PlacementSchema = z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), shard: z.number().int().min(0), slice: z.number().int().min(0) });

const StageSchema = z.object({ stage: z.number().int().min(1), records: z.number().int().min(0), steps: z.number().int().min(0), finalLoss: z.number().nullable() });

export const SisaManifestSchema = z.object({
  format: z.literal('lethe-sisa'),
  version: z.literal(1),
  shards: z.number().int().min(1),
  slices: z.number().int().min(1),
  shardBy: z.enum(SHARD_BY),
  options: StageOptionsSchema,
  /** Where every shard started: a fresh model (its config, initialised from the seed) or a shared base folder. */
  start: z.union([
    z.object({ kind: z.literal('fresh'), config: z.record(z.string(), z.unknown()) }),
    z.object({ kind: z.literal('base'), path: z.string() }),
  ]),
  dtype: z.enum(['F32', 'F16', 'BF16']),
  /** Every trained record, by content hash, sorted by shard, slice, hash. */
  records: z.array(PlacementSchema),
  stages: z.array(z.array(StageSchema)),
  command: z.string().nullable(),
  createdAt: z.string(),
});
export type SisaManifest = z.infer<typeof SisaManifestSchema>;

export class EnsembleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnsembleError';
  }
}

export const shardDir = (dir: string, k: number): string => join(dir, 'shards', `shard-${k}`);
export const stageDir = (dir: string, k: number, r: number): string => join(dir, 'checkpoints', `shard-${k}`, `stage-${r}`);
export const shardData = (dir: string, k: number): string => join(dir, 'data', `shard-${k}.jsonl`);

export function isEnsemble(dir: string): boolean {
  return existsSync(join(dir, MANIFEST));
}

/** Reads and checks a manifest: its schema, and that its placements and stage lists agree with its shard and slice counts. */
export function readManifest(dir: string): SisaManifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new EnsembleError(`${dir}: not an ensemble (no ${MANIFEST}; \`lethe train --shards S --slices R\` writes one)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EnsembleError(`${path}: damaged (not JSON: ${(e as Error).message})`);
  }
  const parsed = SisaManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EnsembleError(`${path}: damaged (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const m = parsed.data;
  const bad = m.records.find((p) => p.shard >= m.shards || p.slice >= m.slices);
  if (bad) throw new EnsembleError(`${path}: damaged (record ${bad.hash.slice(0, 12)}… placed in shard ${bad.shard}, slice ${bad.slice}, outside ${m.shards} × ${m.slices})`);
  if (m.stages.length !== m.shards || m.stages.some((s) => s.length !== m.slices)) throw new EnsembleError(`${path}: damaged (stage lists do not match ${m.shards} shards × ${m.slices} slices)`);
  return m;
}
