// Data as published, through the CLI (issue 12 items 4 and 5): `lethe eval --data MUSE_DIR` with MUSE's metrics and
// --too-long truncate-left, and `lethe unlearn` on MUSE's raw texts (a JSON array of strings and a .txt file).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MuseReport } from '../../src/eval/muse-compare.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const MUSE = new URL('../fixtures/data/muse-mini', import.meta.url).pathname;

function lethe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('lethe eval on a MUSE folder: VerbMem, KnowMem, the Min-K% AUC, and PrivLeak not judged without a retain model', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'lethe-eval-muse-')), 'report');
  const r = lethe('eval', '--model', TINY, '--data', MUSE, '--out', out, '--knowmem-icl', '--too-long', 'truncate-left');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^model +role +verbmem\.f +knowmem\.f +knowmem\.r +auc\.mink +privleak +summary\n/);
  assert.match(r.stdout, /\ngpt2-tiny +unlearned +\d\.\d{3} +\d\.\d{3} +\d\.\d{3} +\d\.\d{3} +— +verbmem /);
  assert.match(r.stdout, /\nprivleak —: not judged: needs a retain model \(--reference\)\n/);
  // MUSE's few-shot prompt does not fit the tiny model's 64 positions: the prompts were cut from the left, and counted.
  assert.match(r.stdout, /\nknowmem_forget: 3 item\(s\) truncated: prompt cut from the left to fit the model's context\n/);
  assert.match(r.stderr, /knowmem_forget: 3 item\(s\) truncated \(prompt cut from the left\) to fit the model's context of 64/);
  const report = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as MuseReport;
  assert.equal(report.format, 'muse');
  assert.equal(report.options.icl, true);
  const [m] = report.models;
  assert.deepEqual([m!.verbmem!.items, m!.knowmemForget!.items, m!.knowmemRetain!.items, m!.privacy!.forgetItems], [3, 3, 2, 4]);
  assert.equal(m!.privacy!.privLeak, null);
  assert.ok(existsSync(join(out, 'report.html')));
  const refused = lethe('eval', '--model', TINY, '--data', MUSE, '--out', out, '--knowmem-icl');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /\nlethe: .*knowmem\/forget_qa\.json: knowmem_forget item 1 \("When did Pellam harbour freeze\?"\) needs \d+ positions, more than the model's context of 64 \(shorten it, leave it out, or pass --too-long skip or truncate-left\)\n$/);
});

test('lethe unlearn on MUSE\'s raw texts: a JSON array of strings to forget, a .txt file to retain', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'lethe-unlearn-muse-')), 'ga');
  const r = lethe('unlearn', '--model', TINY, '--forget', join(MUSE, 'raw/forget.json'), '--retain', join(MUSE, 'raw/retain1.txt'), '--method', 'grad-diff', '--opt', 'steps=1', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const record = JSON.parse(r.stdout) as { data: { forget: { records: number }; retain: { records: number } } };
  assert.deepEqual([record.data.forget.records, record.data.retain.records], [3, 3]);
});
