import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../engine/index.ts';
import { GPT2 } from './arch/gpt2.ts';
import { Llama } from './arch/llama.ts';
import type { CausalLM } from './arch/types.ts';
import { readConfig, type ModelConfig } from './config.ts';
import type { ParameterStore } from './params.ts';
import { closeCheckpoint, openCheckpoint, saveCheckpoint } from './safetensors/index.ts';
import { atomicWrite, copyFileAtomic, lstatOrNull } from './io/atomic-file.ts';
import { writeFolder, type WriteFolderOptions } from './io/output-folder.ts';
import type { SaveDType } from './safetensors/write.ts';
import type { SafetensorsDType } from './safetensors/dtype.ts';

/** Files copied unchanged from the source folder when saving, so the output folder is complete. */
const SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'vocab.json', 'merges.txt'];

/** Weights some checkpoints carry that are buffers, not parameters (causal masks, cached RoPE tables). */
const IGNORED = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /rotary_emb\.inv_freq$/];

export class CheckpointError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'CheckpointError';
  }
}

export interface LoadedModel {
  model: CausalLM;
  /** The folder it came from. */
  dir: string;
  /** The float dtype most of the stored weights had (what saving writes back by default). */
  storedDType: SafetensorsDType;
}

/** Builds an uninitialised model for a config (weights all zero), or one over existing weights of the same shape. */
export function createModel(config: ModelConfig, params?: ParameterStore): CausalLM {
  return config.family === 'gpt2' ? new GPT2(config, params) : new Llama(config, params);
}

/** An independent copy of a model: same config, its own copy of the weights. */
export function cloneModel(model: CausalLM): CausalLM {
  const copy = createModel(model.config);
  copy.params.restore(model.params.flat);
  return copy;
}

/** Candidate stored names for a parameter: GPT-2 checkpoints saved from GPT2Model lack the "transformer." prefix. */
function storedNames(name: string): string[] {
  return name.startsWith('transformer.') ? [name, name.slice('transformer.'.length)] : [name];
}

/** Loads a Hugging Face model folder: config.json plus model.safetensors (or shards). */
export function loadModel(dir: string): LoadedModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(dir, 'model folder does not exist');
  const config = readConfig(dir);
  const model = createModel(config);
  const ckpt = openCheckpoint(dir);
  try {
    const used = new Set<string>();
    const dtypeCount = new Map<SafetensorsDType, number>();
    const missing: string[] = [];
    for (const [name, param] of model.params.entries()) {
      const stored = storedNames(name).find((n) => ckpt.byName.has(n));
      if (!stored) {
        missing.push(name);
        continue;
      }
      const file = ckpt.byName.get(stored)!;
      const entry = file.entry(stored);
      if (entry.shape.join(',') !== param.shape.join(',')) {
        throw new CheckpointError(file.path, `tensor "${stored}" has shape [${entry.shape.join(', ')}], config.json implies [${param.shape.join(', ')}]`);
      }
      const t = file.read(stored);
      if (t.dtype !== 'f32') throw new CheckpointError(file.path, `tensor "${stored}" is ${entry.dtype}, expected a float dtype`);
      param.f32('loadModel').set(t.f32('loadModel'));
      used.add(stored);
      dtypeCount.set(entry.dtype, (dtypeCount.get(entry.dtype) ?? 0) + 1);
    }
    if (missing.length > 0) {
      throw new CheckpointError(dir, `weights missing for ${config.architecture}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    }
    const tiedHead = config.tieWordEmbeddings ? ['lm_head.weight'] : [];
    const unexpected = [...ckpt.byName.keys()].filter((n) => !used.has(n) && !tiedHead.includes(n) && !IGNORED.some((r) => r.test(n)));
    if (unexpected.length > 0) {
      throw new CheckpointError(dir, `unexpected weights for ${config.architecture}: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''}`);
    }
    const storedDType = [...dtypeCount.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
    return { model, dir, storedDType };
  } finally {
    closeCheckpoint(ckpt);
  }
}

export interface SaveModelOptions {
  /** Float dtype of the written weights (default F32). */
  dtype?: SaveDType;
  /** Copy tokenizer and generation files from this folder. */
  copyFrom?: string;
  maxShardBytes?: number;
  metadata?: Record<string, string>;
}

const TORCH_DTYPE: Record<SaveDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * Writes a model's files into a folder (config.json, model.safetensors, the copied tokenizer files), each atomically.
 * To produce an output folder whole or not at all, use writeModelFolder.
 */
export function saveModel(model: CausalLM, dir: string, options: SaveModelOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const dtype = options.dtype ?? 'F32';
  const tensors = new Map<string, Tensor>(model.params.entries());
  saveCheckpoint(dir, tensors, { dtype, maxShardBytes: options.maxShardBytes, metadata: { format: 'pt', ...(options.metadata ?? {}) } });
  const config = { ...model.config.raw, torch_dtype: TORCH_DTYPE[dtype] };
  atomicWrite(join(dir, 'config.json'), [Buffer.from(JSON.stringify(config, null, 2) + '\n')]);
  if (options.copyFrom && options.copyFrom !== dir) copySideFiles(options.copyFrom, dir);
}

/** Copies the tokenizer and generation files a model folder carries beside its weights (those present). */
export function copySideFiles(from: string, to: string): void {
  for (const f of SIDE_FILES) {
    const src = join(from, f);
    // lstat, not exists: a dangling link must be refused too, not skipped. copyFileAtomic never follows a link.
    if (lstatOrNull(src)) copyFileAtomic(src, join(to, f));
  }
}

export interface WriteModelFolderOptions extends SaveModelOptions, WriteFolderOptions {
  /** Further files written next to the weights (e.g. unlearn.json), part of the same whole-or-absent folder. */
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * Writes a model as a Hugging Face folder (config.json, model.safetensors) that transformers loads unchanged, whole
 * or not at all: built in a sibling temp folder and renamed into place. An existing folder is replaced only with
 * `force`; the source folder (copyFrom) is always among the inputs the output must not overlap.
 */
export function writeModelFolder(model: CausalLM, dir: string, options: WriteModelFolderOptions = {}): void {
  const inputs = [...(options.inputs ?? []), ...(options.copyFrom ? [{ path: options.copyFrom, what: 'source model' }] : [])];
  writeFolder(dir, (tmp) => {
    saveModel(model, tmp, options);
    for (const [name, content] of Object.entries(options.extraFiles ?? {})) {
      atomicWrite(join(tmp, name), [typeof content === 'string' ? Buffer.from(content, 'utf8') : content]);
    }
  }, { force: options.force, inputs });
}
