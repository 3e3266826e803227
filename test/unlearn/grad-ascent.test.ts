// GradAscent through its run path (DESIGN.md §5): the optimised loss is −NLL of the forget answers, the run
// raises that NLL, and a retain set only feeds the damage guard, never the loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../../src/engine/index.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { gradAscent } from '../../src/unlearn/methods/grad-ascent.ts';
import { OptionError, parseOptions } from '../../src/unlearn/options.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import type { StepEvent, UnlearnContext } from '../../src/unlearn/types.ts';
import { tinyContext } from './fixtures.ts';

// Four forget items and batches of four: every step sees the whole forget set, so step 1's loss is known.
const options = (...extra: string[]) => parseOptions(gradAscent.options,
  ['steps=4', 'lr=1e-3', 'batchSize=4', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0', ...extra], 'grad-ascent');
const forgetNll = (ctx: UnlearnContext): number => noGrad(() => answerNll(ctx.model, makeBatch(ctx.forget, ctx.padId)).item());

test('grad-ascent: step 1 optimises −NLL(forget), and the run raises the forget NLL and lowers its probability', () => {
  const ctx = tinyContext();
  const before = forgetNll(ctx);
  const events: StepEvent[] = [];
  const out = gradAscent.run(ctx, options(), { onStep: (e) => events.push(e) });
  assert.equal(out.stopReason, 'completed');
  assert.equal(out.steps, 4);
  assert.deepEqual(out.curve, events);
  assert.deepEqual(events.map((e) => [e.phase, e.step, e.totalSteps]), [1, 2, 3, 4].map((s) => ['unlearn', s, 4]));
  assert.ok(Math.abs(events[0]!.loss + before) <= 1e-5 * before, `step 1 loss ${events[0]!.loss} vs −NLL ${-before}`);
  // The retain set is there (the guard scores it) but is no part of the loss.
  assert.deepEqual(events.map((e) => Object.keys(e.parts)), events.map(() => ['forget']));
  assert.ok(events.every((e) => e.loss === e.parts['forget']));
  assert.deepEqual(out.checks.map((c) => c.step), [0, 2, 4]);
  assert.ok(out.checks.every((c) => c.retainLoss !== null));
  assert.ok(out.checks.at(-1)!.forgetProb < out.checks[0]!.forgetProb);
  assert.ok(forgetNll(ctx) > before, `forget NLL ${forgetNll(ctx)} after vs ${before} before`);
  assert.ok(ctx.model.params.flat.every(Number.isFinite));
});

test('grad-ascent runs without a retain set, and takes no retain options', () => {
  const ctx = { ...tinyContext(), retain: [] };
  const out = gradAscent.run(ctx, options(), {});
  assert.equal(out.stopReason, 'completed');
  assert.ok(out.checks.every((c) => c.retainLoss === null));
  assert.notDeepEqual(ctx.model.params.flat, ctx.original);
  assert.equal(getMethod('GradAscent'), gradAscent);
  assert.equal(gradAscent.retain, 'optional');
  assert.throws(() => options('alpha=1'), (e: Error) => e instanceof OptionError && /grad-ascent has no option "alpha"/.test(e.message));
});
