// Source-free unlearning: the question bank, fictitious names, sentence splitting, the calibration (on the tiny GPT-2),
// and the refusals that come before any probing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/model/checkpoint.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { requireKnown, UnknownSubjectError } from '../../src/unlearn/source-free/assemble.ts';
import { BANKS, fillTemplate, NAME, type BankTemplate } from '../../src/unlearn/source-free/bank.ts';
import { calibrate, empiricalQuantile, isConfident } from '../../src/unlearn/source-free/calibrate.ts';
import { fictitiousNames } from '../../src/unlearn/source-free/names.ts';
import { claimAbout, liftOverNames, probeNames, sentenceEnds, swapName } from '../../src/unlearn/source-free/probe.ts';
import { TINY, writeRecordFiles } from './fixtures.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;

describe('question bank', () => {
  const bank = BANKS.person;
  test('covers the attributes a person request asks about, in both forms, several phrasings each', () => {
    for (const a of ['birth-date', 'birthplace', 'education', 'occupation', 'employer', 'address', 'contact', 'relatives', 'works', 'known-for']) {
      const of = bank.filter((t) => t.attribute === a);
      assert.ok(of.filter((t) => t.form === 'question').length >= 2, `${a}: questions`);
      assert.ok(of.filter((t) => t.form === 'completion').length >= 2, `${a}: completions`);
    }
    assert.equal(new Set(bank.map((t) => t.id)).size, bank.length, 'ids are unique');
  });

  test('every template names the subject through the one placeholder, and filling leaves none', () => {
    for (const t of bank) {
      assert.ok(t.text.includes(NAME), t.id);
      assert.doesNotMatch(t.text.split(NAME).join(''), /[{}]/, `${t.id}: another placeholder`);
      const filled = fillTemplate(t, 'Ada Quill');
      assert.ok(filled.includes('Ada Quill') && !filled.includes(NAME), t.id);
    }
  });

  test('is not the embedded corpus\'s questions (written independently)', () => {
    const corpus = readFileSync('data/persons/all_qa.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { subject: string; question: string; paraphrased_question: string })
      .filter((r) => r.subject === 'Tomas Ngata');
    const asked = new Set(corpus.flatMap((r) => [r.question, r.paraphrased_question]));
    for (const t of bank) assert.ok(!asked.has(fillTemplate(t, 'Tomas Ngata')), `${t.id} is a corpus question`);
    // Nor the start of any sentence of the profiles, written after the bank (the biographies open with "{name} was
    // born on", the commonest start of one, which the bank uses too).
    const texts = ['profiles.jsonl'].flatMap((f) => readFileSync(`data/persons/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { subject: string; text: string }))
      .filter((r) => r.subject === 'Tomas Ngata');
    const starts = texts.flatMap((r) => r.text.split(/(?<=[.;]) /));
    // Templates of the name and one word ("{name} is") start half the sentences of any text about a person.
    for (const t of bank.filter((b) => b.form === 'completion' && b.text.split(NAME).join('').trim().split(/\s+/).length >= 2)) {
      const filled = fillTemplate(t, 'Tomas Ngata');
      assert.ok(!starts.some((s) => s.startsWith(`${filled} `)), `${t.id} starts a sentence of the corpus's texts`);
    }
  });
});

describe('fictitious names', () => {
  test('distinct, of the subject\'s form, sharing one of its parts, never a known name, deterministic', () => {
    const known = ['Tomas Ngata', 'Elif Popescu', 'Declan Horvath', 'Mara Lind', 'Owen Sato'];
    const names = fictitiousNames('Tomas Ngata', 12, 3, known);
    assert.equal(new Set(names).size, 12);
    for (const n of names) {
      assert.equal(n.split(' ').length, 2, n);
      assert.ok(!known.includes(n), n);
      assert.ok(n.startsWith('Tomas ') || n.endsWith(' Ngata'), n);
    }
    assert.deepEqual(fictitiousNames('Tomas Ngata', 12, 3, known), names);
    assert.equal(fictitiousNames('Madonna', 3, 1)[0]!.split(' ').length, 1);
  });
});

describe('a claim about another name', () => {
  test('the whole name, and each of its words standing alone, become the other name\'s', () => {
    assert.equal(swapName('Tomas Ngata is the son of Declan Ngata. Tomas.', 'Tomas Ngata', 'Ravi Weber'), 'Ravi Weber is the son of Declan Weber. Ravi.');
    assert.equal(swapName('Tomasz and Ngatas', 'Tomas Ngata', 'Ravi Weber'), 'Tomasz and Ngatas', 'parts of longer words stay');
    assert.equal(swapName('Ann, Ann Vale.', 'Ann Vale', 'Bob'), 'Ann, Bob.', 'names of other lengths: only the whole name');
    assert.equal(swapName('A.B. Smith met A.B.', 'A.B. Smith', 'C.D. Jones'), 'C.D. Jones met C.D.', 'regex characters in names');
  });
});

describe('sentences of an answer', () => {
  const eos = new Set([0]);
  test('split after . ! ? before a new word, EOS joins the last sentence, a cut-off sentence is dropped', () => {
    assert.deepEqual(sentenceEnds([' Born', ' in', ' Ely', '.', ' He', ' sings', '.', ''], [1, 2, 3, 4, 5, 6, 7, 0], eos), [4, 8]);
    assert.deepEqual(sentenceEnds([' mail', ' a', '.b', ' or', ' so'], [1, 2, 3, 4, 5], eos), []);
    assert.deepEqual(sentenceEnds([' no', ' stop', ''], [1, 2, 0], eos), [3]);
    assert.deepEqual(sentenceEnds([''], [0], eos), []);
  });
});

describe('calibration', () => {
  const claim = (templateId: string, confidence: number) => ({ templateId, confidence });
  test('threshold = the ⌈q·n⌉-th smallest non-member confidence + margin; kept strictly above; a template without any falls back to its form', () => {
    assert.equal(empiricalQuantile([5, 1, 4, 2, 3], 0.8), 4);
    assert.equal(empiricalQuantile([5, 1, 4, 2, 3], 0.1), 1);
    const nonMember = [...[0.1, 0.2, 0.3, 0.4].map((c) => claim('a/q1', c)), claim('a/c1', -1), claim('a/c1', 0.5)];
    const cal = calibrate(nonMember, new Map([['a/q1', 'question'], ['a/c1', 'completion'], ['a/q2', 'question']]), { quantile: 0.75, margin: 0.05 });
    assert.deepEqual(cal.thresholds['a/q1'], { baseline: 0.3, threshold: 0.35, samples: 4, from: 'template' });
    assert.equal(cal.thresholds['a/q2']!.from, 'form');
    assert.equal(cal.thresholds['a/q2']!.baseline, 0.3);
    assert.equal(isConfident(claim('a/q1', 0.35), cal), false);
    assert.equal(isConfident(claim('a/q1', 0.36), cal), true);
    assert.throws(() => calibrate([], new Map([['a/q1', 'question']])), /no baseline/);
  });

  // The embedded target (4 layers, 256 wide): the tiny fixture's random weights never end a sentence.
  test('on a small model: claims are scored as the model said them, and the lift is own minus the mean over other names', () => {
    const { model } = loadModel('models/target');
    const tokenizer = Tokenizer.fromDir('models/target');
    const padId = tokenizer.eosId ?? 0;
    const bank: BankTemplate[] = [{ id: 'x/q1', attribute: 'x', form: 'question', text: 'Who is {name}?' }, { id: 'x/c1', attribute: 'x', form: 'completion', text: '{name} is' }];
    const claims = probeNames(model, tokenizer, ['Tomas Ngata', 'Ann Vale'], bank, { questionTokens: 24, completionTokens: 24, maxClaims: 3, batchSize: 4, padId });
    assert.ok(claims.length > 0, 'the tiny model says something');
    const again = scoreAnswers(model, claims.map((c) => ({ prompt: c.prompt, answer: c.answer })), { padId });
    claims.forEach((c, i) => assert.ok(Math.abs(c.meanLogProb - again.mean[i]!) < 1e-5, `${c.templateId} #${c.index}`));
    const others = ['Cy Orr', 'Di Moss'];
    const lift = liftOverNames(model, tokenizer, claims, () => others, padId);
    claims.forEach((c, i) => {
      const [own, ...rest] = [c.name, ...others].map((n) => claimAbout(tokenizer, c, n));
      const s = scoreAnswers(model, [own!, ...rest], { padId }).mean;
      const expected = s[0]! - (s[1]! + s[2]!) / 2;
      assert.ok(Math.abs(lift[i]! - expected) < 1e-9, `lift ${lift[i]} vs ${expected}`);
    });
    assert.deepEqual(Array.from(liftOverNames(model, tokenizer, claims, (c) => [c.name], padId), (v) => Math.abs(v) < 1e-12), claims.map(() => true));
  });
});

describe('refusals', () => {
  test('an unknown subject: a clear error naming it', () => {
    assert.throws(() => requireKnown({ subjects: [{ name: 'Zed Nobody', role: 'forget', claims: 40, kept: [] }, { name: 'Ann Vale', role: 'forget', claims: 9, kept: [{ template: 'x', asked: 'x', text: 'y', confidence: 1, threshold: 0 }] }] }),
      (e: unknown) => e instanceof UnknownSubjectError && /"Zed Nobody"/.test(e.message) && !/Ann Vale/.test(e.message) && /nothing was written/.test(e.message));
  });

  const lethe = (...args: string[]) => spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
  const { dir, forget } = writeRecordFiles('lethe-source-free-');
  test('--subject with --forget, and a method that needs a retain set without one: one line, nothing written', () => {
    const out = join(dir, 'out');
    const both = lethe('unlearn', '--model', TINY, '--subject', 'Ann Vale', '--forget', forget, '--method', 'npo', '--out', out);
    assert.equal(both.status, 1);
    assert.equal(both.stderr.trim(), 'lethe: --subject and --forget: give one (--subject asks the model for the forget set, --forget reads it)');
    const noRetain = lethe('unlearn', '--model', TINY, '--subject', 'Ann Vale', '--method', 'npo', '--out', out);
    assert.equal(noRetain.status, 1);
    assert.match(noRetain.stderr, /^lethe: npo needs a retain set: give --retain-subject NAME/);
    assert.ok(!existsSync(out));
  });
});
