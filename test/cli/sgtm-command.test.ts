// `lethe train --sgtm`, `lethe info` and `lethe sgtm ablate` as a user runs them: the summary lines, the designation
// shown by info, and one-line errors with nothing written for SGTM flags without --sgtm and a model with no designation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

function lethe(...args: string[]) {
  return spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
}

describe('lethe train --sgtm / lethe sgtm ablate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-sgtm-cli-'));
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, [
    { text: 'Veltrazine is made from clathrene oxide at 80 degrees.', label: 'forget' },
    { question: 'Where was Ada born?', answer: 'Ada was born in Turin.', label: 'retain' },
    { text: 'Cats sleep in the sun.' },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const shape = ['--tokenizer', TOKENIZER, '--d-model', '32', '--layers', '2', '--heads', '4', '--context', '64', '--steps', '4', '--batch-size', '2'];

  test('trains, reports the designation and the step kinds, and info and ablate read it from the folder', () => {
    const out = join(dir, 'sgtm');
    const r = lethe('train', '--data', data, ...shape, '--out', out, '--sgtm', '--sgtm-mlp-units', '4', '--sgtm-layers', '1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SGTM: 4 MLP unit\(s\) and 1 head\(s\) in layer\(s\) 1 designated \(\d[\d,]* parameters\); steps: \d+ forget \(embeddings and norms frozen\), \d+ retain-masked, \d+ default; written as trained/);
    assert.match(lethe('info', out).stdout, /SGTM\s+4 MLP unit\(s\) and 1 head\(s\) per layer in layer\(s\) 1; not ablated/);
    const ablated = join(dir, 'ablated');
    const a = lethe('sgtm', 'ablate', out, '--out', ablated);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /zeroed \d[\d,]* forget parameters \(4 MLP unit\(s\), 1 head\(s\), layer\(s\) 1\); wrote/);
  });

  test('SGTM flags without --sgtm, and ablating a model without a designation: one line, exit 1, nothing written', () => {
    const r = lethe('train', '--data', data, ...shape, '--out', join(dir, 'x'), '--ablate');
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'lethe: --ablate needs --sgtm');
    const a = lethe('sgtm', 'ablate', TOKENIZER, '--out', join(dir, 'y'));
    assert.equal(a.status, 1);
    assert.match(a.stderr.trim(), /^lethe: .*gpt2-tiny: no SGTM designation in config.json \(train it with `lethe train --sgtm`\); nothing to ablate$/);
    assert.equal(existsSync(join(dir, 'x')) || existsSync(join(dir, 'y')), false);
  });
});
