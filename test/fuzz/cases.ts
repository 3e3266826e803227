// The fuzz cases: for each kind of untrusted file, seeded mutations of real files (makeCase) and a check that runs
// Lethe's loader and compares it with an independent reader (checkCase). Shared by test/fuzz/fuzz.test.ts and
// tools/fuzz.ts through test/fuzz/campaign.ts, which runs them in child processes.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DataError, readJsonl, readTrainingRecords } from '../../src/data/jsonl.ts';
import { QaRecordSchema } from '../../src/data/schema.ts';
import { gpt2ParamSpecs } from '../../src/model/arch/gpt2.ts';
import { llamaParamSpecs } from '../../src/model/arch/llama.ts';
import { ConfigError, readConfig, type ModelConfig } from '../../src/model/config.ts';
import { parameterLimit } from '../../src/model/limits.ts';
import { SafetensorsError } from '../../src/model/safetensors/header.ts';
import { SafetensorsFile } from '../../src/model/safetensors/read.ts';
import { Tokenizer, TokenizerError } from '../../src/model/tokenizer.ts';
import { caseSeed, mutateBytes, mutateJson, Prng, type Json } from './mutate.ts';
import { configDimensions, DIMENSION_CAPS, expectJsonl, expectTokenizer, nestingDepth, readSafetensors, strictJson, type JsonlMode } from './oracles.ts';

export const KINDS = ['safetensors', 'config', 'tokenizer', 'jsonl'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * clean-error: a Lethe error naming the file, on input the oracle also rejects (or cannot judge);
 * accepted-equal: loaded, and equal to the independent parse; corrupt-accepted: loaded although invalid, or loaded
 * wrong; false-rejection: refused although the oracle reads it; unclean-error: some other exception, or no file named.
 */
export type Outcome = 'clean-error' | 'accepted-equal' | 'corrupt-accepted' | 'false-rejection' | 'unclean-error';

export interface FuzzCase {
  kind: Kind;
  index: number;
  base: string;
  what: string[];
  /** File name → bytes, written into the case folder. */
  files: Record<string, Uint8Array>;
}

const root = (p: string): string => new URL(`../../${p}`, import.meta.url).pathname;
const FIXTURES = ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny'].map((m) => `test/fixtures/models/${m}`);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cache = new Map<string, Uint8Array>();
const file = (p: string): Uint8Array => {
  if (!cache.has(p)) cache.set(p, new Uint8Array(readFileSync(root(p))));
  return cache.get(p)!;
};
const headLines = (p: string, n: number): Uint8Array => enc(new TextDecoder().decode(file(p)).split('\n').slice(0, n).join('\n') + '\n');

// ---------------------------------------------------------------------------------------------- safetensors

/** A small file with every dtype Lethe reads, so dtype and value checks see more than F32. */
function mixedDtypes(): Uint8Array {
  const r = new Prng(7);
  const specs: [string, string, number[], number][] = [
    ['f16', 'F16', [3, 4], 2], ['bf16', 'BF16', [5], 2], ['f64', 'F64', [2, 2], 8], ['i64', 'I64', [3], 8],
    ['i32', 'I32', [4], 4], ['u8', 'U8', [6], 1], ['bool', 'BOOL', [2], 1], ['f32', 'F32', [2, 3], 4], ['empty', 'F32', [0, 5], 4],
  ];
  const header: Record<string, Json> = { __metadata__: { format: 'pt' } };
  const chunks: number[] = [];
  for (const [name, dtype, shape, size] of specs) {
    const n = shape.reduce((a, b) => a * b, 1) * size;
    header[name] = { dtype, shape, data_offsets: [chunks.length, chunks.length + n] };
    for (let i = 0; i < n; i++) chunks.push(dtype === 'I64' && i % 8 >= 4 ? 0 : dtype === 'BOOL' ? r.int(2) : r.int(256));
  }
  return assemble(enc(JSON.stringify(header)), Uint8Array.from(chunks));
}

function assemble(header: Uint8Array, data: Uint8Array, length = BigInt(header.length)): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length, true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

function splitSafetensors(b: Uint8Array): { header: Record<string, Json>; data: Uint8Array; n: number } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, Json>, data: b.subarray(8 + n), n };
}

