// Independent readers the fuzz cases compare Lethe against. They share no code with src/ beyond the published
// limits (bounds are policy, not parsing) and the record schemas (the JSONL format's definition).
import { QaRecordSchema, TextRecordSchema, TrainingQaSchema } from '../../src/data/schema.ts';
import { FIELD_CAPS } from '../../src/model/limits.ts';
import { MAX_HEADER_BYTES, MAX_TENSORS } from '../../src/model/safetensors/header.ts';

export type Verdict<T> = { ok: true; value: T } | { ok: false; why: string; line?: number };

/**
 * A byte of the first invalid UTF-8 sequence (on the same line as its lead byte), found by bisecting with a
 * streaming decoder rather than with Lethe's scanner.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number | null {
  const validPrefix = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return null;
  } catch {
    if (validPrefix(bytes.length)) return bytes.length - 1; // only the ending is an incomplete sequence
  }
  let lo = 0; // a valid prefix length
  let hi = bytes.length; // an invalid one
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

/** 1-based line of a byte offset. */
export function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

export function strictText(bytes: Uint8Array): Verdict<string> {
  const bad = firstInvalidUtf8(bytes);
  if (bad !== null) return { ok: false, why: 'invalid UTF-8', line: lineOf(bytes, bad) };
  return { ok: true, value: new TextDecoder().decode(bytes) };
}

export function strictJson(bytes: Uint8Array): Verdict<unknown> {
  const t = strictText(bytes);
  if (!t.ok) return t;
  try {
    return { ok: true, value: JSON.parse(t.value) };
  } catch {
    return { ok: false, why: 'invalid JSON' };
  }
}

// ---------------------------------------------------------------------------------------------- safetensors

const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export interface OracleTensor {
  dtype: string;
  shape: number[];
  /** Values as Lethe's engine holds them (floats rounded to f32), or null when they do not fit (I64 beyond i32). */
  values: number[] | null;
}

function half(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + m / 1024);
}

/** A minimal safetensors reader following the format's rules, written for the fuzz test. */
export function readSafetensors(b: Uint8Array): Verdict<Map<string, OracleTensor>> {
  if (b.length < 8) return { ok: false, why: 'short' };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES) || 8n + n > BigInt(b.length) || n < 2n) return { ok: false, why: 'header length' };
  const headerBytes = b.subarray(8, 8 + Number(n));
  const j = strictJson(headerBytes);
  if (!j.ok) return j;
  const h = j.value;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return { ok: false, why: 'header not an object' };
  const entries = Object.entries(h as Record<string, unknown>);
  if (entries.length > MAX_TENSORS + 1) return { ok: false, why: 'too many tensors' };
  const dataLen = b.length - 8 - Number(n);
  const data = b.subarray(8 + Number(n));
  const spans: [number, number, string][] = [];
  const out = new Map<string, OracleTensor>();
  for (const [name, v] of entries) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) return { ok: false, why: 'metadata' };
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, why: `entry ${name}` };
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZES, dtype)) return { ok: false, why: 'dtype' };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return { ok: false, why: 'shape' };
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) return { ok: false, why: 'offsets' };
    const [begin, end] = off as [number, number];
    if (begin > end || end > dataLen) return { ok: false, why: 'offsets range' };
    const count = (shape as number[]).reduce((a, x) => a * x, 1);
    if (count * SIZES[dtype]! !== end - begin) return { ok: false, why: 'size' };
    spans.push([begin, end, name]);
    out.set(name, { dtype, shape: shape as number[], values: decodeValues(dtype, data.subarray(begin, end)) });
  }
  spans.sort((a, c) => a[0] - c[0] || a[1] - c[1]);
  let at = 0;
  for (const [begin, end] of spans) {
    if (begin !== at) return { ok: false, why: begin < at ? 'overlap' : 'hole' };
    at = end;
  }
  if (at !== dataLen) return { ok: false, why: 'coverage' };
  return { ok: true, value: out };
}

function decodeValues(dtype: string, bytes: Uint8Array): number[] | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / SIZES[dtype]!;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': out.push(dv.getFloat32(4 * i, true)); break;
      case 'F16': out.push(half(dv.getUint16(2 * i, true))); break;
      case 'BF16': {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint16(0, dv.getUint16(2 * i, true));
        out.push(tmp.getFloat32(0));
        break;
      }
      case 'F64': out.push(Math.fround(dv.getFloat64(8 * i, true))); break;
      case 'I64': {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) return null;
        out.push(Number(v));
        break;
      }
      case 'I32': out.push(dv.getInt32(4 * i, true)); break;
      default: out.push(bytes[i]!);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------- JSONL

export type JsonlMode = 'qa' | 'training';

