// `lethe train` end to end on a tiny run, and its one-line errors for bad data files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

function lethe(...args: string[]) {
  return spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
}

function file(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const tiny = ['--tokenizer', TOKENIZER, '--d-model', '32', '--layers', '2', '--heads', '2', '--context', '64', '--warmup', '2'];

describe('lethe train', () => {
  test('trains a small model and writes a loadable folder with its training log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-train-'));
    const data = file(dir, 'd.jsonl', '{"subject":"Ada","question":"Where was Ada born?","answer":"In Turin."}\n\n{"text":"The river runs to the sea."}\n');
    const out = join(dir, 'model');
    const r = lethe('train', '--data', data, '--out', out, '--steps', '8', '--save-every', '4', ...tiny);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /trained [\d,]+ parameters on 2 examples/);
    const log = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')) as { losses: number[]; command: string };
    assert.equal(log.losses.length, 8);
    assert.match(log.command, /^lethe train --data /);
    assert.equal(lethe('info', out).status, 0);
    assert.ok(existsSync(join(`${out}.checkpoint`, 'optimizer.safetensors')));
  });

  const bad: [string, string, RegExp][] = [
    ['not JSONL', 'this is not json\n', /bad\.jsonl:1: not valid JSON/],
    ['a missing field', '{"subject":"A","question":"Q?","answer":"A."}\n{"subject":"A","question":"Q?"}\n', /bad\.jsonl:2: field "answer" is missing/],
    ['a wrong type', '{"subject":"A","question":"Q?","answer":7}\n', /bad\.jsonl:1: field "answer"/],
    ['an empty file', '', /bad\.jsonl: the file has no records/],
  ];
  for (const [label, content, pattern] of bad) {
    test(`a file with ${label} stops with file, line and field`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-train-'));
      const r = lethe('train', '--data', file(dir, 'bad.jsonl', content), '--out', join(dir, 'm'), '--steps', '2', ...tiny);
      assert.equal(r.status, 1);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(existsSync(join(dir, 'm')), false, 'nothing is written');
    });
  }
});
