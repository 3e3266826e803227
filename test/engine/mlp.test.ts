// End-to-end: a 2-layer MLP learns a fixed synthetic classification task with AdamW on each backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AdamW, backward, crossEntropy, linear, parameter, randn, relu, Rng, Tensor, zeros,
} from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

/** Points in 2-D labelled by which of 3 angular sectors they fall in (a non-linear boundary). */
function sectors(n: number, rng: Rng): { x: Tensor; y: Tensor } {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.uniform() * 2 * Math.PI;
    const r = 0.5 + rng.uniform();
    x[2 * i] = r * Math.cos(a);
    x[2 * i + 1] = r * Math.sin(a);
    y[i] = Math.floor((a / (2 * Math.PI)) * 3);
  }
  return { x: new Tensor(x, [n, 2]), y: new Tensor(y, [n]) };
}

function train(): number[] {
  const rng = new Rng(42);
  const data = sectors(256, rng);
  const hidden = 64;
  const w1 = parameter(randn([hidden, 2], rng, 1));
  const b1 = parameter(zeros([hidden]));
  const w2 = parameter(randn([3, hidden], rng, 0.1));
  const b2 = parameter(zeros([3]));
  const opt = new AdamW([w1, b1, w2, b2], { lr: 2e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 400; step++) {
    const loss = crossEntropy(linear(relu(linear(data.x, w1, b1)), w2, b2), data.y);
    backward(loss);
    opt.update();
    opt.zeroGrad();
    losses.push(loss.item());
  }
  return losses;
}

describe('2-layer MLP', () => {
  const results = new Map<string, number[]>();
  for (const name of backendsUnderTest()) {
    test(`trains below 0.05 loss with AdamW [${name}]`, () => withBackend(name, () => {
      const losses = train();
      results.set(name, losses);
      assert.ok(losses[0]! > 0.5, `initial loss ${losses[0]} should be high`);
      assert.ok(losses.at(-1)! < 0.05, `final loss ${losses.at(-1)} should be < 0.05`);
    }));
  }
  test('both backends follow the same loss curve', (t) => {
    const ts = results.get('ts');
    const native = results.get('native');
    if (!ts || !native) return t.skip('needs both backends');
    for (const step of [0, 10, 100]) {
      assert.ok(Math.abs(ts[step]! - native[step]!) < 1e-3 * Math.max(1, ts[step]!), `step ${step}: ${ts[step]} vs ${native[step]}`);
    }
  });
});
