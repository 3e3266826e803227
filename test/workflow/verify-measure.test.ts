import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrainingRecord } from '../../src/data/schema.ts';
import { extractionStrength, teacherForcedPredictions } from '../../src/eval/extraction.ts';
import { miaScores } from '../../src/eval/mia.ts';
import { scoreQaSet } from '../../src/eval/qa-scores.ts';
import { truthRatios } from '../../src/eval/truth-ratio.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { answerProbability } from '../../src/model/logprobs.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { measureModel, scoreSide, side } from '../../src/workflow/verify/measure.ts';
import { barFor } from '../../src/workflow/verify/policy.ts';
import { TINY_MODEL } from './fixtures.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('verification scores a side in one pass exactly as the separate measures do', () => {
  const { model } = loadModel(TINY_MODEL);
  const tokenizer = Tokenizer.fromDir(TINY_MODEL);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  // Short records: the fixture's context is 64 tokens.
  const records: TrainingRecord[] = ['Ada', 'Bo', 'Cy', 'Di', 'Ed', 'Flo', 'Gus'].map((name, i) => ({
    kind: 'qa', question: `Where was ${name} born?`, answer: `In town ${i}.`, paraphrased_answer: `Town ${i}.`,
    perturbed_answers: [`In city ${i + 1}.`, `In village ${i}.`, 'At sea.'], subject: name,
  }));
  const s = side(records, tokenizer, model.config.maxPositions);
  const one = scoreSide(model, tokenizer, s, padId);
  // The separate passes, each through its own public entry point.
  const mia = miaScores(model, s.mia, { padId, k: 0.4 });
  for (const attack of ['loss', 'zlib', 'minK', 'minKPlusPlus'] as const) close(one.mia[attack]!, mia[attack]!, 1e-5, attack);
  const preds = teacherForcedPredictions(model, s.items, { padId });
  assert.deepEqual(one.extraction, preds.map((p, i) => extractionStrength(p, s.items[i]!.answer)));
  const qa = records.map((r) => (r.kind === 'qa' ? { question: r.question, answer: r.answer, paraphrasedAnswer: r.paraphrased_answer ?? null, perturbedAnswers: r.perturbed_answers!, subject: null, attribute: null } : null)!);
  const q = scoreQaSet(model, tokenizer, qa, padId);
  close(one.knowledge!, Array.from(truthRatios(q.paraphrased, q.perturbed), (tr) => -Math.log(tr)), 1e-5, 'knowledge');
  assert.ok(Math.abs(one.probability - answerProbability(model, s.items, padId)) < 1e-6);

  // Records without wrong answers phrased alike take the separate passes; the truth ratio is not measured on them.
  const bare = side(records.map((r) => (r.kind === 'qa' ? { ...r, perturbed_answers: undefined } : r)), tokenizer, model.config.maxPositions);
  const fallback = scoreSide(model, tokenizer, bare, padId);
  assert.equal(fallback.knowledge, null);
  close(fallback.mia.loss!, mia.loss!, 1e-5, 'fallback loss');
  assert.deepEqual(fallback.extraction, one.extraction);
});

test('the policy\'s precision is the precision every measurement runs at', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-measure-precision-'));
  const record = (name: string, i: number) => JSON.stringify({ question: `Where was ${name} born?`, answer: `In town ${i}.`, subject: name });
  writeFileSync(join(dir, 'forget.jsonl'), ['Ada', 'Bo', 'Cy'].map(record).join('\n') + '\n');
  writeFileSync(join(dir, 'reference.jsonl'), ['Di', 'Ed', 'Flo', 'Gus'].map((n, i) => record(n, i + 3)).join('\n') + '\n');
  const measure = (precision: 'f32' | 'bf16') => measureModel({
    baseModel: TINY_MODEL, model: TINY_MODEL, forgetPath: join(dir, 'forget.jsonl'), reference: { path: join(dir, 'reference.jsonl'), label: 'test' },
    policy: barFor({ precision, relearn: { steps: 0 } }), seed: 0,
  });
  const f32 = measure('f32').forgetProbability;
  const bf16 = measure('bf16').forgetProbability;
  // bf16 operands move the scores a little, and only a little.
  assert.notEqual(bf16.after, f32.after);
  assert.ok(Math.abs(bf16.after - f32.after) <= 0.05 * f32.after, `${bf16.after} vs ${f32.after}`);
  assert.equal(measure('f32').forgetProbability.after, f32.after, 'f32 again: the same numbers');
  assert.throws(() => barFor({ precision: 'f16' as 'f32' }), /precision/);
});
