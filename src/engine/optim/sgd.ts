import type { F32 } from '../backend.ts';
import { backend } from '../runtime.ts';
import type { Tensor } from '../tensor.ts';
import { Optimizer, type OptimizerState } from './optimizer.ts';

export interface SGDOptions {
  lr?: number;
  /** Heavy-ball momentum as in torch.optim.SGD (buffer b ← μ·b + g; step along b). */
  momentum?: number;
  /** L2 weight decay added to the gradient (coupled, as torch.optim.SGD). */
  weightDecay?: number;
}

export class SGD extends Optimizer {
  momentum: number;
  weightDecay: number;
  private buf: (F32 | null)[];

  constructor(params: readonly Tensor[], options: SGDOptions = {}) {
    super('SGD', params, options.lr ?? 1e-2);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.buf = params.map(() => null);
  }

  update(): void {
    this.step++;
    const be = backend();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const w = p.storageF32('SGD');
      let g = p.grad.storageF32('SGD');
      const copy = (x: F32): F32 => be.fromHost(new Float32Array(be.toHost(x)));
      if (this.weightDecay !== 0) {
        g = copy(g);
        be.axpy(this.weightDecay, w, g);
      }
      if (this.momentum !== 0) {
        let b = this.buf[i];
        if (!b) {
          b = copy(g);
          this.buf[i] = b;
        } else {
          be.unary('scale', b, b, this.momentum);
          be.axpy(1, g, b);
        }
        g = b;
      }
      be.axpy(-this.lr, g, w);
    });
  }

  state(): OptimizerState {
    const be = backend();
    const buffers: Record<string, Float32Array> = {};
    this.buf.forEach((b, i) => {
      if (b) buffers[`momentum.${i}`] = new Float32Array(be.toHost(b));
    });
    return { kind: 'SGD', step: this.step, buffers, hyper: { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay } };
  }

  loadState(state: OptimizerState): void {
    this.checkKind('SGD', state);
    const be = backend();
    this.buf = this.params.map((p, i) => (state.buffers[`momentum.${i}`] ? be.fromHost(this.restoreBuffer('SGD', state, `momentum.${i}`, p)) : null));
    this.step = state.step;
    this.lr = state.hyper['lr'] ?? this.lr;
    this.momentum = state.hyper['momentum'] ?? this.momentum;
    this.weightDecay = state.hyper['weightDecay'] ?? this.weightDecay;
  }
}
