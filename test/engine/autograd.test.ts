// The tape: accumulation, shared inputs, noGrad, graph release, views, and backward's own errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  add, backward, EngineError, isGradEnabled, mul, noGrad, parameter, reshape, slice, sum, tensor, Tensor,
} from '../../src/engine/index.ts';

const p = (values: number[], shape?: number[]): Tensor => parameter(tensor(values, shape));

describe('autograd', () => {
  test('a tensor used twice receives both gradient contributions', () => {
    const x = p([1, 2, 3]);
    backward(sum(mul(x, x))); // d/dx Σx² = 2x
    assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
  });

  test('gradients accumulate across backward calls until zeroGrad', () => {
    const x = p([1, -1]);
    backward(sum(mul(x, 3)));
    backward(sum(mul(x, 3)));
    assert.deepEqual(x.grad!.toArray(), [6, 6]);
    x.zeroGrad();
    assert.equal(x.grad, null);
  });

  test('only tensors that need gradients get them', () => {
    const x = p([1, 2]);
    const c = tensor([5, 7]);
    const y = mul(x, c);
    assert.ok(y.requiresGrad);
    backward(sum(y));
    assert.deepEqual(x.grad!.toArray(), [5, 7]);
    assert.equal(c.grad, null);
  });

  test('noGrad records nothing and restores the mode, even on error', () => {
    const x = p([1, 2]);
    const y = noGrad(() => mul(x, 2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(isGradEnabled(), true);
  });

  test('backward releases the graph', () => {
    const x = p([1, 2]);
    const y = mul(x, 2);
    const loss = sum(y);
    backward(loss);
    assert.equal(loss.node, null);
    assert.equal(y.node, null);
  });

  test('views share storage and route gradients back', () => {
    const x = p([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = reshape(x, [3, 2]);
    assert.equal(r.data.buffer, x.data.buffer);
    const s = slice(x, 0, 1, 2);
    assert.equal(s.data.buffer, x.data.buffer);
    assert.deepEqual(s.toArray(), [4, 5, 6]);
    backward(add(sum(mul(r, 2)), sum(s)));
    assert.deepEqual(x.grad!.toArray(), [2, 2, 2, 3, 3, 3]);
  });

  test('a deep chain does not overflow the stack', () => {
    const x = p([1]);
    let y: Tensor = x;
    for (let i = 0; i < 20000; i++) y = add(y, 1);
    backward(sum(y));
    assert.deepEqual(x.grad!.toArray(), [1]);
  });

  test('backward explains misuse', () => {
    assert.throws(() => backward(sum(tensor([1, 2]))), (e: unknown) => e instanceof EngineError && /does not require a gradient/.test(e.message));
    const x = p([1, 2]);
    assert.throws(() => backward(mul(x, 2)), /output \[2\] is not a scalar/);
    assert.throws(() => backward(mul(x, 2), tensor([1, 2, 3])), /gradient shape \[3\] does not match output \[2\]/);
  });
});
