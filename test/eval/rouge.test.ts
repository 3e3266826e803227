import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rougeL, rougeTokens } from '../../src/eval/rouge.ts';

test('rouge-score tokenisation: lower-case, non-alphanumerics split', () => {
  assert.deepEqual(rougeTokens("Born on 14-March, 1961 in São Paulo!"), ['born', 'on', '14', 'march', '1961', 'in', 's', 'o', 'paulo']);
});

test('ROUGE-L from the longest common subsequence', () => {
  const r = rougeL('the cat sat on the mat', 'the cat is on the mat');
  assert.equal(r.recall, 5 / 6);
  assert.equal(r.precision, 5 / 6);
  assert.equal(rougeL('a b c d', 'd c b a').recall, 1 / 4);
  assert.deepEqual(rougeL('a b', ''), { precision: 0, recall: 0, f1: 0 });
  assert.equal(rougeL('Ada was born in Turin.', 'ada was born in turin').f1, 1);
});
