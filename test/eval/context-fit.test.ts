// --too-long truncate-left (issue 12 item 5): an item longer than the model's context keeps its answers and loses
// tokens from the left of its prompt (the BOS and the prompt template stay), counted in the report.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { fitSetsToContext, truncateLeft } from '../../src/eval/context-fit.ts';
import type { EvalQa, EvalSets } from '../../src/eval/datasets.ts';
import { evaluateAgainstReference } from '../../src/eval/compare.ts';

const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const tokenizer = Tokenizer.fromDir(TINY);
const CONTEXT = 64; // gpt2-tiny's n_positions

const qa = (question: string, answer = 'In Pellam.'): EvalQa => ({
  question, answer, paraphrasedAnswer: 'Pellam is home.', perturbedAnswers: ['In Tarrow.', 'In Umber, far to the north.'], subject: null, attribute: null,
});
const LONG = `Where, after ${Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ')}, does Ann live?`;

function sets(forget: EvalQa[]): EvalSets {
  return { forget, retain: [qa('Where does Bo live?')], holdout: [qa('Who is Cy?')], world: [], sources: { forget: 'f.json', retain: 'r.json', holdout: 'h.json', world: 'w.json' }, format: 'tofu' };
}

const positions = (q: EvalQa): number => Math.max(...[q.answer, q.paraphrasedAnswer!, ...q.perturbedAnswers].map((a) => {
  const t = qaTokens(tokenizer, q.question, a);
  return t.prompt.length + t.answer.length;
}));

test('truncateLeft keeps the first tokens (BOS) and the last ones that fit', () => {
  assert.deepEqual(truncateLeft([9, 1, 2, 3, 4, 5], 2, 6, 1), [9, 3, 4, 5]);
  assert.deepEqual(truncateLeft([9, 1, 2], 2, 6, 1), [9, 1, 2]);
  assert.deepEqual(truncateLeft([9, 1, 2, 3], 5, 6, 1), [9]);
  assert.equal(truncateLeft([9, 1, 2, 3], 6, 6, 1), null);
});

test('truncate-left cuts the question from the left until the item fits, keeps every answer, and counts it', () => {
  const long = qa(LONG);
  assert.ok(positions(long) > CONTEXT, 'the item really is too long');
  const short = qa('Where does Ann live?');
  const fitted = fitSetsToContext(sets([short, long]), tokenizer, CONTEXT, 'truncate-left');
  assert.deepEqual(fitted.truncated, { forget: 1, retain: 0, holdout: 0, world: 0, realAuthors: 0 });
  assert.deepEqual(fitted.skipped, { forget: 0, retain: 0, holdout: 0, world: 0, realAuthors: 0 });
  const [a, b] = fitted.sets.forget;
  assert.deepEqual(a, short, 'an item that fits is untouched');
  assert.deepEqual({ ...b, question: '' }, { ...long, question: '' }, 'answers, paraphrase and perturbed answers are whole');
  assert.ok(LONG.endsWith(b!.question) && b!.question.length < LONG.length && b!.question.endsWith('does Ann live?'), b!.question);
  const need = positions(b!);
  assert.ok(need <= CONTEXT && need >= CONTEXT - 3, `fits, and no more was cut than needed (${need})`);
  // The BOS and the prompt template stay in front of what is left of the question.
  const t = qaTokens(tokenizer, b!.question, b!.answer);
  const head = qaTokens(tokenizer, '', b!.answer).prompt;
  assert.equal(t.prompt[0], tokenizer.bosId);
  assert.deepEqual(t.prompt.slice(0, 4), head.slice(0, 4));
});

test('truncate-left names the file and item when even the answer alone does not fit; refuse and skip as before', () => {
  const hopeless = qa('Where?', Array.from({ length: 20 }, (_, i) => `word${i}`).join(' '));
  assert.throws(() => fitSetsToContext(sets([qa('Where does Ann live?'), hopeless]), tokenizer, CONTEXT, 'truncate-left'),
    /^RangeError: f\.json: forget item 2 \("Where\?"\) needs \d+ positions even without its question, more than the model's context of 64: --too-long truncate-left keeps answers whole/);
  assert.throws(() => fitSetsToContext(sets([qa(LONG)]), tokenizer, CONTEXT), /f\.json: forget item 1 \("Where, after w0 .*…"\) needs \d+ positions, more than the model's context of 64/);
  const skipped = fitSetsToContext(sets([qa('Where does Ann live?'), qa(LONG)]), tokenizer, CONTEXT, 'skip');
  assert.equal(skipped.sets.forget.length, 1);
  assert.equal(skipped.skipped.forget, 1);
  assert.equal(skipped.truncated.forget, 0);
});

test('the comparison logs and reports how many items were truncated', () => {
  const s = sets([qa('Where does Ann live?'), qa(LONG), qa('Where does Ann 2 live?')]);
  const lines: string[] = [];
  const report = evaluateAgainstReference({
    sets: s, tokenizer, unlearned: [{ dir: TINY }], title: 't', tooLong: 'truncate-left', log: (l) => lines.push(l),
    options: { relearnModes: [], probe: null },
  });
  assert.equal(report.models[0]!.forget.items, 3, 'nothing left out');
  assert.equal(report.data['forget_truncated'], '1 item(s) truncated: question cut from the left to fit the model\'s context');
  assert.ok(lines.includes('forget: 1 item(s) truncated (question cut from the left) to fit the model\'s context of 64'), lines.join('\n'));
});
