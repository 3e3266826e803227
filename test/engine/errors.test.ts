// Bad input gives an EngineError naming the op and the shapes — never a crash, on either backend.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import * as E from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

const f = (shape: number[]): E.Tensor => E.zeros(shape);
const ids = (values: number[], shape = [values.length]): E.Tensor => E.tensor(values, shape, 'i32');

const cases: [string, () => unknown, RegExp][] = [
  ['add broadcast', () => E.add(f([2, 3]), f([4])), /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together/],
  ['matmul inner', () => E.matmul(f([2, 3]), f([4, 5])), /^matmul: inner dimensions differ: a \[2, 3\] has K=3, b \[4, 5\] has K=4/],
  ['matmul batch', () => E.matmul(f([2, 2, 3]), f([3, 3, 4])), /^matmul: batch dimensions differ: a \[2, 2, 3\] and b \[3, 3, 4\]/],
  ['matmul rank', () => E.matmul(f([3]), f([3, 4])), /^matmul: operands must have at least 2 dimensions/],
  ['linear', () => E.linear(f([2, 5]), f([3, 4])), /^linear: input \[2, 5\] does not match weight \[3, 4\]/],
  ['linear bias', () => E.linear(f([2, 4]), f([3, 4]), f([4])), /^linear: bias \[4\] does not match weight \[3, 4\]/],
  ['layerNorm', () => E.layerNorm(f([2, 4]), f([3]), f([4])), /^layerNorm: parameter \[3\] does not match the last dimension of input \[2, 4\]/],
  ['rmsNorm dtype', () => E.rmsNorm(f([2, 4]), ids([1, 2, 3, 4])), /^rmsNorm: expected an f32 tensor, got i32 \[4\]/],
  ['embedding dtype', () => E.embedding(f([10, 4]), f([3])), /^embedding: expected an i32 tensor, got f32 \[3\]/],
  ['embedding range', () => E.embedding(f([10, 4]), ids([1, 10])), /^embedding: id 10 at position 1 of ids \[2\] is outside the vocabulary of 10/],
  ['crossEntropy targets', () => E.crossEntropy(f([3, 5]), ids([1, 2])), /^crossEntropy: targets \[2\] do not match logits \[3, 5\]/],
  ['crossEntropy range', () => E.crossEntropy(f([2, 5]), ids([1, 7])), /^crossEntropy: target 7 at position 1 is out of range for 5 classes/],
  ['attention heads', () => E.causalAttention(f([1, 3, 4, 8]), f([1, 2, 4, 8]), f([1, 2, 4, 8])), /^causalAttention: query heads \(3\) must be a multiple of key\/value heads \(2\): q \[1, 3, 4, 8\]/],
  ['attention rank', () => E.causalAttention(f([3, 4, 8]), f([3, 4, 8]), f([3, 4, 8])), /^causalAttention: q, k and v must be 4-D/],
  ['attention Tq>Tk', () => E.causalAttention(f([1, 1, 5, 8]), f([1, 1, 4, 8]), f([1, 1, 4, 8])), /^causalAttention: more queries \(5\) than keys \(4\)/],
  ['reshape', () => E.reshape(f([2, 3]), [4, 2]), /^reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/],
  ['permute', () => E.permute(f([2, 3]), [0, 0]), /^permute: dims \[0, 0\] repeat an axis/],
  ['slice', () => E.slice(f([2, 3]), 1, 2, 5), /^slice: range \[2, 5\) is outside axis 1 of length 3 in \[2, 3\]/],
  ['concat', () => E.concat([f([2, 3]), f([3, 3])], 1), /^concat: shapes f32 \[2, 3\], f32 \[3, 3\] do not agree outside axis 1/],
  ['gather', () => E.gather(f([2, 3]), 1, ids([0, 5], [2, 1])), /^gather: index value 5 is out of range for axis 1 of length 3/],
  ['sum axis', () => E.sum(f([2, 3]), 2), /^sum: axis 2 is out of range of a tensor with shape \[2, 3\]/],
  ['rope', () => E.rope(f([1, 1, 4, 6]), [1, 0.5]), /^rope: head dimension 6 of \[1, 1, 4, 6\] needs an even size and 3 inverse frequencies, got 2/],
  ['tensor size', () => new E.Tensor(new Float32Array(5), [2, 3]), /^tensor: data has 5 elements but shape \[2, 3\] needs 6/],
  ['tensor storage', () => new E.Tensor(new Float64Array(2) as unknown as Float32Array, [2]), /^tensor: unsupported storage Float64Array; use Float32Array \(f32\) or Int32Array \(i32\)/],
  ['dropout p', () => E.dropout(f([3]), 1.5, { seed: 1 }), /^dropout: probability must be in \[0, 1\], got 1.5/],
];

for (const name of backendsUnderTest()) {
  describe(`input errors [${name}]`, () => {
    for (const [label, fn, pattern] of cases) {
      test(label, () => withBackend(name, () => {
        assert.throws(fn, (e: unknown) => e instanceof E.EngineError && pattern.test(e.message), `expected ${pattern}`);
      }));
    }
  });
}

describe('LETHE_CHECK_NAN=1', () => {
  const script = `
    import * as E from './src/engine/index.ts';
    const x = E.parameter(E.tensor([1, -1]));
    try { E.backward(E.sum(E.log(x))); console.log('no error'); }
    catch (e) { console.log(e.message); }
  `;
  for (const name of backendsUnderTest()) {
    test(`names the op that produced the NaN [${name}]`, () => {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, LETHE_CHECK_NAN: '1', LETHE_BACKEND: name }, encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^log: produced a non-finite value \(NaN or Inf\) in output \[2\] from inputs \[2\]/);
    });
  }
  test('is off by default (NaN propagates like PyTorch)', () => {
    const y = E.log(E.tensor([-1]));
    assert.ok(Number.isNaN(y.item()));
  });
});
