// Byte-level BPE training: the learned tokenizer.json loads through our Tokenizer (@huggingface/tokenizers),
// encodes exactly as an independent GPT-2 merge-rank encoder applies the learned merges, and round-trips text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpeTrainError, serializeTokenizerJson, trainByteLevelBpe, writeTokenizer } from '../../src/model/bpe-train.ts';
import type { TrainedByteLevelBpe } from '../../src/model/bpe-train.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { Rng } from '../../src/engine/random.ts';

// ---- synthetic English-like corpus (seeded) ----

/** Seeded uniform numbers for test data (the engine's own generator). */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

const COMMON = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by ' +
  'hot word but what some we can out other were all there when up use your how said an each she which do their ' +
  'time if will way about many then them write would like so these her long make thing see him two has look more ' +
  'day could go come did number sound no most people my over know water than call first who may down side been ' +
  "now find any new work part take get place made live where after back little only round man year came show " +
  "every good me give our under name very through just form sentence great think say help low line differ turn " +
  "cause much mean before move right boy old too same tell does set three want air well also play small end put " +
  "home read hand port large spell add even land here must big high such follow act why ask men change went light " +
  "kind off need house picture try us again animal point mother world near build self earth father don't it's " +
  "I'm we're they've you'll she'd can't won't"
).split(' ');
const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'pr', 'sh', 'st', 'th', 'tr', 'wh', ''];
const NUCLEI = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ee', 'ie', 'oo', 'ou', 'y'];
const CODAS = ['', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'ng', 'ck', 'st', 'rt', 'sh', 'th'];
const SUFFIXES = ['', '', '', 's', 'ed', 'ing', 'er', 'ly', 'tion', 'ness'];

function makeLexicon(rand: () => number, size: number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const words = new Set<string>(COMMON);
  while (words.size < size) {
    const syllables = 1 + Math.floor(rand() * 3);
    let w = '';
    for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(NUCLEI) + pick(CODAS);
    words.add(w + pick(SUFFIXES));
  }
  return [...words];
}

/** Sentences of Zipf-distributed words with capitals, punctuation, numbers and the odd quote or newline. */
function makeCorpus(seed: number, bytes: number, lexicon: readonly string[]): string[] {
  const rand = mulberry32(seed);
  const weights = lexicon.map((_, i) => 1 / (i + 1));
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) cumulative.push((total += w));
  const word = (): string => {
    const x = rand() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lexicon[lo]!;
  };
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 4 + Math.floor(rand() * 12);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      let w = word();
      if (i === 0) w = w[0]!.toUpperCase() + w.slice(1);
      const r = rand();
      if (r < 0.03) w = String(Math.floor(rand() * 2100));
      else if (r < 0.05) w = `"${w}"`;
      else if (r < 0.1 && i < n - 1) w += ',';
      parts.push(w);
    }
    const end = rand();
    const sentence = parts.join(' ') + (end < 0.8 ? '.' : end < 0.9 ? '?' : '!');
    out.push(sentence);
    size += sentence.length + 1;
  }
  return out;
}

// ---- independent reference: GPT-2's encoder.py, applying merges by rank ----

function gpt2BytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = '¡'.charCodeAt(0); b <= '¬'.charCodeAt(0); b++) bs.push(b);
  for (let b = '®'.charCodeAt(0); b <= 'ÿ'.charCodeAt(0); b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCharCode(cs[i]!)]));
}

class ReferenceEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly byteEncoder = gpt2BytesToUnicode();
  private readonly pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

  constructor(
    private readonly vocab: Record<string, number>,
    merges: readonly string[],
    private readonly special: ReadonlyMap<string, number>,
  ) {
    merges.forEach((m, i) => {
      if (!this.ranks.has(m)) this.ranks.set(m, i);
    });
  }

  private bpe(token: string): string[] {
    let word = [...token];
    while (word.length > 1) {
      let bestRank = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [bestRank, first, second] = [r, word[i]!, word[i + 1]!];
      }
      if (bestRank === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else next.push(word[i++]!);
      }
      word = next;
    }
    return word;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const specials = [...this.special.keys()];
    let rest = text;
    while (rest.length > 0) {
      // Earliest (then longest) special token occurrence.
      let at = -1;
      let which = '';
      for (const s of specials) {
        const i = rest.indexOf(s);
        if (i >= 0 && (at < 0 || i < at || (i === at && s.length > which.length))) [at, which] = [i, s];
      }
      const plain = at < 0 ? rest : rest.slice(0, at);
      for (const m of plain.matchAll(this.pattern)) {
        const mapped = [...new TextEncoder().encode(m[0])].map((b) => this.byteEncoder.get(b)!).join('');
        for (const t of this.bpe(mapped)) {
          const id = this.vocab[t];
          assert.ok(id !== undefined, `reference: ${JSON.stringify(t)} not in vocab`);
          ids.push(id);
        }
      }
      if (at < 0) break;
      ids.push(this.special.get(which)!);
      rest = rest.slice(at + which.length);
    }
    return ids;
  }
}

/**
 * The textbook trainer: recount every pair from scratch before each merge (overlapping occurrences counted,
 * as `tokenizers` does), merge the best pair left to right in every word; ties to the smaller (left id, right id).
 */
function naiveTrain(texts: readonly string[], vocabSize: number, minFrequency: number): string[] {
  const byteEncoder = gpt2BytesToUnicode();
  const ids = new Map<string, number>([...byteEncoder.values()].map((t, i) => [t, i]));
  const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const counts = new Map<string, number>();
  for (const t of texts) for (const m of t.split('<|endoftext|>').flatMap((p) => [...p.matchAll(pattern)])) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({ syms: [...new TextEncoder().encode(w)].map((b) => byteEncoder.get(b)!), c }));
  const merges: string[] = [];
  while (ids.size < vocabSize - 1) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]} ${syms[i + 1]}`;
        const p = pairs.get(k) ?? { a: syms[i]!, b: syms[i + 1]!, n: 0 };
        p.n += c;
        pairs.set(k, p);
      }
    }
    let best: { a: string; b: string; n: number } | null = null;
    for (const p of pairs.values()) {
      if (best === null || p.n > best.n || (p.n === best.n && (ids.get(p.a)! < ids.get(best.a)! || (p.a === best.a && ids.get(p.b)! < ids.get(best.b)!)))) best = p;
    }
    if (best === null || best.n < Math.max(1, minFrequency)) break;
    merges.push(`${best.a} ${best.b}`);
    if (!ids.has(best.a + best.b)) ids.set(best.a + best.b, ids.size);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.syms.length; ) {
        if (i + 1 < w.syms.length && w.syms[i] === best.a && w.syms[i + 1] === best.b) {
          next.push(best.a + best.b);
          i += 2;
        } else next.push(w.syms[i++]!);
      }
      w.syms = next;
    }
  }
  return merges;
}

// ---- fixtures shared by the tests ----

const lexicon = makeLexicon(mulberry32(7), 6000);
const corpus = makeCorpus(1, 300_000, lexicon);
const heldOut = makeCorpus(99, 20_000, lexicon);

let trained2048: TrainedByteLevelBpe | null = null;
const train2048 = (): TrainedByteLevelBpe => (trained2048 ??= trainByteLevelBpe(corpus, { vocabSize: 2048 }));

const TRICKY = [
  'Hello world',
  ' leading space and trailing space ',
  'Tabs\tand\nnewlines\r\n\n  indented   lines\n',
  'Numbers 1234567890 and 3.14159, also 2024-06-01.',
  "Contractions: don't, it's, we're, they've, I'm, you'll, she'd, O'Neil's",
  'Grüße aus Köln — naïve café, 東京, Москва, مرحبا',
  'Emoji 😀👍🏽 and ZWJ 👩‍👩‍👧 and flags 🇩🇪',
  'Weird   spacing\u00a0nbsp \u2003em-space\u3000ideographic',
  'Control \u0000\u0001\u007f bytes and \ufeff BOM',
  '<|endoftext|>',
  'Before<|endoftext|>after <|endoftext|> spaced<|endoftext|><|endoftext|>',
  'Symbols: @#$%^&*()_+=[]{};:\'"\\|,<.>/?`~',
  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx aaaaaaaaaa',
];

