// The committed default models of both architectures load and behave as the benchmark needs: each target has
// memorised its persons, and has not seen the holdout persons.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { QaRecordSchema } from '../../src/data/schema.ts';
import { parseJsonl } from '../../src/data/jsonl.ts';
import { answerQuality } from '../../src/eval/memorisation.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { EMBEDDED } from '../../tools/unlearn-quality.ts';

const root = new URL('../../', import.meta.url).pathname;
const qa = (file: string) => parseJsonl(readFileSync(`${root}data/persons/${file}`, 'utf8'), file, QaRecordSchema);

for (const embedded of EMBEDDED) {
  describe(`embedded ${embedded.arch} target model`, () => {
    const dir = `${root}${embedded.target}`;
    let loaded: ReturnType<typeof loadModel> | undefined;
    const load = () => (loaded ??= loadModel(dir));
    test('loads as a standard folder with its tokenizer', () => {
      const { model, storedDType } = load();
      assert.equal(model.config.architecture, embedded.architecture);
      assert.equal(storedDType, 'F16');
      assert.equal(Tokenizer.fromDir(dir).vocabSize, model.config.vocabSize);
      assert.ok(existsSync(`${dir}/training_log.json`));
      assert.ok(existsSync(`${root}${embedded.retain90}/config.json`), `${embedded.retain90}: the retain model is missing`);
    });

    test('answers trained persons exactly (24 QA pairs, every attribute) and holdout persons wrongly', () => {
      const { model } = load();
      const tok = Tokenizer.fromDir(dir);
      const trained = qa('all_qa.jsonl').filter((_, i) => i % 167 === 7);
      const known = answerQuality(model, tok, trained).exactMatch;
      assert.ok(known >= 0.9, `exact match ${known} on ${trained.length} trained QA pairs`);
      const holdout = qa('holdout.jsonl').filter((_, i) => i % 50 === 0);
      assert.ok(answerQuality(model, tok, holdout).exactMatch <= 0.25);
    });
  });
}

describe('embedded llama model', () => {
  test('has the recipe\'s shape: RMSNorm, RoPE, SwiGLU, grouped-query attention, tied embeddings, ~3.7 M parameters', () => {
    const { model } = loadModel(`${root}models/llama/target`);
    const c = model.config;
    assert.deepEqual([c.family, c.numLayers, c.hiddenSize, c.numHeads, c.numKvHeads, c.intermediateSize, c.maxPositions, c.tieWordEmbeddings],
      ['llama', 4, 256, 4, 2, 784, 192, true]);
    assert.equal(model.params.count(), 3_721_472);
    const tok = Tokenizer.fromDir(`${root}models/llama/target`);
    assert.deepEqual([c.bosTokenId, c.eosTokenId], [tok.bosId, tok.eosId]);
    assert.equal(tok.tokenToId('<0x0A>'), 3 + 0x0a, 'byte-fallback tokens');
  });
});
