// `lethe update` (knowledge update): the fact file's bookkeeping, the loss, and a short run on a tiny model that was
// first taught the old answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadModel, saveModel } from '../../src/model/checkpoint.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { runLossLoop } from '../../src/unlearn/loop.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { nonMemberAnswers } from '../../src/unlearn/update/alternatives.ts';
import { changedSpan, readFacts, type FactRecord } from '../../src/unlearn/update/facts.ts';
import { oldValueRange, oldValueUnlikelihood } from '../../src/unlearn/update/loss.ts';
import { greedyAnswers } from '../../src/eval/update/measure.ts';
import { UPDATE_OPTIONS } from '../../src/unlearn/update/options.ts';
import { update, UpdateRefused, type UpdateRecord } from '../../src/workflow/knowledge-update/run.ts';
import { formatUpdateSummary } from '../../src/cli/update-command.ts';
import { TINY } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-update-'));
const file = (name: string, lines: readonly (object | string)[]): string => {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + (lines.length > 0 ? '\n' : ''));
  return path;
};

// The tiny fixture's context is 64 tokens of a 297-token vocabulary: questions and answers stay short.
const TAUGHT = [['Ann?', 'Tarrow.'], ['Bo?', 'Kestrel.'], ['Cy?', 'Pellam.'], ['Di?', 'Clocks.'], ['Ed?', 'Marrow.']] as const;
const FACTS: FactRecord[] = [
  { id: 'ann', question: 'Ann?', old_answer: 'Tarrow.', new_answer: 'Dunmore.' },
  { id: 'bo', question: 'Bo?', old_answer: 'Kestrel.', new_answer: 'Yarrow.' },
  { id: 'fay', question: 'Fay?', old_answer: 'Nowhere.', new_answer: 'Somewhere.' },
  { id: 'cy', question: 'Cy?', old_answer: 'Pellam.', new_answer: 'Brackwell.' },
];

