import { Tensor } from '../engine/index.ts';

export interface ParamSpec {
  /** Hugging Face tensor name, e.g. `transformer.h.0.attn.c_attn.weight`. */
  name: string;
  shape: number[];
}

/** Parameters start on 64-byte boundaries so SIMD kernels see aligned rows. */
const ALIGN = 16;

/**
 * All parameters of a model in one contiguous f32 buffer (and their gradients in a second), with a named tensor
 * view per Hugging Face weight. The optimizer, checkpoints, task vectors (θ − λτ) and update sanitisation are
 * then loops over `flat`, as in llm.c.
 */
export class ParameterStore {
  readonly flat: Float32Array;
  readonly gradFlat: Float32Array;
  readonly specs: readonly ParamSpec[];
  private readonly byName: Map<string, Tensor>;
  private readonly offsets: Map<string, number>;

  constructor(specs: readonly ParamSpec[]) {
    let total = 0;
    const offsets: number[] = [];
    for (const s of specs) {
      offsets.push(total);
      total += Math.ceil(s.shape.reduce((a, b) => a * b, 1) / ALIGN) * ALIGN;
    }
    this.flat = new Float32Array(total);
    this.gradFlat = new Float32Array(total);
    this.specs = specs;
    this.byName = new Map();
    this.offsets = new Map();
    specs.forEach((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const t = new Tensor(this.flat.subarray(offsets[i]!, offsets[i]! + n), s.shape, true);
      t.name = s.name;
      t.gradStorage = this.gradFlat.subarray(offsets[i]!, offsets[i]! + n);
      if (this.byName.has(s.name)) throw new Error(`duplicate parameter name "${s.name}"`);
      this.byName.set(s.name, t);
      this.offsets.set(s.name, offsets[i]!);
    });
  }

  get(name: string): Tensor {
    const t = this.byName.get(name);
    if (!t) throw new Error(`no parameter named "${name}"`);
    return t;
  }

  /** Where a parameter starts in `flat` (and its gradient in `gradFlat`), in elements. */
  offsetOf(name: string): number {
    const at = this.offsets.get(name);
    if (at === undefined) throw new Error(`no parameter named "${name}"`);
    return at;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Parameters in spec order (the order optimizers and checkpoints use). */
  list(): Tensor[] {
    return this.specs.map((s) => this.byName.get(s.name)!);
  }

  entries(): [string, Tensor][] {
    return this.specs.map((s) => [s.name, this.byName.get(s.name)!]);
  }

  /** Number of scalar parameters (excluding alignment padding). */
  count(): number {
    return this.specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  zeroGrad(): void {
    for (const t of this.byName.values()) t.grad = null;
  }

  /** A copy of all parameter values (e.g. θ before unlearning, for Δ = θ' − θ). */
  snapshot(): Float32Array {
    return new Float32Array(this.flat);
  }

  restore(values: Float32Array): void {
    if (values.length !== this.flat.length) throw new Error(`snapshot has ${values.length} values, store has ${this.flat.length}`);
    this.flat.set(values);
  }
}
