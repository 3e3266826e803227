// Evaluations kept between runs (src/eval/cache.ts): the reference's one evaluation gives the same baseline as
// scoring it separately; a second comparison of the same weights reads every evaluation back and reports the same
// figures; other weights, options or a damaged entry are evaluated again.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EvalCache, lethesCode } from '../../src/eval/cache.ts';
import { evaluateAgainstReference, type ComparisonInput } from '../../src/eval/compare.ts';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import { tofuMiniFolder } from './tofu-mini.ts';
import { DEFAULT_EVALUATE, evaluateReference, referenceBaseline } from '../../src/eval/evaluate.ts';
import type { EvalReport } from '../../src/eval/report-types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;


const sets = loadEvalSets(tofuMiniFolder(), 'forget01');
const tokenizer = Tokenizer.fromDir(TINY);
const options = { relearn: { steps: 2, evalEvery: 1, lr: 1e-3, batchSize: 2, seed: 0 }, relatedItems: 3, probe: null };

/** The report without what differs run to run by design (creation time). */
const figures = (r: EvalReport): unknown => r.models;

test('the reference evaluated once gives the baseline that scoring it separately gives', () => {
  const { model } = loadModel(TINY);
  const separate = referenceBaseline(model, tokenizer, sets, options);
  const { evaluation, baseline } = evaluateReference({ name: 'ref', dir: TINY, model, tokenizer, sets, options });
  assert.deepEqual(Array.from(baseline.forgetTruthRatios), Array.from(separate.forgetTruthRatios));
  assert.equal(baseline.minKAuc, separate.minKAuc);
  assert.equal(evaluation.privLeak, 0);
  assert.equal(evaluation.forgetQuality, null);
});

test('a second comparison reads every evaluation back and reports the same figures; changes are misses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cache-'));
  const lines: string[] = [];
  const log = (l: string): void => {
    lines.push(l);
  };
  const perturbed = loadModel(TINY).model;
  perturbed.params.flat[0] = perturbed.params.flat[0]! + 0.01;
  const input = (extra: Partial<ComparisonInput> = {}): ComparisonInput => ({
    sets, tokenizer, reference: { dir: TINY, name: 'retain' }, target: { dir: TINY, name: 'target' },
    unlearned: [{ dir: 'unlearned', name: 'unlearned', model: perturbed }], options, title: 'cache test', cache: new EvalCache(dir, log), log, ...extra,
  });
  const first = evaluateAgainstReference(input());
  assert.equal(lines.filter((l) => l.includes('read from')).length, 0);
  // Target and reference are the same weights but different roles: three entries.
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.json')).length, 3);
  lines.length = 0;
  const second = evaluateAgainstReference(input());
  assert.equal(lines.filter((l) => l.includes('read from')).length, 3, lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('relearning attack')), 'nothing was evaluated again');
  assert.deepEqual(figures(second), figures(first));
  assert.deepEqual(figures(evaluateAgainstReference({ ...input(), cache: undefined })), figures(first), 'the same figures as without a cache');

  // Other weights for the unlearned model: only it is evaluated again.
  lines.length = 0;
  perturbed.params.flat[1] = perturbed.params.flat[1]! + 0.01;
  evaluateAgainstReference(input());
  assert.equal(lines.filter((l) => l.includes('read from')).length, 2);
  // Other options: everything is evaluated again.
  lines.length = 0;
  evaluateAgainstReference(input({ options: { ...options, relatedItems: 2 } }));
  assert.equal(lines.filter((l) => l.includes('read from')).length, 0);
  // A damaged entry is said, ignored and replaced.
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) writeFileSync(join(dir, f), '{"format":1,');
  lines.length = 0;
  const again = evaluateAgainstReference(input({ options: { ...options, relatedItems: 2 } }));
  assert.ok(lines.some((l) => /ignoring .*evaluating again/.test(l)), lines.join('\n'));
  lines.length = 0;
  assert.deepEqual(figures(evaluateAgainstReference(input({ options: { ...options, relatedItems: 2 } }))), figures(again));
  assert.equal(lines.filter((l) => l.includes('read from')).length, 3);
});

test('the source digest is part of the key: caches given the same digest share entries, another digest misses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cache-code-'));
  const { model } = loadModel(TINY);
  const k = { model, tokenizer, sets, options: { ...DEFAULT_EVALUATE, ...options }, role: 'reference' as const, baseline: null };
  const a = new EvalCache(dir, () => {}, 'digest-a');
  assert.equal(a.key(k), new EvalCache(dir, () => {}, 'digest-a').key(k), 'two threads handed one digest agree');
  assert.notEqual(a.key(k), new EvalCache(dir, () => {}, 'digest-b').key(k));
  assert.equal(new EvalCache(dir).key(k), new EvalCache(dir, () => {}, lethesCode()).key(k), 'the default is this process\'s digest');
});
