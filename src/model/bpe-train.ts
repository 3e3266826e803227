// Byte-level BPE training, as GPT-2 and Hugging Face `tokenizers` (ByteLevelBPETokenizer / BpeTrainer) do it.
//
// Each text is cut at the special tokens, split into pre-tokens with GPT-2's regex, and each pre-token's UTF-8
// bytes are mapped through GPT-2's bytes_to_unicode table. Distinct pre-tokens ("words") are counted, then the
// most frequent adjacent symbol pair inside words is merged again and again, never across pre-token boundaries,
// until the vocabulary (256 byte symbols + merged symbols + special tokens) reaches vocabSize or no pair occurs
// at least minFrequency times.
//
// Speed: pair counts are updated incrementally from the changes each merge makes, with an index pair -> words
// that (may) contain it and a lazy max-heap of (count, pair); one merge only touches the words holding its pair.
//
// Ties between pairs of equal count go to the smallest (left id, right id), ids being our vocabulary ids (byte
// symbols in bytes_to_unicode order, then merged symbols in merge order). This is the order Hugging Face's Rust
// trainer uses on its own ids (`Merge::cmp`: higher count first, then the smaller pair). The result depends
// only on the multiset of pre-tokens, not on the order of the texts.
//
// The merge loop (`learnMerges`) is shared with the SentencePiece-style trainer of ./sp-bpe-train.ts, which only
// differs in how it cuts words and what its initial symbols are.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from './io/atomic-file.ts';

export class BpeTrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BpeTrainError';
  }
}

export interface TrainByteLevelBpeOptions {
  /** Total vocabulary: 256 byte symbols + merged symbols + special tokens. */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this often (counting word frequencies). Default 2. */
  minFrequency?: number;
  /** Added as special tokens with ids after the BPE vocabulary, in this order. Default ["<|endoftext|>"]. */
  specialTokens?: string[];
  /** tokenizer_config.json's pad_token; appended to the special tokens if it is not one of them. */
  padToken?: string;
  /** tokenizer_config.json's model_max_length. Default 1024. */
  modelMaxLength?: number;
}

export interface ByteLevelBpeModelJson {
  type: 'BPE';
  dropout: null;
  unk_token: null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: false;
  byte_fallback: false;
  ignore_merges: false;
  vocab: Record<string, number>;
  merges: string[];
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface ByteLevelJson {
  type: 'ByteLevel';
  add_prefix_space: boolean;
  trim_offsets: boolean;
  use_regex: boolean;
}

export interface ByteLevelBpeTokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: ByteLevelJson;
  post_processor: ByteLevelJson;
  decoder: ByteLevelJson;
  model: ByteLevelBpeModelJson;
}

export interface TrainedByteLevelBpe {
  tokenizerJson: ByteLevelBpeTokenizerJson;
  tokenizerConfig: Record<string, unknown>;
  /** Number of merges learned (= model.merges.length). */
  merges: number;
}

/** GPT-2's pre-tokenizer pattern (the one `tokenizers`' ByteLevel pre-tokenizer uses with use_regex). */
const GPT2_PRETOKENIZE_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * GPT-2's bytes_to_unicode: BYTE_SYMBOLS[i] is the i-th symbol in GPT-2's order (the printable bytes
 * `!`..`~`, `¡`..`¬`, `®`..`ÿ` as themselves, then the remaining bytes in increasing order as U+0100 onwards),
 * SYMBOL_BYTE[i] the byte it stands for. Symbol ids 0..255 follow this order, as in GPT-2's encoder.json.
 */
export const { BYTE_SYMBOLS, SYMBOL_BYTE } = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  return { BYTE_SYMBOLS: cs.map((c) => String.fromCharCode(c)) as readonly string[], SYMBOL_BYTE: bs as readonly number[] };
})();

const DEFAULT_SPECIAL_TOKENS = ['<|endoftext|>'];
const EOS_DEFAULT = '<|endoftext|>';
// Pairs are keyed a * PAIR_SHIFT + b, exact in a double while ids stay below 2^21.
const PAIR_SHIFT = 2 ** 21;
const MAX_VOCAB = PAIR_SHIFT;

