// The committed default models load and behave as the benchmark needs: the target has memorised its persons,
// and has not seen the holdout persons.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { QaRecordSchema } from '../../src/data/schema.ts';
import { parseJsonl } from '../../src/data/jsonl.ts';
import { answerQuality } from '../../src/eval/memorisation.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const root = new URL('../../', import.meta.url).pathname;
const qa = (file: string) => parseJsonl(readFileSync(`${root}data/persons/${file}`, 'utf8'), file, QaRecordSchema);

describe('embedded target model', () => {
  const dir = `${root}models/target`;
  test('loads as a standard folder with its tokenizer', () => {
    const { model, storedDType } = loadModel(dir);
    assert.equal(model.config.architecture, 'GPT2LMHeadModel');
    assert.equal(storedDType, 'F16');
    assert.equal(Tokenizer.fromDir(dir).vocabSize, model.config.vocabSize);
    assert.ok(existsSync(`${dir}/training_log.json`));
  });

  test('answers trained persons exactly and holdout persons wrongly', () => {
    const { model } = loadModel(dir);
    const tok = Tokenizer.fromDir(dir);
    const all = qa('all_qa.jsonl');
    const trained = [all[0]!, all[777]!, all[2345]!, all[3999]!];
    assert.equal(answerQuality(model, tok, trained).exactMatch, 1);
    const holdout = qa('holdout.jsonl').filter((_, i) => i % 50 === 0);
    assert.ok(answerQuality(model, tok, holdout).exactMatch <= 0.25);
  });
});
