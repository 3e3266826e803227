import { record } from '../autograd.ts';
import { EngineError } from '../errors.ts';
import { backend } from '../runtime.ts';
import { contiguousStrides } from '../shape.ts';
import { Rng } from '../random.ts';
import { Tensor } from '../tensor.ts';
import { empty } from './util.ts';

export interface DropoutOptions {
  /** Seed of the mask; the same seed gives the same mask on every backend. */
  seed: number;
  /** When false, dropout is the identity. Default true. */
  training?: boolean;
}

/** Zeroes each element with probability p and scales the kept ones by 1/(1 − p). */
export function dropout(x: Tensor, p: number, options: DropoutOptions): Tensor {
  x.storageF32('dropout');
  if (!(p >= 0 && p <= 1)) throw new EngineError('dropout', `probability must be in [0, 1], got ${p}`);
  if (options.training === false || p === 0) return x;
  const rng = new Rng(options.seed);
  const mask = new Float32Array(x.size);
  const keep = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() >= p ? keep : 0;
  const strides = contiguousStrides(x.shape);
  const m = backend().fromHost(mask);
  const out = empty(x.shape);
  backend().binary('mul', x.storageF32('dropout'), strides, m, strides, out.storageF32('dropout'), x.shape);
  return record(out, 'dropout', [x], (g) => {
    const gx = empty(x.shape);
    backend().binary('mul', g.storageF32('dropout'), strides, m, strides, gx.storageF32('dropout'), x.shape);
    return [gx];
  });
}