function checkOptions(options: TrainByteLevelBpeOptions): { vocabSize: number; minFrequency: number; specialTokens: string[]; modelMaxLength: number } {
  if (options === null || typeof options !== 'object') throw new BpeTrainError('options must be an object with at least vocabSize');
  const { vocabSize } = options;
  const minFrequency = options.minFrequency ?? 2;
  const modelMaxLength = options.modelMaxLength ?? 1024;
  if (!Array.isArray(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)) throw new BpeTrainError('specialTokens must be an array of strings');
  const specialTokens = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  if (options.padToken !== undefined) {
    if (typeof options.padToken !== 'string' || options.padToken.length === 0) throw new BpeTrainError('padToken must be a non-empty string');
    if (!specialTokens.includes(options.padToken)) specialTokens.push(options.padToken);
  }
  const seen = new Set<string>();
  const byteSymbols = new Set(BYTE_SYMBOLS);
  for (const t of specialTokens) {
    if (typeof t !== 'string' || t.length === 0) throw new BpeTrainError(`special tokens must be non-empty strings, got ${JSON.stringify(t)}`);
    if (seen.has(t)) throw new BpeTrainError(`special token ${JSON.stringify(t)} is listed twice`);
    if (byteSymbols.has(t)) throw new BpeTrainError(`special token ${JSON.stringify(t)} is one of the 256 byte symbols`);
    seen.add(t);
  }
  const minVocab = Math.max(257, 256 + specialTokens.length);
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize)) throw new BpeTrainError(`vocabSize must be an integer, got ${String(vocabSize)}`);
  if (vocabSize < minVocab) {
    const parts = specialTokens.length === 0 ? 'room for one merge' : `${specialTokens.length} special token(s)`;
    throw new BpeTrainError(`vocabSize must be at least ${minVocab} (256 byte symbols + ${parts}), got ${vocabSize}`);
  }
  if (vocabSize > MAX_VOCAB) throw new BpeTrainError(`vocabSize must be at most ${MAX_VOCAB}, got ${vocabSize}`);
  if (typeof minFrequency !== 'number' || !Number.isInteger(minFrequency) || minFrequency < 0) {
    throw new BpeTrainError(`minFrequency must be a non-negative integer, got ${String(minFrequency)}`);
  }
  if (typeof modelMaxLength !== 'number' || !Number.isInteger(modelMaxLength) || modelMaxLength < 1) {
    throw new BpeTrainError(`modelMaxLength must be a positive integer, got ${String(modelMaxLength)}`);
  }
  return { vocabSize, minFrequency, specialTokens, modelMaxLength };
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * Calls `visit` on each piece of each text between special tokens (which are never learned as merges), after
 * checking that `texts` is an iterable of strings.
 */
export function forEachPiece(texts: Iterable<string>, specialTokens: readonly string[], visit: (piece: string) => void): void {
  if (texts === null || typeof texts !== 'object' || typeof (texts as Iterable<string>)[Symbol.iterator] !== 'function') {
    throw new BpeTrainError('texts must be an iterable of strings');
  }
  const specialSplit =
    specialTokens.length === 0 ? null : new RegExp([...specialTokens].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map(escapeRegExp).join('|'), 'u');
  let index = 0;
  for (const text of texts) {
    if (typeof text !== 'string') throw new BpeTrainError(`texts[${index}] is not a string`);
    index++;
    if (specialSplit === null) visit(text);
    else for (const piece of text.split(specialSplit)) visit(piece);
  }
}

/** Counts GPT-2 pre-tokens over the texts, with the special tokens cut out. */
function countPreTokens(texts: Iterable<string>, specialTokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const pattern = new RegExp(GPT2_PRETOKENIZE_PATTERN, 'gu');
  forEachPiece(texts, specialTokens, (piece) => {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(piece); m !== null; m = pattern.exec(piece)) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  });
  return counts;
}

/** Lazy binary max-heap of (count, a, b): higher count first, then smaller a, then smaller b. */
class PairHeap {
  private counts: number[] = [];
  private as: number[] = [];
  private bs: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    if (ci !== cj) return ci > cj;
    const ai = this.as[i]!;
    const aj = this.as[j]!;
    if (ai !== aj) return ai < aj;
    return this.bs[i]! < this.bs[j]!;
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const a = this.as[i]!;
    this.as[i] = this.as[j]!;
    this.as[j] = a;
    const b = this.bs[i]!;
    this.bs[i] = this.bs[j]!;
    this.bs[j] = b;
  }

  push(count: number, a: number, b: number): void {
    this.counts.push(count);
    this.as.push(a);
    this.bs.push(b);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the top; returns [count, a, b] or null when empty. */
  pop(): [number, number, number] | null {
    const n = this.counts.length;
    if (n === 0) return null;
    const top: [number, number, number] = [this.counts[0]!, this.as[0]!, this.bs[0]!];
    this.swap(0, n - 1);
    this.counts.pop();
    this.as.pop();
    this.bs.pop();
    const m = n - 1;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= m) break;
      const r = l + 1;
      const c = r < m && this.before(r, l) ? r : l;
      if (!this.before(c, i)) break;
      this.swap(c, i);
      i = c;
    }
    return top;
  }
}

