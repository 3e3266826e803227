// Evaluation sets from the persons corpus (by split), from TOFU's published files in both layouts, and the MUSE check.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectEvalFormat, loadEvalSets, loadTofuSets } from '../../src/eval/datasets.ts';
import { parseFieldMap } from '../../src/data/fields.ts';

const PERSONS = new URL('../../data/persons', import.meta.url).pathname;
const TOFU = new URL('../../../shared/data/tofu', import.meta.url).pathname;
const TOFU_JSONL = new URL('../fixtures/data/tofu-jsonl', import.meta.url).pathname;
const MUSE = new URL('../fixtures/data/muse-mini', import.meta.url).pathname;

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
  assert.throws(() => loadTofuSets(dir, 'forget01'), /forget01_perturbed\.json:1: item 2 of the array: field "answer" is missing$/);
  assert.throws(() => loadEvalSets(dir, 'forget05'), /neither a persons data folder \(manifest\.json\), a TOFU folder \(forget05_perturbed\.json\) nor a MUSE folder/);
});

test('TOFU as Hugging Face publishes it (JSON Lines) reads to the same items as the JSON arrays (issue 12 item 4)', { skip: !existsSync(TOFU) && 'no TOFU folder beside the repository' }, () => {
  const lines = loadEvalSets(TOFU_JSONL, 'forget01');
  const arrays = loadEvalSets(TOFU, 'forget01');
  assert.equal(lines.format, 'tofu');
  for (const name of ['forget', 'retain', 'holdout', 'world'] as const) {
    assert.equal(lines[name].length, 3, name);
    assert.deepEqual(lines[name], arrays[name].slice(0, 3), name);
  }
  assert.ok(lines.forget.every((q) => q.paraphrasedAnswer !== null && q.perturbedAnswers.length === 5));
});

test('--field: a TOFU-layout folder whose files name the fields differently', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tofu-renamed-'));
  const row = (i: number) => ({ q: `Where does Ann ${i} live?`, a: `In Pellam ${i}.`, para: `Pellam ${i} is home.`, wrong: [`In Tarrow ${i}.`] });
  for (const f of ['forget01_perturbed.json', 'retain_perturbed.json', 'holdout01.json', 'world_facts_perturbed.json']) {
    writeFileSync(join(dir, f), [0, 1].map((i) => JSON.stringify(row(i))).join('\n'));
  }
  assert.throws(() => loadEvalSets(dir, 'forget01'), /forget01_perturbed\.json:1: field "question" is missing$/);
  const fields = parseFieldMap(['question=q,answer=a', 'paraphrased_answer=para,perturbed_answer=wrong']);
  const s = loadEvalSets(dir, 'forget01', { fields });
  assert.deepEqual(s.forget[1], { question: 'Where does Ann 1 live?', answer: 'In Pellam 1.', paraphrasedAnswer: 'Pellam 1 is home.', perturbedAnswers: ['In Tarrow 1.'], subject: null, attribute: null });
  writeFileSync(join(dir, 'holdout01.json'), `${JSON.stringify(row(0))}\n${JSON.stringify({ q: 'Who?' })}`);
  assert.throws(() => loadEvalSets(dir, 'forget01', { fields }), /holdout01\.json:2: field "a" \(read as "answer", --field answer=a\) is missing$/);
});

test('a MUSE folder is recognised, and sent to the MUSE reader', () => {
  assert.equal(detectEvalFormat(MUSE, 'forget10'), 'muse');
  assert.throws(() => loadEvalSets(MUSE, 'forget10'), /a MUSE folder is scored with MUSE's metrics/);
});
