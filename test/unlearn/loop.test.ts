// The shared loop's guards, task-vector arithmetic, option validation and the registry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scale } from '../../src/engine/index.ts';
import { runLossLoop } from '../../src/unlearn/loop.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { loopOptionShape, OptionError, parseOptions, type LoopOptions } from '../../src/unlearn/options.ts';
import { negateTaskVector, taskVector } from '../../src/unlearn/methods/task-vector.ts';
import { getMethod, METHODS } from '../../src/unlearn/registry.ts';
import { neg } from '../../src/engine/index.ts';
import { z } from 'zod';
import { tinyContext } from './fixtures.ts';

const loopDefaults = (over: Partial<LoopOptions>): LoopOptions => ({ ...z.object(loopOptionShape({ epochs: 1, lr: 1e-3 })).parse({}), steps: 5, lr: 1e-3, batchSize: 4, checkEvery: 1, ...over });
const ascent = { forget: (b: Parameters<typeof answerNll>[1], t: { model: Parameters<typeof answerNll>[0] }) => neg(answerNll(t.model, b)) };

describe('guards', () => {
  test('a run stops once the forget target is reached', () => {
    const ctx = tinyContext();
    const checks: number[] = [];
    const out = runLossLoop(ctx, loopDefaults({ steps: 200, lr: 1e-2, alpha: 0, targetForgetProb: 1e-3, maxRetainLossRise: 0 }), ascent, { onCheck: (c) => checks.push(c.forgetProb) });
    assert.equal(out.stopReason, 'forget-target');
    assert.ok(out.steps < 200);
    assert.ok(checks.at(-1)! <= 1e-3 && checks.slice(0, -1).every((p) => p > 1e-3));
  });

  test('retain damage beyond the bound stops the run and rolls back to the last good check', () => {
    const ctx = tinyContext();
    const out = runLossLoop(ctx, loopDefaults({ steps: 50, lr: 3e-2, alpha: 0, maxRetainLossRise: 0.05 }), ascent, {});
    assert.equal(out.stopReason, 'retain-guard');
    const start = out.checks[0]!.retainLoss!;
    assert.ok(out.checks.at(-1)!.retainLoss! - start > 0.05, 'the last check is the breach');
    // The kept weights are those of the check before the breach: re-checking them passes the bound.
    const before = out.checks.at(-2)!;
    assert.ok(before.retainLoss! - start <= 0.05);
    const recheck = runLossLoop(ctx, loopDefaults({ steps: 1, lr: 1e-9, alpha: 0, maxRetainLossRise: 0 }), ascent, {}).checks[0]!;
    assert.ok(Math.abs(recheck.retainLoss! - before.retainLoss!) < 1e-5, `${recheck.retainLoss} vs ${before.retainLoss}`);
  });

  test('a retain NLL falling far below its start is reported once as memorising the retain set (issue 12 item 2)', () => {
    const ctx = tinyContext();
    const messages: string[] = [];
    const out = runLossLoop(ctx, loopDefaults({ steps: 12, lr: 1e-2, alpha: 1, checkEvery: 3, batchSize: 2 }), { forget: (b, t) => scale(answerNll(t.model, b), 0) }, { onMessage: (m) => messages.push(m) });
    assert.ok(out.checks.at(-1)!.retainLoss! < out.checks[0]!.retainLoss! - 1, 'the retain NLL did fall by more than the bound');
    const warnings = messages.filter((m) => /the run is memorising the retain set/.test(m));
    assert.equal(warnings.length, 1, messages.join('\n'));
    assert.match(warnings[0]!, /^unlearn: retain NLL fell from \d+\.\d{4} to \d+\.\d{4}: the run is memorising the retain set, so the retain guard no longer reflects general damage/);
  });

  test('a non-finite loss is never applied: the run stops with the last good weights, all finite', () => {
    const ctx = tinyContext();
    let calls = 0;
    const seen: { atStep2?: Float32Array } = {};
    const out = runLossLoop(ctx, loopDefaults({ steps: 10, lr: 1e-3, alpha: 0, maxRetainLossRise: 0 }), {
      forget: (b, t) => (++calls === 3 ? scale(answerNll(t.model, b), NaN) : neg(answerNll(t.model, b))),
    }, { onCheck: (c) => { if (c.step === 2) seen.atStep2 = ctx.model.params.snapshot(); } });
    assert.equal(out.stopReason, 'non-finite');
    assert.equal(out.steps, 2);
    assert.ok(seen.atStep2 && ctx.model.params.flat.every((v, i) => v === seen.atStep2![i]), 'weights are those of the check at step 2');
    assert.ok(ctx.model.params.flat.every(Number.isFinite));
  });

  test('trainable limits the update to the named parameters, the rest bit-for-bit unchanged', () => {
    const ctx = tinyContext();
    const name = 'transformer.h.1.mlp.c_proj.weight';
    runLossLoop(ctx, loopDefaults({ steps: 3, weightDecay: 0.1 }), { ...ascent, trainable: [name] }, {});
    for (const [n, p] of ctx.model.params.entries()) {
      const before = ctx.original.subarray(p.data.byteOffset / 4, p.data.byteOffset / 4 + p.size);
      if (n === name) assert.notDeepEqual(p.data, before);
      else assert.deepEqual(p.data, before, n);
    }
    assert.ok(ctx.model.params.list().every((p) => p.requiresGrad), 'parameters are trainable again afterwards');
  });
});

