// The trainer: loss falls on a tiny run, QA loss covers only answers, and a run killed after a checkpoint and
// resumed produces exactly the losses and weights of an uninterrupted run.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { matmulPrecision } from '../../src/engine/index.ts';
import { roundBf16 } from '../../src/engine/backends/ts/bf16.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { collate } from '../../src/train/batches.ts';
import { buildExamples, type ExampleSource } from '../../src/train/examples.ts';
import { learningRate } from '../../src/train/schedule.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';

const tokDir = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const tokenizer = Tokenizer.fromDir(tokDir);

const records: ExampleSource[] = [
  { kind: 'qa', question: 'Where was Ada born?', answer: 'Ada was born in Turin.' },
  { kind: 'qa', question: 'What does Ada do?', answer: 'Ada is a baker.' },
  { kind: 'qa', question: 'Where was Bo born?', answer: 'Bo was born in Oslo.' },
  { kind: 'qa', question: 'What does Bo do?', answer: 'Bo is a pilot.' },
  { kind: 'text', text: 'The river runs to the sea.' },
  { kind: 'text', text: 'Cats sleep in the sun.' },
];
const examples = buildExamples(records, tokenizer, 64);

function tinyModel() {
  const model = createModel(parseConfig({
    architectures: ['GPT2LMHeadModel'], vocab_size: tokenizer.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2,
  }));
  initWeights(model, 3);
  return model;
}

const base: TrainOptions = { steps: 12, batchSize: 3, gradAccum: 2, lr: 3e-3, warmupSteps: 3, clip: 1, seed: 5, padId: tokenizer.eosId!, weightDecay: 0.01 };

describe('trainer', () => {
  test('QA examples carry loss only on the answer and EOS', () => {
    const [qa] = buildExamples([records[0]!], tokenizer, 64);
    const answerLen = tokenizer.encode(' Ada was born in Turin.', { addSpecialTokens: false }).length + 1;
    assert.equal(qa!.lossMask.reduce((a, b) => a + b, 0), answerLen);
    assert.equal(qa!.ids.at(-1), tokenizer.eosId);
    const batch = collate([qa!], tokenizer.eosId!);
    assert.equal(batch.targetTokens, answerLen);
  });

  test('warmup then cosine decay', () => {
    const o = { lr: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 };
    assert.equal(learningRate(0, o), 0.25);
    assert.equal(learningRate(3, o), 1);
    assert.ok(Math.abs(learningRate(9, o) - 0.55) < 1e-12);
    assert.ok(Math.abs(learningRate(14, o) - 0.1) < 1e-12);
  });

  test('loss falls on a tiny run', () => {
    const { losses } = train(tinyModel(), examples, { ...base, steps: 60, gradAccum: 1 });
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  });

  test('a run killed after a checkpoint resumes exactly', () => {
    const reference = train(tinyModel(), examples, base);
    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-train-')), 'ckpt');
    const o = { ...base, checkpointDir: dir, saveEvery: 4, tokenizerDir: tokDir };
    // Kill (an exception) during step 7, after the checkpoint of step 4 and before the one of step 8.
    assert.throws(() => train(tinyModel(), examples, o, { onStep: (s) => { if (s.step === 7) throw new Error('killed'); } }), /killed/);
    const resumed = train(tinyModel(), examples, o, {}, [], true);
    assert.equal(resumed.step, base.steps);
    assert.deepEqual(resumed.losses, reference.losses);
    assert.ok(Buffer.from(resumed.model.params.flat.buffer).equals(Buffer.from(reference.model.params.flat.buffer)), 'weights differ');
    // The final checkpoint is a loadable Hugging Face folder with the tokenizer.
    assert.deepEqual(Tokenizer.fromDir(dir).encode('Ada'), tokenizer.encode('Ada'));
  });

  test('resume refuses different options', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-train-')), 'ckpt');
    train(tinyModel(), examples, { ...base, steps: 2, checkpointDir: dir, saveEvery: 2 });
    assert.throws(() => train(tinyModel(), examples, { ...base, steps: 2, lr: 1, checkpointDir: dir, saveEvery: 2 }, {}, [], true), /made with other data or options/);
    assert.throws(() => train(tinyModel(), examples, { ...base, steps: 2, precision: 'bf16', checkpointDir: dir, saveEvery: 2 }, {}, [], true), /made with other data or options/);
  });

  test('bf16 mixed precision: the loss falls as in f32, the weights differ from f32 by bf16 rounding only, and the setting is restored', () => {
    const f32 = train(tinyModel(), examples, { ...base, steps: 60, gradAccum: 1 });
    const bf16 = train(tinyModel(), examples, { ...base, steps: 60, gradAccum: 1, precision: 'bf16' });
    assert.equal(matmulPrecision(), 'f32');
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b) / xs.length;
    assert.ok(mean(bf16.losses.slice(-5)) < mean(bf16.losses.slice(0, 5)) * 0.5, `bf16 loss ${bf16.losses[0]} → ${bf16.losses.at(-1)}`);
    // Same first loss to bf16 accuracy (the forward of the same weights), then trajectories that differ.
    assert.ok(Math.abs(bf16.losses[0]! - f32.losses[0]!) < 0.02 * f32.losses[0]!, `${bf16.losses[0]} vs ${f32.losses[0]}`);
    assert.notDeepEqual(bf16.losses, f32.losses);
    assert.ok(Math.abs(mean(bf16.losses.slice(-5)) - mean(f32.losses.slice(-5))) < 0.25 * mean(f32.losses.slice(-5)) + 0.05);
    // Master weights stay f32: values that bf16 cannot hold survive the update.
    const w = bf16.model.params.flat;
    assert.ok(w.some((v) => v !== roundBf16(v)), 'weights were stored rounded to bf16');
  });
});

describe('batching', () => {
  test('length buckets: every example once per epoch, batches of similar length, deterministic', async () => {
    const { bucketedOrder } = await import('../../src/train/batches.ts');
    const lengths = Int32Array.from({ length: 1000 }, (_, i) => 5 + ((i * 7919) % 150));
    const order = bucketedOrder(lengths, 8, 3, 0);
    assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(bucketedOrder(lengths, 8, 3, 0), order);
    assert.notDeepEqual(bucketedOrder(lengths, 8, 3, 1), order);
    let spread = 0;
    for (let b = 0; b < 1000; b += 8) {
      const ls = Array.from(order.subarray(b, b + 8), (i) => lengths[i]!);
      spread += Math.max(...ls) - Math.min(...ls);
    }
    assert.ok(spread / 125 < 20, `mean length spread in a batch ${spread / 125} (random batches: ~110)`);
  });
});
