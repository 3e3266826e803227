import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, type OptimizerState } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel, saveModel } from '../model/checkpoint.ts';
import { loadSafetensors, saveSafetensors, withSafetensors } from '../model/safetensors/index.ts';
import { atomicWrite } from '../model/io/atomic-file.ts';
import type { SourcePosition } from './trainer.ts';
import { beginCheckpoint, checkpointPaths, commitCheckpoint, recoverCheckpoint, STATE_FILE } from './checkpoint-folder.ts';
import type { EvalInfo } from './trainer.ts';

/** Everything besides weights and optimizer buffers that a resumed run needs to continue exactly. */
export interface TrainerState {
  step: number;
  /** The step source's position (null before the first step). */
  position: SourcePosition | null;
  /** Training loss of every step so far (the log a resumed run continues). */
  losses: number[];
  /** Fingerprint of the options that must not change across a resume (data, batch size, seed, schedule). */
  fingerprint: string;
  /** Evaluations so far, so a resumed run's log has them all (absent in checkpoints of earlier versions). */
  evals?: EvalInfo[];
}

export const OPTIMIZER = 'optimizer.safetensors';

/** An optimizer's buffers as a safetensors file, its kind, step and hyper-parameters in the metadata. */
export function writeOptimizerState(path: string, optimizer: OptimizerState): void {
  const buffers = new Map(Object.entries(optimizer.buffers).map(([k, v]) => [k, new Tensor(v, [v.length])]));
  saveSafetensors(path, buffers, {
    metadata: { kind: optimizer.kind, step: String(optimizer.step), hyper: JSON.stringify(optimizer.hyper) },
  });
}

/** Reads what writeOptimizerState wrote (`fallbackStep` for files that lack the step). */
export function readOptimizerState(path: string, fallbackStep?: number): OptimizerState {
  const tensors = loadSafetensors(path);
  const meta = withSafetensors(path, (f) => f.metadata);
  const buffers: Record<string, Float32Array> = {};
  for (const [k, t] of tensors) buffers[k] = t.f32(`${path}: ${k}`);
  return {
    kind: meta['kind'] ?? 'AdamW', step: Number(meta['step'] ?? fallbackStep ?? 0),
    hyper: JSON.parse(meta['hyper'] ?? '{}') as Record<string, number>, buffers,
  };
}

/**
 * Writes a checkpoint folder (model in F32, optimizer buffers, trainer state) as `dir.partial` and swaps it in (the
 * protocol is in checkpoint-folder.ts), so a kill at any moment leaves the previous complete checkpoint or the new one.
 */
export function saveTrainingCheckpoint<S extends object = TrainerState>(dir: string, model: CausalLM, optimizer: OptimizerState, state: S, copyFrom?: string): void {
  const tmp = beginCheckpoint(dir);
  saveModel(model, tmp, { dtype: 'F32', copyFrom });
  writeOptimizerState(join(tmp, OPTIMIZER), optimizer);
  // Last: its presence is what makes the folder a complete checkpoint.
  atomicWrite(join(tmp, STATE_FILE), [Buffer.from(JSON.stringify(state) + '\n')]);
  commitCheckpoint(dir);
}

export interface LoadedTrainingCheckpoint<S extends object = TrainerState> {
  model: CausalLM;
  optimizer: OptimizerState;
  state: S;
}

/**
 * Reads the newest complete checkpoint, first moving it to `dir` if a kill mid-swap left it as `dir.partial` or
 * `dir.old` (recoverCheckpoint).
 */
export function loadTrainingCheckpoint<S extends object = TrainerState>(dir: string): LoadedTrainingCheckpoint<S> {
  const p = checkpointPaths(dir);
  if (!recoverCheckpoint(dir)) throw new Error(`${p.dir}: nothing to resume (no complete checkpoint there, nor as ${p.partial} or ${p.old})`);
  const statePath = join(dir, STATE_FILE);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as S & { step?: number };
  const { model } = loadModel(dir);
  const optimizer = readOptimizerState(join(dir, OPTIMIZER), state.step);
  return { model, optimizer, state };
}
