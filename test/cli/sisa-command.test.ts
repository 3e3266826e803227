// `lethe train --shards --slices` and `lethe unlearn --method sisa` as a user runs them: the summary lines, the
// ensemble refused to approximate methods, and sisa refused on a single model, in one line with nothing written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const lethe = (...args: string[]) => spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });

describe('lethe train --shards / lethe unlearn --method sisa', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-sisa-cli-'));
  const rows = ['Ada', 'Bo', 'Cy', 'Dee'].flatMap((n, i) => [
    { subject: n, question: `Where was ${n} born?`, answer: `In town ${i}.` },
    { subject: n, text: `${n} likes the number ${i * 13}.` },
  ]);
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const forget = join(dir, 'forget.jsonl');
  writeFileSync(forget, JSON.stringify(rows[0]) + '\n' + JSON.stringify(rows[1]) + '\n');
  const ens = join(dir, 'ens');

  test('trains an ensemble by subject and erases a subject exactly', () => {
    const t = lethe('train', '--data', data, '--tokenizer', TOKENIZER, '--d-model', '32', '--layers', '1', '--heads', '2', '--context', '64',
      '--shards', '2', '--slices', '2', '--shard-by', 'subject', '--epochs', '1', '--batch-size', '4', '--out', ens);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^trained an ensemble of 2 shard\(s\) × 2 slice\(s\) on 8 records \(by subject\), \d+ steps in [\d.]+ s; wrote /);
    const out = join(dir, 'erased');
    const u = lethe('unlearn', '--model', ens, '--forget', forget, '--method', 'sisa', '--out', out);
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /^erased 2 record\(s\) exactly: retrained shard \d from stage \d \(2 record\(s\), \d+ steps\); 1 shard\(s\) copied unchanged;/);
    assert.equal(JSON.parse(readFileSync(join(out, 'unlearn.json'), 'utf8')).method, 'sisa');
  });

  test('an approximate method on an ensemble, sisa on a single model, sisa with --opt: one line, exit 1, nothing written', () => {
    const cases: [string[], RegExp][] = [
      [['--model', ens, '--method', 'npo'], /is a SISA ensemble: unlearn it exactly with --method sisa/],
      [['--model', TOKENIZER, '--method', 'sisa'], /--method sisa needs an ensemble/],
      [['--model', ens, '--method', 'sisa', '--opt', 'lr=1'], /--opt: --method sisa retrains the affected shards exactly as trained/],
    ];
    for (const [args, message] of cases) {
      const out = join(dir, `x${cases.findIndex((c) => c[0] === args)}`);
      const r = lethe('unlearn', ...args, '--forget', forget, '--out', out);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^lethe: .*${message.source}`));
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(existsSync(out), false);
    }
  });
});
