// Model-relative defaults: steps from epochs over the forget set, lr scaled by 256/d_model.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseOptions, resolveSchedule, type LoopOptions } from '../../src/unlearn/options.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import { prepareUnlearning, runUnlearning } from '../../src/unlearn/run.ts';

const npoDefaults = (): LoopOptions => parseOptions(getMethod('npo').options, [], 'npo') as unknown as LoopOptions;

describe('model-relative schedule', () => {
  test('on the embedded model (width 256) and forget10 (400 items) the defaults are the tuned values', () => {
    const s = resolveSchedule(npoDefaults(), 256, 400);
    assert.equal(s.steps, 200);
    assert.equal(s.lr, 3e-4);
  });

  test('a 4096-wide model gets lr ÷ 16, a 40-item forget set a tenth of the steps', () => {
    const s = resolveSchedule(npoDefaults(), 4096, 40);
    assert.equal(s.lr, 3e-4 / 16);
    assert.equal(s.steps, 20);
    assert.match(s.rule.lr, /baseLr 0\.0003 × 256\/d_model 4096/);
    assert.match(s.rule.steps, /8 epochs × 40 forget items \/ batch 16/);
  });

  test('a narrower model keeps the base rate (never scaled up); short runs are checked at least four times', () => {
    const s = resolveSchedule(npoDefaults(), 64, 16);
    assert.equal(s.lr, 3e-4);
    assert.match(s.rule.lr, /not scaled/);
    assert.equal(s.steps, 8);
    assert.equal(s.checkEvery, 2);
    assert.equal(resolveSchedule(npoDefaults(), 256, 400).checkEvery, 10);
  });

  test('values given are used as given', () => {
    const o = parseOptions(getMethod('npo').options, ['steps=7', 'lr=0.01'], 'npo') as unknown as LoopOptions;
    const s = resolveSchedule(o, 4096, 40);
    assert.deepEqual([s.steps, s.lr, s.rule.steps, s.rule.lr], [7, 0.01, 'given', 'given']);
  });

  test('prepareUnlearning writes the derived steps and lr into the options the record keeps, with the rule', () => {
    const messages: string[] = [];
    const p = prepareUnlearning({ modelDir: 'models/target', forgetPath: 'data/persons/forget01.jsonl', retainPath: 'data/persons/retain99.jsonl', method: 'npo' }, { onMessage: (m) => messages.push(m) });
    assert.equal(p.options['steps'], 20); // ⌈8 × 40 / 16⌉
    assert.equal(p.options['lr'], 3e-4);
    assert.equal(p.options['checkEvery'], 5); // ⌈20 / 4⌉
    assert.match(p.schedule!.steps, /8 epochs × 40 forget items/);
    assert.ok(messages.some((m) => /^schedule: 20 steps .* lr 3\.00e-4 .*a guard check every 5$/.test(m)), messages.join('\n'));
  });
});

describe('what the written weights do', () => {
  test('a run that makes the forget set more likely says so (grad-diff with γ = 0 trains on the forget records)', () => {
    const r = runUnlearning({ modelDir: 'models/target', forgetPath: 'data/persons/forget01.jsonl', retainPath: 'data/persons/forget01.jsonl', method: 'grad-diff', options: ['gamma=0', 'steps=4', 'lr=1e-3', 'checkSamples=8'] });
    assert.ok(r.record.result.after.forgetProb > r.record.result.before.forgetProb);
    assert.match(r.record.result.warnings.join('\n'), /the forget probability rose/);
  });
});
