import { leafGradTarget, record } from '../autograd.ts';
import { EngineError, fmtShape } from '../errors.ts';
import { backend } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { empty, emptyOutput } from './util.ts';

/** Rows of weight [V, D] picked by i32 ids [...] → [..., D]; the backward scatter-adds into weight. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  const W = weight.storageF32('embedding');
  const I = ids.i32('embedding');
  if (weight.rank !== 2) throw new EngineError('embedding', `weight must be [vocab, dim], got ${fmtShape(weight.shape)}`);
  const [vocab, d] = weight.shape as [number, number];
  for (let i = 0; i < I.length; i++) {
    if (I[i]! < 0 || I[i]! >= vocab) {
      throw new EngineError('embedding', `id ${I[i]} at position ${i} of ids ${fmtShape(ids.shape)} is outside the vocabulary of ${vocab} (weight ${fmtShape(weight.shape)})`);
    }
  }
  const out = emptyOutput([...ids.shape, d]);
  const ids32 = ids.storageI32('embedding');
  backend().embedding(W, ids32, out.storageF32('embedding'), d);
  return record(out, 'embedding', [weight], (g) => {
    // A parameter's gradient takes the scatter-add directly: a temporary as large as the table, zeroed and then
    // copied, cost more than the scatter itself (the bench's embedding-bwd case).
    const direct = leafGradTarget(weight);
    if (direct) {
      backend().embeddingBackward(ids32, g.storageF32('embedding'), direct, d);
      return [null];
    }
    const gw = empty(weight.shape);
    backend().embeddingBackward(ids32, g.storageF32('embedding'), gw.storageF32('embedding'), d);
    return [gw];
  });
}
