// `lethe info` and `lethe generate` as a user runs them, on the golden model folders.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const model = (name: string): string => new URL(`../fixtures/models/${name}`, import.meta.url).pathname;

function lethe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lethe info', () => {
  test('describes a GPT-2 folder', () => {
    const r = lethe('info', model('gpt2-tiny'), '--json');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(info['architecture'], 'GPT2LMHeadModel');
    assert.equal(info['vocabSize'], 297);
    assert.equal(info['context'], 64);
    assert.equal(info['dtype'], 'F32');
    // wte 297·32 + wpe 64·32 + 2 blocks · (12·32² + 13·32) + ln_f 64
    assert.equal(info['parameters'], 297 * 32 + 64 * 32 + 2 * (12 * 32 * 32 + 13 * 32) + 64);
  });

  test('prints a readable table for a grouped-query Llama', () => {
    const r = lethe('info', model('llama-tiny-gqa'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /architecture\s+LlamaForCausalLM/);
    assert.match(r.stdout, /attention heads\s+4 \(2 key\/value heads\)/);
  });

  test('a missing or broken folder is a one-line error', () => {
    const r = lethe('info', '/no/such/model');
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'lethe: /no/such/model: model folder does not exist');
    const t = lethe('info', new URL('../fixtures/engine', import.meta.url).pathname);
    assert.equal(t.status, 1);
    assert.match(t.stderr.trim(), /^lethe: .*: no config.json in this folder \(is it a Hugging Face model folder\?\)$/);
  });
});

describe('lethe generate', () => {
  test('greedy output of the GPT-2 golden model is token-for-token the PyTorch reference', () => {
    const ref = JSON.parse(readFileSync(`${model('gpt2-tiny')}/reference.json`, 'utf8')) as { prompt: string; prompt_ids: number[]; greedy: number[]; greedy_text: string };
    const r = lethe('generate', model('gpt2-tiny'), '--prompt', ref.prompt, '-n', String(ref.greedy.length), '--json');
    assert.equal(r.status, 0, r.stderr);
    const [out] = JSON.parse(r.stdout) as { promptIds: number[]; tokens: number[]; text: string }[];
    assert.deepEqual(out!.promptIds, ref.prompt_ids);
    assert.deepEqual(out!.tokens, ref.greedy);
    assert.equal(out!.text, ref.greedy_text);
  });

  test('sampling is reproducible with a seed and bad options are rejected', () => {
    const args = ['generate', model('qwen2-tiny'), '-p', 'the cat', '-n', '8', '-t', '0.8', '--top-k', '20', '--seed', '3', '--json'];
    const a = lethe(...args);
    const b = lethe(...args);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const bad = lethe('generate', model('qwen2-tiny'), '-p', 'x', '--top-p', '2');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--top-p <p>.*expected a number in/);
  });
});
