import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../util/json-depth.ts';
import { readUtf8File } from '../util/text-file.ts';
import { modelSizeProblem } from './limits.ts';

/** Architectures Lethe runs, by the names Hugging Face writes in config.json "architectures". */
const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;
export type ArchitectureName = (typeof SUPPORTED_ARCHITECTURES)[number];

/** One normalised description of either family, so model code never reads raw config keys. */
export interface ModelConfig {
  architecture: ArchitectureName;
  family: 'gpt2' | 'llama';
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  normEps: number;
  tieWordEmbeddings: boolean;
  /** Llama family: biases on q/k/v (Qwen2) and on o_proj/MLP (attention_bias / mlp_bias). */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /**
   * Mistral-style sliding-window attention span, or null. Lethe attends over the full causal context, which is
   * the same computation while a sequence fits in the window; longer sequences are refused.
   */
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  torchDtype: string | null;
  /** The config.json object as read, written back with only what Lethe changed. */
  raw: Record<string, unknown>;
}

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export class ConfigError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'ConfigError';
  }
}

const posInt = z.number().int().positive();
const tokenId = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const gpt2Schema = z.object({
  vocab_size: posInt,
  n_embd: posInt,
  n_layer: posInt,
  n_head: posInt,
  n_positions: posInt,
  n_inner: posInt.nullish(),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z.string().default('gelu_new'),
  tie_word_embeddings: z.boolean().default(true),
  bos_token_id: z.number().int().nullish(),
  eos_token_id: tokenId,
  torch_dtype: z.string().nullish(),
});

const ropeScalingSchema = z.object({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: posInt.optional(),
}).nullish();

const llamaSchema = z.object({
  vocab_size: posInt,
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.nullish(),
  head_dim: posInt.nullish(),
  max_position_embeddings: posInt.default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: ropeScalingSchema,
  hidden_act: z.string().default('silu'),
  tie_word_embeddings: z.boolean().default(false),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  sliding_window: posInt.nullish(),
  use_sliding_window: z.boolean().optional(),
  bos_token_id: z.number().int().nullish(),
  eos_token_id: tokenId,
  torch_dtype: z.string().nullish(),
});

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `"${i.path.join('.') || '(root)'}" ${i.message}`).join('; ');
}

/**
 * Validates a parsed config.json and normalises it; `where` names the file in errors. The dimensions are checked
 * against src/model/limits.ts before anything is allocated for them.
 */
export function parseConfig(raw: unknown, where = 'config.json'): ModelConfig {
  const config = normalizeConfig(raw, where);
  const problem = modelSizeProblem(config);
  if (problem) throw new ConfigError(where, problem);
  return config;
}

function normalizeConfig(raw: unknown, where: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(where, 'must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const archs = obj['architectures'];
  const arch = Array.isArray(archs) ? archs[0] : undefined;
  if (typeof arch !== 'string') {
    throw new ConfigError(where, `"architectures" must list the model class (one of ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ConfigError(where, `architecture "${arch}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const architecture = arch as ArchitectureName;
  if (architecture === 'GPT2LMHeadModel') {
    const r = gpt2Schema.safeParse(obj);
    if (!r.success) throw new ConfigError(where, describeIssues(r.error));
    const c = r.data;
    if (c.n_embd % c.n_head !== 0) throw new ConfigError(where, `n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
    if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'].includes(c.activation_function)) {
      throw new ConfigError(where, `activation_function "${c.activation_function}" is not supported (GPT-2 uses gelu_new)`);
    }
    return {
      architecture, family: 'gpt2', vocabSize: c.vocab_size, hiddenSize: c.n_embd, numLayers: c.n_layer,
      numHeads: c.n_head, numKvHeads: c.n_head, headDim: c.n_embd / c.n_head, intermediateSize: c.n_inner ?? 4 * c.n_embd,
      maxPositions: c.n_positions, normEps: c.layer_norm_epsilon, tieWordEmbeddings: c.tie_word_embeddings,
      qkvBias: true, oBias: true, mlpBias: true, ropeTheta: 0, ropeScaling: null, slidingWindow: null,
      bosTokenId: c.bos_token_id ?? null, eosTokenId: c.eos_token_id ?? null, torchDtype: c.torch_dtype ?? null, raw: obj,
    };
  }
  const r = llamaSchema.safeParse(obj);
  if (!r.success) throw new ConfigError(where, describeIssues(r.error));
  const c = r.data;
  if (c.hidden_act !== 'silu') throw new ConfigError(where, `hidden_act "${c.hidden_act}" is not supported (Llama-family models use silu)`);
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    throw new ConfigError(where, `num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ConfigError(where, `head dimension ${headDim} must be an even integer`);
  return {
    architecture, family: 'llama', vocabSize: c.vocab_size, hiddenSize: c.hidden_size, numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads, numKvHeads, headDim, intermediateSize: c.intermediate_size,
    maxPositions: c.max_position_embeddings, normEps: c.rms_norm_eps, tieWordEmbeddings: c.tie_word_embeddings,
    qkvBias: architecture === 'Qwen2ForCausalLM' || c.attention_bias, oBias: c.attention_bias, mlpBias: c.mlp_bias,
    ropeTheta: c.rope_theta, ropeScaling: parseRopeScaling(c.rope_scaling, where),
    // Qwen2 configs carry sliding_window but only use it with use_sliding_window: true.
    slidingWindow: c.use_sliding_window === false ? null : (c.sliding_window ?? null),
    bosTokenId: c.bos_token_id ?? null, eosTokenId: c.eos_token_id ?? null, torchDtype: c.torch_dtype ?? null, raw: obj,
  };
}

function parseRopeScaling(s: z.infer<typeof ropeScalingSchema>, where: string): Llama3RopeScaling | null {
  if (!s) return null;
  const kind = s.rope_type ?? s.type;
  if (kind === 'default') return null;
  if (kind !== 'llama3') throw new ConfigError(where, `rope_scaling type "${kind}" is not supported (supported: llama3)`);
  if (!s.factor || !s.low_freq_factor || !s.high_freq_factor || !s.original_max_position_embeddings) {
    throw new ConfigError(where, 'llama3 rope_scaling needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings');
  }
  return {
    factor: s.factor, lowFreqFactor: s.low_freq_factor, highFreqFactor: s.high_freq_factor,
    originalMaxPositions: s.original_max_position_embeddings,
  };
}

/** Real config.json files are a few kilobytes; 16 MiB leaves room for large label maps. */
const MAX_CONFIG_BYTES = 16 * 2 ** 20;

/** Reads and validates `<dir>/config.json`. */
export function readConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(dir, 'no config.json in this folder (is it a Hugging Face model folder?)');
  const text = readUtf8File(path, MAX_CONFIG_BYTES, (problem) => new ConfigError(path, problem));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, `not valid JSON (${(err as Error).message})`);
  }
  // Lethe writes config.json back when saving: a value nested past the stack would fail there, after the work.
  if (jsonTooDeep(text)) throw new ConfigError(path, `nested more than ${MAX_JSON_DEPTH} levels deep`);
  return parseConfig(raw, path);
}

/**
 * RoPE inverse frequencies, with Llama-3 scaling when configured (long wavelengths divided by `factor`, short
 * ones kept, a smooth blend between), exactly as transformers' _compute_llama3_parameters.
 */
export function ropeFrequencies(c: ModelConfig): Float32Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (s) {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen > lowWavelen) inv[i] = inv[i]! / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i]! / s.factor) + smooth * inv[i]!;
      }
    }
  }
  return Float32Array.from(inv);
}
