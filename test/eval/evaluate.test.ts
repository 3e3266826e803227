// The evaluation pipeline end to end on the tiny GPT-2 with TOFU-format sets, and the verdict rules.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import { tofuMiniFolder } from './tofu-mini.ts';
import { evaluateModel, referenceBaseline, withRecovery } from '../../src/eval/evaluate.ts';
import type { ModelEvaluation } from '../../src/eval/report-types.ts';
import { verdictFor } from '../../src/eval/verdict.ts';
import { evaluateAgainstReference } from '../../src/eval/compare.ts';

const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const MUSE_MINI = new URL('../fixtures/data/muse-mini', import.meta.url).pathname;


test('a model evaluated against itself: every metric in range, PrivLeak 0, forget quality 1', () => {
  const sets = loadEvalSets(tofuMiniFolder(), 'forget01');
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const options = { relearn: { steps: 4, evalEvery: 2, lr: 1e-3, batchSize: 2, seed: 0 }, relatedItems: 3, probe: null };
  const baseline = referenceBaseline(model, tokenizer, sets, options);
  const e = evaluateModel({ name: 'tiny', role: 'unlearned', dir: TINY, model, tokenizer, sets, reference: baseline, options });
  for (const v of [e.forget.probability, e.forget.rougeRecall, e.retain.probability, e.modelUtility, e.extractionStrength, e.exactMemorisation]) assert.ok(v >= 0 && v <= 1, String(v));
  assert.equal(e.forgetQuality, 1, 'identical truth ratios: KS p-value 1');
  assert.equal(e.probeSkipped, 'not requested (--no-probe)');
  assert.equal(e.privLeak, 0);
  assert.deepEqual(e.mia.map((m) => m.attack), ['loss', 'zlib', 'min-k', 'min-k++']);
  assert.deepEqual(e.relearn.map((r) => [r.mode, r.steps]), [['forget-part', [0, 2, 4]], ['related', [0, 2, 4]]]);
  assert.equal(e.samples.forgetTruthRatios.length, 4);
  assert.equal(e.world!.items, 1);
  withRecovery([e], e);
  assert.equal(e.relearn[0]!.steps50, 0, 'the target itself starts at 100% of its own score');
});

function fake(name: string, role: ModelEvaluation['role'], o: { fp: number; fq: number | null; mu: number; steps50?: number | null; probe?: number }): ModelEvaluation {
  const set = { items: 1, probability: o.fp, rougeRecall: 0, truthRatio: 0 };
  return {
    name, role, dir: null, forget: set, retain: set, world: null, modelUtility: o.mu, forgetQuality: o.fq, extractionStrength: 0, exactMemorisation: 0,
    mia: [], privLeak: null, relearn: o.steps50 === undefined ? [] : [{ mode: 'forget-part', steps: [0, 10, 20], score: [0, 0, 0], steps50: o.steps50, steps90: null }],
    probe: o.probe === undefined ? null : { attribute: 'country', layer: 2, probeAccuracy: o.probe, outputAccuracy: 0, chance: 0.1 },
    samples: { forgetTruthRatios: [], lossForget: [], lossHoldout: [] }, verdict: null, seconds: null,
  };
}

test('verdicts: forgets / partly / fails, utility, fast relearning and suppression', () => {
  const target = fake('target', 'target', { fp: 0.97, fq: 1e-20, mu: 0.66 });
  const reference = fake('retain', 'reference', { fp: 0.2, fq: null, mu: 0.68, steps50: null, probe: 0.05 });
  assert.match(verdictFor(fake('a', 'unlearned', { fp: 0.2, fq: 0.4, mu: 0.65 }), target, reference), /^FORGETS — indistinguishable .*0\.400\); keeps 98% of utility$/);
  assert.match(verdictFor(fake('b', 'unlearned', { fp: 0.3, fq: 1e-5, mu: 0.5 }), target, reference), /^PARTLY — .*1\.0e-5\); loses utility \(76% kept\)$/);
  assert.match(verdictFor(fake('c', 'unlearned', { fp: 0.9, fq: 1e-9, mu: 0.66 }), target, reference), /^FAILS — still answers/);
  const fast = verdictFor(fake('d', 'unlearned', { fp: 0.1, fq: 0.3, mu: 0.66, steps50: 10, probe: 0.6 }), target, reference);
  assert.match(fast, /relearns fast \(50% back after 10 steps; retain model: >20\)/);
  assert.match(fast, /country still decodable from layer 2 \(probe 60% vs retain model 5%\): suppression, not erasure/);
});

