import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knowMem, museQaPrompt, verbMem } from '../../src/eval/muse.ts';
import { rougeL } from '../../src/eval/rouge.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { generate } from '../../src/model/generate.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const dir = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const { model } = loadModel(dir);
const tokenizer = Tokenizer.fromDir(dir);
const start = tokenizer.bosId ?? tokenizer.eosId!;

test('MUSE QA prompt format with few-shot examples', () => {
  assert.equal(museQaPrompt('Who?', [{ question: 'Q1', answer: 'A1' }]), 'Question: Q1\nAnswer: A1\n\nQuestion: Who?\nAnswer: ');
  assert.equal(museQaPrompt('Who?'), 'Question: Who?\nAnswer: ');
});

test('VerbMem: ROUGE-L F1 of the greedy continuation against the truncated true continuation', () => {
  const prompt = 'the cat sat on';
  const ids = [start, ...tokenizer.encode(prompt, { addSpecialTokens: false })];
  const own = tokenizer.decode(generate(model, [ids], { maxNewTokens: 12, eosTokenIds: [] })[0]!.tokens, { skipSpecialTokens: true });
  const items = [
    { prompt, continuation: 'a mat and then it slept for a long while in the sun' },
    { prompt: 'hello there', continuation: 'general kenobi' },
  ];
  const r = verbMem(model, tokenizer, items, { maxNewTokens: 12, batchSize: 1 });
  const batched = verbMem(model, tokenizer, items, { maxNewTokens: 12 });
  assert.deepEqual(batched, r);
  assert.equal(r.items.length, 2);
  for (const it of r.items) {
    assert.equal(it.rougeL, rougeL(it.reference, it.generation).f1);
    assert.ok(it.rougeL >= 0 && it.rougeL <= 1);
  }
  assert.equal(r.mean, (r.items[0]!.rougeL + r.items[1]!.rougeL) / 2);
  // The reference is the continuation cut to its first maxNewTokens tokens.
  const cut = tokenizer.decode(tokenizer.encode(items[0]!.continuation).slice(0, 12), { skipSpecialTokens: true });
  assert.equal(r.items[0]!.reference, cut);
  // Unless the model stopped at EOS, its generation is its own greedy continuation.
  assert.ok(own.startsWith(r.items[0]!.generation));
});

test('KnowMem: answers cut at the next question marker, scored by ROUGE-L F1', () => {
  const items = [{ question: 'Ada born?', answer: 'Turin' }, { question: 'She wrote?', answer: 'Novels about the sea' }];
  const r = knowMem(model, tokenizer, items, { icl: [{ question: 'Q', answer: 'A' }], maxNewTokens: 8, stem: true });
  assert.equal(knowMem(model, tokenizer, items, { icl: [{ question: 'Q', answer: 'A' }], maxNewTokens: 8, stem: true, batchSize: 1 }).mean, r.mean);
  for (const it of r.items) {
    assert.ok(!it.generation.includes('\n\n') && !it.generation.includes('Question:') && !it.generation.includes('\nQuestion'));
    assert.equal(it.rougeL, rougeL(it.reference, it.generation, { stem: true }).f1);
  }
  assert.deepEqual(r.items.map((i) => i.reference), ['Turin', 'Novels about the sea']);
  // Same text as MUSE's way: decode all tokens, then split at each marker in turn.
  items.forEach((it, i) => {
    const ids = [start, ...tokenizer.encode(museQaPrompt(it.question, [{ question: 'Q', answer: 'A' }]), { addSpecialTokens: false })];
    let text = tokenizer.decode(generate(model, [ids], { maxNewTokens: 8 })[0]!.tokens, { skipSpecialTokens: true });
    for (const w of ['\n\n', '\nQuestion', 'Question:']) text = text.split(w)[0]!;
    assert.equal(r.items[i]!.generation, text);
  });
});
