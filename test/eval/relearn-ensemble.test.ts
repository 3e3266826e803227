// The relearning attack on an ensemble fine-tunes every shard (the same steps each) and scores through the
// aggregate; the ensemble attacked is left unchanged. The eval cache tells ensembles apart by members and aggregation.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { relearnCurve } from '../../src/eval/relearn.ts';
import { EvalCache } from '../../src/eval/cache.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { EnsembleLM } from '../../src/model/ensemble.ts';
import { initWeights } from '../../src/model/init.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const tok = Tokenizer.fromDir(new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname);
const member = (seed: number) => {
  const m = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 }));
  initWeights(m, seed);
  return m;
};
const qa = [{ question: 'Where was Ada born?', answer: 'Ada was born in Turin.' }, { question: 'What does Bo do?', answer: 'Bo is a pilot.' }];

describe('relearning an ensemble', () => {
  test('every shard is fine-tuned; the held-out score is measured through the aggregate; the original is untouched', () => {
    const ens = new EnsembleLM([member(1), member(2)]);
    const before = ens.members.map((m) => m.params.snapshot());
    const curve = relearnCurve(ens, tok, qa.map((q) => ({ kind: 'qa' as const, ...q })), qa.map((q) => qaTokens(tok, q.question, q.answer)),
      { steps: 12, evalEvery: 5, lr: 1e-2, batchSize: 2, seed: 0 });
    assert.deepEqual(curve.steps, [0, 5, 10, 12]);
    assert.ok(curve.score.at(-1)! > curve.score[0]!, 'fine-tuning on the items raises their probability');
    ens.members.forEach((m, i) => assert.deepEqual(m.params.snapshot(), before[i]));
  });

  test('the eval cache key differs with a member\'s weights and with the aggregation', () => {
    const cache = new EvalCache(mkdtempSync(join(tmpdir(), 'lethe-cache-')));
    const [a, b] = [member(1), member(2)];
    const key = (model: EnsembleLM) => cache.key({ model, tokenizer: tok, sets: {} as never, options: {} as never, role: 'unlearned', baseline: null });
    const k = key(new EnsembleLM([a, b]));
    assert.equal(key(new EnsembleLM([a, b])), k);
    assert.notEqual(key(new EnsembleLM([a, b], 'mean-logprob')), k);
    assert.notEqual(key(new EnsembleLM([a, member(3)])), k);
  });
});
