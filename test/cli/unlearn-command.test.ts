// `lethe unlearn` and `lethe methods` as a user runs them, on the tiny GPT-2 fixture.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel, saveModel } from '../../src/model/checkpoint.ts';
import { RETAIN_RECORDS, TINY, writeRecordFiles } from '../unlearn/fixtures.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;

function lethe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const { dir, forget, retain } = writeRecordFiles('lethe-unlearn-');

describe('lethe unlearn', () => {
  test('writes a loadable Hugging Face folder and unlearn.json', () => {
    const out = join(dir, 'npo');
    const r = lethe('unlearn', '--model', TINY, '--forget', forget, '--retain', retain, '--method', 'NPO', '--opt', 'steps=3', '--opt', 'beta=0.2', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^npo: 3 steps in .* \(completed: ran all its steps\); written weights: forget probability .* → .*, retain NLL .* → .*; 28 of 28 tensors changed; wrote /);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'unlearn.json']) assert.ok(existsSync(join(out, f)), f);
    const record = JSON.parse(readFileSync(join(out, 'unlearn.json'), 'utf8')) as Record<string, any>;
    assert.equal(record['method'], 'npo');
    assert.equal(record['options']['steps'], 3);
    assert.equal(record['options']['beta'], 0.2);
    const baseLr = JSON.parse(lethe('methods', '--json').stdout).find((m: { name: string }) => m.name === 'npo').options.find((o: { name: string }) => o.name === 'baseLr').default;
    const width = (JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')) as { n_embd: number }).n_embd;
    // lr not given: NPO's baseLr, scaled only down (by 256 / width) on models wider than 256; this one is narrower.
    assert.equal(record['options']['lr'], baseLr * Math.min(1, 256 / width));
    assert.deepEqual(record['schedule'], { steps: 'given', lr: `baseLr ${baseLr} (d_model ${width} ≤ 256: not scaled)` });
    assert.match(record['data']['forget']['sha256'], /^[0-9a-f]{64}$/);
    assert.equal(record['data']['retain']['records'], RETAIN_RECORDS.length);
    assert.equal(record['curve'].length, 3);
    assert.ok(record['wallSeconds'] > 0);
    const before = loadModel(TINY).model.params.flat;
    const after = loadModel(out).model.params.flat;
    assert.notDeepEqual(after, before);
  });

  test('--sanitize records its report', () => {
    const out = join(dir, 'ga-sage');
    const r = lethe('unlearn', '--model', TINY, '--forget', forget, '--retain', retain, '--method', 'grad-diff', '--opt', 'steps=2', '--sanitize', 'hard', '--sanitize-energy', '0.9', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const record = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(record['sanitize']['options']['mode'], 'hard');
    assert.equal(record['sanitize']['options']['energy'], 0.9);
    assert.ok(record['sanitize']['modules'].length > 0);
  });

  const cases: [string, string[], RegExp][] = [
    ['an empty forget set', ['--forget', 'EMPTY', '--method', 'npo'], /empty/],
    ['an unknown method', ['--method', 'forget-harder'], /unknown method "forget-harder" \(methods: /],
    ['an unknown option', ['--method', 'npo', '--opt', 'betta=1'], /npo has no option "betta"/],
    ['an option of the wrong type', ['--method', 'npo', '--opt', 'steps=lots'], /npo option steps="lots": /],
    ['a model folder without weights', ['--model', 'NOWEIGHTS', '--method', 'npo'], /no-weights: no model\.safetensors/],
    ['a method that needs a retain set, without one', ['--method', 'npo', '--retain', ''], /npo needs a retain set/],
  ];
  for (const [what, args, message] of cases) {
    test(`${what} is a one-line error and nothing is written`, () => {
      const empty = join(dir, 'empty.jsonl');
      writeFileSync(empty, '');
      const noWeights = join(dir, 'no-weights');
      if (!existsSync(noWeights)) {
        spawnSync('mkdir', ['-p', noWeights]);
        for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(TINY, f), join(noWeights, f));
      }
      const out = join(dir, `out-${what.replace(/\W+/g, '-')}`);
      const base: Record<string, string> = { '--model': TINY, '--forget': forget, '--retain': retain, '--out': out };
      for (let i = 0; i < args.length; i += 2) base[args[i]!] = args[i + 1]!.replace('EMPTY', empty).replace('NOWEIGHTS', noWeights);
      const argv = Object.entries(base).filter(([, v]) => v !== '').flat();
      const r = lethe('unlearn', ...argv);
      assert.equal(r.status, 1, r.stdout);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^lethe: /);
      assert.match(lines[0]!, message);
      assert.ok(!existsSync(out), 'no output folder');
    });
  }
});

describe('lethe unlearn refuses what it must not write (issue 11)', () => {
  const f16 = join(dir, 'tiny-f16');
  saveModel(loadModel(TINY).model, f16, { dtype: 'F16', copyFrom: TINY });

  test('item 1: weights that overflow F16 are refused after the cast, and nothing is written', () => {
    const out = join(dir, 'tv-inf');
    // Guards off, so that only the last check stands between the 1e38-scaled weights and the file.
    const r = lethe('unlearn', '--model', f16, '--forget', forget, '--method', 'task-vector', '--opt', 'lambda=1e38', '--opt', 'steps=5',
      '--opt', 'maxRetainLossRise=0', '--opt', 'maxUtilityLossRise=0', '--out', out);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /\nlethe: \d+ of \d+ unlearned weights are not finite as stored in F16 \(F16 holds at most 6\.550e\+4\); nothing was written\n$/);
    assert.ok(!existsSync(out));
  });

  test('item 2: a run rolled back to the original exits 1 unless --allow-noop, and the summary shows the written weights', () => {
    const out = join(dir, 'ga-noop');
    const args = ['unlearn', '--model', TINY, '--forget', forget, '--method', 'grad-ascent', '--opt', 'lr=10', '--opt', 'steps=10', '--opt', 'checkEvery=5', '--out', out];
    const r = lethe(...args);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /lethe: the run changed no weight \(utility-guard at step 5: .*\), so the model would be written unchanged; nothing was written \(pass --allow-noop/);
    assert.ok(!existsSync(out));
    const ok = lethe(...args, '--allow-noop');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^grad-ascent: 5 steps in .* \(utility-guard: the utility NLL rose past its bound; rolled back to the last good check\); written weights \(those of the step-0 check\): forget probability (\S+) → \1, utility NLL \(self-generated text\) (\S+) → \2; 0 of 28 tensors changed; wrote /);
  });
});

test('lethe methods lists every method with its options', () => {
  const r = lethe('methods');
  assert.equal(r.status, 0, r.stderr);
  for (const name of ['grad-ascent', 'grad-diff', 'npo', 'simnpo', 'wga', 'satimp', 'ce-u', 'undial', 'idk-ft', 'dpo-idk', 'task-vector', 'rmu', 'localized-ablation']) assert.match(r.stdout, new RegExp(`^${name} — `, 'm'));
  assert.match(r.stdout, /^ {4}beta=0\.1 +number +inverse temperature/m);
  assert.match(r.stdout, /--sanitize hard\|soft/);
});
