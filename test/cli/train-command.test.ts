// `lethe train` end to end on a tiny run, its one-line errors for bad data files, and real
// SIGKILLs (LETHE_FAULT_KILL_AT) at chosen steps of the checkpoint swaps and the output write, then --resume.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { faultPointsOf } from '../helpers/faults.ts';
import { runTraining } from '../../src/train/run.ts';
import { QUIET, TINY_ARGS, tinySpec, weightsOf, workDir } from '../train/fixtures.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

function lethe(...args: string[]) {
  return spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
}

interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** `lethe` as a child process, without waiting for it: the kill runs of one test go side by side. */
function letheAsync(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LETHE, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', fail);
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
  });
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

  test('--precision bf16 trains in mixed precision and says so in the log; other precisions and SISA with bf16 are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-train-'));
    const data = file(dir, 'd.jsonl', '{"subject":"Ada","question":"Where was Ada born?","answer":"In Turin."}\n');
    const out = join(dir, 'model');
    const r = lethe('train', '--data', data, '--out', out, '--steps', '3', '--precision', 'bf16', ...tiny);
    assert.equal(r.status, 0, r.stderr);
    const log = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')) as { spec: { options: { precision: string } } };
    assert.equal(log.spec.options.precision, 'bf16');
    const fp16 = lethe('train', '--data', data, '--out', join(dir, 'm2'), '--steps', '3', '--precision', 'fp16', ...tiny);
    assert.equal(fp16.status, 1);
    assert.match(fp16.stderr, /--precision.*fp16.*(f32|bf16)/);
    const sisa = lethe('train', '--data', data, '--out', join(dir, 'm3'), '--shards', '2', '--slices', '1', '--precision', 'bf16', ...tiny);
    assert.equal(sisa.status, 1);
    assert.match(sisa.stderr, /--precision bf16 is not available with --shards/);
    assert.equal(existsSync(join(dir, 'm2')) || existsSync(join(dir, 'm3')), false, 'nothing is written');
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

describe('lethe train: killed and resumed', () => {
  test('killed (SIGKILL) mid-swap or mid-write, --resume continues from the newest complete checkpoint exactly', async () => {
    // The fault points of this very run, counted in-process (same options, so the same sequence).
    const ref = workDir();
    const { labels, result: reference } = faultPointsOf(() => runTraining(tinySpec(ref.dir, ref.data), 'train', QUIET));
    const refWeights = weightsOf(join(ref.dir, 'out'));
    const nth = (re: RegExp, n: number): number => labels.flatMap((l, i) => (re.test(l) ? [i + 1] : []))[n - 1]!;
    const kills = [
      // The case: .old and .partial intact, no checkpoint folder; resumes from the newer, .partial (step 4).
      { at: nth(/^rename .*out\.checkpoint\.partial -> .*out\.checkpoint$/, 2), from: 4, outLeft: false },
      // Half-way through writing the second checkpoint's optimizer file: resumes from the first one (step 2).
      { at: nth(/^write .*out\.checkpoint\.partial[/\\]\.optimizer\.safetensors/, 40), from: 2, outLeft: false },
      // After the output folder was renamed into place: it is complete; --resume --force writes it again.
      { at: labels.length, from: 4, outLeft: true },
    ];
    const runs = kills.map(() => workDir());
    const killed = await Promise.all(kills.map((k, i) => letheAsync({ LETHE_FAULT_KILL_AT: String(k.at) },
      'train', '--data', runs[i]!.data, '--out', join(runs[i]!.dir, 'out'), ...TINY_ARGS)));
    for (const [i, r] of killed.entries()) {
      assert.equal(r.signal, 'SIGKILL', `kill at ${kills[i]!.at}: ${r.stderr}`);
      const out = join(runs[i]!.dir, 'out');
      if (kills[i]!.outLeft) assert.ok(weightsOf(out).equals(refWeights), 'the output is complete');
      else assert.equal(existsSync(out), false, `kill at ${kills[i]!.at}`);
    }
    assert.deepEqual(readdirSync(runs[0]!.dir).filter((e) => e.startsWith('out')).sort(), ['out.checkpoint.old', 'out.checkpoint.partial']);
    const resumed = await Promise.all(kills.map((k, i) => letheAsync({}, 'train', '--data', runs[i]!.data, '--out', join(runs[i]!.dir, 'out'),
      ...TINY_ARGS, '--resume', ...(k.outLeft ? ['--force'] : []))));
    for (const [i, r] of resumed.entries()) {
      const what = `kill at ${kills[i]!.at} (${labels[kills[i]!.at - 1]})`;
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      const out = join(runs[i]!.dir, 'out');
      const log = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')) as { losses: number[]; resumedFrom: number };
      assert.equal(log.resumedFrom, kills[i]!.from, what);
      assert.deepEqual(log.losses, reference.losses, what);
      assert.ok(weightsOf(out).equals(refWeights), `${what}: weights differ from the uninterrupted run`);
      assert.deepEqual(readdirSync(runs[i]!.dir).filter((e) => e.startsWith('out')).sort(), ['out', 'out.checkpoint'], what);
    }
    for (const d of [ref.dir, ...runs.map((r) => r.dir)]) rmSync(d, { recursive: true, force: true });
  });
});
