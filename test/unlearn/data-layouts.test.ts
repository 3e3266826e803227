// Forget and retain sets as published: a MUSE corpus folder, and files whose fields are named differently.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFieldMap } from '../../src/data/fields.ts';
import { runUnlearning } from '../../src/unlearn/run.ts';
import { readUnlearnRecords } from '../../src/unlearn/data.ts';

const MUSE = 'test/fixtures/data/muse-persons';
const RENAMED = 'test/fixtures/data/tofu-renamed';

describe('unlearning data as published', () => {
  test('a MUSE folder stands for its raw forget and retain1 texts; unlearn.json hashes those files', () => {
    const r = runUnlearning({ modelDir: 'models/target', forgetPath: MUSE, retainPath: MUSE, method: 'grad-diff', options: ['steps=1', 'checkEvery=1', 'checkSamples=4'] });
    const forget = readUnlearnRecords(MUSE, 'forget');
    assert.ok(forget.length > 0 && forget.every((x) => x.kind === 'text'));
    assert.equal(r.record.data.forget.path, resolve(MUSE, 'raw/forget.json'));
    assert.equal(r.record.data.forget.sha256, createHash('sha256').update(readFileSync(`${MUSE}/raw/forget.json`)).digest('hex'));
    assert.equal(r.record.data.retain!.path, resolve(MUSE, 'raw/retain1.json'));
    assert.equal(r.record.data.forget.records, forget.length);
  });

  test('--field maps the files\' names for forget, retain and utility; without it the error names the file\'s field', () => {
    const fields = parseFieldMap(['question=q,answer=a']);
    const r = runUnlearning({
      modelDir: 'models/target', forgetPath: `${RENAMED}/forget01_perturbed.json`, retainPath: `${RENAMED}/retain_perturbed.json`,
      utilityPath: `${RENAMED}/holdout01.json`, fields, method: 'npo', options: ['steps=1', 'checkEvery=1', 'checkSamples=2'],
    });
    assert.equal(r.record.data.forget.records, readFileSync(`${RENAMED}/forget01_perturbed.json`, 'utf8').trim().split('\n').length);
    assert.throws(() => readUnlearnRecords(`${RENAMED}/forget01_perturbed.json`, 'forget'), /forget01_perturbed\.json:1: .*question.*answer/);
  });
});
