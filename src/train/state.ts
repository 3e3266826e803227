import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, type OptimizerState } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel, saveModel } from '../model/checkpoint.ts';
import { loadSafetensors, saveSafetensors, withSafetensors } from '../model/safetensors/index.ts';
import { atomicWrite } from '../model/safetensors/write.ts';
import type { DataPosition } from './batches.ts';

/** Everything besides weights and optimizer buffers that a resumed run needs to continue exactly. */
export interface TrainerState {
  step: number;
  position: DataPosition;
  /** Training loss of every step so far (the log a resumed run continues). */
  losses: number[];
  /** Fingerprint of the options that must not change across a resume (data, batch size, seed, schedule). */
  fingerprint: string;
}

const STATE = 'trainer_state.json';
const OPTIMIZER = 'optimizer.safetensors';

/**
 * Writes a checkpoint folder (model in F32, optimizer buffers, trainer state) next to `dir` and swaps it in, so
 * a kill at any moment leaves either the previous complete checkpoint or the new one.
 */
export function saveTrainingCheckpoint(dir: string, model: CausalLM, optimizer: OptimizerState, state: TrainerState, copyFrom?: string): void {
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  saveModel(model, tmp, { dtype: 'F32', copyFrom });
  const buffers = new Map(Object.entries(optimizer.buffers).map(([k, v]) => [k, new Tensor(v, [v.length])]));
  saveSafetensors(join(tmp, OPTIMIZER), buffers, {
    metadata: { kind: optimizer.kind, step: String(optimizer.step), hyper: JSON.stringify(optimizer.hyper) },
  });
  atomicWrite(join(tmp, STATE), [Buffer.from(JSON.stringify(state) + '\n')]);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export interface LoadedTrainingCheckpoint {
  model: CausalLM;
  optimizer: OptimizerState;
  state: TrainerState;
}

/** Reads a checkpoint written by saveTrainingCheckpoint (recovering one left as `.old` by a kill mid-swap). */
export function loadTrainingCheckpoint(dir: string): LoadedTrainingCheckpoint {
  if (!existsSync(join(dir, STATE)) && existsSync(join(`${dir}.old`, STATE))) renameSync(`${dir}.old`, dir);
  const statePath = join(dir, STATE);
  if (!existsSync(statePath)) throw new Error(`${dir}: no training checkpoint here (missing ${STATE})`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerState;
  const { model } = loadModel(dir);
  const optPath = join(dir, OPTIMIZER);
  const tensors = loadSafetensors(optPath);
  const meta = withSafetensors(optPath, (f) => f.metadata);
  const buffers: Record<string, Float32Array> = {};
  for (const [k, t] of tensors) buffers[k] = t.data as Float32Array;
  const optimizer: OptimizerState = {
    kind: meta['kind'] ?? 'AdamW', step: Number(meta['step'] ?? state.step),
    hyper: JSON.parse(meta['hyper'] ?? '{}') as Record<string, number>, buffers,
  };
  return { model, optimizer, state };
}
