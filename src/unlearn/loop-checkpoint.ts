import { createHash } from 'node:crypto';
import type { OptimizerState } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { recoverCheckpoint } from '../train/checkpoint-folder.ts';
import { loadTrainingCheckpoint, saveTrainingCheckpoint } from '../train/state.ts';
import type { UnlearnItem } from './data.ts';
import type { CheckEvent, StepEvent } from './types.ts';

/**
 * What the unlearning loop needs besides weights and optimizer moments to continue a killed run exactly: the step,
 * the start check its guards compare against, the curve and checks so far. A checkpoint is written only right after
 * a passing check, so the weights in it are also the loop's "last good" weights. The batch order is a function of
 * the seed and the step, so the streams are replayed to the step rather than stored.
 */
export interface LoopCheckpointState {
  step: number;
  start: CheckEvent | null;
  curve: StepEvent[];
  checks: CheckEvent[];
  warnedMemorising: boolean;
  /** Hash of everything that must be equal for the checkpoint to belong to this run (options, data, phase). */
  fingerprint: string;
}

/** A digest of the run: a checkpoint with another fingerprint (other data, options or model) is not resumed. */
export function loopFingerprint(parts: { phase: string; options: Record<string, unknown>; forget: readonly UnlearnItem[]; retain: readonly UnlearnItem[]; original: Float32Array }): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ phase: parts.phase, options: parts.options }));
  for (const set of [parts.forget, parts.retain]) {
    h.update(`|${set.length}|`);
    for (const it of set) h.update(Int32Array.from([...it.prompt, -1, ...it.answer, -2]));
  }
  h.update(new Uint8Array(parts.original.buffer, parts.original.byteOffset, parts.original.byteLength));
  return h.digest('hex');
}

/** The checkpoint in `dir` when it is complete and belongs to this run, else null (a fresh start). */
export function loadLoopCheckpoint(dir: string, fingerprint: string): { params: Float32Array; optimizer: OptimizerState; state: LoopCheckpointState } | null {
  if (!recoverCheckpoint(dir)) return null;
  const loaded = loadTrainingCheckpoint<LoopCheckpointState>(dir);
  if (loaded.state.fingerprint !== fingerprint) return null;
  return { params: loaded.model.params.flat, optimizer: loaded.optimizer, state: loaded.state };
}

export function saveLoopCheckpoint(dir: string, model: CausalLM, optimizer: OptimizerState, state: LoopCheckpointState): void {
  saveTrainingCheckpoint(dir, model, optimizer, state);
}
