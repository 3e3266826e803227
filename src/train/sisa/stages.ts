import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimizerState } from '../../engine/index.ts';
import type { TrainingRecord } from '../../data/schema.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { loadModel, saveModel } from '../../model/checkpoint.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import { buildExamples } from '../examples.ts';
import { OPTIMIZER, readOptimizerState, writeOptimizerState } from '../state.ts';
import { train } from '../trainer.ts';
import type { Placement } from './assign.ts';
import { EnsembleError, type StageOptions } from './manifest.ts';

/** A shard's record with its place, in manifest order (slice, then hash): stage r's data is a prefix of the list. */
export interface ShardRecord {
  record: TrainingRecord;
  placement: Placement;
}

export interface StageInfo {
  stage: number;
  records: number;
  steps: number;
  finalLoss: number | null;
}

/** Stage r's seed: a function of the run's seed, the shard and the stage only, so no other shard's data shapes it. */
export function stageSeed(seed: number, shard: number, stage: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(shard + 1, 0x85ebca6b) ^ Math.imul(stage, 0xc2b2ae35)) >>> 0;
}

/** Manifest order: slice, then hash (ties keep their given order). */
export function manifestOrder<T extends { placement: Placement }>(xs: readonly T[]): T[] {
  return xs.map((x, i) => ({ x, i })).sort((a, b) => a.x.placement.slice - b.x.placement.slice
    || (a.x.placement.hash < b.x.placement.hash ? -1 : a.x.placement.hash > b.x.placement.hash ? 1 : a.i - b.i)).map((e) => e.x);
}

export interface StageRun {
  shard: number;
  slices: number;
  /** First stage to train (1-based); the model and optimizer are the state after stage fromStage − 1. */
  fromStage: number;
  model: CausalLM;
  optimizer: OptimizerState | null;
  records: readonly ShardRecord[];
  options: StageOptions;
  tokenizer: Tokenizer;
  /** Called after each stage with its state (a checkpoint is written from it). */
  onStage: (stage: number, model: CausalLM, optimizer: OptimizerState | null, info: StageInfo) => void;
}

/**
 * Trains stages fromStage..slices of one shard: stage r runs ⌈epochs · n / batch⌉ steps on the n records of slices
 * 0..r−1, continuing the model and AdamW state of stage r − 1; a warmup only in stage 1, then a constant learning
 * rate. Everything a stage does is a function of its own data and (seed, shard, stage), so retraining from a
 * checkpoint replays exactly the run that would have happened without the erased records.
 */
export function trainStages(run: StageRun): { model: CausalLM; optimizer: OptimizerState | null; stages: StageInfo[] } {
  const o = run.options;
  const padId = run.tokenizer.padId ?? run.tokenizer.eosId ?? 0;
  const examples = buildExamples(run.records.map((r) => r.record), run.tokenizer, run.model.config.maxPositions);
  let model = run.model;
  let optimizer = run.optimizer;
  const stages: StageInfo[] = [];
  for (let stage = run.fromStage; stage <= run.slices; stage++) {
    const n = run.records.filter((r) => r.placement.slice < stage).length;
    const steps = n === 0 ? 0 : Math.ceil((o.epochs * n) / o.batchSize);
    let finalLoss: number | null = null;
    if (steps > 0) {
      const result = train(model, examples.slice(0, n), {
        steps, batchSize: o.batchSize, lr: o.lr, minLr: o.lr, warmupSteps: stage === 1 ? Math.min(o.warmupSteps, steps) : 0,
        weightDecay: o.weightDecay, clip: o.clip, seed: stageSeed(o.seed, run.shard, stage), padId,
      }, {}, [], false, optimizer ? { optimizer } : {});
      model = result.model;
      optimizer = result.optimizer;
      finalLoss = result.losses.at(-1) ?? null;
    }
    const info = { stage, records: n, steps, finalLoss };
    stages.push(info);
    run.onStage(stage, model, optimizer, info);
  }
  return { model, optimizer, stages };
}

/** A stage checkpoint: weights in F32, and the optimizer's state once one exists (stage 0, the start, has none). */
export function writeStage(dir: string, model: CausalLM, optimizer: OptimizerState | null): void {
  saveModel(model, dir, { dtype: 'F32' });
  if (optimizer) writeOptimizerState(join(dir, OPTIMIZER), optimizer);
}

export function readStage(dir: string, stage: number): { model: CausalLM; optimizer: OptimizerState | null } {
  if (!existsSync(join(dir, 'model.safetensors')) || (stage > 0 && !existsSync(join(dir, OPTIMIZER)))) {
    throw new EnsembleError(`${dir}: the checkpoint after stage ${stage} is missing or incomplete; the shard cannot be retrained from it`);
  }
  return { model: loadModel(dir).model, optimizer: stage > 0 ? readOptimizerState(join(dir, OPTIMIZER)) : null };
}
