import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTrainingRecords } from '../data/jsonl.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { createModel, loadModel, saveModel } from '../model/checkpoint.ts';
import { parseConfig } from '../model/config.ts';
import { initWeights } from '../model/init.ts';
import { atomicWrite, type SaveDType } from '../model/safetensors/write.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { buildExamples } from './examples.ts';
import { Progress } from './progress.ts';
import { train, type EvalInfo, type TrainOptions } from './trainer.ts';

/** A GPT-2-style architecture for a model trained from scratch. */
export interface FreshModelSpec {
  layers: number;
  dModel: number;
  heads: number;
  context: number;
}

export interface TrainingSpec {
  data: string[];
  evalData?: string[];
  /** Start from this Hugging Face folder (its tokenizer too)… */
  init?: string;
  /** …or build a fresh GPT-2-style model with this tokenizer folder. */
  tokenizerDir?: string;
  fresh?: FreshModelSpec;
  out: string;
  /** Resumable checkpoints (default: `<out>.checkpoint`). */
  checkpointDir?: string;
  resume?: boolean;
  dtype?: SaveDType;
  options: Omit<TrainOptions, 'padId' | 'checkpointDir' | 'tokenizerDir'>;
  /** Recorded in the training log so the run can be recreated. */
  command?: string;
}

export interface TrainingLog {
  command: string | null;
  spec: Omit<TrainingSpec, 'command'>;
  parameters: number;
  examples: number;
  losses: number[];
  evals: EvalInfo[];
  wallSeconds: number;
  finishedAt: string;
}

function loadRecords(files: readonly string[]) {
  return files.flatMap((f) => readTrainingRecords(f));
}

/** Reads the data, builds or loads the model, trains with progress, and writes the HF folder plus training_log.json. */
export function runTraining(spec: TrainingSpec, progressLabel = 'train'): TrainingLog {
  const started = performance.now();
  if (spec.data.length === 0) throw new Error('no training data given');
  const records = loadRecords(spec.data);
  if (records.length === 0) throw new Error(`${spec.data.join(', ')}: no training records`);
  let model: CausalLM;
  let tokenizerDir: string;
  if (spec.init) {
    model = loadModel(spec.init).model;
    tokenizerDir = spec.init;
  } else {
    if (!spec.tokenizerDir || !spec.fresh) throw new Error('give --init DIR, or --tokenizer DIR with the model shape, to train from scratch');
    tokenizerDir = spec.tokenizerDir;
    const tok = Tokenizer.fromDir(tokenizerDir);
    const f = spec.fresh;
    model = createModel(parseConfig({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: tok.vocabSize, n_positions: f.context,
      n_embd: f.dModel, n_layer: f.layers, n_head: f.heads, activation_function: 'gelu_new',
      bos_token_id: tok.bosId, eos_token_id: tok.eosId, tie_word_embeddings: true,
    }));
    initWeights(model, spec.options.seed);
  }
  const tokenizer = Tokenizer.fromDir(tokenizerDir);
  const padId = tokenizer.padId ?? 0;
  const examples = buildExamples(records, tokenizer, model.config.maxPositions);
  const evalExamples = spec.evalData ? buildExamples(loadRecords(spec.evalData), tokenizer, model.config.maxPositions) : [];
  const checkpointDir = spec.checkpointDir ?? `${spec.out}.checkpoint`;
  if (spec.resume && !existsSync(checkpointDir)) throw new Error(`${checkpointDir}: nothing to resume (no checkpoint)`);

  const progress = new Progress({ total: spec.options.steps, label: progressLabel, unit: 'tok/s' });
  const result = train(model, examples, { ...spec.options, padId, checkpointDir, tokenizerDir }, {
    onStep: (s) => progress.update(s.step, s.tokens, `loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)}`),
    onEval: (e) => progress.note(`step ${e.step}: eval loss ${e.loss.toFixed(4)}`),
  }, evalExamples, spec.resume ?? false);

  mkdirSync(spec.out, { recursive: true });
  saveModel(result.model, spec.out, { dtype: spec.dtype ?? 'F32', copyFrom: tokenizerDir });
  const { command, ...rest } = spec;
  const log: TrainingLog = {
    command: command ?? null, spec: rest, parameters: result.model.params.count(), examples: examples.length,
    losses: result.losses, evals: result.evals, wallSeconds: (performance.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
  };
  atomicWrite(join(spec.out, 'training_log.json'), [Buffer.from(JSON.stringify(log, null, 1) + '\n')]);
  return log;
}
