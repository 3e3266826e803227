import { readTrainingRecords } from '../../data/jsonl.ts';
import { copySideFiles } from '../../model/checkpoint.ts';
import { checkOutputFolder, writeFolder } from '../../model/io/output-folder.ts';
import type { SaveDType } from '../../model/safetensors/write.ts';
import { startingModel, type FreshModelSpec } from '../run.ts';
import type { ShardBy } from './assign.ts';
import { EnsembleError, shardData, stageDir, type SisaManifest, type StageOptions } from './manifest.ts';
import { finishPlan, shardRecords, trainShardFromPlan, writePlan, writeShardData } from './shard-plan.ts';
import { writeStage } from './stages.ts';

export interface EnsembleSpec {
  data: string[];
  out: string;
  force?: boolean;
  /** Every shard starts from this pretrained folder (its tokenizer too)… */
  base?: string;
  /** …or from a fresh model of this shape with this tokenizer, initialised from the seed. */
  tokenizerDir?: string;
  fresh?: FreshModelSpec;
  shards: number;
  slices: number;
  shardBy: ShardBy;
  options: StageOptions;
  dtype?: SaveDType;
  command?: string;
}

/** Checks S and R against the data: each shard and each slice should be able to hold something. `units`: what is placed independently (records; or subjects and the records without one). */
function checkCounts(spec: EnsembleSpec, records: number, units: number): void {
  for (const [flag, n] of [['--shards', spec.shards], ['--slices', spec.slices]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new EnsembleError(`${flag} ${n}: must be a whole number ≥ 1`);
  }
  if (spec.shards > units) throw new EnsembleError(`--shards ${spec.shards}: the data has only ${units} ${spec.shardBy === 'subject' ? 'subjects (and records without one)' : 'records'} to share out`);
  if (spec.slices > records) throw new EnsembleError(`--slices ${spec.slices}: the data has only ${records} records`);
}

export { shardRecords, trainShard, writeShardData } from './shard-plan.ts';

/** Checks the spec and the data, and writes the planned folder (shard-plan.ts) into `dir`: everything but the trained stages. */
function planInto(spec: EnsembleSpec): (dir: string) => SisaManifest {
  if (spec.data.length === 0) throw new EnsembleError('no training data given');
  const records = spec.data.flatMap((f) => readTrainingRecords(f));
  if (records.length === 0) throw new EnsembleError(`${spec.data.join(', ')}: no training records`);
  // What is shared out: records, or subjects plus the records that have none.
  const units = spec.shardBy === 'subject' ? new Set(records.filter((r) => r.subject).map((r) => r.subject)).size + records.filter((r) => !r.subject).length : records.length;
  checkCounts(spec, records.length, units);
  const byShard = shardRecords(records, spec.shards, spec.slices, spec.shardBy);
  const { model: start, tokenizerDir } = startingModel(spec.base, spec.tokenizerDir, spec.fresh, spec.options.seed, '--base DIR');
  const manifest: SisaManifest = {
    format: 'lethe-sisa', version: 1, shards: spec.shards, slices: spec.slices, shardBy: spec.shardBy, options: spec.options,
    start: spec.base ? { kind: 'base', path: spec.base } : { kind: 'fresh', config: start.config.raw },
    dtype: spec.dtype ?? 'F32', records: byShard.flat().map((r) => r.placement), stages: [],
    command: spec.command ?? null, createdAt: new Date().toISOString(),
  };
  return (dir) => {
    copySideFiles(tokenizerDir, dir);
    byShard.forEach((rs, shard) => {
      writeShardData(shardData(dir, shard), rs);
      writeStage(stageDir(dir, shard, 0), start, null);
    });
    writePlan(dir, { manifest, train: byShard.map((_, shard) => ({ shard, fromStage: 1 })) });
    return manifest;
  };
}

function inputsOf(spec: EnsembleSpec): { path: string; what: string }[] {
  return [...spec.data.map((path) => ({ path, what: 'training data' })), ...(spec.base ? [{ path: spec.base, what: 'base model (--base)' }] : []),
    ...(spec.tokenizerDir ? [{ path: spec.tokenizerDir, what: 'tokenizer folder' }] : [])];
}

/**
 * The first step of training an ensemble in parallel: checks the spec and writes `spec.out` (whole or not at all)
 * with the tokenizer, every shard's data and start checkpoint, and the plan — not yet an ensemble. Then
 * `trainShardFromPlan(out, k)` for every shard (in any order, at once), and `finishPlan(out)`.
 */
export function planEnsemble(spec: EnsembleSpec): SisaManifest {
  const inputs = inputsOf(spec);
  checkOutputFolder(spec.out, inputs, spec.force);
  const build = planInto(spec);
  let manifest: SisaManifest | null = null;
  writeFolder(spec.out, (tmp) => { manifest = build(tmp); }, { force: spec.force, inputs });
  return manifest!;
}

/**
 * `lethe train --shards S --slices R`: S isolated models, each trained in R cumulative stages with a checkpoint
 * after each, written as one ensemble folder (manifest.ts) whole or not at all. The same steps as a parallel run
 * (plan, every shard, finish), one after another.
 */
export function trainEnsemble(spec: EnsembleSpec, log?: (line: string) => void): SisaManifest {
  const inputs = inputsOf(spec);
  checkOutputFolder(spec.out, inputs, spec.force);
  const build = planInto(spec);
  let manifest: SisaManifest | null = null;
  writeFolder(spec.out, (tmp) => {
    const planned = build(tmp);
    for (let shard = 0; shard < planned.shards; shard++) trainShardFromPlan(tmp, shard, log ? { log } : {});
    manifest = finishPlan(tmp);
  }, { force: spec.force, inputs });
  return manifest!;
}
