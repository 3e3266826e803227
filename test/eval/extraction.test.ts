import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactMemorisation, extractionStrength, memorisationScores, teacherForcedPredictions } from '../../src/eval/extraction.ts';
import { Rng } from '../../src/engine/index.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { generate } from '../../src/model/generate.ts';
import type { PromptAnswer } from '../../src/model/logprobs.ts';

const { model } = loadModel(new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname);
const V = model.config.vocabSize;

function greedy(prompt: readonly number[], n: number): number[] {
  return n === 0 ? [] : generate(model, [prompt], { maxNewTokens: n, eosTokenIds: [] })[0]!.tokens;
}

/** The definition, computed the slow way: try k = 0, 1, … and greedy-decode the rest from prompt + y_<k. */
function slowExtractionStrength(it: PromptAnswer): number {
  const y = it.answer;
  for (let k = 0; k <= y.length; k++) {
    const out = greedy([...it.prompt, ...y.slice(0, k)], y.length - k);
    if (out.every((t, i) => t === y[k + i])) return 1 - k / y.length;
  }
  throw new Error('unreachable: k = |y| always reproduces the empty rest');
}

function slowExactMemorisation(it: PromptAnswer): number {
  let hits = 0;
  it.answer.forEach((t, j) => {
    if (greedy([...it.prompt, ...it.answer.slice(0, j)], 1)[0] === t) hits++;
  });
  return hits / it.answer.length;
}

/** Answers that are partly the model's own greedy continuation, so ES and EM take many different values. */
function makeItems(): PromptAnswer[] {
  const rng = new Rng(3);
  const tok = (): number => Math.floor(rng.uniform() * (V - 1));
  const items: PromptAnswer[] = [];
  for (let i = 0; i < 12; i++) {
    const prompt = [296, ...Array.from({ length: 1 + (i % 4) }, tok)];
    const len = 4 + (i % 5);
    const answer = greedy(prompt, len);
    if (i % 4 === 1) answer[Math.floor(len / 2)] = (answer[Math.floor(len / 2)]! + 1) % V; // break the middle
    if (i % 4 === 2) answer[len - 1] = (answer[len - 1]! + 1) % V; // break the last token
    if (i % 4 === 3) for (let j = 0; j < len; j++) answer[j] = tok(); // unrelated answer
    items.push({ prompt, answer });
  }
  return items;
}

test('extraction strength and exact memorisation on a tiny model equal slow greedy decoding', () => {
  const items = makeItems();
  const s = memorisationScores(model, items, { batchSize: 5 });
  const seen = new Set<number>();
  items.forEach((it, i) => {
    assert.equal(s.extractionStrength[i], slowExtractionStrength(it), `ES item ${i}`);
    assert.equal(s.exactMemorisation[i], slowExactMemorisation(it), `EM item ${i}`);
    seen.add(s.extractionStrength[i]!);
  });
  assert.ok(seen.has(1) && seen.has(0) && seen.size >= 4, `ES values ${[...seen]}`);
  assert.ok(Math.abs(s.meanExtractionStrength - s.extractionStrength.reduce((a, b) => a + b, 0) / items.length) < 1e-15);
});

test('teacher-forced predictions do not depend on batching or padding', () => {
  const items = makeItems();
  const one = teacherForcedPredictions(model, items, { batchSize: 1 });
  const all = teacherForcedPredictions(model, items, { batchSize: 12, padId: 7 });
  assert.deepEqual(all, one);
});

test('ES from predictions: last mismatch decides k; open-unlearning variant', () => {
  assert.equal(extractionStrength([1, 2, 3, 4], [1, 2, 3, 4]), 1);
  assert.equal(extractionStrength([9, 2, 3, 4], [1, 2, 3, 4]), 0.75);
  assert.equal(extractionStrength([1, 9, 3, 4], [1, 2, 3, 4]), 0.5);
  assert.equal(extractionStrength([1, 2, 3, 9], [1, 2, 3, 4]), 0);
  assert.equal(extractionStrength([1, 2, 3, 9], [1, 2, 3, 4], { matchOpenUnlearning: true }), 0.25);
  assert.equal(extractionStrength([1, 9, 3, 4], [1, 2, 3, 4], { matchOpenUnlearning: true }), 0.5);
  assert.equal(exactMemorisation([1, 9, 3, 9], [1, 2, 3, 4]), 0.5);
  assert.throws(() => exactMemorisation([1], [1, 2]), RangeError);
});
