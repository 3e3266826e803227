import { totalmem } from 'node:os';
import type { ModelConfig } from './config.ts';

// Bounds on an untrusted config.json, checked before anything is allocated: without them `n_layer: 1e9` builds a
// billion-entry parameter list until V8 aborts, and `vocab_size: 2**31 - 1` dies in `new Float32Array`. Each cap is
// far above every published model of the families Lethe runs, so a real config never meets one.

/** Per-field sanity caps, each with the largest value seen in published models. */
export const FIELD_CAPS = {
  layers: 1024, // Llama-3.1-405B: 126
  width: 65_536, // hidden size; Llama-3.1-405B: 16,384
  heads: 1024, // Llama-3.1-405B: 128
  headDim: 65_536,
  intermediate: 1_048_576, // Llama-3.1-405B: 53,248
  vocabulary: 16_777_216, // 2^24; Gemma's 256k is the largest common vocabulary
  context: 4_194_304, // 2^22; Qwen2.5-1M declares 1,010,000
} as const;

/**
 * Lethe keeps every weight in one Float32Array (src/model/params.ts), and Node 20 caps a typed array at 2^32
 * elements: past this no override helps.
 */
const HARD_MAX_PARAMETERS = 4_000_000_000;

/** Share of physical memory the f32 weights may take by default (the rest: gradients, activations, the OS). */
const MEMORY_FRACTION = 0.8;

/** The parameter limit in force: LETHE_MAX_PARAMS when set (up to the hard cap), else what fits in memory. */
export function parameterLimit(env: NodeJS.ProcessEnv = process.env): { limit: number; source: string } {
  const override = env['LETHE_MAX_PARAMS'];
  if (override !== undefined && override !== '') {
    const n = Number(override);
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`LETHE_MAX_PARAMS must be a positive integer (a parameter count), got "${override}"`);
    return { limit: Math.min(n, HARD_MAX_PARAMETERS), source: n > HARD_MAX_PARAMETERS ? 'one-Float32Array' : 'LETHE_MAX_PARAMS' };
  }
  const byMemory = Math.floor((totalmem() * MEMORY_FRACTION) / 4);
  return byMemory < HARD_MAX_PARAMETERS
    ? { limit: byMemory, source: `${Math.round(MEMORY_FRACTION * 100)}%-of-memory (${gib(totalmem())} GiB)` }
    : { limit: HARD_MAX_PARAMETERS, source: 'one-Float32Array' };
}

/** The config's dimensions with the names config.json gives them, for errors. */
interface Dimension {
  field: string;
  value: number;
  cap: number;
  what: string;
}

function dimensions(c: ModelConfig): Dimension[] {
  const gpt2 = c.family === 'gpt2';
  const dims: Dimension[] = [
    { field: gpt2 ? 'n_layer' : 'num_hidden_layers', value: c.numLayers, cap: FIELD_CAPS.layers, what: 'layers' },
    { field: gpt2 ? 'n_embd' : 'hidden_size', value: c.hiddenSize, cap: FIELD_CAPS.width, what: 'hidden size' },
    { field: gpt2 ? 'n_head' : 'num_attention_heads', value: c.numHeads, cap: FIELD_CAPS.heads, what: 'attention heads' },
    { field: gpt2 ? 'n_inner' : 'intermediate_size', value: c.intermediateSize, cap: FIELD_CAPS.intermediate, what: 'MLP width' },
    { field: 'vocab_size', value: c.vocabSize, cap: FIELD_CAPS.vocabulary, what: 'vocabulary' },
    { field: gpt2 ? 'n_positions' : 'max_position_embeddings', value: c.maxPositions, cap: FIELD_CAPS.context, what: 'context' },
  ];
  if (!gpt2) {
    dims.push({ field: 'num_key_value_heads', value: c.numKvHeads, cap: FIELD_CAPS.heads, what: 'key/value heads' });
    dims.push({ field: 'head_dim', value: c.headDim, cap: FIELD_CAPS.headDim, what: 'head dimension' });
  }
  return dims;
}

/**
 * Parameters the architecture files will allocate for `c`, by part (the same shapes as gpt2ParamSpecs /
 * llamaParamSpecs, which test/model/untrusted-inputs.test.ts checks), computed in float64 without building them.
 */
export function parameterCount(c: ModelConfig): { embeddings: number; positions: number; perLayer: number; total: number } {
  const D = c.hiddenSize;
  const I = c.intermediateSize;
  let embeddings: number;
  let positions = 0;
  let perLayer: number;
  let final: number;
  if (c.family === 'gpt2') {
    embeddings = c.vocabSize * D;
    positions = c.maxPositions * D;
    perLayer = 4 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * I + I) + (I * D + D);
    final = 2 * D;
  } else {
    const q = c.numHeads * c.headDim;
    const kv = c.numKvHeads * c.headDim;
    embeddings = c.vocabSize * D * (c.tieWordEmbeddings ? 1 : 2);
    perLayer = q * D + 2 * kv * D + D * q + 3 * I * D + 2 * D
      + (c.qkvBias ? q + 2 * kv : 0) + (c.oBias ? D : 0) + (c.mlpBias ? 2 * I + D : 0);
    final = D;
  }
  return { embeddings, positions, perLayer, total: embeddings + positions + c.numLayers * perLayer + final };
}

/**
 * Why `c` cannot be loaded (a field over its cap, or more parameters than the limit), naming the config.json field
 * that drives the size; null when it fits.
 */
export function modelSizeProblem(c: ModelConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const d of dimensions(c)) {
    if (d.value > d.cap) return `"${d.field}" ${d.value} is more than the ${d.cap.toLocaleString('en-US')} ${d.what} Lethe accepts (no published model comes close; is the file corrupt?)`;
  }
  const p = parameterCount(c);
  const { limit, source } = parameterLimit(env);
  if (p.total <= limit) return null;
  const layers = c.numLayers * p.perLayer;
  const gpt2 = c.family === 'gpt2';
  const culprit = layers >= p.embeddings && layers >= p.positions
    ? `"${gpt2 ? 'n_layer' : 'num_hidden_layers'}" ${c.numLayers} × ${fmt(p.perLayer)} per layer`
    : p.embeddings >= p.positions
      ? `"vocab_size" ${c.vocabSize} × "${gpt2 ? 'n_embd' : 'hidden_size'}" ${c.hiddenSize}`
      : `"n_positions" ${c.maxPositions} × "n_embd" ${c.hiddenSize}`;
  return `${culprit} gives ~${fmt(p.total)} parameters (${gib(p.total * 4)} GiB of f32 weights), more than the ${fmt(limit)}-parameter ${source} limit`
    + (source === 'one-Float32Array' ? '' : ' (set LETHE_MAX_PARAMS to raise it)');
}

function fmt(n: number): string {
  return n < 1e6 ? String(Math.round(n)) : n.toExponential(2).replace('e+', 'e');
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(bytes >= 2 ** 40 ? 0 : 1);
}
