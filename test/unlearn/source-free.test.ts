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
import { findingsOf, requireKnown, subjectGateOf, UnknownSubjectError } from '../../src/unlearn/source-free/assemble.ts';
import type { Claim } from '../../src/unlearn/source-free/probe.ts';
import { BANKS, fillTemplate, NAME, type BankTemplate } from '../../src/unlearn/source-free/bank.ts';
import { calibrate, empiricalQuantile, isConfident, thresholdOf } from '../../src/unlearn/source-free/calibrate.ts';
import { fictitiousNames } from '../../src/unlearn/source-free/names.ts';
import { probeNames, sentenceEnds } from '../../src/unlearn/source-free/probe.ts';
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
  const claim = (templateId: string, confidence: number, index = 0) => ({ templateId, confidence, index, form: templateId.includes('/q') ? 'question' as const : 'completion' as const });
  const templates = new Map<string, 'question' | 'completion'>([['a/q1', 'question'], ['a/c1', 'completion'], ['a/q2', 'question']]);
  test('template threshold = the ⌈q·n⌉-th smallest non-member confidence + margin; kept strictly above; a template without any falls back to its form', () => {
    assert.equal(empiricalQuantile([5, 1, 4, 2, 3], 0.8), 4);
    assert.equal(empiricalQuantile([5, 1, 4, 2, 3], 0.1), 1);
    const nonMember = [...[0.1, 0.2, 0.3, 0.4].map((c) => claim('a/q1', c)), claim('a/c1', -1), claim('a/c1', 0.5)];
    // positionQuantile tiny: the position thresholds are the least of each position, below every template threshold.
    const cal = calibrate(nonMember, templates, { quantile: 0.75, positionQuantile: 0.01, positions: 2, minPositionSamples: 1, margin: 0.05 });
    assert.deepEqual(cal.thresholds['a/q1'], { baseline: 0.3, threshold: 0.35, samples: 4, from: 'template' });
    assert.equal(cal.thresholds['a/q2']!.from, 'form');
    assert.equal(cal.thresholds['a/q2']!.baseline, 0.3);
    assert.equal(isConfident(claim('a/q1', 0.35), cal), false);
    assert.equal(isConfident(claim('a/q1', 0.36), cal), true);
    assert.throws(() => calibrate([], new Map([['a/q1', 'question']])), /no baseline/);
  });

  test('position threshold: per form and sentence position (later ones pooled); a claim must clear the higher of the two; an unreached position takes the last reached', () => {
    // Questions: positions 0 (0.1, 0.2), 1 (0.6, 0.8), 2+ (0.9 at index 2, 0.7 at index 5).
    const nonMember = [claim('a/q1', 0.1, 0), claim('a/q1', 0.2, 0), claim('a/q1', 0.6, 1), claim('a/q1', 0.8, 1), claim('a/q1', 0.9, 2), claim('a/q1', 0.7, 5), claim('a/c1', 0.3, 0)];
    const cal = calibrate(nonMember, templates, { quantile: 0.5, positionQuantile: 1, positions: 2, minPositionSamples: 1, margin: 0 });
    assert.equal(cal.thresholds['a/q1']!.threshold, 0.6);
    assert.deepEqual(cal.positionThresholds['question/0'], { baseline: 0.2, threshold: 0.2, samples: 2, from: 'position' });
    assert.equal(cal.positionThresholds['question/1']!.threshold, 0.8);
    assert.deepEqual(cal.positionThresholds['question/2'], { baseline: 0.9, threshold: 0.9, samples: 2, from: 'position' });
    assert.equal(cal.positionThresholds['completion/1']!.from, 'earlier');
    assert.equal(cal.positionThresholds['completion/2']!.threshold, 0.3);
    assert.equal(thresholdOf(claim('a/q1', 0, 0), cal), 0.6, 'template above position');
    assert.equal(thresholdOf(claim('a/q1', 0, 1), cal), 0.8, 'position above template');
    assert.equal(thresholdOf(claim('a/q1', 0, 7), cal), 0.9, 'index 7 is in the pooled last position');
    assert.equal(isConfident(claim('a/q1', 0.85, 1), cal), true);
    assert.equal(isConfident(claim('a/q1', 0.85, 3), cal), false);
  });

  test('position threshold: a position with too few non-member claims takes the last one that had enough; position 0 keeps its own', () => {
    // Questions: position 0 has 3 claims (most 0.3), position 1 has 2 (0.9 each), position 2+ has 3 (most 0.5).
    const nonMember = [0.1, 0.2, 0.3].map((c) => claim('a/q1', c, 0)).concat([claim('a/q1', 0.9, 1), claim('a/q1', 0.9, 1)], [0.4, 0.5, 0.45].map((c) => claim('a/q1', c, 2)), [claim('a/c1', 0.3, 0)]);
    const o = { quantile: 0.5, positionQuantile: 1, positions: 2, margin: 0 };
    const strict = calibrate(nonMember, templates, { ...o, minPositionSamples: 3 });
    assert.deepEqual(strict.positionThresholds['question/1'], { baseline: 0.3, threshold: 0.3, samples: 3, from: 'earlier' }, 'two claims are too few: position 0\'s');
    assert.deepEqual(strict.positionThresholds['question/2'], { baseline: 0.5, threshold: 0.5, samples: 3, from: 'position' });
    assert.deepEqual(strict.positionThresholds['completion/0'], { baseline: 0.3, threshold: 0.3, samples: 1, from: 'position' }, 'position 0 keeps its own');
    assert.equal(calibrate(nonMember, templates, { ...o, minPositionSamples: 2 }).positionThresholds['question/1']!.threshold, 0.9);
    assert.throws(() => calibrate(nonMember, templates, { ...o, minPositionSamples: 0 }), /minPositionSamples must be an integer ≥ 1/);
  });

  test('subject gate: a subject is known only with more confident claims than any fictitious name has', () => {
    const cal = calibrate([claim('a/q1', -1), claim('a/q1', -0.5), claim('a/c1', -1)], templates, { quantile: 1, positionQuantile: 1, positions: 1, minPositionSamples: 1, margin: 0 });
    const said = (name: string, lps: number[]): Claim[] => lps.map((lp, i) => ({
      name, templateId: 'a/q1', index: 0, asked: `Who is ${name}? (${i})`, form: 'question', before: '', last: true, prompt: [1], answer: [2], text: `fact ${i}`, meanLogProb: lp,
    }));
    const fictitious = [...said('Cy Orr', [-0.1, -0.2, -0.9]), ...said('Di Moss', [-0.1, -2])];
    assert.equal(subjectGateOf(fictitious, ['Cy Orr', 'Di Moss'], cal), 2, 'Cy Orr has two claims above -0.5');
    const subjects = [...said('Ann Vale', [-0.1, -0.1, -0.2, -3]), ...said('Bo Lind', [-0.1, -0.2, -3])];
    const f = findingsOf(subjects, ['Ann Vale', 'Bo Lind'], 'forget', cal, 2);
    assert.deepEqual(f.map((x) => [x.findings.confident, x.findings.kept.length, x.items.length]), [[3, 3, 3], [2, 0, 0]]);
    assert.throws(() => requireKnown({ subjects: f.map((x) => x.findings) }), (e: unknown) => e instanceof UnknownSubjectError && /"Bo Lind"/.test(e.message) && /2 of 3 claims/.test(e.message));
  });

  // The embedded target (4 layers, 256 wide): the tiny fixture's random weights never end a sentence.
  test('on a small model: claims are scored as the model said them', () => {
    const { model } = loadModel('models/target');
    const tokenizer = Tokenizer.fromDir('models/target');
    const padId = tokenizer.eosId ?? 0;
    const bank: BankTemplate[] = [{ id: 'x/q1', attribute: 'x', form: 'question', text: 'Who is {name}?' }, { id: 'x/c1', attribute: 'x', form: 'completion', text: '{name} is' }];
    const claims = probeNames(model, tokenizer, ['Tomas Ngata', 'Ann Vale'], bank, { questionTokens: 24, completionTokens: 24, maxClaims: 3, batchSize: 4, padId });
    assert.ok(claims.length > 0, 'the tiny model says something');
    const again = scoreAnswers(model, claims.map((c) => ({ prompt: c.prompt, answer: c.answer })), { padId });
    claims.forEach((c, i) => assert.ok(Math.abs(c.meanLogProb - again.mean[i]!) < 1e-5, `${c.templateId} #${c.index}`));
  });
});

describe('refusals', () => {
  test('an unknown subject: a clear error naming it', () => {
    assert.throws(() => requireKnown({ subjects: [{ name: 'Zed Nobody', role: 'forget', claims: 40, confident: 3, kept: [] }, { name: 'Ann Vale', role: 'forget', claims: 9, confident: 5, kept: [{ template: 'x', asked: 'x', text: 'y', confidence: 1, threshold: 0 }] }] }),
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
