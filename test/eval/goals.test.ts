// The bars of true forgetting and the best-method choice, on constructed evaluations: each bar met, missed or not
// judged by its own rule, and the choice ranked by bars met, then forget quality, then utility.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestMethod, goalChecks } from '../../src/eval/goals.ts';
import type { ModelEvaluation, ProbeSummary, RelearnSummary } from '../../src/eval/report-types.ts';

interface Shape { fq?: number | null; utility?: number; auc?: number; probe?: number; steps50?: number | null }

function relearn(steps50: number | null): RelearnSummary {
  return { mode: 'forget-part', steps: [0, 5, 10, 20], score: [0, 0.2, 0.4, 0.6], steps50, steps90: null };
}
function probe(acc: number): ProbeSummary {
  return { attribute: 'country', layer: 2, probeAccuracy: acc, outputAccuracy: 0, chance: 0.1 };
}
function model(name: string, role: ModelEvaluation['role'], s: Shape): ModelEvaluation {
  const set = { items: 100, probability: 0.2, rougeRecall: 0, truthRatio: 0 };
  return {
    name, role, dir: null, forget: set, retain: set, world: null, modelUtility: s.utility ?? 0.6, forgetQuality: s.fq ?? null,
    extractionStrength: 0, exactMemorisation: 0, mia: s.auc === undefined ? [] : [{ attack: 'loss', auc: s.auc }], privLeak: null,
    relearn: s.steps50 === undefined ? [] : [relearn(s.steps50)], probe: s.probe === undefined ? null : probe(s.probe),
    samples: { forgetTruthRatios: [], lossForget: [], lossHoldout: [] }, verdict: null, seconds: null,
  };
}

const target = model('target', 'target', { utility: 0.6, auc: 0.95, probe: 0.9, steps50: 0 });
const reference = model('retain90', 'reference', { utility: 0.6, auc: 0.5, probe: 0.3, steps50: 20 });

test('each bar by its rule: FQ ≥ 0.05, utility ≥ 0.95×, MIA AUC and probe within 0.05, relearning ≥ half the steps', () => {
  const byId = (m: ModelEvaluation) => Object.fromEntries(goalChecks(m, target, reference).map((c) => [c.id, c.met]));
  assert.deepEqual(byId(model('a', 'unlearned', { fq: 0.05, utility: 0.57, auc: 0.55, probe: 0.35, steps50: 10 })),
    { 'forget-quality': true, utility: true, mia: true, probe: true, relearn: true });
  assert.deepEqual(byId(model('b', 'unlearned', { fq: 0.049, utility: 0.569, auc: 0.56, probe: 0.36, steps50: 9 })),
    { 'forget-quality': false, utility: false, mia: false, probe: false, relearn: false });
  // Over-unlearning is as telling as under-unlearning: an AUC far below the retain model's misses too.
  assert.equal(byId(model('c', 'unlearned', { auc: 0.3 }))['mia'], false);
  assert.deepEqual(byId(model('d', 'unlearned', {})), { 'forget-quality': null, utility: true, mia: null, probe: null, relearn: null });
});

test('relearning: against a retain model that never reached 50%, only "never" passes, "by half its horizon" fails, the rest is not judged', () => {
  const never = model('e', 'unlearned', { steps50: null });
  assert.equal(goalChecks(never, target, reference).find((c) => c.id === 'relearn')!.met, true);
  const slowReference = model('retain90', 'reference', { steps50: null });
  const at = (steps50: number | null) => goalChecks(model('f', 'unlearned', { steps50 }), target, slowReference).find((c) => c.id === 'relearn')!;
  assert.equal(at(null).met, true);
  assert.match(at(null).text, /after >20 steps vs retain model >20/);
  assert.equal(at(10).met, false, 'half the horizon (20) or sooner: surely under half the retain model\'s steps');
  assert.equal(at(15).met, null);
  assert.match(at(15).text, /the retain model did not reach 50% within its 20 steps, so the bar is not known/);
});

test('the best method meets the most bars, then has the higher forget quality; the line says what it meets and misses', () => {
  const npo = model('npo', 'unlearned', { fq: 1e-4, utility: 0.6, auc: 0.2, probe: 0.8, steps50: 5 });
  const sage = model('npo+sage', 'unlearned', { fq: 0.01, utility: 0.6, auc: 0.52, probe: 0.8, steps50: 5 });
  const rmu = model('rmu', 'unlearned', { fq: 0.02, utility: 0.5, auc: 0.52, probe: 0.8, steps50: 5 });
  const best = bestMethod([npo, sage, rmu, target, reference])!;
  assert.equal(best.name, 'npo+sage');
  assert.match(best.line, /^best method here: npo\+sage — meets 2 of 5 bars of true forgetting \(utility 1\.00× the target's \(bar 0\.95×\); MIA AUC 0\.52 vs retain model 0\.50 \(bar ±0\.05\)\); misses forget quality 0\.010 < 0\.05; probe 80% vs retain model 30%/);
  assert.match(best.line, /the others meet rmu 1, npo 1; ties go to the higher forget quality$/);
  // Same number of bars: the higher forget quality wins.
  const tie = bestMethod([npo, model('x', 'unlearned', { fq: 0.03, utility: 0.6, auc: 0.2, probe: 0.8, steps50: 5 }), target, reference])!;
  assert.equal(tie.name, 'x');
  assert.equal(bestMethod([npo, target]), null, 'no retain model: nothing to judge against');
});
