// The tape: accumulation, shared inputs, noGrad, graph release, views, and backward's own errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  add, backward, embedding, EngineError, isGradEnabled, layerNorm, linear, matmul, mul, noGrad, parameter, reshape, slice, sum, tensor, Tensor,
  transpose,
} from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

const p = (values: number[], shape?: number[]): Tensor => parameter(tensor(values, shape));

describe('autograd', () => {
  // An embedding table that takes no other gradient is scatter-added into its .grad directly (leafGradTarget); one
  // that already has a gradient (tied to a head, or a second backward) takes the returned-gradient path. Both
  // must give Σ over positions of the output gradient, recomputed here in float64.
  for (const name of backendsUnderTest()) {
    test(`embedding gradient, directly into .grad and through the returned path (${name})`, () => withBackend(name, () => {
      const [vocab, d] = [5, 3];
      const w = parameter(tensor(Array.from({ length: vocab * d }, (_, i) => Math.sin(i)), [vocab, d]));
      const idList = [3, 0, 3, 4, 3];
      const ids = new Tensor(Int32Array.from(idList), [idList.length]);
      const g = tensor(Array.from({ length: idList.length * d }, (_, i) => Math.cos(i) / 3), [idList.length, d]);
      const want = new Float64Array(vocab * d);
      idList.forEach((id, i) => { for (let j = 0; j < d; j++) want[id * d + j]! += g.toArray()[i * d + j]!; });
      const close = (got: number[], ref: ArrayLike<number>, what: string) => got.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-6, `${what} [${i}]: ${v} vs ${ref[i]}`));
      backward(embedding(w, ids), g);
      close(w.grad!.toArray(), want, 'direct');
      backward(embedding(w, ids), g);
      close(w.grad!.toArray(), want.map((v) => 2 * v), 'accumulated into the existing gradient');
      // Tied: the head's gradient arrives first (it is later in the graph), then the lookup's.
      w.zeroGrad();
      const h = tensor([0.5, -1, 2], [1, d]);
      const head = matmul(h, transpose(w, 0, 1)); // [1, vocab]
      backward(add(sum(mul(embedding(w, ids), g)), sum(head)));
      const tied = Float64Array.from(want, (v, i) => v + h.toArray()[i % d]!);
      close(w.grad!.toArray(), tied, 'tied head + lookup');
    }));
  }

  // Linear and the norms write a leaf's gradient straight into its .grad when it has none yet (gradOutput), into
  // the gradient storage a model parameter keeps. The same gradient through a view (reshape: the leaf's gradient
  // is then copied from a returned one) is the oracle, bit for bit; a second backward and a tied use add to it.
  for (const name of backendsUnderTest()) {
    test(`gradients written in place into a leaf's .grad match the returned path (${name})`, () => withBackend(name, () => {
      const vals = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
      const x = p(vals(12, (i) => Math.sin(i + 1)), [4, 3]);
      const w = p(vals(6, (i) => Math.cos(i) / 2), [2, 3]);
      const bias = p([0.25, -0.5]);
      const ln = [p([1.5, 0.5, -1]), p([0.1, 0.2, 0.3])];
      const kept = [x, w, ...ln].map((t) => { t.gradStorage = new Float32Array(t.size); return t.gradStorage; });
      const g = tensor(vals(8, (i) => (i % 3) - 0.7), [4, 2]);
      const forward = (xx: Tensor, ww: Tensor, lw: Tensor, lb: Tensor): Tensor => linear(layerNorm(xx, lw, lb), ww, bias);
      backward(forward(x, w, ln[0]!, ln[1]!), g);
      [x, w, ...ln].forEach((t, i) => assert.equal(t.grad!.data, kept[i], 'the kept storage is the gradient'));

      const viaView = [x, w, ...ln].map((t) => p(t.toArray(), [...t.shape]));
      const [vx, vw, vlw, vlb] = viaView as [Tensor, Tensor, Tensor, Tensor];
      backward(forward(reshape(vx, [4, 3]), reshape(vw, [2, 3]), reshape(vlw, [3]), reshape(vlb, [3])), g);
      [x, w, ...ln].forEach((t, i) => assert.deepEqual(t.grad!.toArray(), viaView[i]!.grad!.toArray(), `gradient ${i}`));

      const once = w.grad!.toArray();
      backward(forward(x, w, ln[0]!, ln[1]!), g);
      assert.deepEqual(w.grad!.toArray(), once.map((v) => Math.fround(v + v)), 'a second backward adds');

      // w used twice: the later use in the graph writes in place, the earlier one adds to it.
      w.zeroGrad();
      backward(add(sum(mul(linear(x, w), linear(x, w))), sum(linear(x, w))));
      const twice = p(w.toArray(), [2, 3]);
      backward(add(sum(mul(linear(x, reshape(twice, [2, 3])), linear(x, reshape(twice, [2, 3])))), sum(linear(x, reshape(twice, [2, 3])))));
      assert.deepEqual(w.grad!.toArray(), twice.grad!.toArray(), 'three uses of one weight');

      // An in-place gradient is counted once: handed back later as the gradient of a pass-through op, it adds.
      x.zeroGrad();
      backward(linear(x, w), g);
      const inPlace = x.grad!;
      const first = inPlace.toArray();
      backward(add(x, tensor(new Array<number>(12).fill(0), [4, 3])), inPlace);
      assert.deepEqual(x.grad!.toArray(), first.map((v) => Math.fround(v + v)), 'x.grad + x.grad');
    }));
  }

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
