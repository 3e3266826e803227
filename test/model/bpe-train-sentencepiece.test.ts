// SentencePiece-style BPE with byte fallback (src/model/sp-bpe-train.ts), checked against Hugging Face's Rust
// `tokenizers` through test/fixtures/tokenizer/sp-bpe-rust.json (made by make_sp_bpe_fixture.py beside it): the
// embedded Llama tokenizer encodes and decodes as Rust does, and our trainer learns the merges Rust's BpeTrainer learns.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpeTrainError, writeTokenizer } from '../../src/model/bpe-train.ts';
import { BYTE_TOKENS, SP_SPECIAL_TOKENS, trainSentencePieceBpe } from '../../src/model/sp-bpe-train.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

interface Fixture {
  tokenizers: string;
  encode: { text: string; ids: number[]; idsPlain: number[]; decoded: string }[];
  train: { vocabSize: number; minFrequency: number; texts: string[]; vocab: Record<string, number>; merges: string[] };
  corpusMerges: { vocabSize: number; count: number; sha256: string };
}
const fixture = JSON.parse(readFileSync('test/fixtures/tokenizer/sp-bpe-rust.json', 'utf8')) as Fixture;
const EMBEDDED = 'models/llama/tokenizer';

/** Our tokenizer loaded from a trained result, through the files writeTokenizer writes. */
function load(result: Parameters<typeof writeTokenizer>[1]): Tokenizer {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-sp-bpe-'));
  writeTokenizer(dir, result);
  return Tokenizer.fromDir(dir);
}

describe('the embedded Llama tokenizer against Rust tokenizers', () => {
  const tok = Tokenizer.fromDir(EMBEDDED);

  test(`encodes ${fixture.encode.length} texts (persons sample, edge cases) to Rust's ids, and decodes to Rust's text`, () => {
    for (const e of fixture.encode) {
      assert.deepEqual(tok.encode(e.text), e.ids, `with <s>: ${JSON.stringify(e.text)}`);
      assert.deepEqual(tok.encode(e.text, { addSpecialTokens: false }), e.idsPlain, `plain: ${JSON.stringify(e.text)}`);
      assert.equal(tok.decode(e.idsPlain), e.decoded, `decode: ${JSON.stringify(e.text)}`);
    }
  });

  test('its merges are the ones Rust\'s BpeTrainer learns on the same corpus (SHA-256 of the merge list)', () => {
    const json = JSON.parse(readFileSync(join(EMBEDDED, 'tokenizer.json'), 'utf8')) as { model: { merges: string[] } };
    assert.equal(json.model.merges.length, fixture.corpusMerges.count);
    assert.equal(createHash('sha256').update(json.model.merges.join('\n')).digest('hex'), fixture.corpusMerges.sha256);
  });

  test('has Llama 2\'s special and byte tokens and its BOS/EOS', () => {
    assert.deepEqual(SP_SPECIAL_TOKENS.map((t) => tok.tokenToId(t)), [0, 1, 2]);
    assert.equal(tok.tokenToId('<0x00>'), 3);
    assert.equal(tok.tokenToId('<0xFF>'), 258);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.padId, 2);
    assert.equal(tok.vocabSize, 2048);
  });
});

