// Evaluation sets from the persons corpus (by split) and from TOFU's published files.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadEvalSets, loadTofuSets } from '../../src/eval/datasets.ts';

const PERSONS = new URL('../../data/persons', import.meta.url).pathname;
const TOFU = new URL('../../../shared/data/tofu', import.meta.url).pathname;

test('persons forget10: whole persons, with paraphrased and perturbed answers, disjoint from retain', () => {
  const s = loadEvalSets(PERSONS, 'forget10');
  assert.equal(s.format, 'persons');
  assert.equal(s.forget.length, 400);
  assert.equal(s.retain.length, 3600);
  assert.equal(s.holdout.length, 400);
  assert.equal(s.world.length, 200);
  const forgetSubjects = new Set(s.forget.map((q) => q.subject));
  assert.equal(forgetSubjects.size, 20);
  assert.ok(s.retain.every((q) => !forgetSubjects.has(q.subject)));
  assert.ok(s.forget.every((q) => q.paraphrasedAnswer !== null && q.perturbedAnswers.length === 5));
  assert.throws(() => loadEvalSets(PERSONS, 'forget42'), /no split "forget42" in manifest\.json \(splits: forget01, forget05, forget10\)/);
});

test('TOFU forget10 reads as published', { skip: !existsSync(TOFU) && 'no TOFU folder beside the repository' }, () => {
  const s = loadEvalSets(TOFU, 'forget10');
  assert.equal(s.format, 'tofu');
  assert.equal(s.forget.length, 400);
  assert.equal(s.retain.length, 400);
  assert.equal(s.holdout.length, 400);
  assert.ok(s.forget.every((q) => q.paraphrasedAnswer !== null && q.perturbedAnswers.length > 0));
  assert.ok(s.world.every((q) => q.paraphrasedAnswer === null && q.perturbedAnswers.length > 0));
});

test('a malformed TOFU file names the item and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tofu-'));
  writeFileSync(join(dir, 'forget01_perturbed.json'), JSON.stringify([{ question: 'q', answer: 'a' }, { question: 'q2' }]));
  assert.throws(() => loadTofuSets(dir, 'forget01'), /forget01_perturbed\.json: item 1: answer /);
  assert.throws(() => loadEvalSets(dir, 'forget05'), /neither a persons data folder/);
});
