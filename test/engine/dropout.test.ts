import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward, dropout, mul, ones, parameter, sum } from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

for (const name of backendsUnderTest()) {
  describe(`dropout [${name}]`, () => {
    test('is seeded, drops about p, scales kept values, and masks the gradient identically', () => withBackend(name, () => {
      const x = parameter(ones([100, 100]));
      const y = dropout(x, 0.3, { seed: 7 });
      const again = dropout(x, 0.3, { seed: 7 });
      assert.deepEqual(Array.from(y.data), Array.from(again.data));
      const other = dropout(x, 0.3, { seed: 8 });
      assert.notDeepEqual(Array.from(y.data), Array.from(other.data));
      const zeros = Array.from(y.data).filter((v) => v === 0).length;
      assert.ok(Math.abs(zeros / y.size - 0.3) < 0.02, `dropped fraction ${zeros / y.size}`);
      for (const v of y.data) assert.ok(v === 0 || Math.abs(v - 1 / 0.7) < 1e-6);
      backward(sum(mul(y, 2)));
      y.data.forEach((v, i) => assert.equal(x.grad!.data[i], v * 2));
    }));

    test('is the identity when not training or p = 0', () => withBackend(name, () => {
      const x = ones([4]);
      assert.equal(dropout(x, 0.5, { seed: 1, training: false }), x);
      assert.equal(dropout(x, 0, { seed: 1 }), x);
      assert.deepEqual(Array.from(dropout(x, 1, { seed: 1 }).data), [0, 0, 0, 0]);
    }));
  });
}
