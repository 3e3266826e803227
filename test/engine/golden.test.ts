// Every op's forward and backward against PyTorch fixtures (tools/golden/engine_ops.py), and against central
// finite differences of L = Σ out·upstream, on each backend under test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, noGrad, type Tensor } from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { assertClose } from '../helpers/compare.ts';
import { loadEngineFixtures, toTensor, type FixtureCase } from '../helpers/fixtures.ts';
import { dispatch } from '../helpers/op-dispatch.ts';

const GOLDEN_TOL = 1e-4;
const fixtures = loadEngineFixtures();

function run(op: string, c: FixtureCase): { out: Tensor; inputs: Record<string, Tensor> } {
  const inputs: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) inputs[name] = toTensor(t, true);
  const fn = dispatch[op];
  assert.ok(fn, `no dispatch for op ${op}`);
  return { out: fn(inputs, c.attrs), inputs };
}

/** L = Σ out·upstream in float64, evaluated without a graph. */
function objective(op: string, c: FixtureCase, inputs: Record<string, Tensor>): number {
  return noGrad(() => {
    const out = dispatch[op]!(inputs, c.attrs);
    let s = 0;
    for (let i = 0; i < out.size; i++) s += out.data[i]! * c.upstream.data[i]!;
    return s;
  });
}

for (const name of backendsUnderTest()) {
  describe(`golden ops [${name}]`, () => {
    for (const fx of fixtures) {
      for (const c of fx.cases) {
        test(`${fx.op}/${c.name}`, () => withBackend(name, () => {
          const { out, inputs } = run(fx.op, c);
          assert.equal(out.size, c.output.data.length, 'output size');
          assertClose(out.data, c.output.data, GOLDEN_TOL, 'output');
          backward(out, toTensor(c.upstream).withShape(out.shape));
          for (const [input, g] of Object.entries(c.grads)) {
            const grad = inputs[input]!.grad;
            assert.ok(grad, `no gradient for ${input}`);
            assertClose(grad.data, g.data, GOLDEN_TOL, `grad ${input}`);
          }
        }));
      }
    }
  });

  describe(`finite differences [${name}]`, () => {
    for (const fx of fixtures) {
      const c = fx.cases[fx.cases.length - 1]!;
      test(`${fx.op}/${c.name}`, () => withBackend(name, () => {
        const { out, inputs } = run(fx.op, c);
        backward(out, toTensor(c.upstream).withShape(out.shape));
        for (const input of Object.keys(c.grads)) checkFiniteDifferences(fx.op, c, inputs, input);
      }));
    }
  });
}

/** Compares the analytic gradient with central differences at a spread of coordinates of one input. */
function checkFiniteDifferences(op: string, c: FixtureCase, inputs: Record<string, Tensor>, input: string): void {
  const x = inputs[input]!;
  const analytic = x.grad!.data;
  let scale = 1e-3;
  for (let i = 0; i < analytic.length; i++) scale = Math.max(scale, Math.abs(analytic[i]!));
  const data = x.data as Float32Array;
  const count = Math.min(12, data.length);
  for (let k = 0; k < count; k++) {
    const i = Math.floor((k * data.length) / count);
    const orig = data[i]!;
    const h = 1e-3 * Math.max(1, Math.abs(orig));
    data[i] = orig + h;
    const up = objective(op, c, inputs);
    data[i] = orig - h;
    const down = objective(op, c, inputs);
    data[i] = orig;
    const fd = (up - down) / (Math.fround(orig + h) - Math.fround(orig - h));
    const err = Math.abs(fd - analytic[i]!) / scale;
    assert.ok(err < 2e-2, `${input}[${i}]: finite difference ${fd.toExponential(4)} vs analytic ${analytic[i]!.toExponential(4)} (error ${err.toExponential(2)} of max |grad| ${scale.toExponential(2)})`);
  }
}