describe('trainSentencePieceBpe', () => {
  test(`learns the vocabulary and merges of Rust's BpeTrainer (tokenizers ${fixture.tokenizers}) on a small corpus`, () => {
    const r = trainSentencePieceBpe(fixture.train.texts, { vocabSize: fixture.train.vocabSize, minFrequency: fixture.train.minFrequency });
    assert.deepEqual(r.tokenizerJson.model.merges, fixture.train.merges);
    assert.deepEqual(r.tokenizerJson.model.vocab, fixture.train.vocab);
  });

  test('lays out <unk> <s> </s>, the 256 byte tokens, the alphabet by code point, then merged tokens', () => {
    const r = trainSentencePieceBpe(['ab ab ab ba'], { vocabSize: 300 });
    const byId = Object.entries(r.tokenizerJson.model.vocab).sort((x, y) => x[1] - y[1]).map(([t]) => t);
    assert.deepEqual(byId.slice(0, 3), [...SP_SPECIAL_TOKENS]);
    assert.deepEqual(byId.slice(3, 259), BYTE_TOKENS);
    assert.deepEqual(byId.slice(259, 262), ['a', 'b', '▁']);
    // "▁ab" ×3: "a b" and "▁ a" both occur 3 times; the tie goes to the smaller ids ("a" < "▁"), then "▁ ab".
    assert.deepEqual(r.tokenizerJson.model.merges, ['a b', '▁ ab']);
    assert.equal(r.alphabet, 3);
    assert.deepEqual(r.tokenizerJson.added_tokens.map((t) => [t.id, t.content, t.special]), [[0, '<unk>', true], [1, '<s>', true], [2, '</s>', true]]);
  });

  test('never merges across a space: no token holds ▁ past its first character', () => {
    const r = trainSentencePieceBpe(fixture.train.texts, { vocabSize: 900 });
    for (const t of Object.keys(r.tokenizerJson.model.vocab)) assert.ok(!t.slice(1).includes('▁'), t);
  });

  test('falls back to bytes for characters outside the alphabet, and round-trips text', () => {
    const texts = ['the cat sat on the mat', 'the dog sat on the log', 'a cat and a dog'];
    const tok = load(trainSentencePieceBpe(texts, { vocabSize: 320, modelMaxLength: 64 }));
    const ids = tok.encode('the cat ☃', { addSpecialTokens: false });
    const snowman = [0xe2, 0x98, 0x83].map((b) => 3 + b);
    assert.deepEqual(ids.slice(-3), snowman);
    for (const text of ['the cat ☃', '  two  spaces ', 'new\nline', 'é 日本']) assert.equal(tok.decode(tok.encode(text, { addSpecialTokens: false })), text);
    assert.deepEqual(tok.encode('the').slice(0, 1), [1], 'BOS first');
  });

  test('limitAlphabet keeps the most frequent characters; the rest go through byte fallback and split words', () => {
    const r = trainSentencePieceBpe(['aaab aaab aaab xq xq'], { vocabSize: 400, limitAlphabet: 3 });
    const vocab = r.tokenizerJson.model.vocab;
    assert.ok('a' in vocab && 'b' in vocab && '▁' in vocab);
    assert.ok(!('x' in vocab) && !('q' in vocab));
    for (const m of r.tokenizerJson.model.merges) assert.ok(!m.includes('x') && !m.includes('q'), m);
  });

  test('does not depend on the order of the texts', () => {
    const texts = fixture.train.texts.slice(0, 40);
    const a = trainSentencePieceBpe(texts, { vocabSize: 500 });
    const b = trainSentencePieceBpe([...texts].reverse(), { vocabSize: 500 });
    assert.deepEqual(a.tokenizerJson, b.tokenizerJson);
  });

  test('cuts texts at the special tokens, which are never merged into', () => {
    const r = trainSentencePieceBpe(['ab</s>ab</s>ab<s>'], { vocabSize: 400 });
    for (const t of Object.keys(r.tokenizerJson.model.vocab).slice(259)) assert.ok(!t.includes('<') && !t.includes('>'), t);
  });

  test('refuses bad options and text that spells a byte token, naming the problem', () => {
    assert.throws(() => trainSentencePieceBpe(['a'], { vocabSize: 259 }), (e: unknown) => e instanceof BpeTrainError && /vocabSize must be an integer of at least 260/.test(e.message));
    assert.throws(() => trainSentencePieceBpe(['abc'], { vocabSize: 261 }), /leaves no room for the 4 characters/);
    assert.throws(() => trainSentencePieceBpe(['a'], { vocabSize: 300, limitAlphabet: 0 }), /limitAlphabet must be a positive integer/);
    assert.throws(() => trainSentencePieceBpe(['a'], { vocabSize: 300, minFrequency: -1 }), /minFrequency must be a non-negative integer/);
    assert.throws(() => trainSentencePieceBpe([1 as unknown as string], { vocabSize: 300 }), /texts\[0\] is not a string/);
    assert.throws(() => trainSentencePieceBpe(['<0x41><0x41>'], { vocabSize: 400 }), /spells the reserved token "<0x41>"/);
  });
});
