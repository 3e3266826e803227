import * as tokenizers from '@huggingface/tokenizers';
import { z } from 'zod';
import { FIELD_CAPS } from './limits.ts';
import { backtrackingProblem } from './regex-guard.ts';

// The parts of tokenizer.json and tokenizer_config.json that @huggingface/tokenizers trusts blindly, checked
// before it sees them: otherwise a number among the merges fails as `x.split is not a function`, a token id of
// 2^31 makes a 2^31-slot vocabulary array, and a hostile Split regex hangs every encode.

// The package's .d.ts reaches its normalizers through extensionless imports NodeNext cannot follow; the class is
// exported at run time, and compiling through it gives exactly the RegExp the tokenizer will run.
const { ReplaceNormalizer } = tokenizers as unknown as {
  ReplaceNormalizer: new (config: { type: 'Replace'; pattern: { Regex: string }; content: string }) => { pattern: RegExp | null };
};

/** Token ids are below the vocabulary cap config.json is held to (2^24). */
const MAX_TOKEN_ID = FIELD_CAPS.vocabulary - 1;

const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TOKEN_ID;
const tokenId = z.custom<number>(isId, { error: `must be an integer token id in [0, ${MAX_TOKEN_ID}]` });
const maxEntries = (what: string) => ({ error: `has more than ${FIELD_CAPS.vocabulary} ${what}` });

const addedToken = z.looseObject({
  id: tokenId,
  content: z.string().min(1),
  special: z.boolean().optional(),
  single_word: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
});

// The vocabulary and merges are checked by hand, not by zod: at Llama-3's 128k tokens and 280k merges a schema
// pass costs ~0.7 s per load, these loops ~0.15 s (of a ~3 s load).
const tokenMap = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: 'must be an object mapping tokens to ids' });
const list = (what: string) => z.custom<unknown[]>((v) => Array.isArray(v), { error: `must be a list of ${what}` });
const models = {
  BPE: z.looseObject({ type: z.literal('BPE'), vocab: tokenMap, merges: list('merges'), unk_token: z.string().nullish() }),
  WordPiece: z.looseObject({ type: z.literal('WordPiece'), vocab: tokenMap, unk_token: z.string().nullish() }),
  Unigram: z.looseObject({ type: z.literal('Unigram'), vocab: list('[token, score] pairs'), unk_id: tokenId.nullish() }),
};

/** A value for an error message: short, and safe for values nested deeper than JSON.stringify can recurse. */
function show(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 60);
  } catch {
    return '(a value nested too deeply to show)';
  }
}

/** Largest id of a token → id vocabulary, or a problem naming the token. */
function idVocabulary(vocab: Record<string, unknown>): number | string {
  let max = -1;
  let n = 0;
  for (const token in vocab) {
    const id = vocab[token];
    if (!isId(id)) return `"model.vocab" token ${show(token)} has id ${show(id)}; ids must be integers in [0, ${MAX_TOKEN_ID}]`;
    if (++n > FIELD_CAPS.vocabulary) return `"model.vocab" has more than ${FIELD_CAPS.vocabulary} tokens`;
    if (id > max) max = id;
  }
  return max;
}

/** Merges are all "a b" strings or all [a, b] pairs (the library picks the format from the first one). */
function mergesProblem(merges: readonly unknown[]): string | null {
  if (merges.length > FIELD_CAPS.vocabulary) return `"model.merges" has more than ${FIELD_CAPS.vocabulary} entries`;
  const pairs = Array.isArray(merges[0]);
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    const ok = pairs
      ? Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string'
      : typeof m === 'string' && m.includes(' ');
    if (!ok) return `"model.merges[${i}]" must be ${pairs ? 'a pair of strings, like the first merge' : 'two tokens separated by a space'} (got ${show(m)})`;
  }
  return null;
}

/** Unigram vocabularies are [token, score] pairs; the id is the position. */
function unigramProblem(vocab: readonly unknown[]): string | null {
  if (vocab.length > FIELD_CAPS.vocabulary) return `"model.vocab" has more than ${FIELD_CAPS.vocabulary} tokens`;
  for (let i = 0; i < vocab.length; i++) {
    const e = vocab[i];
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number') {
      return `"model.vocab[${i}]" must be a [token, score] pair (got ${show(e)})`;
    }
  }
  return null;
}

/** A component (normalizer, pre_tokenizer, post_processor, decoder): null or an object naming its type. */
const component = z.looseObject({ type: z.string() }).nullable();

