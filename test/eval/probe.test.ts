// The hidden-state probe: a closed-form linear read-out, checked on synthetic features and on a tiny model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, Rng, Tensor } from '../../src/engine/index.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { fitLinearProbe, lastTokenHidden, probeAttribute } from '../../src/eval/probe.ts';

const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

/** n points per class around a class centre in d dims, or (shuffled) with labels unrelated to the features. */
function synthetic(n: number, d: number, classes: number, rng: Rng, related = true): { x: Float64Array[]; y: string[] } {
  const centres = Array.from({ length: classes }, () => Float64Array.from({ length: d }, () => rng.normal() * 3));
  const x: Float64Array[] = [];
  const y: string[] = [];
  for (let i = 0; i < n * classes; i++) {
    const c = i % classes;
    x.push(Float64Array.from(centres[c]!, (v) => v + rng.normal()));
    y.push(`class-${related ? c : Math.floor(rng.uniform() * classes)}`);
  }
  return { x, y };
}

test('a linear probe recovers a linearly encoded label on new points', () => {
  const rng = new Rng(1);
  const train = synthetic(30, 16, 5, rng);
  const testSet = synthetic(10, 16, 5, new Rng(1)); // same centres (same seed), fresh noise below
  for (const v of testSet.x) for (let j = 0; j < v.length; j++) v[j]! += 0.1 * rng.normal();
  const probe = fitLinearProbe(train.x, train.y);
  const predicted = probe.predict(testSet.x);
  assert.equal(predicted.filter((p, i) => p === testSet.y[i]).length, testSet.y.length);
  assert.deepEqual(probe.classes, ['class-0', 'class-1', 'class-2', 'class-3', 'class-4']);
});

test('labels unrelated to the features are predicted at chance on held-out points', () => {
  const rng = new Rng(2);
  const train = synthetic(60, 8, 4, rng, false);
  const held = synthetic(100, 8, 4, rng, false);
  const probe = fitLinearProbe(train.x, train.y);
  const acc = probe.predict(held.x).filter((p, i) => p === held.y[i]).length / held.y.length;
  assert.ok(acc < 0.4, `accuracy ${acc} should be near 0.25`);
});

test('last-token hidden states do not depend on how prompts were padded together', () => {
  const { model } = loadModel(TINY);
  const prompts = [[1, 5, 9, 12, 40], [3, 7], [8, 8, 8]];
  const together = lastTokenHidden(model, prompts, 1, 0);
  prompts.forEach((p, i) => {
    const alone = noGrad(() => model.forward(new Tensor(Int32Array.from(p), [1, p.length]), { keepHidden: [1] }).hidden.get(1)!.data as Float32Array);
    const d = model.config.hiddenSize;
    const expected = alone.subarray((p.length - 1) * d, p.length * d);
    together[i]!.forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-4, `prompt ${i} unit ${j}`));
  });
  assert.throws(() => lastTokenHidden(model, prompts, 9, 0), /probe layer 9: the model has layers 0\.\.1/);
});

test('probeAttribute reads a label the prompt itself encodes, and reports chance', () => {
  const { model } = loadModel(TINY);
  // The label is which of two marker tokens the prompt ends with: trivially present in the activations.
  const rng = new Rng(3);
  const make = (n: number) => Array.from({ length: n }, (_, i) => {
    const label = i % 2 === 0 ? 'a' : 'b';
    const body = Array.from({ length: 4 }, () => 20 + Math.floor(rng.uniform() * 100));
    return { ids: [...body, label === 'a' ? 7 : 200], label };
  });
  const r = probeAttribute(model, make(40), make(20), { layer: 1, padId: 0 });
  assert.equal(r.probeAccuracy, 1);
  assert.equal(r.trainAccuracy, 1);
  assert.equal(r.chance, 0.5);
  assert.equal(r.predictions.length, 20);
});
