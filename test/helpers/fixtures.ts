import { readdirSync, readFileSync } from 'node:fs';
import { Tensor } from '../../src/engine/index.ts';

export interface FixtureTensor {
  dtype: 'f32' | 'i32';
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  name: string;
  attrs: Record<string, unknown>;
  inputs: Record<string, FixtureTensor>;
  output: FixtureTensor;
  upstream: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}

export interface Fixture {
  op: string;
  cases: FixtureCase[];
}

const dir = new URL('../fixtures/engine/', import.meta.url);

export function loadEngineFixtures(): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Fixture);
}

/** A fresh tensor from fixture data; f32 inputs become leaves that require gradients. */
export function toTensor(t: FixtureTensor, requiresGrad = false): Tensor {
  const data = t.dtype === 'i32' ? Int32Array.from(t.data) : Float32Array.from(t.data);
  return new Tensor(data, t.shape, requiresGrad && t.dtype === 'f32');
}
