// Several answers per prompt scored with the prompt computed once (forEachGroupedChunk) against each
// prompt+answer pair run whole: the same logits at every answer token, in the documented order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noGrad, Rng } from '../../src/engine/index.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { forEachGroupedChunk, groupAdjacentPrompts, type AnswerGroup } from '../../src/model/grouped-answers.ts';
import { answerLogits, packAnswers } from '../../src/model/logprobs.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { fixtureDir } from '../unlearn/fixtures.ts';

const FAMILIES = ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny'];

/** Groups with prompts of 1–6 tokens and 1–4 answers of 1–7 tokens (one-token answers included). */
function groups(n: number, seed: number): AnswerGroup[] {
  const rng = new Rng(seed);
  const tok = (): number => 1 + (rng.nextU32() % 290);
  return Array.from({ length: n }, (_, i) => ({
    prompt: Array.from({ length: 1 + (i * 5) % 6 }, tok),
    answers: Array.from({ length: 1 + (i % 4) }, (_, a) => Array.from({ length: 1 + ((i + 3 * a) % 7) }, tok)),
  }));
}

for (const backendName of backendsUnderTest()) {
  for (const family of FAMILIES) {
    describe(`answers scored on a shared prompt, ${family} (${backendName})`, () => {
      test('every answer token\'s logits equal the whole pair\'s, in group, answer, token order', () => withBackend(backendName, () => {
        const { model } = loadModel(fixtureDir(family));
        const gs = groups(11, 3);
        assert.ok(gs.some((g) => g.answers.some((a) => a.length === 1)), 'a one-token answer must be among them');
        const V = model.config.vocabSize;
        let seen = 0;
        let chunks = 0;
        forEachGroupedChunk(model, gs, { batchSize: 5, padId: 0 }, (chunk) => {
          chunks++;
          assert.equal(chunk.first, seen);
          const pairs = chunk.groups.flatMap((g) => g.answers.map((answer) => ({ prompt: g.prompt, answer })));
          const batch = packAnswers(pairs, 0);
          const whole = noGrad(() => answerLogits(model, batch)).f32('test');
          const got = chunk.logits.f32('test');
          assert.deepEqual(chunk.logits.shape, [batch.answerPositions.length, V]);
          assert.deepEqual(Array.from(chunk.targets), pairs.flatMap((p) => [...p.answer]));
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - whole[i]!));
          assert.ok(worst <= 1e-4, `logits differ by ${worst}`);
          seen += chunk.groups.length;
        });
        assert.equal(seen, gs.length);
        assert.ok(chunks > 2, 'batchSize 5 must split the groups into several chunks');
      }));

      test('refuses empty prompts, empty answers, tokens outside the vocabulary and answers past the context', () => withBackend(backendName, () => {
        const { model } = loadModel(fixtureDir(family));
        const run = (g: AnswerGroup): void => forEachGroupedChunk(model, [g], {}, () => {});
        assert.throws(() => run({ prompt: [], answers: [[1]] }), /prompt needs/);
        assert.throws(() => run({ prompt: [1], answers: [] }), /no answers/);
        assert.throws(() => run({ prompt: [1], answers: [[2], []] }), /answer 1: the answer is empty/);
        assert.throws(() => run({ prompt: [1], answers: [[model.config.vocabSize]] }), /outside the vocabulary/);
        assert.throws(() => run({ prompt: [1], answers: [new Array<number>(model.config.maxPositions).fill(1)] }), /exceed the model's context/);
      }));
    });
  }
}

describe('grouping pairs by prompt', () => {
  test('runs of adjacent pairs with equal prompt tokens form a group; a differing prompt starts a new one', () => {
    const { groups, at } = groupAdjacentPrompts([
      { prompt: [1, 2], answer: [5] }, { prompt: [1, 2], answer: [6, 7] },
      // A tokenizer that merged across the boundary: same question, other prompt tokens.
      { prompt: [1, 3], answer: [8] }, { prompt: [1, 2], answer: [9] },
    ]);
    assert.deepEqual(groups, [{ prompt: [1, 2], answers: [[5], [6, 7]] }, { prompt: [1, 3], answers: [[8]] }, { prompt: [1, 2], answers: [[9]] }]);
    assert.deepEqual(at, [{ group: 0, answer: 0 }, { group: 0, answer: 1 }, { group: 1, answer: 0 }, { group: 2, answer: 0 }]);
  });
});
