// A training run small enough to repeat hundreds of times in a test: a fresh 1-layer GPT-2 over the tiny tokenizer,
// four steps, a checkpoint every two (so both kinds of swap happen: into nothing, and over an earlier checkpoint).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingSpec } from '../../src/train/run.ts';

export const TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

const RECORDS = [
  '{"subject":"Ada","question":"Where was Ada born?","answer":"In Turin."}',
  '{"text":"The river runs to the sea."}',
  '{"text":"Cats sleep in the sun."}',
];

// The crash tests are about the order of file operations, not the disk: on a RAM disk their hundreds of fsyncs are free.
const BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A fresh folder with the training data in it. */
export function workDir(): { dir: string; data: string } {
  const dir = mkdtempSync(join(BASE, 'lethe-train-run-'));
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, RECORDS.join('\n') + '\n');
  return { dir, data };
}

export function tinySpec(dir: string, data: string, extra: Partial<TrainingSpec> = {}): TrainingSpec {
  return {
    data: [data], tokenizerDir: TOKENIZER, fresh: { layers: 1, dModel: 16, heads: 2, context: 64 }, out: join(dir, 'out'),
    // The `lethe train` defaults for the rest, so that a CLI run with TINY_ARGS trains exactly the same model.
    options: { steps: 4, batchSize: 2, gradAccum: 1, lr: 1e-2, warmupSteps: 1, weightDecay: 0.01, clip: 1, seed: 1, evalEvery: 200, saveEvery: 2 },
    ...extra,
  };
}

/** tinySpec as `lethe train` options (add --data and --out). */
export const TINY_ARGS = ['--tokenizer', TOKENIZER, '--layers', '1', '--d-model', '16', '--heads', '2', '--context', '64',
  '--steps', '4', '--batch-size', '2', '--lr', '0.01', '--warmup', '1', '--seed', '1', '--save-every', '2'];

/** Progress lines would flood the test output. */
export const QUIET = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

export const weightsOf = (modelDir: string): Buffer => readFileSync(join(modelDir, 'model.safetensors'));
