// The sanity check of forget quality on the embedded models: two retain models that never saw the forget10
// persons (different seeds) have indistinguishable truth-ratio distributions, while the target that memorised them
// is far from both. If this failed, the metric (or the models) would not mean what TOFU says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import { forgetQuality } from '../../src/eval/forget-quality.ts';
import { scoreQaSet } from '../../src/eval/qa-scores.ts';
import { truthRatios } from '../../src/eval/truth-ratio.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { evenSample } from '../../src/util/sample.ts';
import { backend } from '../../src/engine/index.ts';

const root = new URL('../../', import.meta.url).pathname;

// It scores 4,200 answers with three models: minutes on the reference TypeScript backend, seconds on the native one.
const slow = backend().name === 'ts' && 'the reference TS backend is too slow for three full forget-set scorings';

test('forget quality on persons forget10: retain vs retain (other seed) ≥ 0.5, target vs either retain model < 1e-10', { skip: slow }, () => {
  const sets = loadEvalSets(`${root}data/persons`, 'forget10');
  const tokenizer = Tokenizer.fromDir(`${root}models/target`);
  // An even half of the 400 forget items keeps the suite within its time and both claims with room: on it the two
  // retain models give p = 0.92 and the target against either p ≤ 3.1e-12 (all 400: the same conclusions).
  const items = evenSample(sets.forget, 200);
  const trs = (name: string): Float64Array => {
    const s = scoreQaSet(loadModel(`${root}models/${name}`).model, tokenizer, items, tokenizer.eosId ?? 0, 64);
    return truthRatios(s.paraphrased, s.perturbed);
  };
  const retain = trs('retain90');
  const other = trs('retain90-seed2');
  const target = trs('target');
  const sane = forgetQuality(retain, other).pValue;
  assert.ok(sane >= 0.5, `retain90 vs retain90-seed2: forget quality ${sane}`);
  // Far below TOFU's bar of 0.05: the target is told apart from a model that never saw the persons beyond doubt.
  for (const [name, reference] of [['retain90', retain], ['retain90-seed2', other]] as const) {
    const memorised = forgetQuality(target, reference).pValue;
    assert.ok(memorised < 1e-10, `target vs ${name}: forget quality ${memorised}`);
  }
});
