import type { F32 } from '../backend.ts';
import { backend } from '../runtime.ts';
import type { Tensor } from '../tensor.ts';
import { Optimizer, type OptimizerState } from './optimizer.ts';

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (applied as θ ← θ·(1 − lr·wd), not through the gradient). */
  weightDecay?: number;
}

/** AdamW (Loshchilov & Hutter) with bias correction, matching torch.optim.AdamW. */
export class AdamW extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  private m: F32[];
  private v: F32[];

  constructor(params: readonly Tensor[], options: AdamWOptions = {}) {
    super('AdamW', params, options.lr ?? 1e-3);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    const be = backend();
    this.m = params.map((p) => be.alloc(p.size));
    this.v = params.map((p) => be.alloc(p.size));
  }

  update(): void {
    this.step++;
    const args = {
      lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay,
      bc1: 1 - Math.pow(this.beta1, this.step), bc2: 1 - Math.pow(this.beta2, this.step),
    };
    const be = backend();
    this.params.forEach((p, i) => {
      if (p.grad) be.adamw(p.storageF32('AdamW'), p.grad.storageF32('AdamW'), this.m[i]!, this.v[i]!, args);
    });
  }

  state(): OptimizerState {
    const be = backend();
    const buffers: Record<string, Float32Array> = {};
    this.params.forEach((_, i) => {
      buffers[`m.${i}`] = new Float32Array(be.toHost(this.m[i]!));
      buffers[`v.${i}`] = new Float32Array(be.toHost(this.v[i]!));
    });
    return {
      kind: 'AdamW', step: this.step, buffers,
      hyper: { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay },
    };
  }

  loadState(state: OptimizerState): void {
    this.checkKind('AdamW', state);
    const be = backend();
    const m = this.params.map((p, i) => be.fromHost(this.restoreBuffer('AdamW', state, `m.${i}`, p)));
    const v = this.params.map((p, i) => be.fromHost(this.restoreBuffer('AdamW', state, `v.${i}`, p)));
    this.m = m;
    this.v = v;
    this.step = state.step;
    const h = state.hyper;
    this.lr = h['lr'] ?? this.lr;
    this.beta1 = h['beta1'] ?? this.beta1;
    this.beta2 = h['beta2'] ?? this.beta2;
    this.eps = h['eps'] ?? this.eps;
    this.weightDecay = h['weightDecay'] ?? this.weightDecay;
  }
}