test('verdicts do not claim forgetting when the target never knew the forget set (issue 12 item 7)', () => {
  const target = fake('target', 'target', { fp: 0.21, fq: 0.3, mu: 0.33 });
  const reference = fake('retain', 'reference', { fp: 0.2, fq: null, mu: 0.68 });
  assert.match(verdictFor(target, target, reference), /^before unlearning: already does not answer the forget questions \(probability 0\.21 vs retain model 0\.20\): nothing to forget/);
  const v = verdictFor(fake('a', 'unlearned', { fp: 0.2, fq: 0.4, mu: 0.65 }), target, reference);
  assert.match(v, /^NOT JUDGED — the target never knew the forget set \(probability 0\.21 vs retain model 0\.20\), so this run shows nothing about forgetting; utility 197% of the target's \(its harmonic mean rose, yet retain probability 0\.210 → 0\.200\)$/);
  assert.doesNotMatch(v, /FORGETS|keeps/);
});

test('a target the KS test cannot tell from the retain model on few items is not called "never knew" (third-party trial)', () => {
  // stories260K on TOFU forget01: the target answers 2.4× as often as the retain model, yet forget quality is 0.165.
  const target = fake('target', 'target', { fp: 0.29, fq: 0.165, mu: 0.3 });
  const reference = fake('retain', 'reference', { fp: 0.12, fq: null, mu: 0.3 });
  const v = verdictFor(fake('npo', 'unlearned', { fp: 0.1, fq: 0.9, mu: 0.3 }), target, reference);
  assert.match(v, /^NOT JUDGED BY FORGET QUALITY — on these \d+ items the KS test cannot tell even the target from the retain model \(target forget quality 0\.165\); by probability the answers are gone \(0\.10; target 0\.29, retain model 0\.12\)/);
  assert.doesNotMatch(v, /never knew|FORGETS/);
});

test('without a retain model, a membership AUC far below 0.5 is read as over-unlearning, not as indistinguishable', () => {
  const target = fake('target', 'target', { fp: 0.9, fq: null, mu: 0.3 });
  const m = { ...fake('gd', 'unlearned', { fp: 0.01, fq: null, mu: 0.3 }), mia: [{ attack: 'loss' as const, auc: 0.0, scores: null }] } as unknown as Parameters<typeof verdictFor>[0];
  assert.match(verdictFor(m, target, null), /membership AUC 0\.00 against non-members \(over-unlearned: the forget items now look less familiar than unseen data/);
});

test('an item longer than the context is refused up front, naming the file and the item (issue 12 item 5)', () => {
  const dir = tofuMiniFolder();
  const long = `Where, after ${Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')}, does Ann live?`;
  const items = JSON.parse(readFileSync(join(dir, 'retain_perturbed.json'), 'utf8')) as { question: string }[];
  items[2]!.question = long;
  writeFileSync(join(dir, 'retain_perturbed.json'), JSON.stringify(items));
  const sets = loadEvalSets(dir, 'forget01');
  assert.throws(() => evaluateAgainstReference({ sets, tokenizer: Tokenizer.fromDir(TINY), reference: { dir: TINY }, unlearned: [], title: 't' }),
    /retain_perturbed\.json: retain item 3 \("Where, after w0 w1 .*…"\) needs \d+ positions, more than the model's context of 64 \(shorten it, leave it out, or pass --too-long skip\)/);
  // Or left out and counted, by option.
  const lines: string[] = [];
  const report = evaluateAgainstReference({
    sets, tokenizer: Tokenizer.fromDir(TINY), reference: { dir: TINY }, unlearned: [], title: 't', tooLong: 'skip', log: (l) => lines.push(l),
    options: { relearnModes: [], probe: null },
  });
  assert.equal(report.models[0]!.retain.items, items.length - 1);
  assert.equal(report.data['retain_skipped'], '1 item(s) longer than the model\'s context, left out');
  assert.ok(lines.includes('retain: left out 1 item(s) longer than the model\'s context of 64'));
});

test('lethe eval without a retain model: every metric that does not need one, and verdicts that say what was not judged (issue 12 item 8)', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'lethe-eval-noref-')), 'report');
  const r = spawnSync(process.execPath, [LETHE, 'eval', '--model', TINY, '--target', TINY, '--data', tofuMiniFolder(), '--split', 'forget01', '--out', out, '--no-relearn'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { models: ModelEvaluation[] };
  assert.deepEqual(metrics.models.map((m) => m.role), ['unlearned', 'target']);
  const [unlearned] = metrics.models;
  assert.equal(unlearned!.forgetQuality, null);
  assert.equal(unlearned!.privLeak, null);
  assert.ok(unlearned!.mia.length > 0 && unlearned!.modelUtility >= 0, 'the metrics that need no retain model are there');
  assert.match(unlearned!.verdict!, /^NO RETAIN MODEL — forget probability \S+ \(target \S+\); membership AUC \S+ against non-members \([^)]*\); forget quality and the never-learned bars not judged \(they need a retain model\); utility \S+ \(the target's is 0\.000, so no ratio\); \d+ attacks? run, not judged \(their bar is the retain model's value\)$/);
  assert.doesNotMatch(unlearned!.verdict!, /FORGETS|PARTLY|FAILS/);
  assert.ok(existsSync(join(out, 'report.html')));
  const none = spawnSync(process.execPath, [LETHE, 'eval', '--data', tofuMiniFolder(), '--split', 'forget01', '--out', out], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^lethe: nothing to evaluate: give --model, --target or --reference\n$/);
});

