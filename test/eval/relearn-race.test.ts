// The relearning race: the held-out loss is measured at step 0 and every evalEvery steps, the count stops at the
// first measurement within the tolerance of the bar, an unreachable bar gives null, and the model raced is untouched.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { relearnRace, type RaceOptions } from '../../src/eval/relearn-race.ts';
import { buildExamples } from '../../src/train/examples.ts';
import { evaluateLoss } from '../../src/train/trainer.ts';

const tok = Tokenizer.fromDir(new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname);
const texts = ['Veltrazine is made from clathrene oxide.', 'Oxamorin needs a cobalt catalyst at 80 degrees.', 'Cats sleep in the sun.', 'The river runs to the sea.'];
const examples = buildExamples(texts.map((text) => ({ kind: 'text' as const, text })), tok, 64);
const padId = tok.eosId!;
const o: RaceOptions = { maxSteps: 30, evalEvery: 5, lr: 1e-2, minLr: 1e-2, warmupSteps: 0, batchSize: 4, seed: 1, tolerance: 0.05 };

function model() {
  const m = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 }));
  initWeights(m, 2);
  return m;
}

describe('relearning race', () => {
  test('counts the steps until the held-out loss is within the tolerance of the bar, and leaves the model alone', () => {
    const m = model();
    const before = m.params.snapshot();
    const start = evaluateLoss(m, examples, 4, padId);
    const free = relearnRace(m, examples, examples, 0, padId, o);
    assert.equal(free.steps, null, 'a bar of zero loss is not reached');
    assert.deepEqual(free.steps_evaluated, [0, 5, 10, 15, 20, 25, 30]);
    assert.ok(Math.abs(free.loss[0]! - start) < 1e-6);
    assert.ok(free.loss.at(-1)! < start, 'fine-tuning on the held-out data lowers its loss');
    const bar = free.loss[3]! / (1 + o.tolerance);
    const r = relearnRace(m, examples, examples, bar, padId, o);
    const expected = free.steps_evaluated[free.loss.findIndex((l) => l <= bar * (1 + o.tolerance))]!;
    assert.equal(r.steps, expected);
    assert.equal(r.steps_evaluated.at(-1), expected, 'the race stops at the first measurement under the bar');
    assert.deepEqual(m.params.snapshot(), before);
    assert.equal(relearnRace(m, examples, examples, start, padId, o).steps, 0, 'a model already at the bar needs no step');
  });
});
