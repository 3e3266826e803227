import type { F32, I32 } from './backend.ts';
import { EngineError, fmtShape } from './errors.ts';
import { backend } from './runtime.ts';
import { checkShape, numel, type Shape } from './shape.ts';
import { Rng } from './random.ts';

export type DType = 'f32' | 'i32';
/** Values on the host: what tensors are made from and what host access (`f32()`, `i32()`, `data`) returns. */
export type HostData = Float32Array | Int32Array;

/** A node of the autodiff graph: the op that produced a tensor, its inputs and the backward closure. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given the gradient of the output, returns the gradient for each input (null where none is needed). */
  readonly backward: (gradOut: Tensor) => readonly (Tensor | null)[];
}

/**
 * A dense row-major tensor. Values are f32 (compute) or i32 (indices). Its storage is owned by the backend
 * (shared with the tensor it is a view of, e.g. after `reshape`): ops hand `storage` to the kernels, and
 * everything else reads and writes values through the explicit host accessors `f32()` / `i32()` (or `data`).
 * On the host backends both are the same typed array, so host access costs nothing and writes go through.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The backend's storage: an opaque handle for the kernels (see `storageF32` / `storageI32`). */
  readonly storage: F32 | I32;
  /** Host view of the storage; prefer the checked `f32(op)` / `i32(op)`. */
  readonly data: HostData;
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

  /** A tensor over host values: the backend adopts the array (on the host backends, without a copy). */
  constructor(data: HostData, shape: Shape, requiresGrad = false) {
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
    const be = backend();
    this.storage = data instanceof Int32Array ? be.fromHostI32(data) : be.fromHost(data);
    if (requiresGrad && this.dtype !== 'f32') throw new EngineError('tensor', 'only f32 tensors can require gradients');
    this.requiresGrad = requiresGrad;
  }

  /** A tensor over storage the backend owns (an op's output). */
  static fromStorage(storage: F32, shape: Shape, requiresGrad = false): Tensor {
    return new Tensor(backend().toHost(storage), shape, requiresGrad);
  }

  static fromStorageI32(storage: I32, shape: Shape): Tensor {
    return new Tensor(backend().toHostI32(storage), shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Host access to the f32 values, or an error naming the op if this is an index tensor. */
  f32(op: string): Float32Array {
    if (!(this.data instanceof Float32Array)) {
      throw new EngineError(op, `expected an f32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    }
    return this.data;
  }

  /** Host access to the i32 values, or an error naming the op if this is a value tensor. */
  i32(op: string): Int32Array {
    if (!(this.data instanceof Int32Array)) {
      throw new EngineError(op, `expected an i32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    }
    return this.data;
  }

  /** The f32 storage for a kernel, or an error naming the op if this is an index tensor. */
  storageF32(op: string): F32 {
    if (this.dtype !== 'f32') throw new EngineError(op, `expected an f32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return this.storage as F32;
  }

  /** The i32 storage for a kernel, or an error naming the op if this is a value tensor. */
  storageI32(op: string): I32 {
    if (this.dtype !== 'i32') throw new EngineError(op, `expected an i32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return this.storage as I32;
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
    return this.withShape(this.shape);
  }

  /** The same storage under another shape with the same element count, outside the graph. */
  withShape(shape: Shape): Tensor {
    return this.dtype === 'f32'
      ? Tensor.fromStorage(this.storageF32('withShape'), shape)
      : Tensor.fromStorageI32(this.storageI32('withShape'), shape);
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
  const p = Tensor.fromStorage(t.storageF32('parameter'), t.shape, true);
  p.name = name;
  return p;
}
