// SentencePiece-style BPE with byte fallback, as Llama 2's tokenizer.json encodes it, trained by our own merge loop.
//
// Text is normalized as Llama 2's tokenizer.json does (a `▁` prepended, every space replaced by `▁`) and cut into
// "▁-words" just before each `▁` (what a Metaspace pre-tokenizer with split=true yields). The initial symbols are
// the words' characters (Unicode code points); the most frequent adjacent pair inside a word is merged again and
// again with the shared loop of ./bpe-train.ts (ties to the smallest (left id, right id)), never across words.
//
// Vocabulary layout, ids in this order: `<unk>`, `<s>`, `</s>` (0–2, as in Llama 2), the 256 byte tokens
// `<0x00>`…`<0xFF>` (3–258), the alphabet (the characters seen, or the `limitAlphabet` most frequent, sorted by code
// point), then the merged tokens in merge order. That is the layout Hugging Face's BpeTrainer builds when given these
// special tokens, so both trainers break ties between equally frequent pairs the same way. At encode time a character
// outside the alphabet becomes its UTF-8 byte tokens (byte_fallback).
//
// The tokenizer.json written has Llama 2's components exactly: the Prepend + Replace normalizer and no
// pre-tokenizer, so the BPE model runs over the whole normalized text. No learned token holds a `▁` past its first
// character, hence no merge can join two ▁-words, and that is the same encoding as per-▁-word BPE.

import { BpeTrainError, forEachPiece, learnMerges, type AddedTokenJson, type CountedWord } from './bpe-train.ts';

/** The space marker SentencePiece writes for a space (U+2581 LOWER ONE EIGHTH BLOCK). */
export const SPACE_MARK = '\u2581';
export const SP_SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;
/** `<0x00>`…`<0xFF>`: the byte-fallback tokens, ids 3–258. */
export const BYTE_TOKENS: readonly string[] = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

export interface TrainSentencePieceBpeOptions {
  /** Total vocabulary: 3 special tokens + 256 byte tokens + the alphabet + merged tokens. */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this often (counting word frequencies). Default 2. */
  minFrequency?: number;
  /** Keep only the most frequent characters (ties to the lower code point); the rest go through byte fallback. Default: all. */
  limitAlphabet?: number;
  /** tokenizer_config.json's model_max_length. Default 1024. */
  modelMaxLength?: number;
}

export interface SentencePieceBpeTokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: { type: 'Sequence'; normalizers: [{ type: 'Prepend'; prepend: string }, { type: 'Replace'; pattern: { String: ' ' }; content: string }] };
  pre_tokenizer: null;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: '<unk>';
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: true;
    byte_fallback: true;
    ignore_merges: false;
    vocab: Record<string, number>;
    merges: string[];
  };
}

export interface TrainedSentencePieceBpe {
  tokenizerJson: SentencePieceBpeTokenizerJson;
  tokenizerConfig: Record<string, unknown>;
  /** Number of merges learned (= model.merges.length). */
  merges: number;
  /** Number of characters in the alphabet. */
  alphabet: number;
}

const RESERVED = SP_SPECIAL_TOKENS.length + BYTE_TOKENS.length;

function checkOptions(o: TrainSentencePieceBpeOptions): { vocabSize: number; minFrequency: number; limitAlphabet: number; modelMaxLength: number } {
  if (o === null || typeof o !== 'object') throw new BpeTrainError('options must be an object with at least vocabSize');
  const { vocabSize } = o;
  const minFrequency = o.minFrequency ?? 2;
  const limitAlphabet = o.limitAlphabet ?? Infinity;
  const modelMaxLength = o.modelMaxLength ?? 1024;
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize < RESERVED + 1) {
    throw new BpeTrainError(`vocabSize must be an integer of at least ${RESERVED + 1} (3 special tokens + 256 byte tokens + one character), got ${String(vocabSize)}`);
  }
  if (typeof minFrequency !== 'number' || !Number.isInteger(minFrequency) || minFrequency < 0) {
    throw new BpeTrainError(`minFrequency must be a non-negative integer, got ${String(minFrequency)}`);
  }
  if (limitAlphabet !== Infinity && (typeof limitAlphabet !== 'number' || !Number.isInteger(limitAlphabet) || limitAlphabet < 1)) {
    throw new BpeTrainError(`limitAlphabet must be a positive integer, got ${String(limitAlphabet)}`);
  }
  if (typeof modelMaxLength !== 'number' || !Number.isInteger(modelMaxLength) || modelMaxLength < 1) {
    throw new BpeTrainError(`modelMaxLength must be a positive integer, got ${String(modelMaxLength)}`);
  }
  return { vocabSize, minFrequency, limitAlphabet, modelMaxLength };
}

