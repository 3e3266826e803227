import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointPaths, removeCheckpointFolder } from '../../train/checkpoint-folder.ts';
import { ensembleDigest } from '../../train/sisa/digest.ts';
import { planSisaErase } from '../../train/sisa/erase.ts';
import { isEnsemble } from '../../train/sisa/manifest.ts';
import { trainShardFromPlan } from '../../train/sisa/shard-plan.ts';
import type { StageInfo } from '../../train/sisa/stages.ts';
import { runUnlearning, writeUnlearned } from '../../unlearn/run.ts';
import { measureModel, type MeasureInput, type Measurement } from '../verify/measure.ts';
import type { ProgressEvent } from './progress.ts';

/** The heavy work a job hands to a thread (thread.ts): plain JSON in and out. */
export interface TaskArgs {
  erase: { modelDir: string; forgetPath: string; retainPath: string | null; method: string; options: string[]; outDir: string; checkpointDir: string; checkpointEvery: number };
  verify: MeasureInput;
  /** An erase job's plan of an exact erasure (planSisaErase), whose shards then retrain as 'train-shard' jobs. */
  sisaPlan: { modelDir: string; forgetPath: string; outDir: string };
  /** One shard of a planned folder (a 'train-shard' job): trainShardFromPlan. */
  trainShard: { dir: string; shard: number };
}

export interface TaskResult {
  erase: { outDir: string; modelSha256: string; reused: boolean; steps: number | null; stopReason: string | null };
  verify: Measurement;
  sisaPlan: { shards: number[]; plannedSteps: number };
  trainShard: { stages: StageInfo[] };
}

export type TaskName = keyof TaskArgs;

/** The weights' digest: of model.safetensors for a model folder, ensembleDigest for an ensemble. */
function weightsSha256(dir: string): string {
  return isEnsemble(dir) ? ensembleDigest(dir) : createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex');
}

/** Removes the run's checkpoint (and a half-swapped one) once the result is written. */
function dropCheckpoint(dir: string): void {
  const p = checkpointPaths(dir);
  for (const d of [p.dir, p.partial, p.old]) removeCheckpointFolder(d);
}

/**
 * Unlearns one model into `outDir`, checkpointing the optimisation every `checkpointEvery` steps so that a killed
 * attempt resumes where it stopped. The folder is written whole or not at all (writeUnlearned), so a complete folder
 * found there is the result of an earlier attempt that died before recording it: it is taken as done, not redone —
 * the step's visible effect happens once.
 */
function erase(a: TaskArgs['erase'], onProgress?: (e: ProgressEvent) => void): TaskResult['erase'] {
  if (existsSync(join(a.outDir, 'unlearn.json'))) {
    dropCheckpoint(a.checkpointDir);
    return { outDir: a.outDir, modelSha256: weightsSha256(a.outDir), reused: true, steps: null, stopReason: null };
  }
  // Exact erasure of an ensemble runs as 'train-shard' jobs (shard-jobs.ts); it reaches this task only to take the
  // finished folder of an earlier attempt, above.
  if (a.method === 'sisa') throw new Error(`${a.outDir}: an exact (sisa) erasure runs as train-shard jobs, not in the erase task`);
  const result = runUnlearning({ modelDir: a.modelDir, forgetPath: a.forgetPath, ...(a.retainPath ? { retainPath: a.retainPath } : {}), method: a.method, options: a.options },
    { checkpoint: { dir: a.checkpointDir, every: a.checkpointEvery }, ...(onProgress ? { onStep: (e) => onProgress({ phase: e.phase, step: e.step, total: e.totalSteps, loss: e.loss }) } : {}) });
  writeUnlearned(result, a.outDir, { inputs: [{ path: a.modelDir, what: 'model' }] });
  dropCheckpoint(a.checkpointDir);
  return { outDir: a.outDir, modelSha256: weightsSha256(a.outDir), reused: false, steps: result.record.steps, stopReason: result.record.stopReason };
}

export async function runTask<T extends TaskName>(task: T, args: TaskArgs[T], onProgress?: (e: ProgressEvent) => void): Promise<TaskResult[T]> {
  if (task === 'erase') return erase(args as TaskArgs['erase'], onProgress) as TaskResult[T];
  if (task === 'sisaPlan') {
    const a = args as TaskArgs['sisaPlan'];
    // The same forget set and options as the sequential path below, so the plan (and every shard) is the same.
    const plan = planSisaErase(a.modelDir, [a.forgetPath], a.outDir, { skipUntrained: true });
    return { shards: plan.train.map((t) => t.shard), plannedSteps: plan.train.reduce((n, t) => n + (t.plannedSteps ?? 0), 0) } as TaskResult[T];
  }
  if (task === 'trainShard') {
    const a = args as TaskArgs['trainShard'];
    return { stages: trainShardFromPlan(a.dir, a.shard) } as TaskResult[T];
  }
  if (task === 'verify') return measureModel(args as TaskArgs['verify']) as TaskResult[T];
  throw new Error(`unknown task ${String(task)}`);
}