function safetensorsCase(r: Prng, what: string[]): { base: string; files: Record<string, Uint8Array> } {
  const base = r.chance(0.3) ? 'mixed dtypes' : `${r.pick(FIXTURES)}/model.safetensors`;
  let bytes = base === 'mixed dtypes' ? mixedDtypes() : file(base);
  const steps = 1 + r.int(2);
  for (let s = 0; s < steps; s++) {
    let parts: ReturnType<typeof splitSafetensors> | null = null;
    try {
      parts = splitSafetensors(bytes);
    } catch {
      parts = null;
    }
    const choice = r.int(10);
    if (!parts || choice < 2) {
      const m = mutateBytes(r, bytes);
      bytes = m.bytes;
      what.push(m.what);
    } else if (choice < 4) {
      const m = mutateBytes(r, bytes, [8, 8 + parts.n]);
      bytes = m.bytes;
      what.push(`header: ${m.what}`);
    } else if (choice === 4) {
      const m = mutateBytes(r, bytes, [8 + parts.n, bytes.length]);
      bytes = m.bytes;
      what.push(`data: ${m.what}`);
    } else if (choice < 8) {
      const m = mutateJson(r, parts.header as Json, (path) => /\.(data_offsets|shape|dtype)(\[|$)|^\.__metadata__/.test(path));
      if (!m) continue;
      bytes = assemble(enc(m.text), parts.data);
      what.push(`header JSON: ${m.what}`);
    } else if (choice === 8) {
      const delta = r.pick([-1n, 1n, -100n, 2n ** 63n, 2n ** 64n - 1n, 0n, 1n << 27n]);
      const len = delta === 0n || delta === 1n << 27n || delta >= 2n ** 63n ? delta : BigInt(parts.n) + delta;
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(0, len < 0n ? 0n : len, true);
      bytes = out;
      what.push(`header length ${len}`);
    } else if (r.chance(0.25)) {
      // Many zero-size tensors, appended as text (a 70,000-key header is slow to build as objects); the last step.
      const n = r.chance(0.2) ? 70_000 : 1000;
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + parts.n)).replace(/\}\s*$/, '');
      const extra = Array.from({ length: n }, (_, i) => `,"z${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join('');
      bytes = assemble(enc(`${text}${extra}}`), parts.data);
      what.push(`${n} zero-size tensors`);
      break;
    } else {
      const h = cloneOrNull(parts.header);
      const names = h ? Object.keys(h).filter((k) => k !== '__metadata__') : [];
      const t = h && names.length > 0 ? h[r.pick(names)] : null;
      if (!h || typeof t !== 'object' || t === null || Array.isArray(t)) continue;
      const pick = 1 + r.int(3);
      if (pick === 1) {
        t['shape'] = r.pick([[2 ** 31, 2 ** 31], [2 ** 53, 0], Array.from({ length: 300 }, () => 1), [-1, 4], [1.5]]);
        what.push(`shape ${JSON.stringify(t['shape']).slice(0, 30)}`);
      } else if (pick === 2) {
        const swap: Record<string, string> = { F32: 'I32', I32: 'F32', F16: 'BF16', BF16: 'F16', F64: 'I64', I64: 'F64', U8: 'BOOL', BOOL: 'U8' };
        t['dtype'] = swap[t['dtype'] as string] ?? 'F8_E4M3';
        what.push(`dtype ${t['dtype']}`);
      } else {
        const off = Array.isArray(t['data_offsets']) ? (t['data_offsets'] as number[]) : [0, 0];
        t['data_offsets'] = [Number(off[0]) + r.pick([-4, 4, 0]), Number(off[1]) + r.pick([-4, 4, 0, 2 ** 40])];
        what.push(`offsets ${JSON.stringify(t['data_offsets'])}`);
      }
      const text = stringifyOrNull(h);
      if (text !== null) bytes = assemble(enc(text), parts.data);
    }
  }
  return { base, files: { 'model.safetensors': bytes } };
}

function checkSafetensors(c: FuzzCase, dir: string): [Outcome, string] {
  const path = join(dir, 'model.safetensors');
  const oracle = readSafetensors(c.files['model.safetensors']!);
  let got: Map<string, { dtype: string; shape: number[]; values: number[] | 'error' }>;
  try {
    const f = SafetensorsFile.open(path);
    try {
      got = new Map(f.names.map((n) => {
        const e = f.entry(n);
        let values: number[] | 'error';
        try {
          values = Array.from(f.read(n).data as ArrayLike<number>);
        } catch (err) {
          if (!(err instanceof SafetensorsError) || !err.message.startsWith(path)) throw err;
          values = 'error';
        }
        return [n, { dtype: e.dtype, shape: e.shape, values }];
      }));
    } finally {
      f.close();
    }
  } catch (err) {
    if (!(err instanceof SafetensorsError) || !err.message.startsWith(path)) return ['unclean-error', String(err)];
    return oracle.ok ? ['false-rejection', err.message] : ['clean-error', err.message];
  }
  if (!oracle.ok) return ['corrupt-accepted', `oracle: ${oracle.why}`];
  if (!isDeepStrictEqual([...got.keys()], [...oracle.value.keys()])) return ['corrupt-accepted', 'tensor names differ'];
  for (const [name, t] of oracle.value) {
    const g = got.get(name)!;
    if (g.dtype !== t.dtype || !isDeepStrictEqual(g.shape, t.shape)) return ['corrupt-accepted', `${name}: dtype or shape differ`];
    if (t.values === null ? g.values !== 'error' : g.values === 'error' || !sameNumbers(g.values, t.values)) return ['corrupt-accepted', `${name}: values differ`];
  }
  return ['accepted-equal', `${got.size} tensors`];
}

/** A deep copy, or null for a document nested past the call stack. */
function cloneOrNull<T>(v: T): T | null {
  try {
    return structuredClone(v);
  } catch {
    return null;
  }
}

function stringifyOrNull(v: unknown): string | null {
  try {
    return JSON.stringify(v);
  } catch {
    return null;
  }
}

const sameNumbers = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]) || (Number.isNaN(x) && Number.isNaN(b[i])));

// --------------------------------------------------------------------------------------------------- config

const DIM_FIELDS = ['vocab_size', 'n_embd', 'n_layer', 'n_head', 'n_positions', 'n_inner', 'hidden_size', 'intermediate_size',
  'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'max_position_embeddings', 'rope_scaling', 'architectures'];

function configCase(r: Prng, what: string[]): { base: string; files: Record<string, Uint8Array> } {
  const base = `${r.pick([...FIXTURES, 'models/target'])}/config.json`;
  let bytes = file(base);
  const steps = 1 + r.int(2);
  for (let s = 0; s < steps; s++) {
    const doc = strictJson(bytes);
    const choice = r.int(10);
    if (!doc.ok || choice < 3) {
      const m = mutateBytes(r, bytes);
      bytes = m.bytes;
      what.push(m.what);
    } else if (choice < 7) {
      const m = mutateJson(r, doc.value as Json, DIM_FIELDS.map((f) => `.${f}`));
      if (!m) continue;
      bytes = enc(m.text);
      what.push(m.what);
    } else {
      if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) continue;
      const d = { ...(doc.value as Record<string, Json>) };
      const field = r.pick(DIM_FIELDS.slice(0, 13).filter((f) => f in d || r.chance(0.2)));
      d[field] = r.pick([1e9, 2 ** 31 - 1, 2 ** 20, 65_537, 1025, 4_194_305, 16_777_217, 100_000, 3, 1]);
      if (r.chance(0.2)) d['architectures'] = [r.pick(['GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'])];
      const text = stringifyOrNull(d);
      if (text === null) continue;
      bytes = enc(text);
      what.push(`${field} = ${d[field]}`);
    }
  }
  return { base, files: { 'config.json': bytes } };
}

const specCount = (c: ModelConfig): number => (c.family === 'gpt2' ? gpt2ParamSpecs(c) : llamaParamSpecs(c)).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

function checkConfig(c: FuzzCase, dir: string): [Outcome, string] {
  const path = join(dir, 'config.json');
  let config: ModelConfig;
  try {
    config = readConfig(dir);
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.message.startsWith(path)) return ['unclean-error', String(err)];
    return ['clean-error', err.message];
  }
  const raw = strictJson(c.files['config.json']!);
  if (!raw.ok) return ['corrupt-accepted', `oracle: ${raw.why}`];
  if (nestingDepth(new TextDecoder().decode(c.files['config.json']!)) > 64) return ['corrupt-accepted', 'nested deeper than 64 accepted'];
  const dims = configDimensions(raw.value as Record<string, unknown>);
  if (!dims) return ['corrupt-accepted', 'unknown architecture accepted'];
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isSafeInteger(v) || (v as number) <= 0) return ['corrupt-accepted', `${k} = ${JSON.stringify(v)} accepted`];
    if ((v as number) > DIMENSION_CAPS[k]!) return ['corrupt-accepted', `${k} = ${v} over its cap`];
    if ((config as unknown as Record<string, unknown>)[k] !== v) return ['corrupt-accepted', `${k}: read ${(config as unknown as Record<string, unknown>)[k]}, file says ${v}`];
  }
  const params = specCount(config);
  if (params > parameterLimit().limit) return ['corrupt-accepted', `${params} parameters over the limit`];
  return ['accepted-equal', `${params} parameters`];
}

// ------------------------------------------------------------------------------------------------ tokenizer

const REGEXES = ['(a+)+$', '(x|xx)*y', '\\s*\\s*\\s*$', '(a)\\1', '[', '(?<=a+)b', "'s|'t| ?\\p{L}+|\\s+(?!\\S)|\\s+", '\\p{N}{1,3}', '(?:ab)+c', 'a{0,99999}b'];
const TEMPLATES = [
  '{% for i in range(100000000) %}{% endfor %}', '{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}',
  "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
  '{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}', '{{ messages[0]["content"] }}', '{% if %}', '{{ raise_exception("no") }}',
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}",
];

function tokenizerCase(r: Prng, what: string[]): { base: string; files: Record<string, Uint8Array> } {
  const base = r.pick([...FIXTURES, 'models/target']);
  const files: Record<string, Uint8Array> = { 'tokenizer.json': file(`${base}/tokenizer.json`), 'tokenizer_config.json': file(`${base}/tokenizer_config.json`) };
  const steps = 1 + r.int(2);
  for (let s = 0; s < steps; s++) {
    const target = r.chance(0.65) ? 'tokenizer.json' : 'tokenizer_config.json';
    const doc = strictJson(files[target]!);
    const choice = r.int(10);
    if (!doc.ok || choice < 3) {
      const m = mutateBytes(r, files[target]!);
      files[target] = m.bytes;
      what.push(`${target}: ${m.what}`);
    } else if (choice < 7) {
      const targets = target === 'tokenizer.json'
        ? ['.model.vocab', '.model.merges', '.added_tokens', '.model.type', '.pre_tokenizer', '.decoder', '.post_processor', '.normalizer']
        : ['.bos_token', '.eos_token', '.chat_template', '.additional_special_tokens'];
      const m = mutateJson(r, doc.value as Json, targets);
      if (!m) continue;
      files[target] = enc(m.text);
      what.push(`${target}: ${m.what}`);
    } else if (target === 'tokenizer.json') {
      const j = cloneOrNull(doc.value) as Record<string, Json> | null;
      if (!j || typeof j !== 'object' || Array.isArray(j)) continue;
      const model = typeof j['model'] === 'object' && j['model'] !== null && !Array.isArray(j['model']) ? (j['model'] as Record<string, Json>) : undefined;
      const pick = r.int(3);
      if (pick === 0 && model && typeof model['vocab'] === 'object' && model['vocab'] !== null && !Array.isArray(model['vocab'])) {
        const vocab = model['vocab'] as Record<string, Json>;
        const token = r.pick(Object.keys(vocab));
        vocab[token] = r.pick([2 ** 31, -1, 1.5, '3', 2 ** 24, 2 ** 24 - 1, null]);
        what.push(`vocab id of ${JSON.stringify(token)} = ${JSON.stringify(vocab[token])}`);
      } else if (pick === 1) {
        const regex = r.pick(REGEXES);
        j['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, j['pre_tokenizer'] ?? null] };
        what.push(`Split regex ${regex}`);
      } else if (model && Array.isArray(model['merges']) && model['merges'].length > 0) {
        (model['merges'] as Json[])[r.int((model['merges'] as Json[]).length)] = r.pick([5, ['a'], ['a', 'b', 'c'], 'nospace', null]);
        what.push('merge replaced');
      }
      const text = stringifyOrNull(j);
      if (text !== null) files[target] = enc(text);
    } else {
      if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) continue;
      const j = { ...(doc.value as Record<string, Json>) };
      j['chat_template'] = r.pick(TEMPLATES);
      what.push(`chat_template ${String(j['chat_template']).slice(0, 40)}`);
      const text = stringifyOrNull(j);
      if (text !== null) files[target] = enc(text);
    }
  }
  return { base, files };
}

function checkTokenizer(c: FuzzCase, dir: string): [Outcome, string] {
  const tokPath = join(dir, 'tokenizer.json');
  const cfgPath = join(dir, 'tokenizer_config.json');
  const named = (err: unknown): boolean => err instanceof TokenizerError && (err.message.startsWith(tokPath) || err.message.startsWith(cfgPath));
  let tok: Tokenizer;
  try {
    tok = Tokenizer.fromDir(dir);
  } catch (err) {
    return named(err) ? ['clean-error', (err as Error).message] : ['unclean-error', String(err)];
  }
  const json = strictJson(c.files['tokenizer.json']!);
  const cfg = strictJson(c.files['tokenizer_config.json']!);
  if (!json.ok || !cfg.ok) return ['corrupt-accepted', `oracle: ${!json.ok ? json.why : 'config'}`];
  const expected = expectTokenizer(json.value);
  if (!expected.ok) return ['corrupt-accepted', `oracle: ${expected.why}`];
  if (tok.vocabSize !== expected.value.vocabSize) return ['corrupt-accepted', `vocabSize ${tok.vocabSize}, expected ${expected.value.vocabSize}`];
  const ids = expected.value.ids;
  if (ids) {
    const tokens = [...ids.keys()];
    for (let k = 0; k < 30 && tokens.length > 0; k++) {
      const t = tokens[(k * 7919) % tokens.length]!;
      if (tok.tokenToId(t) !== ids.get(t)) return ['corrupt-accepted', `token ${JSON.stringify(t)} → ${tok.tokenToId(t)}, expected ${ids.get(t)}`];
    }
  }
  try {
    const encoded = tok.encode('Hello world, 12 cats!\n  Grüße');
    if (!encoded.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) return ['corrupt-accepted', `encode gave ${JSON.stringify(encoded)}`];
    tok.decode(encoded);
    if (tok.hasChatTemplate) tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
  } catch (err) {
    if (!named(err)) return ['unclean-error', `after load: ${String(err)}`];
  }
  return ['accepted-equal', `vocab ${tok.vocabSize}`];
}

// ---------------------------------------------------------------------------------------------------- JSONL

function jsonlCase(r: Prng, what: string[]): { base: string; files: Record<string, Uint8Array> } {
  const base = r.pick(['data/persons/forget01.jsonl', 'data/persons/world_text.jsonl', 'data/persons/holdout.jsonl']);
  let bytes = headLines(base, 12);
  const steps = 1 + r.int(3);
  for (let s = 0; s < steps; s++) {
    const lines = new TextDecoder().decode(bytes).split('\n');
    const i = r.int(lines.length);
    const choice = r.int(10);
    if (choice < 3) {
      const m = mutateBytes(r, bytes);
      bytes = m.bytes;
      what.push(m.what);
      continue;
    }
    if (choice < 7) {
      let v: Json;
      try {
        v = JSON.parse(lines[i]!) as Json;
      } catch {
        continue;
      }
      const m = mutateJson(r, v, ['.question', '.answer', '.text', '.subject', '.perturbed_answers']);
      if (!m) continue;
      lines[i] = m.text;
      what.push(`line ${i + 1}: ${m.what}`);
    } else {
      const op = r.int(5);
      if (op === 0) lines.splice(i, 1);
      else if (op === 1) lines.splice(i, 0, lines[i]!);
      else if (op === 2) lines.splice(i, 0, r.pick(['', '   ', '\r', '[]', '"x"', '{}', '{"text": ""}']));
      else if (op === 3) lines[0] = '\ufeff' + lines[0];
      else lines.forEach((l, k) => { lines[k] = l + '\r'; });
      what.push(`line op ${op} at ${i + 1}`);
    }
    bytes = enc(lines.join('\n'));
  }
  return { base, files: { 'data.jsonl': bytes } };
}

function checkJsonl(c: FuzzCase, dir: string): [Outcome, string] {
  const path = join(dir, 'data.jsonl');
  const mode: JsonlMode = c.base.includes('world_text') ? 'training' : 'qa';
  const oracle = expectJsonl(c.files['data.jsonl']!, mode);
  let got: unknown[];
  try {
    got = mode === 'qa' ? readJsonl(path, QaRecordSchema) : readTrainingRecords(path);
  } catch (err) {
    if (!(err instanceof DataError) || !err.message.startsWith(path)) return ['unclean-error', String(err)];
    if (oracle.ok) return ['false-rejection', err.message];
    if (oracle.line !== undefined && err.line !== oracle.line) return ['unclean-error', `line ${err.line}, expected ${oracle.line}: ${err.message}`];
    return ['clean-error', err.message];
  }
  if (!oracle.ok) return ['corrupt-accepted', `oracle: ${oracle.why} at line ${oracle.line}`];
  return isDeepStrictEqual(got, oracle.value) ? ['accepted-equal', `${got.length} records`] : ['corrupt-accepted', 'records differ'];
}

// ------------------------------------------------------------------------------------------------------ API

const GENERATORS = { safetensors: safetensorsCase, config: configCase, tokenizer: tokenizerCase, jsonl: jsonlCase };
const CHECKS = { safetensors: checkSafetensors, config: checkConfig, tokenizer: checkTokenizer, jsonl: checkJsonl };

/** Case `index` of `kind` in the campaign seeded `seed`: always the same bytes. */
export function makeCase(kind: Kind, seed: number, index: number): FuzzCase {
  const r = new Prng(caseSeed(kind, seed, index));
  const what: string[] = [];
  const { base, files } = GENERATORS[kind](r, what);
  return { kind, index, base, what, files };
}

/** Writes the case into `dir` (emptying it first) and runs Lethe's loader against the oracle. */
export function checkCase(c: FuzzCase, dir: string): { outcome: Outcome; detail: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(c.files)) writeFileSync(join(dir, name), bytes);
  const [outcome, detail] = CHECKS[c.kind](c, dir);
  return { outcome, detail: detail.slice(0, 300) };
}