const tokenizerSchema = z.looseObject({
  model: z.looseObject({ type: z.enum(['BPE', 'WordPiece', 'Unigram'], { error: 'must be "BPE", "WordPiece" or "Unigram"' }) }),
  added_tokens: z.array(addedToken).max(FIELD_CAPS.vocabulary, maxEntries('added tokens')).default([]),
  normalizer: component.optional(),
  pre_tokenizer: component.optional(),
  post_processor: component.optional(),
  decoder: component.optional(),
});

const tokenText = z.union([z.string(), z.looseObject({ content: z.string() })]);
const configSchema = z.looseObject({
  additional_special_tokens: z.array(tokenText).optional(),
  chat_template: z.union([z.string(), z.array(z.looseObject({ name: z.string(), template: z.string() }))]).nullish(),
  bos_token: tokenText.nullish(),
  eos_token: tokenText.nullish(),
  pad_token: tokenText.nullish(),
  unk_token: tokenText.nullish(),
});

/** A problem with one part of a file, as `"model.merges[3]" must be …`. */
function describe(err: z.ZodError, root: unknown, prefix = ''): string {
  const issue = err.issues[0]!;
  const path = prefix + issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 || prefix ? '.' : ''}${String(p)}`)).join('') || '(root)';
  let value: unknown = root;
  for (const p of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
  const shown = value === undefined ? 'nothing' : show(value);
  return `"${path}" ${issue.message} (got ${shown})`;
}

/** Checks tokenizer.json's structure; returns the vocabulary size (largest id + 1) or a problem sentence. */
export function checkTokenizerJson(json: unknown): { vocabSize: number } | { problem: string } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { problem: 'must be a JSON object' };
  const top = tokenizerSchema.safeParse(json);
  if (!top.success) return { problem: describe(top.error, json) };
  const model = models[top.data.model.type].safeParse(top.data.model);
  if (!model.success) return { problem: describe(model.error, top.data.model, 'model') };
  const m = model.data;
  let max: number;
  if (m.type === 'Unigram') {
    const problem = unigramProblem(m.vocab);
    if (problem) return { problem };
    max = m.vocab.length - 1;
  } else {
    const r = idVocabulary(m.vocab);
    if (typeof r === 'string') return { problem: r };
    max = r;
    if (m.type === 'BPE') {
      const problem = mergesProblem(m.merges);
      if (problem) return { problem };
    }
  }
  for (const t of top.data.added_tokens) if (t.id > max) max = t.id;
  const regex = checkRegexes(json as Record<string, unknown>);
  return regex ? { problem: regex } : { vocabSize: max + 1 };
}

/** Checks tokenizer_config.json's structure (the fields Lethe and the library read); a problem sentence or null. */
export function tokenizerConfigProblem(config: unknown): string | null {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return 'must be a JSON object';
  const r = configSchema.safeParse(config);
  return r.success ? null : describe(r.error, config);
}

/**
 * Every `pattern.Regex` under the normalizer, pre_tokenizer and decoder (Split and Replace compile them), compiled
 * exactly as the library will and then held to src/model/regex-guard.ts. The walk is iterative: the JSON may be
 * nested deeper than the call stack.
 */
function checkRegexes(json: Record<string, unknown>): string | null {
  const stack: [unknown, string][] = ['normalizer', 'pre_tokenizer', 'decoder'].map((k) => [json[k], k]);
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      node.forEach((v, i) => stack.push([v, `${path}[${i}]`]));
      continue;
    }
    const obj = node as Record<string, unknown>;
    const pattern = obj['pattern'];
    if (pattern !== null && typeof pattern === 'object' && 'Regex' in pattern) {
      const problem = regexProblem((pattern as { Regex: unknown }).Regex);
      if (problem) return `"${path}.pattern.Regex" ${problem}`;
    } else if (pattern !== null && typeof pattern === 'object' && 'String' in pattern) {
      const literal = (pattern as { String: unknown }).String;
      if (typeof literal !== 'string') return `"${path}.pattern.String" must be a string, got ${show(literal)}`;
    }
    for (const [k, v] of Object.entries(obj)) if (k !== 'pattern') stack.push([v, `${path}.${k}`]);
  }
  return null;
}

function regexProblem(source: unknown): string | null {
  if (typeof source !== 'string') return `must be a string, got ${show(source)}`;
  let compiled: RegExp | null;
  try {
    compiled = new ReplaceNormalizer({ type: 'Replace', pattern: { Regex: source }, content: '' }).pattern;
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message})`;
  }
  if (!compiled) return null;
  const problem = backtrackingProblem(compiled.source);
  return problem ? `is refused: ${problem}` : null;
}
