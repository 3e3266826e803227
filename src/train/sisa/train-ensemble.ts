import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatJsonl, readTrainingRecords } from '../../data/jsonl.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { OptimizerState } from '../../engine/index.ts';
import { cloneModel, copySideFiles, saveModel } from '../../model/checkpoint.ts';
import { checkOutputFolder, writeFolder } from '../../model/io/output-folder.ts';
import type { SaveDType } from '../../model/safetensors/write.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { startingModel, type FreshModelSpec } from '../run.ts';
import { asWritten, place, type ShardBy } from './assign.ts';
import { EnsembleError, MANIFEST, shardData, shardDir, stageDir, type SisaManifest, type StageOptions } from './manifest.ts';
import { manifestOrder, trainStages, writeStage, type ShardRecord, type StageInfo } from './stages.ts';

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

/** Places every record and groups them by shard, each in manifest order. */
export function shardRecords(records: ReturnType<typeof readTrainingRecords>, shards: number, slices: number, shardBy: ShardBy): ShardRecord[][] {
  const placements = place(records, shards, slices, shardBy);
  const byShard: ShardRecord[][] = Array.from({ length: shards }, () => []);
  records.forEach((record, i) => byShard[placements[i]!.shard]!.push({ record, placement: placements[i]! }));
  return byShard.map((rs) => manifestOrder(rs));
}

export function writeShardData(path: string, records: readonly ShardRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatJsonl(records.map((r) => asWritten(r.record))));
}

/** Trains a shard's stages from `fromStage`, writing each stage's checkpoint and the shard's final folder under `root`. */
export function trainShard(root: string, shard: number, fromStage: number, start: { model: CausalLM; optimizer: OptimizerState | null },
  records: readonly ShardRecord[], m: Pick<SisaManifest, 'slices' | 'options' | 'dtype'>, tokenizer: Tokenizer, tokenizerDir: string, log?: (line: string) => void,
  onStage?: (info: StageInfo) => void): StageInfo[] {
  const { model, stages } = trainStages({
    shard, slices: m.slices, fromStage, model: start.model, optimizer: start.optimizer, records, options: m.options, tokenizer,
    onStage: (stage, mdl, opt, info) => {
      writeStage(stageDir(root, shard, stage), mdl, opt);
      log?.(`shard ${shard} stage ${stage}/${m.slices}: ${info.records} records, ${info.steps} steps${info.finalLoss === null ? '' : `, loss ${info.finalLoss.toFixed(4)}`}`);
      onStage?.(info);
    },
  });
  saveModel(model, shardDir(root, shard), { dtype: m.dtype, copyFrom: tokenizerDir });
  return stages;
}

/**
 * `lethe train --shards S --slices R`: S isolated models, each trained in R cumulative stages with a checkpoint
 * after each, written as one ensemble folder (manifest.ts) whole or not at all.
 */
export function trainEnsemble(spec: EnsembleSpec, log?: (line: string) => void): SisaManifest {
  if (spec.data.length === 0) throw new EnsembleError('no training data given');
  const inputs = [...spec.data.map((path) => ({ path, what: 'training data' })), ...(spec.base ? [{ path: spec.base, what: 'base model (--base)' }] : []),
    ...(spec.tokenizerDir ? [{ path: spec.tokenizerDir, what: 'tokenizer folder' }] : [])];
  checkOutputFolder(spec.out, inputs, spec.force);
  const records = spec.data.flatMap((f) => readTrainingRecords(f));
  if (records.length === 0) throw new EnsembleError(`${spec.data.join(', ')}: no training records`);
  // What is shared out: records, or subjects plus the records that have none.
  const units = spec.shardBy === 'subject' ? new Set(records.filter((r) => r.subject).map((r) => r.subject)).size + records.filter((r) => !r.subject).length : records.length;
  checkCounts(spec, records.length, units);
  const byShard = shardRecords(records, spec.shards, spec.slices, spec.shardBy);
  const { model: start, tokenizerDir } = startingModel(spec.base, spec.tokenizerDir, spec.fresh, spec.options.seed, '--base DIR');
  const tokenizer = Tokenizer.fromDir(tokenizerDir);
  const manifest: SisaManifest = {
    format: 'lethe-sisa', version: 1, shards: spec.shards, slices: spec.slices, shardBy: spec.shardBy, options: spec.options,
    start: spec.base ? { kind: 'base', path: spec.base } : { kind: 'fresh', config: start.config.raw },
    dtype: spec.dtype ?? 'F32', records: byShard.flat().map((r) => r.placement), stages: [],
    command: spec.command ?? null, createdAt: new Date().toISOString(),
  };
  writeFolder(spec.out, (tmp) => {
    copySideFiles(tokenizerDir, tmp);
    byShard.forEach((rs, shard) => {
      writeShardData(shardData(tmp, shard), rs);
      writeStage(stageDir(tmp, shard, 0), start, null);
      manifest.stages.push(trainShard(tmp, shard, 1, { model: cloneModel(start), optimizer: null }, rs, manifest, tokenizer, tokenizerDir, log));
    });
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  }, { force: spec.force, inputs });
  return manifest;
}
