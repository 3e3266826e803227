// The primal–dual retain constraint (PDU) as a loop option: λ's bookkeeping step by step, the loss it weighs, its
// first step identical to the fixed-α loop, ε defaulting to the first retain term, the record in the outcome, a
// resumed run continuing λ exactly, and the errors.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { dualAscent } from '../../src/unlearn/loop.ts';
import { ceU } from '../../src/unlearn/methods/ce-u.ts';
import { gradAscent } from '../../src/unlearn/methods/grad-ascent.ts';
import { gradDiff } from '../../src/unlearn/methods/grad-diff.ts';
import { wga } from '../../src/unlearn/methods/wga.ts';
import { OptionError, parseOptions } from '../../src/unlearn/options.ts';
import { runUnlearning } from '../../src/unlearn/run.ts';
import type { StepEvent } from '../../src/unlearn/types.ts';
import { TINY, tinyContext, writeRecordFiles } from './fixtures.ts';

const BASE = ['steps=6', 'lr=1e-2', 'batchSize=2', 'retainBatchSize=2', 'checkEvery=2', 'checkSamples=4', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'];

function run(extra: string[], method = gradDiff): { events: StepEvent[]; details: Record<string, unknown>; weights: Float32Array } {
  const ctx = tinyContext();
  const events: StepEvent[] = [];
  const out = method.run(ctx, parseOptions(method.options, [...BASE, ...extra], method.name), { onStep: (e) => events.push(e) });
  assert.equal(out.stopReason, 'completed');
  return { events, details: out.details, weights: ctx.model.params.snapshot() };
}

/** λ_{t+1} = max(0, λ_t + η(retain_t − ε)) along the logged curve, and the logged loss γ·forget + λ_t(retain_t − ε). */
function assertBookkeeping(events: StepEvent[], o: { lambda0: number; eps: number; eta: number; gamma: number }): number {
  let lambda = o.lambda0;
  for (const e of events) {
    assert.equal(e.parts['lambda'], lambda, `λ at step ${e.step}`);
    const expected = o.gamma * e.parts['forget']! + lambda * (e.parts['retain']! - o.eps);
    assert.ok(Math.abs(e.loss - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `loss at step ${e.step}: ${e.loss} vs ${expected}`);
    lambda = dualAscent(lambda, e.parts['retain']!, o.eps, o.eta);
  }
  return lambda;
}

describe('primal–dual retain constraint', () => {
  test('dual ascent: λ + η·(retain − ε), never below 0', () => {
    assert.equal(dualAscent(1, 2, 0.5, 1), 2.5);
    assert.equal(dualAscent(1, 2, 0.5, 0.1), 1 + 0.1 * 1.5);
    assert.equal(dualAscent(0.2, 0.1, 1, 1), 0);
    assert.equal(dualAscent(0, 0.5, 1, 3), 0);
    assert.equal(dualAscent(0.7, 5, 1, 0), 0.7);
  });

  test('a violated constraint (ε = 0) raises λ every step; the logged loss is γ·forget + λ(retain − ε)', () => {
    const { events, details } = run(['primalDual=true', 'retainEps=0', 'dualStep=0.5', 'alpha=2']);
    assert.deepEqual(events.map((e) => Object.keys(e.parts)), events.map(() => ['forget', 'retain', 'lambda']));
    const end = assertBookkeeping(events, { lambda0: 2, eps: 0, eta: 0.5, gamma: 1 });
    assert.ok(events.every((e, i) => i === 0 || e.parts['lambda']! > events[i - 1]!.parts['lambda']!));
    assert.deepEqual(details['primalDual'], { retainEps: 0, dualStep: 0.5, lambdaStart: 2, lambdaEnd: end });
  });

  test('a slack constraint drives λ to 0 and holds it there', () => {
    const { events } = run(['primalDual=true', 'retainEps=100', 'dualStep=1', 'alpha=2']);
    assertBookkeeping(events, { lambda0: 2, eps: 100, eta: 1, gamma: 1 });
    assert.deepEqual(events.slice(1).map((e) => e.parts['lambda']), events.slice(1).map(() => 0));
  });

  test('ε defaults to the first step\'s retain term; other methods and γ take the option too', () => {
    const { events, details } = run(['primalDual=true', 'gamma=0.5', 'beta=0.3'], wga);
    const eps = events[0]!.parts['retain']!;
    assertBookkeeping(events, { lambda0: 1, eps, eta: 1, gamma: 0.5 });
    assert.equal((details['primalDual'] as { retainEps: number }).retainEps, eps);
  });

  test('its first step moves θ exactly as the fixed-α loop does (λ₀ = α; ε shifts the loss, not the gradient)', () => {
    const one = ['steps=1'];
    const pdu = run([...one, 'primalDual=true', 'retainEps=3', 'alpha=2']);
    const plain = run([...one, 'alpha=2']);
    assert.ok(pdu.weights.every((v, i) => Object.is(v, plain.weights[i])));
  });

  test('with α = 0 the retain term still runs (λ starts at 0 and rises while it is violated)', () => {
    const { events } = run(['primalDual=true', 'retainEps=0', 'alpha=0'], ceU);
    assert.equal(events[0]!.parts['lambda'], 0);
    assert.ok(events.at(-1)!.parts['lambda']! > 0);
  });

  test('a run stopped and resumed from its checkpoint continues λ exactly', () => {
    const o = [...BASE, 'steps=8', 'primalDual=true', 'retainEps=4', 'dualStep=0.3'];
    const whole = gradDiff.run(tinyContext(), parseOptions(gradDiff.options, o, 'grad-diff'), {});
    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-pdu-')), 'ck');
    let steps = 0;
    gradDiff.run(tinyContext(), parseOptions(gradDiff.options, o, 'grad-diff'), { checkpoint: { dir, every: 2 }, onStep: () => { steps++; }, shouldStop: () => steps >= 5 });
    const messages: string[] = [];
    const ctx = tinyContext();
    const resumed = gradDiff.run(ctx, parseOptions(gradDiff.options, o, 'grad-diff'), { checkpoint: { dir, every: 2 }, onMessage: (m) => messages.push(m) });
    assert.ok(messages.some((m) => /resumed from the checkpoint at step 4 of 8/.test(m)), messages.join('\n'));
    assert.deepEqual(resumed.curve.map((e) => e.parts['lambda']), whole.curve.map((e) => e.parts['lambda']));
    assert.deepEqual(resumed.curve.map((e) => e.loss), whole.curve.map((e) => e.loss));
    assert.deepEqual(resumed.details['primalDual'], whole.details['primalDual']);
  });

  test('unlearn.json records ε, η and λ: the options, λ per step in the curve, and the constraint as run', () => {
    const { forget, retain } = writeRecordFiles('lethe-pdu-record-');
    const { record } = runUnlearning({ modelDir: TINY, forgetPath: forget, retainPath: retain, method: 'npo',
      options: ['steps=3', 'primalDual=true', 'retainEps=2', 'dualStep=0.25', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], allowNoop: true });
    assert.deepEqual([record.options['primalDual'], record.options['retainEps'], record.options['dualStep']], [true, 2, 0.25]);
    const end = assertBookkeeping(record.curve, { lambda0: record.options['alpha'] as number, eps: 2, eta: 0.25, gamma: 1 });
    assert.deepEqual(record.details['primalDual'], { retainEps: 2, dualStep: 0.25, lambdaStart: record.options['alpha'], lambdaEnd: end });
  });

  test('errors: no retain set to constrain; a method without a retain term has no such option', () => {
    assert.throws(() => ceU.run({ ...tinyContext(), retain: [] }, parseOptions(ceU.options, [...BASE, 'primalDual=true'], 'ce-u'), {}),
      (e: Error) => e instanceof OptionError && /primalDual needs a retain set/.test(e.message));
    assert.throws(() => parseOptions(gradAscent.options, ['primalDual=true'], 'grad-ascent'), /grad-ascent has no option "primalDual"/);
    assert.throws(() => parseOptions(gradDiff.options, ['retainEps=-1'], 'grad-diff'), /grad-diff option retainEps=-1/);
    assert.equal(parseOptions(gradDiff.options, [], 'grad-diff').primalDual, false);
  });
});
