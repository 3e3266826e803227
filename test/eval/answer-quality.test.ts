import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerQuality, GENERATION_CACHE_BYTES, generationBatch } from '../../src/eval/memorisation.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const DIR = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

test('generationBatch keeps the KV cache within its budget, between 32 and 128 rows', () => {
  // The embedded model's shape (4 layers, 4 heads of 64): 80 positions hold 655,360 bytes a row.
  const embedded = { numLayers: 4, numKvHeads: 4, headDim: 64 };
  assert.equal(generationBatch(embedded, 80), Math.floor(GENERATION_CACHE_BYTES / 655_360));
  assert.ok(generationBatch(embedded, 80) * 655_360 <= GENERATION_CACHE_BYTES);
  // GPT-2 small over 232 positions: one row is 17 MB, so the floor of 32 rows (what every batch had before).
  assert.equal(generationBatch({ numLayers: 12, numKvHeads: 12, headDim: 64 }, 232), 32);
  // A model too small to matter: the cap.
  assert.equal(generationBatch({ numLayers: 1, numKvHeads: 1, headDim: 8 }, 16), 128);
});

test('answerQuality gives the same greedy answers whatever the batch', () => {
  const { model } = loadModel(DIR);
  const tok = Tokenizer.fromDir(DIR);
  const items = Array.from({ length: 37 }, (_, i) => ({ question: `What is item ${i} of ${i % 5 ? 'the long list of things' : 'it'}?`, answer: `It is ${i}.` }));
  const whole = answerQuality(model, tok, items, { maxNewTokens: 12 });
  for (const batchSize of [1, 4, 32]) {
    assert.deepEqual(answerQuality(model, tok, items, { maxNewTokens: 12, batchSize }).answers, whole.answers, `batch ${batchSize}`);
  }
  // Something was generated, so the comparison is not between empty answers.
  assert.ok(whole.answers.some((a) => a.length > 0));
});
