import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/engine/random.ts';
import { rocAuc } from '../../src/eval/auc.ts';
import { planAttempt } from '../../src/workflow/verify/escalation.ts';
import { judge, nullAucStdError, overall, type Measured } from '../../src/workflow/verify/judge.ts';
import { barFor, DEFAULT_BAR } from '../../src/workflow/verify/policy.ts';

const draw = (rng: Rng, n: number, shift = 0): number[] => Array.from({ length: n }, () => rng.normal() + shift);
const measured = (id: string, value: number | null, n = { subject: 20, reference: 100 }, core = true): Measured => ({ id, label: id, core, n, value, before: 0.99 });

describe('verification bar', () => {
  test('the AUC\'s null standard error agrees with simulation (2,000 draws of 10 vs 30 scores)', () => {
    const rng = new Rng(11);
    const aucs = Array.from({ length: 2000 }, () => rocAuc(draw(rng, 10), draw(rng, 30)));
    const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
    const sd = Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / (aucs.length - 1));
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(sd / nullAucStdError(10, 30) - 1) < 0.06, `simulated ${sd} vs formula ${nullAucStdError(10, 30)}`);
  });

  test('a model that never saw the subject misses the bar at most alpha of the time, over seven criteria', () => {
    const rng = new Rng(12);
    let misses = 0;
    const trials = 1500;
    for (let t = 0; t < trials; t++) {
      const criteria = judge(Array.from({ length: 7 }, (_, i) => measured(`c${i}`, rocAuc(draw(rng, 20), draw(rng, 100)))), DEFAULT_BAR);
      if (criteria.some((c) => c.status === 'missed')) misses++;
    }
    // alpha = 0.01 family-wise (Bonferroni is conservative); 1,500 trials: allow sampling noise up to 0.02.
    assert.ok(misses / trials <= 0.02, `${misses} of ${trials} never-trained draws missed the bar`);
  });

  test('a subject still known (scores shifted by 1.5 standard deviations) misses it nearly always', () => {
    const rng = new Rng(13);
    let misses = 0;
    for (let t = 0; t < 200; t++) {
      const criteria = judge([measured('mia', rocAuc(draw(rng, 20, 1.5), draw(rng, 100)))], DEFAULT_BAR);
      if (criteria[0]!.status === 'missed') misses++;
    }
    assert.ok(misses >= 180, `${misses} of 200`);
  });

  test('bars, Bonferroni, too few records, over-forgetting and the two-sided option', () => {
    const one = judge([measured('a', 0.6)], DEFAULT_BAR)[0]!;
    const five = judge(['a', 'b', 'c', 'd', 'e'].map((id) => measured(id, 0.6)), DEFAULT_BAR)[0]!;
    assert.ok(five.bar! > one.bar!, 'more criteria judged: a wider margin for each');
    assert.ok(Math.abs(one.bar! - (0.5 + DEFAULT_BAR.tolerance + 2.3263478740408408 * nullAucStdError(20, 100))) < 1e-9);
    assert.equal(judge([measured('a', 0.9)], DEFAULT_BAR)[0]!.status, 'missed');
    const few = judge([measured('a', 0.99, { subject: 3, reference: 100 })], DEFAULT_BAR)[0]!;
    assert.equal(few.status, 'not-judged');
    assert.match(few.note!, /too few records to judge: 3 of the subject's/);
    const low = judge([measured('a', 0.1)], DEFAULT_BAR)[0]!;
    assert.equal(low.status, 'met');
    assert.match(low.note!, /BELOW non-members \(over-forgetting.*not part of this one-sided bar/);
    assert.equal(judge([measured('a', 0.1)], barFor({ twoSided: true }))[0]!.status, 'missed');
    assert.equal(judge([measured('a', null)], DEFAULT_BAR)[0]!.status, 'not-judged');
  });

  test('overall: FAILED names the first missed criterion; INCONCLUSIVE when a core criterion is not judged; else PASSED', () => {
    const model = (criteria: ReturnType<typeof judge>) => ({ model: 'm', criteria });
    assert.equal(overall([model(judge([measured('mia:loss', 0.95)], DEFAULT_BAR))]).result, 'FAILED');
    assert.match(overall([model(judge([measured('mia:loss', 0.95)], DEFAULT_BAR))]).summary, /mia:loss missed the bar \(AUC 0\.950 > 0\.7/);
    const noRef = overall([model(judge([{ ...measured('mia:loss', null), reason: 'no non-member reference' }], DEFAULT_BAR))]);
    assert.deepEqual([noRef.result, /no non-member reference/.test(noRef.summary)], ['INCONCLUSIVE', true]);
    const ok = overall([model(judge([measured('mia:loss', 0.5), measured('extraction', 0.52), { ...measured('probe', null, undefined, false), reason: 'x' }], DEFAULT_BAR))]);
    assert.deepEqual(ok, { result: 'PASSED', summary: 'every judged criterion met the bar (not judged: probe)' });
    assert.equal(overall([]).result, 'INCONCLUSIVE');
  });

  test('escalation: the recommended method, then twice the optimisation, then the next method of the policy', () => {
    assert.deepEqual(planAttempt(1, 'npo', true).options, []);
    const second = planAttempt(2, 'npo', true);
    assert.equal(second.method, 'npo');
    assert.match(second.options[0]!, /^epochs=\d+/);
    assert.equal(planAttempt(3, 'npo', true).method, 'rmu');
    assert.equal(planAttempt(3, 'npo', false).method, 'task-vector', 'without retain records only a method that needs none');
    // An operator's step budget is kept, and doubled when the attempt is "stronger".
    assert.deepEqual(planAttempt(1, 'npo', true, ['steps=12', 'seed=3']).options, ['steps=12', 'seed=3']);
    assert.equal(planAttempt(1, 'npo', true).why, 'the recommended method with its defaults');
    assert.equal(planAttempt(1, 'npo', true, ['steps=12', 'seed=3']).why, 'the recommended method with its defaults and the worker\'s options (steps=12 seed=3)');
    assert.deepEqual(planAttempt(2, 'npo', true, ['steps=12']).options, ['steps=24']);
    assert.deepEqual(planAttempt(3, 'npo', true, ['steps=12']).options, ['steps=12']);
  });

  test('policy overrides are validated: unknown keys and out-of-range values are refused', () => {
    assert.equal(barFor({ alpha: 0.05 }).alpha, 0.05);
    assert.throws(() => barFor({ alpha: 0.7 }));
    assert.throws(() => barFor({ nonsense: 1 } as never));
    assert.equal(barFor(null).maxAttempts, 3);
  });
});
