import * as E from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';

type Attrs = Record<string, unknown>;
type Inputs = Record<string, Tensor>;

const num = (a: Attrs, k: string): number | undefined => a[k] as number | undefined;
const bool = (a: Attrs, k: string): boolean | undefined => a[k] as boolean | undefined;

function binary(fn: (a: Tensor, b: Tensor | number) => Tensor) {
  return (i: Inputs, a: Attrs): Tensor => fn(i['a']!, a['scalar'] !== undefined ? (a['scalar'] as number) : i['b']!);
}

/** Calls the engine op named by a golden fixture with the fixture's inputs and attributes. */
export const dispatch: Record<string, (inputs: Inputs, attrs: Attrs) => Tensor> = {
  add: binary(E.add), sub: binary(E.sub), mul: binary(E.mul), div: binary(E.div),
  neg: (i) => E.neg(i['a']!), exp: (i) => E.exp(i['a']!), log: (i) => E.log(i['a']!), sqrt: (i) => E.sqrt(i['a']!),
  tanh: (i) => E.tanh(i['a']!), sigmoid: (i) => E.sigmoid(i['a']!), relu: (i) => E.relu(i['a']!),
  gelu: (i) => E.gelu(i['a']!), silu: (i) => E.silu(i['a']!),
  pow: (i, a) => E.pow(i['a']!, num(a, 'p')!),
  sum: (i, a) => E.sum(i['a']!, num(a, 'axis'), bool(a, 'keepDim')),
  mean: (i, a) => E.mean(i['a']!, num(a, 'axis'), bool(a, 'keepDim')),
  max: (i, a) => E.max(i['a']!, num(a, 'axis')!, bool(a, 'keepDim')),
  logsumexp: (i, a) => E.logsumexp(i['a']!, num(a, 'axis')!, bool(a, 'keepDim')),
  reshape: (i, a) => E.reshape(i['a']!, a['shape'] as number[]),
  transpose: (i, a) => E.transpose(i['a']!, num(a, 'd0'), num(a, 'd1')),
  permute: (i, a) => E.permute(i['a']!, a['dims'] as number[]),
  slice: (i, a) => E.slice(i['a']!, num(a, 'axis')!, num(a, 'start')!, num(a, 'end')!),
  concat: (i, a) => E.concat(Array.from({ length: num(a, 'count')! }, (_, k) => i[`a${k}`]!), num(a, 'axis')!),
  gather: (i, a) => E.gather(i['a']!, num(a, 'axis')!, i['index']!),
  matmul: (i, a) => E.matmul(i['a']!, i['b']!, { transA: bool(a, 'transA'), transB: bool(a, 'transB') }),
  linear: (i) => E.linear(i['x']!, i['w']!, i['bias']),
  layerNorm: (i, a) => E.layerNorm(i['x']!, i['w']!, i['b']!, num(a, 'eps')),
  rmsNorm: (i, a) => E.rmsNorm(i['x']!, i['w']!, num(a, 'eps')),
  softmax: (i, a) => E.softmax(i['x']!, num(a, 'axis')),
  logSoftmax: (i, a) => E.logSoftmax(i['x']!, num(a, 'axis')),
  crossEntropy: (i, a) => E.crossEntropy(i['logits']!, i['targets']!, {
    ignoreIndex: num(a, 'ignoreIndex'), reduction: a['reduction'] as 'mean' | 'sum' | 'none' | undefined,
  }),
  embedding: (i) => E.embedding(i['weight']!, i['ids']!),
  rope: (i, a) => E.rope(i['x']!, a['invFreq'] as number[], a['positions'] as number | number[] | undefined),
  causalAttention: (i, a) => E.causalAttention(i['q']!, i['k']!, i['v']!, { scale: num(a, 'scale') }),
};
