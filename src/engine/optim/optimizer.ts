import { EngineError, fmtShape } from '../errors.ts';
import type { Tensor } from '../tensor.ts';

/**
 * Serializable optimizer state: scalar settings plus named f32 buffers (e.g. `m.0`, `v.0` for parameter 0), so a
 * checkpoint can store it in safetensors next to the weights.
 */
export interface OptimizerState {
  kind: string;
  step: number;
  hyper: Record<string, number>;
  buffers: Record<string, Float32Array>;
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** Learning rate; schedules set it before each step. */
  lr: number;
  step = 0;

  protected constructor(kind: string, params: readonly Tensor[], lr: number) {
    if (params.length === 0) throw new EngineError(kind, 'no parameters to optimize');
    for (const p of params) {
      if (!p.requiresGrad) throw new EngineError(kind, `parameter ${p.name ?? ''} ${fmtShape(p.shape)} does not require gradients`);
    }
    if (!(lr >= 0)) throw new EngineError(kind, `learning rate must be >= 0, got ${lr}`);
    this.params = params;
    this.lr = lr;
  }

  /** Applies one update from the parameters' current gradients (parameters without a gradient are skipped). */
  abstract update(): void;
  abstract state(): OptimizerState;
  abstract loadState(state: OptimizerState): void;

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Checks a buffer from a saved state against the parameter it belongs to. */
  protected restoreBuffer(kind: string, state: OptimizerState, key: string, param: Tensor): Float32Array {
    const buf = state.buffers[key];
    if (!buf) throw new EngineError(kind, `saved state has no buffer "${key}"`);
    if (buf.length !== param.size) {
      throw new EngineError(kind, `saved buffer "${key}" has ${buf.length} values but parameter ${fmtShape(param.shape)} has ${param.size}`);
    }
    return new Float32Array(buf);
  }

  protected checkKind(kind: string, state: OptimizerState): void {
    if (state.kind !== kind) throw new EngineError(kind, `cannot load a "${state.kind}" state into ${kind}`);
    if (!Number.isInteger(state.step) || state.step < 0) throw new EngineError(kind, `invalid saved step ${state.step}`);
  }
}
