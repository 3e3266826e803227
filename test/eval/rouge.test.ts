import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { porterStem, rougeL, rougeTokens } from '../../src/eval/rouge.ts';

interface Score { precision: number; recall: number; fmeasure: number }
interface RougeCase { target: string; prediction: string; tokens: string[]; stemmed_tokens: string[]; plain: Score; stemmed: Score }
const rougeFx = JSON.parse(readFileSync(new URL('../fixtures/eval/rouge.json', import.meta.url), 'utf8')) as { cases: RougeCase[] };
const porterFx = JSON.parse(readFileSync(new URL('../fixtures/eval/porter.json', import.meta.url), 'utf8')) as { mode: string; stems: Record<string, string> };

test('rouge-score tokenisation: lower-case, non-alphanumerics split', () => {
  assert.deepEqual(rougeTokens('Born on 14-March, 1961 in São Paulo!'), ['born', 'on', '14', 'march', '1961', 'in', 's', 'o', 'paulo']);
  assert.deepEqual(rougeTokens('The runners were running', { stem: true }), ['the', 'runner', 'were', 'run']);
});

test('ROUGE-L from the longest common subsequence', () => {
  const r = rougeL('the cat sat on the mat', 'the cat is on the mat');
  assert.equal(r.recall, 5 / 6);
  assert.equal(r.precision, 5 / 6);
  assert.equal(rougeL('a b c d', 'd c b a').recall, 1 / 4);
  assert.deepEqual(rougeL('a b', ''), { precision: 0, recall: 0, f1: 0 });
  assert.equal(rougeL('Ada was born in Turin.', 'ada was born in turin').f1, 1);
});

test('Porter stemmer equals nltk PorterStemmer() (NLTK_EXTENSIONS) on the word list', () => {
  assert.equal(porterFx.mode, 'NLTK_EXTENSIONS');
  const wrong: string[] = [];
  for (const [word, stem] of Object.entries(porterFx.stems)) if (porterStem(word) !== stem) wrong.push(`${word}: ${porterStem(word)} != ${stem}`);
  assert.ok(Object.keys(porterFx.stems).length > 10000);
  assert.deepEqual(wrong, []);
});

test('tokens and ROUGE-L precision/recall/F1 match rouge-score, with and without stemming', () => {
  for (const c of rougeFx.cases) {
    assert.deepEqual(rougeTokens(c.target), c.tokens, c.target);
    assert.deepEqual(rougeTokens(c.target, { stem: true }), c.stemmed_tokens, c.target);
    for (const [stem, want] of [[false, c.plain], [true, c.stemmed]] as const) {
      const got = rougeL(c.target, c.prediction, { stem });
      for (const [k, w] of [['precision', want.precision], ['recall', want.recall], ['f1', want.fmeasure]] as const) {
        assert.ok(Math.abs(got[k] - w) <= 1e-12, `${k} stem=${stem} "${c.target}" / "${c.prediction}": ${got[k]} vs ${w}`);
      }
    }
  }
});
