import { EngineError, fmtShape } from './errors.ts';
import { checkShape, numel, type Shape } from './shape.ts';
import { Rng } from './random.ts';

export type DType = 'f32' | 'i32';
export type Storage = Float32Array | Int32Array;

/** A node of the autodiff graph: the op that produced a tensor, its inputs and the backward closure. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given the gradient of the output, returns the gradient for each input (null where none is needed). */
  readonly backward: (gradOut: Tensor) => readonly (Tensor | null)[];
}

/**
 * A dense row-major tensor. Values are f32 (compute) or i32 (indices). Storage is a host typed array owned by
 * the tensor (or shared with the tensor it is a view of, e.g. after `reshape`).
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Host storage. Model code should go through ops, not this array, so a device backend can slot in later. */
  readonly data: Storage;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The op that produced this tensor while recording; null for leaves and after backward freed the graph. */
  node: GradNode | null = null;
  name: string | undefined;
  /**
   * Preallocated storage the first gradient is written into (a view of a model's flat gradient buffer), so all
   * gradients of a model live in one array. Without it, backward allocates a fresh buffer.
   */
  gradStorage: Float32Array | null = null;

  constructor(data: Storage, shape: Shape, requiresGrad = false) {
    checkShape('tensor', shape);
    if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) {
      const kind = (data as object)?.constructor?.name ?? typeof data;
      throw new EngineError('tensor', `unsupported storage ${kind}; use Float32Array (f32) or Int32Array (i32)`);
    }
    if (data.length !== numel(shape)) {
      throw new EngineError('tensor', `data has ${data.length} elements but shape ${fmtShape(shape)} needs ${numel(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Int32Array ? 'i32' : 'f32';
    if (requiresGrad && this.dtype !== 'f32') throw new EngineError('tensor', 'only f32 tensors can require gradients');
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The f32 storage, or an error naming the op if this is an index tensor. */
  f32(op: string): Float32Array {
    if (!(this.data instanceof Float32Array)) {
      throw new EngineError(op, `expected an f32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    }
    return this.data;
  }

  /** The i32 storage, or an error naming the op if this is a value tensor. */
  i32(op: string): Int32Array {
    if (!(this.data instanceof Int32Array)) {
      throw new EngineError(op, `expected an i32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    }
    return this.data;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new EngineError('item', `tensor has ${this.size} elements ${fmtShape(this.shape)}, expected 1`);
    return this.data[0]!;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** A new leaf tensor with copied storage and no graph. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** The same storage as a leaf that does not require gradients. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** The same storage under another shape with the same element count, outside the graph. */
  withShape(shape: Shape): Tensor {
    return new Tensor(this.data, shape);
  }

  zeroGrad(): void {
    this.grad = null;
  }

  toString(): string {
    return `Tensor(${this.dtype} ${fmtShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function tensor(values: ArrayLike<number>, shape?: Shape, dtype: DType = 'f32'): Tensor {
  const s = shape ?? [values.length];
  const data = dtype === 'f32' ? Float32Array.from(values) : Int32Array.from(values);
  return new Tensor(data, s);
}

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  checkShape('zeros', shape);
  return new Tensor(dtype === 'f32' ? new Float32Array(numel(shape)) : new Int32Array(numel(shape)), shape);
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

export function full(shape: Shape, value: number): Tensor {
  checkShape('full', shape);
  return new Tensor(new Float32Array(numel(shape)).fill(value), shape);
}

export function scalar(value: number): Tensor {
  return new Tensor(Float32Array.of(value), []);
}

/** Normal(0, std²) values from a seeded generator. */
export function randn(shape: Shape, rng: Rng, std = 1): Tensor {
  checkShape('randn', shape);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return new Tensor(data, shape);
}

/** Uniform values in [low, high) from a seeded generator. */
export function rand(shape: Shape, rng: Rng, low = 0, high = 1): Tensor {
  checkShape('rand', shape);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape);
}

/** A trainable parameter: a leaf tensor with requiresGrad set. */
export function parameter(t: Tensor, name?: string): Tensor {
  if (t.dtype !== 'f32') throw new EngineError('parameter', `parameters must be f32, got ${t.dtype} ${fmtShape(t.shape)}`);
  const p = new Tensor(t.data, t.shape, true);
  p.name = name;
  return p;
}