/** A piece of text as the normalizer leaves it: `▁` prepended, spaces as `▁` (an empty piece stays empty). */
export function spNormalize(piece: string): string {
  return piece.length === 0 ? '' : SPACE_MARK + piece.replaceAll(' ', SPACE_MARK);
}

/** Counts the ▁-words over the texts (cut at the special tokens, normalized, split before each `▁`). */
function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  const word = new RegExp(`${SPACE_MARK}[^${SPACE_MARK}]*|[^${SPACE_MARK}]+`, 'gu');
  forEachPiece(texts, SP_SPECIAL_TOKENS, (piece) => {
    for (const m of spNormalize(piece).matchAll(word)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  });
  return counts;
}

/**
 * Trains a SentencePiece-style BPE tokenizer with byte fallback (Llama 2's format) on the texts and returns
 * tokenizer.json and tokenizer_config.json contents, loadable by `Tokenizer` (./tokenizer.ts) and by `tokenizers`.
 */
export function trainSentencePieceBpe(texts: Iterable<string>, options: TrainSentencePieceBpeOptions): TrainedSentencePieceBpe {
  const { vocabSize, minFrequency, limitAlphabet, modelMaxLength } = checkOptions(options);
  const wordCounts = countWords(texts);

  // The alphabet: character counts weighted by word frequency; the most frequent kept, then sorted by code point.
  const charCounts = new Map<number, number>();
  for (const [w, n] of wordCounts) for (const ch of w) charCounts.set(ch.codePointAt(0)!, (charCounts.get(ch.codePointAt(0)!) ?? 0) + n);
  let chars = [...charCounts.entries()];
  if (chars.length > limitAlphabet) chars = chars.sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, limitAlphabet);
  const alphabet = chars.map(([cp]) => cp).sort((x, y) => x - y).map((cp) => String.fromCodePoint(cp));
  if (RESERVED + alphabet.length > vocabSize) {
    throw new BpeTrainError(`vocabSize ${vocabSize} leaves no room for the ${alphabet.length} characters of the text after 259 special and byte tokens; raise vocabSize or set limitAlphabet`);
  }

  const idToToken: string[] = [...SP_SPECIAL_TOKENS, ...BYTE_TOKENS, ...alphabet];
  const tokenToId = new Map<string, number>(idToToken.map((t, i) => [t, i]));
  // Words as character ids; a character outside the alphabet (byte fallback at encode time) splits its word, since
  // no merge can reach across it.
  const words: CountedWord[] = [];
  for (const [w, count] of wordCounts) {
    let run: number[] = [];
    const flush = (): void => {
      if (run.length >= 2) words.push({ symbols: Int32Array.from(run), count });
      run = [];
    };
    for (const ch of w) {
      const id = tokenToId.get(ch);
      if (id === undefined) flush();
      else run.push(id);
    }
    flush();
  }
  const merges = learnMerges(words, idToToken, tokenToId, vocabSize, minFrequency);
  const reserved = new Set<string>([...SP_SPECIAL_TOKENS, ...BYTE_TOKENS]);
  for (const m of merges) {
    const joined = m.replace(' ', '');
    if (reserved.has(joined)) throw new BpeTrainError(`the text spells the reserved token ${JSON.stringify(joined)}, which a merge would learn; remove it from the training text`);
  }

  const vocab: Record<string, number> = {};
  idToToken.forEach((t, i) => (vocab[t] = i));
  const tokenizerJson: SentencePieceBpeTokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SP_SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE_MARK }, { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK }] },
    pre_tokenizer: null,
    // BOS before each sequence, as Llama 2 (transformers' add_bos_token: true).
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges,
    },
  };
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: 'LlamaTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    add_bos_token: true,
    add_eos_token: false,
    legacy: true,
    model_max_length: modelMaxLength,
    clean_up_tokenization_spaces: false,
  };
  return { tokenizerJson, tokenizerConfig, merges: merges.length, alphabet: alphabet.length };
}