describe('task vector', () => {
  test("θ' = θ − λ(θ_ft − θ) exactly", () => {
    const original = Float32Array.from([0.5, -1, 2, 0]);
    const flat = Float32Array.from([0.75, -1, 1, 1e-3]);
    const norm = negateTaskVector(flat, original, 5);
    assert.deepEqual(Array.from(flat), [0.5 - 5 * 0.25, -1, 2 + 5, Math.fround(-5 * Math.fround(1e-3))]);
    assert.ok(Math.abs(norm - Math.hypot(0.25, 0, 1, Math.fround(1e-3))) < 1e-7);
  });

  test('the method negates the fine-tune update of the same options', () => {
    const a = tinyContext();
    const o = parseOptions(taskVector.options, ['steps=3', 'lr=1e-3', 'batchSize=4', 'lambda=2', 'maxRetainLossRise=0'], 'task-vector');
    taskVector.run(a, o, {});
    const b = tinyContext();
    runLossLoop(b, { ...o, gamma: 1, targetForgetProb: 0, maxRetainLossRise: 0 }, { forget: (x, t) => answerNll(t.model, x) }, {}, { guards: false });
    const expected = b.model.params.snapshot();
    negateTaskVector(expected, b.original, 2);
    assert.deepEqual(a.model.params.flat, expected);
  });

  test('a negated model that breaches the retain bound gives θ back (issue 11 item 2)', () => {
    // λ = 1e38 leaves finite f32 weights whose retain NLL is NaN: a NaN loss is damage, not a pass.
    for (const opts of [['lambda=2', 'maxRetainLossRise=1e-6'], ['lambda=1e38']]) {
      const ctx = tinyContext();
      const out = taskVector.run(ctx, parseOptions(taskVector.options, ['steps=3', 'lr=1e-3', 'batchSize=4', ...opts], 'task-vector'), {});
      assert.equal(out.stopReason, 'retain-guard');
      assert.deepEqual(ctx.model.params.flat, ctx.original);
    }
  });
});

describe('options and registry', () => {
  test('every method has documented options with defaults', () => {
    assert.ok(METHODS.length >= 7);
    for (const m of METHODS) {
      const o = parseOptions(m.options, [], m.name) as Record<string, unknown>;
      assert.equal(typeof o['epochs'] === 'number' || typeof o['topK'] === 'number', true, m.name);
    }
  });

  test('methods are found by any spelling of their name', () => {
    assert.equal(getMethod('GradDiff').name, 'grad-diff');
    assert.equal(getMethod('NPO').name, 'npo');
    assert.throws(() => getMethod('forget-it'), /unknown method "forget-it" \(methods: grad-ascent, /);
  });

  test('unknown options, malformed pairs and wrong types are named', () => {
    const npo = getMethod('npo');
    assert.throws(() => parseOptions(npo.options, ['gamma=1', 'betta=2'], 'npo'), (e: Error) => e instanceof OptionError && /npo has no option "betta"/.test(e.message));
    assert.throws(() => parseOptions(npo.options, ['beta'], 'npo'), /option "beta" must be written key=value/);
    assert.throws(() => parseOptions(npo.options, ['steps=many'], 'npo'), /npo option steps="many": .*number/);
    assert.throws(() => parseOptions(npo.options, ['steps=2.5'], 'npo'), /npo option steps=2.5: .*int/);
    assert.throws(() => parseOptions(npo.options, ['retainLoss=mse'], 'npo'), /npo option retainLoss="mse"/);
    assert.deepEqual(parseOptions(npo.options, ['beta=0.2', 'retainLoss=kl'], 'npo').beta, 0.2);
  });
});