/** A distinct pre-token as symbol ids, with how often it occurs. */
export interface CountedWord {
  symbols: Int32Array;
  count: number;
}

/**
 * The merge loop both trainers share (this file's byte-level one and ./sp-bpe-train.ts): merges the most frequent
 * adjacent pair inside words, again and again, until `idToToken` holds `targetVocab` tokens or the best pair occurs
 * fewer than `minFrequency` times (at least once). Ties go to the smallest (left id, right id). `idToToken` and
 * `tokenToId` hold the initial symbols and grow with each merged token; `words` are rewritten in place. Returns the
 * merges as "a b" strings, in order.
 */
export function learnMerges(
  words: readonly CountedWord[], idToToken: string[], tokenToId: Map<string, number>, targetVocab: number, minFrequency: number,
): string[] {
  if (targetVocab > PAIR_SHIFT) throw new BpeTrainError(`vocabulary ids must stay below ${PAIR_SHIFT}`);
  const syms: Int32Array[] = [];
  const lens: number[] = [];
  const freq: number[] = [];
  for (const { symbols, count } of words) {
    if (symbols.length < 2) continue;
    syms.push(symbols);
    lens.push(symbols.length);
    freq.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPair = (key: number, delta: number): void => {
    const c = (pairCounts.get(key) ?? 0) + delta;
    if (c > 0) pairCounts.set(key, c);
    else pairCounts.delete(key);
  };
  const noteWord = (key: number, w: number): void => {
    let set = pairWords.get(key);
    if (set === undefined) pairWords.set(key, (set = new Set()));
    set.add(w);
  };
  for (let w = 0; w < syms.length; w++) {
    const s = syms[w]!;
    const f = freq[w]!;
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i]! * PAIR_SHIFT + s[i + 1]!;
      addPair(key, f);
      noteWord(key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCounts) heap.push(c, Math.floor(key / PAIR_SHIFT), key % PAIR_SHIFT);

  const merges: string[] = [];
  const touched = new Set<number>();
  while (idToToken.length < targetVocab) {
    // Find the best pair whose heap entry is current.
    let best: [number, number, number] | null = null;
    for (let e = heap.pop(); e !== null; e = heap.pop()) {
      const key = e[1] * PAIR_SHIFT + e[2];
      const cur = pairCounts.get(key);
      if (cur === undefined) continue; // merged already, or gone
      if (cur !== e[0]) {
        heap.push(cur, e[1], e[2]);
        continue;
      }
      best = e;
      break;
    }
    if (best === null || best[0] < Math.max(1, minFrequency)) break;
    const [, a, b] = best;
    const key = a * PAIR_SHIFT + b;
    const tokA = idToToken[a]!;
    const tokB = idToToken[b]!;
    const merged = tokA + tokB;
    // As in `tokenizers`: a merge whose result is already a token (reached by another split) reuses its id.
    let newId = tokenToId.get(merged);
    if (newId === undefined) {
      newId = idToToken.length;
      idToToken.push(merged);
      tokenToId.set(merged, newId);
    }
    merges.push(`${tokA} ${tokB}`);

    const words = pairWords.get(key);
    pairWords.delete(key);
    pairCounts.delete(key);
    touched.clear();
    if (words !== undefined) {
      for (const w of words) {
        const s = syms[w]!;
        const n = lens[w]!;
        const f = freq[w]!;
        // Left-to-right, non-overlapping, compacting in place (j <= i).
        let j = 0;
        let i = 0;
        let changed = false;
        while (i < n) {
          if (i + 1 < n && s[i] === a && s[i + 1] === b) {
            changed = true;
            if (j > 0) {
              const prev = s[j - 1]!;
              addPair(prev * PAIR_SHIFT + a, -f);
              const k = prev * PAIR_SHIFT + newId;
              addPair(k, f);
              noteWord(k, w);
              touched.add(k);
            }
            if (i + 2 < n) {
              const next = s[i + 2]!;
              addPair(b * PAIR_SHIFT + next, -f);
              const k = newId * PAIR_SHIFT + next;
              addPair(k, f);
              noteWord(k, w);
              touched.add(k);
            }
            s[j++] = newId;
            i += 2;
          } else {
            s[j++] = s[i]!;
            i++;
          }
        }
        if (changed) lens[w] = j;
      }
    }
    pairCounts.delete(key); // (a, a) merges decrement their own pair above; it is gone either way
    for (const k of touched) {
      const c = pairCounts.get(k);
      if (c !== undefined) heap.push(c, Math.floor(k / PAIR_SHIFT), k % PAIR_SHIFT);
    }
  }
  return merges;
}

/**
 * Trains a GPT-2-style byte-level BPE tokenizer on the texts and returns tokenizer.json and
 * tokenizer_config.json contents (Hugging Face format, loadable by `Tokenizer` in ./tokenizer.ts).
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: TrainByteLevelBpeOptions): TrainedByteLevelBpe {
  const { vocabSize, minFrequency, specialTokens, modelMaxLength } = checkOptions(options);
  const wordCounts = countPreTokens(texts, specialTokens);

  // Words of two or more symbols (single-symbol words have no pairs and cannot change).
  const byteId = new Int32Array(256);
  SYMBOL_BYTE.forEach((b, id) => (byteId[b] = id));
  const encoder = new TextEncoder();
  const words: CountedWord[] = [];
  for (const [word, count] of wordCounts) {
    const bytes = encoder.encode(word);
    if (bytes.length < 2) continue;
    const s = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) s[i] = byteId[bytes[i]!]!;
    words.push({ symbols: s, count });
  }
  const idToToken: string[] = [...BYTE_SYMBOLS];
  const tokenToId = new Map<string, number>(idToToken.map((t, i) => [t, i]));
  const merges = learnMerges(words, idToToken, tokenToId, vocabSize - specialTokens.length, minFrequency);

  for (const t of specialTokens) {
    if (tokenToId.has(t)) throw new BpeTrainError(`special token ${JSON.stringify(t)} is also a learned BPE token; choose another special token`);
  }

  const vocab: Record<string, number> = {};
  idToToken.forEach((t, i) => (vocab[t] = i));
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): ByteLevelJson => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const tokenizerJson: ByteLevelBpeTokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, i) => ({
      id: idToToken.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };

  // bos/eos/unk: <|endoftext|> when it is a special token, else the first special token, else left out.
  const eos = specialTokens.includes(EOS_DEFAULT) ? EOS_DEFAULT : (specialTokens[0] ?? null);
  const tokenizerConfig: Record<string, unknown> = { tokenizer_class: 'GPT2Tokenizer' };
  if (eos !== null) {
    tokenizerConfig['bos_token'] = eos;
    tokenizerConfig['eos_token'] = eos;
  }
  if (options.padToken !== undefined) tokenizerConfig['pad_token'] = options.padToken;
  if (eos !== null) tokenizerConfig['unk_token'] = eos;
  Object.assign(tokenizerConfig, {
    model_max_length: modelMaxLength,
    add_bos_token: false,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
  });

  return { tokenizerJson, tokenizerConfig, merges: merges.length };
}

/** What serializeTokenizerJson needs: a tokenizer.json object whose model has a token -> id vocabulary. */
export type TokenizerJsonWithVocab = { model: { vocab: Record<string, number> } };

/**
 * tokenizer.json text: two-space indented JSON like `tokenizers` writes it, with the vocab in id order (a plain
 * JSON.stringify would put integer-like keys such as "0" or "10" first).
 */
export function serializeTokenizerJson(json: TokenizerJsonWithVocab): string {
  const entries = Object.entries(json.model.vocab).sort((x, y) => x[1] - y[1]);
  const placeholder = '@@lethe-vocab@@';
  const text = JSON.stringify({ ...json, model: { ...json.model, vocab: placeholder } }, null, 2);
  const vocabText = entries.length === 0 ? '{}' : `{\n${entries.map(([t, id]) => `      ${JSON.stringify(t)}: ${id}`).join(',\n')}\n    }`;
  const quoted = `"vocab": ${JSON.stringify(placeholder)}`;
  const at = text.indexOf(quoted);
  return `${text.slice(0, at)}"vocab": ${vocabText}${text.slice(at + quoted.length)}\n`;
}

/** Writes tokenizer.json and tokenizer_config.json into dir (created if needed), each atomically (temp + fsync + rename). */
export function writeTokenizer(dir: string, result: { tokenizerJson: TokenizerJsonWithVocab; tokenizerConfig: Record<string, unknown> }): void {
  mkdirSync(dir, { recursive: true });
  const encode = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];
  atomicWrite(join(dir, 'tokenizer.json'), encode(serializeTokenizerJson(result.tokenizerJson)));
  atomicWrite(join(dir, 'tokenizer_config.json'), encode(`${JSON.stringify(result.tokenizerConfig, null, 2)}\n`));
}
