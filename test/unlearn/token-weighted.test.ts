// WGA and SatImp: gradient ascent with per-token weights read off the forward pass and detached. Each loss against a
// float64 recomputation from the model's own logits, its gradient against finite differences of the loss with the
// weights held at θ, and that gradient against the one the weights would add were they not detached; then each
// method's run on the tiny fixture. On both backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noGrad } from '../../src/engine/index.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { satImp, satImpLoss } from '../../src/unlearn/methods/satimp.ts';
import { wga, wgaLoss } from '../../src/unlearn/methods/wga.ts';
import { OptionError, parseOptions } from '../../src/unlearn/options.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import type { StepEvent, UnlearnContext, UnlearnMethod } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { tinyContext } from './fixtures.ts';
import { answerRows, assertDetached, checkGradient, close, logSoftmax64, mean } from './oracle.ts';

/** −mean_t w_t·NLL_t in float64, the weights from `weightsAt`'s per-token NLLs (θ now, or a fixed earlier θ). */
function weightedAscent64(nlls: number[], weights: number[]): number {
  return -mean(nlls.map((n, t) => weights[t]! * n));
}

const tokenNlls = (ctx: UnlearnContext): number[] =>
  answerRows(ctx.model, makeBatch(ctx.forget, ctx.padId)).map((r) => -logSoftmax64(r.logits)[r.token]!);

const CASES: { name: string; loss: (ctx: UnlearnContext) => ReturnType<typeof wgaLoss>; weight: (nll: number) => number }[] = [
  // β below the default: the tiny random model gives p ≈ 1/297, and p^β must not vanish for the checks to bite.
  { name: 'WGA: −mean p^β·NLL', loss: (ctx) => wgaLoss(ctx.model, makeBatch(ctx.forget, ctx.padId), 0.3), weight: (n) => Math.exp(-0.3 * n) },
  {
    name: 'SatImp: −mean p^β1·(1 − p)^β2·NLL', loss: (ctx) => satImpLoss(ctx.model, makeBatch(ctx.forget, ctx.padId), 0.2, 2),
    weight: (n) => Math.exp(-0.2 * n) * (1 - Math.exp(-n)) ** 2,
  },
];

for (const be of backendsUnderTest()) {
  describe(`token-weighted ascent losses (${be})`, () => {
    for (const c of CASES) {
      test(`${c.name}: value, gradient, and no gradient through the weights`, () => withBackend(be, () => {
        const ctx = tinyContext();
        const nlls = tokenNlls(ctx);
        const weights = nlls.map(c.weight);
        const got = c.loss(ctx);
        close(got.loss.item(), weightedAscent64(nlls, weights), 1e-5, c.name);
        close(got.meanWeight, mean(weights), 1e-5, `${c.name} mean weight`);
        // Autograd against the loss with the weights held at θ0 …
        const at = checkGradient(ctx.model, () => c.loss(ctx).loss, () => weightedAscent64(tokenNlls(ctx), weights));
        // … and far from the loss whose weights move with θ.
        assertDetached(ctx.model, at, () => noGrad(() => c.loss(ctx).loss.item()));
      }));
    }

    test('with every exponent 0 both are gradient ascent', () => withBackend(be, () => {
      const ctx = tinyContext();
      const batch = makeBatch(ctx.forget, ctx.padId);
      const ga = -answerNll(ctx.model, batch).item();
      close(wgaLoss(ctx.model, batch, 0).loss.item(), ga, 1e-6, 'WGA β=0');
      close(satImpLoss(ctx.model, batch, 0, 0).loss.item(), ga, 1e-6, 'SatImp β1=β2=0');
    }));
  });
}

/** A few steps of a method on the tiny fixture (guards on, with loose bounds). */
function shortRun(method: UnlearnMethod, ctx: UnlearnContext, ...extra: string[]): { events: StepEvent[]; out: ReturnType<UnlearnMethod['run']> } {
  const events: StepEvent[] = [];
  const o = parseOptions(method.options, ['steps=4', 'lr=1e-2', 'batchSize=4', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0', ...extra], method.name);
  const out = method.run(ctx, o, { onStep: (e) => events.push(e) });
  return { events, out };
}

for (const [method, extra] of [[wga, ['beta=0.3', 'alpha=0.1']], [satImp, ['beta1=0.2', 'beta2=1', 'gamma=1', 'alpha=0.1']]] as const) {
  test(`${method.name} runs end to end on the tiny fixture: forget NLL up, finite weights, its parts logged`, () => {
    const ctx = tinyContext();
    const batch = makeBatch(ctx.forget, ctx.padId);
    const before = noGrad(() => answerNll(ctx.model, batch).item());
    const { events, out } = shortRun(method, ctx, ...extra);
    assert.equal(out.stopReason, 'completed');
    assert.equal(out.steps, 4);
    assert.deepEqual(Object.keys(events[0]!.parts), ['forget', 'weight', 'retain']);
    assert.ok(events.every((e) => e.parts['weight']! > 0 && e.parts['weight']! <= 1));
    assert.ok(noGrad(() => answerNll(ctx.model, batch).item()) > before, 'the forget NLL rose');
    assert.ok(ctx.model.params.flat.every(Number.isFinite));
    assert.equal(getMethod(method.name), method);
    assert.equal(method.retain, 'required');
  });
}

test('defaults are open-unlearning\'s (configs/trainer/WGA.yaml, SatImp.yaml)', () => {
  const w = parseOptions(wga.options, [], 'wga');
  assert.deepEqual([w.beta, w.gamma, w.alpha, w.epochs, w.retainLoss], [1, 1, 1, 5, 'nll']);
  const s = parseOptions(satImp.options, [], 'satimp');
  assert.deepEqual([s.beta1, s.beta2, s.gamma, s.alpha, s.epochs, s.retainLoss], [5, 1, 0.1, 1, 5, 'nll']);
  assert.throws(() => parseOptions(wga.options, ['beta=-1'], 'wga'), (e: Error) => e instanceof OptionError && /wga option beta=-1/.test(e.message));
});
