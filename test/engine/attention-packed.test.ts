// causalAttentionPacked (q, k and v as one [3, B, H, T, D] tensor, as GPT-2 makes them) against causalAttention on
// the three slices: the same output and the same gradient of the stack, bit for bit, on both backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backward, causalAttention, causalAttentionPacked, EngineError, mul, parameter, randn, reshape, Rng, slice, sum, Tensor,
} from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

for (const name of backendsUnderTest()) {
  describe(`causalAttentionPacked [${name}]`, () => {
    test('output and the gradient of the stack equal causalAttention on its slices, bit for bit (with and without keyStart)', () => {
      withBackend(name, () => {
        const [B, H, T, D] = [2, 3, 5, 4];
        for (const keyStart of [undefined, Int32Array.of(0, 2)]) {
          const rng = new Rng(7);
          const values = randn([3, B, H, T, D], rng);
          const weights = randn([B, H, T, D], rng);
          const run = (packed: boolean): { out: Float32Array; grad: Float32Array } => {
            const qkv = parameter(new Tensor(values.data.slice(), values.shape));
            const part = (i: number): Tensor => reshape(slice(qkv, 0, i, i + 1), [B, H, T, D]);
            const out = packed
              ? causalAttentionPacked(qkv, keyStart ? { keyStart } : {})
              : causalAttention(part(0), part(1), part(2), keyStart ? { keyStart } : {});
            backward(sum(mul(out, weights)));
            return { out: Float32Array.from(out.data), grad: Float32Array.from(qkv.grad!.data) };
          };
          const a = run(true);
          const b = run(false);
          assert.deepEqual(a.out, b.out, 'output');
          assert.deepEqual(a.grad, b.grad, 'gradient of the stack');
          assert.ok(a.grad.some((g) => g !== 0), 'a gradient reached the stack');
        }
      });
    });

    test('a tensor that is not [3, B, heads, T, D] is refused', () => {
      withBackend(name, () => {
        assert.throws(() => causalAttentionPacked(randn([2, 1, 1, 2, 2], new Rng(1))), (e: unknown) => e instanceof EngineError && /qkv must be \[3, B, heads, T, D\]/.test(e.message));
      });
    });
  });
}