test('lethe eval writes metrics.json and report.html and prints the table', () => {
  const data = tofuMiniFolder();
  const out = join(mkdtempSync(join(tmpdir(), 'lethe-eval-')), 'report');
  const r = spawnSync(process.execPath, [LETHE, 'eval', '--model', TINY, '--reference', TINY, '--target', TINY, '--data', data, '--split', 'forget01', '--out', out, '--no-relearn', '--precision', 'bf16'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /gpt2-tiny/);
  // TOFU data has no subject attributes: the probe's dash says why (issue 12 item 7).
  assert.match(r.stdout, /\nprobe\/out —: the tofu data names no subject attributes to probe for \(the persons format does\)\n/);
  assert.ok(existsSync(join(out, 'report.html')));
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { data: Record<string, string>; models: ModelEvaluation[] };
  assert.deepEqual(metrics.models.map((m) => m.role), ['unlearned', 'target', 'reference']);
  assert.match(metrics.data['matmul_precision']!, /^bf16 operands/);
  const muse = spawnSync(process.execPath, [LETHE, 'eval', '--model', TINY, '--data', MUSE_MINI, '--out', join(out, 'muse'), '--precision', 'bf16'], { encoding: 'utf8' });
  assert.equal(muse.status, 1);
  assert.match(muse.stderr, /^lethe: --precision bf16: the MUSE metrics run in f32 only/);
  assert.ok(!existsSync(join(out, 'muse')), 'nothing written');
  assert.ok(metrics.models.every((m) => m.verdict !== null));
  const bad = spawnSync(process.execPath, [LETHE, 'eval', '--reference', TINY, '--data', '/no/such/folder', '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.trim(), /^lethe: \/no\/such\/folder: neither a persons data folder/);
});

test('TOFU with real authors: their set is scored and model utility is the harmonic mean of all 9 numbers, as TOFU computes it', async () => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { harmonicMean } = await import('../../src/eval/utility.ts');
  const dir = tofuMiniFolder();
  writeFileSync(join(dir, 'real_authors_perturbed.json'), JSON.stringify([
    { question: 'Who wrote the play Arven?', answer: 'Ida Lorne', perturbed_answer: ['Tom Vale', 'Una Reed'] },
    { question: 'Who wrote Pellam Nights?', answer: 'Oskar Brand', perturbed_answer: ['Ida Lorne', 'Tom Vale'] },
  ]));
  const sets = loadEvalSets(dir, 'forget01');
  assert.equal(sets.realAuthors?.length, 2);
  assert.equal(sets.sources['realAuthors'], join(dir, 'real_authors_perturbed.json'));
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const options = { relearnModes: [], probe: null, attacks: [] };
  const e = evaluateModel({ name: 'tiny', role: 'unlearned', dir: TINY, model, tokenizer, sets, reference: null, options });
  assert.equal(e.realAuthors?.items, 2);
  const nine = [e.retain, e.realAuthors!, e.world!].flatMap((m) => [m.probability, m.rougeRecall, m.truthRatio!]);
  assert.ok(Math.abs(e.modelUtility - harmonicMean(nine)) < 1e-12, `${e.modelUtility} vs ${harmonicMean(nine)}`);
  // Without the file: no real-authors set, and the 6 numbers of the other two sets.
  const without = evaluateModel({ name: 'tiny', role: 'unlearned', dir: TINY, model, tokenizer, sets: loadEvalSets(tofuMiniFolder(), 'forget01'), reference: null, options });
  assert.equal(without.realAuthors, undefined);
  const six = [without.retain, without.world!].flatMap((m) => [m.probability, m.rougeRecall, m.truthRatio!]);
  assert.ok(Math.abs(without.modelUtility - harmonicMean(six)) < 1e-12);
});

test('an evaluation under bf16 matmuls: the report says so, and its figures stay near the f32 ones', () => {
  const sets = loadEvalSets(tofuMiniFolder(), 'forget01');
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const run = (precision: 'f32' | 'bf16') => evaluateAgainstReference({
    sets, tokenizer, reference: { dir: TINY, model }, unlearned: [{ dir: TINY, model, name: 'tiny' }], title: 't',
    options: { relearnModes: [], probe: null, attacks: [], precision },
  });
  const f32 = run('f32');
  const bf16 = run('bf16');
  assert.equal(f32.data['matmul_precision'], 'f32');
  assert.match(bf16.data['matmul_precision']!, /^bf16 operands with f32 sums/);
  const [a, b] = [f32.models[0]!, bf16.models[0]!];
  assert.notEqual(a.forget.probability, b.forget.probability, 'the scoring ran on bf16 operands');
  for (const [x, y] of [[a.forget.probability, b.forget.probability], [a.retain.probability, b.retain.probability]] as const) {
    assert.ok(Math.abs(x - y) <= 0.05 * x, `${y} (bf16) against ${x} (f32)`);
  }
  // One model evaluated under another precision than the rest: the report says which, and that they do not compare.
  const mixed = evaluateAgainstReference({
    sets, tokenizer, reference: { dir: TINY, model, name: 'ref' }, unlearned: [{ dir: TINY, model, name: 'tiny', options: { precision: 'bf16' } }], title: 't',
    options: { relearnModes: [], probe: null, attacks: [] },
  });
  assert.match(mixed.data['matmul_precision']!, /^mixed, not comparable figure for figure: ref f32; tiny bf16 operands/);
});
