// A QA set scored in one pass with each question computed once (scoreQaSet) against every answer scored as its own
// prompt+answer pair: the same probabilities, truth-ratio inputs and membership statistics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import { answerTokenStats } from '../../src/eval/mia.ts';
import { scoreQaSet } from '../../src/eval/qa-scores.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const root = new URL('../../', import.meta.url).pathname;

test('scoreQaSet equals separate passes over the true, paraphrased and perturbed answers', () => {
  const sets = loadEvalSets(`${root}data/persons`, 'forget10');
  const tokenizer = Tokenizer.fromDir(`${root}models/target`);
  const { model } = loadModel(`${root}models/target`);
  // Items with and without a paraphrase, so both layouts of a group are covered.
  const items = [...sets.forget.slice(0, 9), ...sets.retain.slice(0, 3).map((q) => ({ ...q, paraphrasedAnswer: null }))];
  const pad = tokenizer.eosId ?? 0;
  const got = scoreQaSet(model, tokenizer, items, pad, 10, { moments: true, argmax: true });
  const pairs = (answer: (q: (typeof items)[number]) => string): ReturnType<typeof qaTokens>[] => items.map((q) => qaTokens(tokenizer, q.question, answer(q)));
  const truth = scoreAnswers(model, pairs((q) => q.answer), { padId: pad });
  const para = scoreAnswers(model, pairs((q) => q.paraphrasedAnswer ?? q.answer), { padId: pad });
  const close = (a: number, b: number, what: string, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
  items.forEach((q, i) => {
    close(got.answer[i]!, truth.mean[i]!, `answer ${i}`);
    close(got.paraphrased[i]!, para.mean[i]!, `paraphrase ${i}`);
    const pert = scoreAnswers(model, q.perturbedAnswers.map((p) => qaTokens(tokenizer, q.question, p)), { padId: pad });
    assert.equal(got.perturbed[i]!.length, q.perturbedAnswers.length);
    pert.mean.forEach((m, k) => close(got.perturbed[i]![k]!, m, `perturbed ${i}/${k}`));
  });
  const stats = answerTokenStats(model, pairs((q) => q.answer), { padId: pad, moments: true, argmax: true });
  const t = got.truthStats!;
  items.forEach((_, i) => {
    stats.tokenLogProbs[i]!.forEach((v, j) => close(t.tokenLogProbs[i]![j]!, v, `token log-prob ${i}/${j}`));
    stats.mu![i]!.forEach((v, j) => close(t.mu![i]![j]!, v, `μ ${i}/${j}`));
    stats.variance![i]!.forEach((v, j) => close(t.variance![i]![j]!, v, `σ² ${i}/${j}`, 1e-4));
    assert.deepEqual(Array.from(t.argmax![i]!), Array.from(stats.argmax![i]!), `argmax ${i}`);
  });
  assert.equal(scoreQaSet(model, tokenizer, items, pad).truthStats, null, 'no statistics unless asked for');
});