/** What Lethe must return for a JSONL file: the records (training records tagged with their kind), or the line of the first error. */
export function expectJsonl(bytes: Uint8Array, mode: JsonlMode): Verdict<unknown[]> {
  const t = strictText(bytes);
  if (!t.ok) return t;
  const body = t.value.charCodeAt(0) === 0xfeff ? t.value.slice(1) : t.value;
  const lines = body.split('\n');
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      return { ok: false, why: 'json', line: i + 1 };
    }
    if (nestingDepth(s) > 64) return { ok: false, why: 'too deep', line: i + 1 };
    if (mode === 'qa') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, why: 'not an object', line: i + 1 };
      const r = QaRecordSchema.safeParse(v);
      if (!r.success) return { ok: false, why: 'schema', line: i + 1 };
      out.push(r.data);
    } else {
      // Training files: a line is a record, or an array of records (TOFU's batches); QA records need no subject.
      for (const e of Array.isArray(v) ? v : [v]) {
        if (typeof e !== 'object' || e === null || Array.isArray(e)) return { ok: false, why: 'not an object', line: i + 1 };
        const isQa = 'question' in e || 'answer' in e;
        if (!isQa && !('text' in e)) return { ok: false, why: 'kind', line: i + 1 };
        const r = (isQa ? TrainingQaSchema : TextRecordSchema).safeParse(e);
        if (!r.success) return { ok: false, why: 'schema', line: i + 1 };
        out.push({ ...r.data, kind: isQa ? 'qa' : 'text' });
      }
    }
  }
  if (out.length === 0) return { ok: false, why: 'no records' };
  return { ok: true, value: out };
}

/** Deepest object/array nesting of a parsed JSON value, without recursion. */
export function nestingDepth(text: string): number {
  const stack: [unknown, number][] = [[JSON.parse(text), 0]];
  let max = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d + 1);
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
  return max;
}

// --------------------------------------------------------------------------------------------------- config

/** The dimensions a config.json states, read directly by field name with transformers' defaults. */
export function configDimensions(raw: Record<string, unknown>): Record<string, unknown> | null {
  const arch = Array.isArray(raw['architectures']) ? raw['architectures'][0] : undefined;
  if (arch === 'GPT2LMHeadModel') {
    return {
      vocabSize: raw['vocab_size'], hiddenSize: raw['n_embd'], numLayers: raw['n_layer'], numHeads: raw['n_head'],
      maxPositions: raw['n_positions'], intermediateSize: raw['n_inner'] ?? (typeof raw['n_embd'] === 'number' ? 4 * raw['n_embd'] : undefined),
    };
  }
  if (['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'].includes(arch as string)) {
    return {
      vocabSize: raw['vocab_size'], hiddenSize: raw['hidden_size'], numLayers: raw['num_hidden_layers'], numHeads: raw['num_attention_heads'],
      numKvHeads: raw['num_key_value_heads'] ?? raw['num_attention_heads'], intermediateSize: raw['intermediate_size'],
      maxPositions: raw['max_position_embeddings'] ?? 2048,
    };
  }
  return null;
}

/** Caps by ModelConfig field, for checking what Lethe accepted. */
export const DIMENSION_CAPS: Record<string, number> = {
  vocabSize: FIELD_CAPS.vocabulary, hiddenSize: FIELD_CAPS.width, numLayers: FIELD_CAPS.layers, numHeads: FIELD_CAPS.heads,
  numKvHeads: FIELD_CAPS.heads, intermediateSize: FIELD_CAPS.intermediate, maxPositions: FIELD_CAPS.context,
};

// ------------------------------------------------------------------------------------------------ tokenizer

/** The id each token must map to (added tokens override the vocabulary), and the vocabulary size, or why not. */
export function expectTokenizer(json: unknown): Verdict<{ vocabSize: number; ids: Map<string, number> | null }> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, why: 'not an object' };
  const model = (json as Record<string, unknown>)['model'] as Record<string, unknown> | undefined;
  const added = ((json as Record<string, unknown>)['added_tokens'] ?? []) as unknown;
  if (!model || typeof model !== 'object' || !Array.isArray(added)) return { ok: false, why: 'structure' };
  const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < FIELD_CAPS.vocabulary;
  let max = -1;
  let ids: Map<string, number> | null = null;
  if (Array.isArray(model['vocab'])) max = model['vocab'].length - 1;
  else if (model['vocab'] && typeof model['vocab'] === 'object') {
    ids = new Map();
    for (const [t, id] of Object.entries(model['vocab'] as Record<string, unknown>)) {
      if (!isId(id)) return { ok: false, why: `id of ${t}` };
      ids.set(t, id);
      max = Math.max(max, id);
    }
  } else return { ok: false, why: 'vocab' };
  for (const a of added) {
    const id = (a as { id?: unknown })?.id;
    const content = (a as { content?: unknown })?.content;
    if (!isId(id) || typeof content !== 'string') return { ok: false, why: 'added token' };
    ids?.set(content, id);
    max = Math.max(max, id);
  }
  return { ok: true, value: { vocabSize: max + 1, ids } };
}