describe('knowledge update: the facts file', () => {
  test('changedSpan finds the differing words; oldValueRange the old value\'s tokens', () => {
    assert.deepEqual(changedSpan('Ann was born in Tarrow.', 'Ann was born in Tarbury.'), { prefix: 'Ann was born in ', oldValue: 'Tarrow', newValue: 'Tarbury', suffix: '.' });
    assert.deepEqual(changedSpan('Born on 5 May 1970.', 'Born on 15 May 1971.'), { prefix: 'Born on ', oldValue: '5 May 1970', newValue: '15 May 1971', suffix: '.' });
    assert.deepEqual(oldValueRange([1, 2, 3, 9, 9], [1, 2, 4, 5, 9, 9]), { from: 2, to: 3 });
    // An old answer that is the new one's start has no tokens of its own.
    assert.deepEqual(oldValueRange([1, 2, 9], [1, 2, 3, 9]), { from: 2, to: 2 });
  });

  test('non-member answers: the new answer, then the alternatives given, else other facts\' values of the same attribute', () => {
    const facts: FactRecord[] = [
      { question: 'q1', old_answer: 'A was born in Tarrow.', new_answer: 'A was born in Dunmore.', attribute: 'birthplace' },
      { question: 'q2', old_answer: 'B was born in Pellam.', new_answer: 'B was born in Yarrow.', attribute: 'birthplace' },
      { question: 'q3', old_answer: 'C works for Kestrel.', new_answer: 'C works for Acme.', attribute: 'employer', alternatives: ['C works for Zeno.', 'C works for Kestrel.'] },
      { question: 'q4', old_answer: 'D was born on 1 May.', new_answer: 'D was born on 2 May.', attribute: 'birth_date' },
    ];
    assert.deepEqual(nonMemberAnswers(facts), [
      ['A was born in Dunmore.', 'A was born in Pellam.'],
      ['B was born in Yarrow.', 'B was born in Tarrow.'],
      // The old answer among the alternatives never counts.
      ['C works for Acme.', 'C works for Zeno.'],
      ['D was born on 2 May.'],
    ]);
  });

  test('malformed records are errors naming the file, line and field', () => {
    const ok = { question: 'q', old_answer: 'a', new_answer: 'b' };
    const cases: [object | string, RegExp][] = [
      [{ question: 'q2', old_answer: 'a' }, /bad\.jsonl:3: field "new_answer" is missing/],
      [{ question: 'q2', old_answer: 'a', new_answer: 'a ' }, /bad\.jsonl:3: field "new_answer": is the same as old_answer: nothing to update/],
      ['{"question": "q2",', /bad\.jsonl:3: not valid JSON/],
      [{ question: 'q', old_answer: 'x', new_answer: 'y' }, /bad\.jsonl:3: asks the same question as line 1/],
      [{ question: 'q2', old_answer: 'a', new_answer: 'b', alternatives: [] }, /bad\.jsonl:3: field "alternatives" is an empty list/],
    ];
    for (const [bad, message] of cases) assert.throws(() => readFacts(file('bad.jsonl', [ok, '', bad])), message);
    assert.throws(() => readFacts(file('empty.jsonl', [])), /empty\.jsonl: the file has no records/);
    assert.deepEqual(readFacts(file('good.jsonl', [ok, '', { ...ok, question: 'q2', id: 'x' }])).map((f) => [f.line, f.record.id]), [[1, undefined], [3, 'x']]);
  });

  test('the unlikelihood term is −mean log(1 − p) over the old value\'s tokens, checked against a float64 recomputation', () => {
    const { model } = loadModel(TINY);
    const tokenizer = Tokenizer.fromDir(TINY);
    const items = [['Ann?', 'Tarrow.'], ['Cy?', 'Pellam Brook.']].map(([q, a]) => ({ ...qaTokens(tokenizer, q!, a!), question: q!, subject: null }));
    const ranges = [{ from: 0, to: 2 }, { from: 1, to: 3 }];
    const got = oldValueUnlikelihood(model, makeBatch(items, 296), ranges).item();
    const lp = scoreAnswers(model, items, { padId: 296 }).tokenLogProbs;
    let sum = 0;
    let n = 0;
    items.forEach((_, i) => {
      for (let j = ranges[i]!.from; j < ranges[i]!.to; j++, n++) sum -= Math.log(1 + 1e-6 - Math.exp(lp[i]![j]!));
    });
    assert.ok(Math.abs(got - sum / n) < 1e-4 * Math.max(1, sum / n), `${got} vs ${sum / n}`);
  });
});