describe('byte-level BPE training', () => {
  test('vocab has exactly the requested size; ids 0..255 are the byte symbols; merge count matches', () => {
    const { tokenizerJson, tokenizerConfig, merges } = train2048();
    const vocab = tokenizerJson.model.vocab;
    const ids = Object.values(vocab).sort((a, b) => a - b);
    assert.equal(ids.length + tokenizerJson.added_tokens.length, 2048);
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i), 'BPE ids are 0..n-1');
    assert.deepEqual(tokenizerJson.added_tokens.map((t) => [t.id, t.content, t.special, t.normalized]), [[2047, '<|endoftext|>', true, false]]);
    const byteEncoder = gpt2BytesToUnicode();
    const order = [...byteEncoder.values()];
    for (let i = 0; i < 256; i++) assert.equal(vocab[order[i]!], i);
    assert.equal(vocab['!'], 0);
    assert.equal(vocab['Ġ'], 220); // the space byte, as in GPT-2's encoder.json
    assert.equal(merges, tokenizerJson.model.merges.length);
    // Every merge's result is a token whose id is at least 256, in merge order.
    let last = 255;
    for (const m of tokenizerJson.model.merges) {
      const [a, b] = m.split(' ');
      assert.ok(a && b && vocab[a] !== undefined && vocab[b] !== undefined, `merge parts of ${m} are tokens`);
      const id = vocab[a + b]!;
      assert.ok(id >= 256);
      assert.ok(id <= last + 1, 'merged tokens get ids in merge order');
      last = Math.max(last, id);
    }
    assert.equal(tokenizerConfig['tokenizer_class'], 'GPT2Tokenizer');
    assert.equal(tokenizerConfig['eos_token'], '<|endoftext|>');
    assert.equal(tokenizerConfig['model_max_length'], 1024);
    assert.equal('pad_token' in tokenizerConfig, false);
  });

  test('training is deterministic and independent of the order of the texts', () => {
    const small = corpus.slice(0, 3000);
    const a = serializeTokenizerJson(trainByteLevelBpe(small, { vocabSize: 700 }).tokenizerJson);
    const b = serializeTokenizerJson(trainByteLevelBpe(small, { vocabSize: 700 }).tokenizerJson);
    assert.equal(a, b);
    const c = serializeTokenizerJson(trainByteLevelBpe([...small].reverse(), { vocabSize: 700 }).tokenizerJson);
    assert.equal(a, c);
    assert.equal(JSON.stringify(trainByteLevelBpe(small, { vocabSize: 700 })), JSON.stringify(trainByteLevelBpe(small, { vocabSize: 700 })));
  });

  test('loads through Tokenizer; everything round-trips; <|endoftext|> is one id', () => {
    const { tokenizerJson, tokenizerConfig } = train2048();
    const tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    assert.equal(tok.vocabSize, 2048);
    assert.equal(tok.eosId, 2047);
    assert.equal(tok.bosId, 2047);
    assert.equal(tok.padId, 2047);
    for (const text of [...TRICKY, ...heldOut.slice(0, 50)]) {
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text, `round trip of ${JSON.stringify(text)}`);
    }
    assert.deepEqual(tok.encode('<|endoftext|>'), [2047]);
    const ids = tok.encode('The end.<|endoftext|>The start.');
    assert.equal(ids.filter((i) => i === 2047).length, 1);
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'The end.The start.');
    // Frequent words are single tokens with the GPT-2 space marker.
    assert.equal(tok.encode(' the').length, 1);
    assert.equal(tok.tokenToId('Ġthe') !== null, true);
  });

  test('the HF library encodes exactly as the GPT-2 merge-rank reference applies the learned merges', () => {
    const { tokenizerJson, tokenizerConfig } = train2048();
    const tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    const ref = new ReferenceEncoder(tokenizerJson.model.vocab, tokenizerJson.model.merges, new Map(tokenizerJson.added_tokens.map((t) => [t.content, t.id])));
    let tokens = 0;
    const texts = [...TRICKY, ...heldOut, heldOut.join(' '), heldOut.slice(0, 200).join('\n')];
    for (const text of texts) {
      const got = tok.encode(text);
      assert.deepEqual(got, ref.encode(text), `encoding of ${JSON.stringify(text.slice(0, 80))}`);
      tokens += got.length;
    }
    // Compression sanity: English-like text well below one token per byte.
    const sample = heldOut.join(' ');
    assert.ok(tok.encode(sample).length < sample.length / 2.5, `${tok.encode(sample).length} tokens for ${sample.length} chars`);
    assert.ok(tokens > 0);
  });

  test('incremental training learns exactly the merges of a full recount per merge', () => {
    const texts = [...corpus.slice(0, 400), ...TRICKY, 'aaaaaaa aaaa aaa aa abab ababab abababab', 'xyxyxy xyx yxy'];
    for (const [vocabSize, minFrequency] of [
      [700, 2],
      [900, 1],
    ] as const) {
      const expected = naiveTrain(texts, vocabSize, minFrequency);
      const got = trainByteLevelBpe(texts, { vocabSize, minFrequency });
      assert.deepEqual(got.tokenizerJson.model.merges, expected);
    }
  });

  test('the most frequent word becomes one token; minFrequency stops merging', () => {
    const toy = ['hug hug hug pug pun bun hugs', 'hug pug hug', 'bun bun hug'];
    const r = trainByteLevelBpe(toy, { vocabSize: 300 });
    const tok = new Tokenizer(r.tokenizerJson, r.tokenizerConfig);
    assert.deepEqual(tok.encode(' hug').length, 1);
    assert.ok(r.tokenizerJson.model.vocab['Ġhug'] !== undefined);
    assert.equal(r.tokenizerJson.model.merges[0], 'u g', 'the most frequent pair merges first');
    // Vocabulary not reached: merging stopped when no pair occurs twice.
    assert.ok(r.merges < 300 - 257);

    const high = trainByteLevelBpe(toy, { vocabSize: 300, minFrequency: 8 });
    const low = trainByteLevelBpe(toy, { vocabSize: 300, minFrequency: 1 });
    assert.ok(high.merges < r.merges && r.merges < low.merges, `${high.merges} < ${r.merges} < ${low.merges}`);
    // With minFrequency 1 every word ends up as one token (nothing else to merge).
    const lowTok = new Tokenizer(low.tokenizerJson, low.tokenizerConfig);
    for (const w of ['hug', ' hugs', ' pun', ' bun']) assert.equal(lowTok.encode(w).length, 1, w);
    // Pairs never merge across pre-token boundaries: no token holds a space after its first symbol.
    for (const t of Object.keys(low.tokenizerJson.model.vocab)) assert.ok(!t.slice(1).includes('Ġ'), t);
  });

  test('ties break by the smaller (left id, right id) pair', () => {
    // "ab" and "cd" both occur 3 times: a (id 64) < c (id 66), so "a b" comes first.
    const r = trainByteLevelBpe(['cd ab cd ab cd ab'], { vocabSize: 259, specialTokens: [] });
    assert.deepEqual(r.tokenizerJson.model.merges.slice(0, 2), ['a b', 'c d']);
  });

  test('special tokens, pad token and config', () => {
    const r = trainByteLevelBpe(corpus.slice(0, 500), { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|pad|>'], padToken: '<|pad|>', modelMaxLength: 256 });
    assert.deepEqual(r.tokenizerJson.added_tokens.map((t) => [t.id, t.content]), [[398, '<|endoftext|>'], [399, '<|pad|>']]);
    assert.equal(r.tokenizerConfig['pad_token'], '<|pad|>');
    assert.equal(r.tokenizerConfig['model_max_length'], 256);
    const tok = new Tokenizer(r.tokenizerJson, r.tokenizerConfig);
    assert.equal(tok.padId, 399);
    assert.deepEqual(tok.encode('a<|pad|><|endoftext|>').slice(-2), [399, 398]);
    // A pad token not among the special tokens is appended to them.
    const p = trainByteLevelBpe(['hello there'], { vocabSize: 300, padToken: '<pad>' });
    assert.deepEqual(p.tokenizerJson.added_tokens.map((t) => t.content), ['<|endoftext|>', '<pad>']);
    // Special tokens in the training text are cut out, never merged into.
    const s = trainByteLevelBpe(['x<|endoftext|>y<|endoftext|>z'.repeat(50)], { vocabSize: 300 });
    for (const [t, id] of Object.entries(s.tokenizerJson.model.vocab)) if (id >= 256) assert.ok(!t.includes('|'), t);
    assert.ok(s.merges > 0);
  });

  test('bad options throw clear errors', () => {
    const bad = (options: Parameters<typeof trainByteLevelBpe>[1], re: RegExp): void =>
      assert.throws(() => trainByteLevelBpe(['some text'], options), (e: unknown) => e instanceof BpeTrainError && re.test(e.message));
    bad({ vocabSize: 256 }, /vocabSize must be at least 257/);
    bad({ vocabSize: 100 }, /vocabSize must be at least 257/);
    bad({ vocabSize: 257, specialTokens: ['<a>', '<b>'] }, /vocabSize must be at least 258/);
    bad({ vocabSize: 1000.5 }, /vocabSize must be an integer/);
    bad({ vocabSize: Number.NaN }, /vocabSize must be an integer/);
    bad({ vocabSize: '1000' as unknown as number }, /vocabSize must be an integer/);
    bad({ vocabSize: 1000, minFrequency: 1.5 }, /minFrequency must be a non-negative integer/);
    bad({ vocabSize: 1000, minFrequency: -1 }, /minFrequency must be a non-negative integer/);
    bad({ vocabSize: 1000, specialTokens: ['<a>', '<a>'] }, /listed twice/);
    bad({ vocabSize: 1000, specialTokens: [''] }, /non-empty strings/);
    bad({ vocabSize: 1000, specialTokens: ['a'] }, /one of the 256 byte symbols/);
    bad({ vocabSize: 1000, modelMaxLength: 0 }, /modelMaxLength must be a positive integer/);
    assert.throws(() => trainByteLevelBpe([1 as unknown as string], { vocabSize: 300 }), /texts\[0\] is not a string/);
    assert.throws(() => trainByteLevelBpe('abc' as unknown as string[], { vocabSize: 300 }), /iterable of strings/);
    // vocabSize 257 with the default special token is valid: no merges.
    assert.equal(trainByteLevelBpe(['aaaa'], { vocabSize: 257 }).merges, 0);
  });

  test('writeTokenizer writes files that Tokenizer.fromDir loads', () => {
    const r = trainByteLevelBpe(corpus.slice(0, 500), { vocabSize: 400 });
    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-bpe-')), 'tok');
    writeTokenizer(dir, r);
    assert.deepEqual(readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json'], 'no temp files left');
    const text = readFileSync(join(dir, 'tokenizer.json'), 'utf8');
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(r.tokenizerJson)));
    // Vocab in id order in the file, as `tokenizers` writes it.
    const keys = Object.keys(JSON.parse(text).model.vocab as object);
    const start = text.indexOf('"vocab": {');
    assert.ok(text.indexOf('"!": 0', start) < text.indexOf('"0": 15', start));
    assert.equal(keys.length, 399);
    const tok = Tokenizer.fromDir(dir);
    assert.equal(tok.vocabSize, 400);
    assert.equal(tok.decode(tok.encode('Round trip through files. 😀')), 'Round trip through files. 😀');
    writeTokenizer(dir, r); // overwriting works
    assert.equal(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), text);
  });

  test('timing: ~1 MB of text to 2048 and 4096 vocabularies', () => {
    const big = makeCorpus(3, 1_000_000, makeLexicon(mulberry32(11), 20_000));
    const bytes = big.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
    for (const vocabSize of [2048, 4096]) {
      const t0 = performance.now();
      const r = trainByteLevelBpe(big, { vocabSize });
      const ms = performance.now() - t0;
      console.log(`trained ${r.merges} merges (vocab ${vocabSize}) on ${(bytes / 1e6).toFixed(2)} MB in ${ms.toFixed(0)} ms`);
      assert.equal(Object.keys(r.tokenizerJson.model.vocab).length + r.tokenizerJson.added_tokens.length, vocabSize);
    }
  });
});
