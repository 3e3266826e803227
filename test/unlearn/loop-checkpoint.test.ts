// A killed unlearning run resumes from its last checkpoint and ends exactly where an uninterrupted run ends.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { npo } from '../../src/unlearn/methods/npo.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { tinyContext } from './fixtures.ts';

const OPTIONS = ['steps=20', 'checkEvery=5', 'checkSamples=4', 'lr=0.001'];

describe('unlearning checkpoints', () => {
  test('stop at step 12, resume from the step-10 checkpoint: the same weights, curve and checks as one run', () => {
    const o = parseOptions(npo.options, OPTIONS, 'npo');
    const whole = tinyContext();
    const ref = npo.run(whole, o, {});

    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-loopck-')), 'ck');
    const first = tinyContext();
    const messages: string[] = [];
    let steps = 0;
    const cut = npo.run(first, o, { checkpoint: { dir, every: 5 }, onStep: () => { steps++; }, shouldStop: () => steps >= 12 });
    assert.equal(cut.stopReason, 'stopped');
    assert.ok(existsSync(join(dir, 'trainer_state.json')));

    const second = tinyContext(); // a new process: the original weights again
    const resumed = npo.run(second, o, { checkpoint: { dir, every: 5 }, onMessage: (m) => messages.push(m) });
    assert.ok(messages.some((m) => /resumed from the checkpoint at step 10 of 20/.test(m)), messages.join('\n'));
    assert.equal(resumed.steps, 20);
    assert.deepEqual(resumed.curve.map((e) => e.loss), ref.curve.map((e) => e.loss));
    assert.deepEqual(resumed.checks.map((c) => c.forgetProb), ref.checks.map((c) => c.forgetProb));
    assert.deepEqual(second.model.params.flat, whole.model.params.flat);
  });

  test('a checkpoint of another run (other options) is not resumed', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lethe-loopck-')), 'ck');
    let steps = 0;
    npo.run(tinyContext(), parseOptions(npo.options, OPTIONS, 'npo'), { checkpoint: { dir, every: 5 }, onStep: () => { steps++; }, shouldStop: () => steps >= 12 });
    const messages: string[] = [];
    const other = npo.run(tinyContext(), parseOptions(npo.options, [...OPTIONS, 'beta=0.2'], 'npo'), { checkpoint: { dir, every: 5 }, onMessage: (m) => messages.push(m) });
    assert.equal(other.steps, 20);
    assert.ok(!messages.some((m) => /resumed/.test(m)));
  });
});