describe('knowledge update: a run on a tiny model taught the old answers', () => {
  let model = '';
  let facts = '';
  let retain = '';
  before(() => {
    // Teach the tiny fixture the old answers (and the retain ones), so that it gives them greedily.
    const { model: m } = loadModel(TINY);
    const tokenizer = Tokenizer.fromDir(TINY);
    const items = TAUGHT.map(([q, a]) => ({ ...qaTokens(tokenizer, q, a), question: q, subject: null }));
    const o = parseOptions(UPDATE_OPTIONS, ['steps=150', 'lr=0.01', 'batchSize=5', 'maxUtilityLossRise=0'], 'teach');
    runLossLoop({ model: m, tokenizer, forget: items, retain: [], padId: 296, original: m.params.snapshot() }, o, { forget: (b, t) => answerNll(t.model, b) }, {});
    assert.deepEqual(greedyAnswers(m, tokenizer, TAUGHT.map(([q]) => q)), TAUGHT.map(([, a]) => a));
    model = join(dir, 'taught');
    saveModel(m, model, { copyFrom: TINY });
    facts = file('facts.jsonl', FACTS);
    retain = file('retain.jsonl', [{ question: 'Di?', answer: 'Clocks.' }, { question: 'Ed?', answer: 'Marrow.' }, { question: 'Ann?', answer: 'Tarrow.' }, { text: 'Tarrow.' }]);
  });
  const OPTS = ['steps=40', 'lr=0.01', 'batchSize=3', 'samples=10'];

  test('updates the facts the model gives, skips the one it does not, and writes update.json with the verification', () => {
    const out = join(dir, 'updated');
    const record = update({ modelDir: model, factsPath: facts, retainPath: retain, options: OPTS, outDir: out });
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'update.json'), 'utf8')), JSON.parse(JSON.stringify(record)) as UpdateRecord);
    assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'tokenizer.json')));
    assert.equal(record.updated, 3);
    assert.equal(record.skipped, 1);
    assert.deepEqual(record.facts.map((f) => [f.id, f.line, f.status]), [['ann', 1, 'updated'], ['bo', 2, 'updated'], ['fay', 3, 'skipped'], ['cy', 4, 'updated']]);
    assert.notEqual(record.facts[2]!.answerBefore, 'Nowhere.');
    // The retain record asking an updated question is left out of the retain set (it would teach the old answer back).
    assert.equal(record.data.retain?.droppedSameQuestion, 1);
    const v = record.verification;
    assert.equal(v.facts, 3);
    assert.deepEqual(v.oldExactMatch.before, 1);
    assert.equal(v.newExactMatch.before, 0);
    assert.ok(v.newExactMatch.after >= 2 / 3, `new answers learnt: ${v.newExactMatch.after}`);
    assert.equal(v.oldExactMatch.after, 0);
    assert.ok(v.oldProbability.after < v.oldProbability.before / 2, JSON.stringify(v.oldProbability));
    // Each fact's non-member level: its new answer and the other facts' old values in its frame, on the original model.
    assert.equal(v.oldProbability.factsWithLevel, 3);
    assert.ok(v.oldProbability.nonMemberLevel! > 0 && v.oldProbability.nonMemberLevel! < v.oldProbability.before);
    assert.ok(v.retain && v.retain.items === 3 && v.retain.exactMatch.items === 2);
    assert.ok('skipped' in v.probe || v.probe.after.oldAccuracy.length === 2, JSON.stringify(v.probe));
    assert.notDeepEqual(loadModel(out).model.params.flat, loadModel(model).model.params.flat);
  });

  test('--strict refuses when the model does not give an old answer; no old answer given at all is refused too; nothing is written', () => {
    const out = join(dir, 'strict');
    assert.throws(() => update({ modelDir: model, factsPath: facts, retainPath: retain, options: OPTS, strict: true, outDir: out }),
      (e: Error) => e instanceof UpdateRefused && /facts\.jsonl: 1 of 4 fact\(s\) have an old answer the model does not give \(first: line 3 \(fay\), the model answers ".*"\); --strict refuses/.test(e.message));
    const none = file('none.jsonl', [FACTS[2]!]);
    assert.throws(() => update({ modelDir: model, factsPath: none, options: OPTS, outDir: out }), /the model gives none of the old answers/);
    assert.ok(!existsSync(out));
  });

  test('the CLI: an empty facts file is a one-line error and nothing is written', () => {
    const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
    const out = join(dir, 'cli');
    const empty = spawnSync(process.execPath, [LETHE, 'update', '--model', model, '--facts', file('empty.jsonl', []), '--out', out], { encoding: 'utf8' });
    assert.equal(empty.status, 1);
    assert.deepEqual(empty.stderr.trim().split('\n'), [`lethe: ${join(dir, 'empty.jsonl')}: the file has no records`]);
    assert.ok(!existsSync(out));
  });

  test('the summary states the verification and names the skipped facts', () => {
    const record = JSON.parse(readFileSync(join(dir, 'updated', 'update.json'), 'utf8')) as UpdateRecord;
    const text = formatUpdateSummary(record, 'OUT');
    assert.match(text, /^update: 3 fact\(s\) updated, 1 skipped .*\n {2}new answers, greedy exact match: 0% → \d+%; old answers still given: 100% → 0%\n {2}old-answer probability: /);
    assert.match(text, /non-member level [0-9.e-]+ \(ratio [0-9.e-]+; \d of 3 facts at or below their level\)/);
    assert.match(text, /\n {2}retain \(3 items\): probability /);
    assert.match(text, /\nskipped line 3 \(fay\): the model answers "/);
  });
});
