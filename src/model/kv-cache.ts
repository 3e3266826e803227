import { concat, type Tensor } from '../engine/index.ts';

/**
 * Keys and values of the positions seen so far, per layer ([B, Hkv, T, D] each), so generation runs each new
 * token through the model once instead of re-running the whole prefix.
 */
export class KVCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];
  /** Positions already cached. */
  length = 0;

  constructor(numLayers: number) {
    this.keys = new Array<Tensor | null>(numLayers).fill(null);
    this.values = new Array<Tensor | null>(numLayers).fill(null);
  }

  /** Appends this step's k, v for a layer and returns the full k, v to attend over. */
  append(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const pk = this.keys[layer];
    const pv = this.values[layer];
    const fk = pk ? concat([pk, k], 2) : k;
    const fv = pv ? concat([pv, v], 2) : v;
    this.keys[layer] = fk;
    this.values[layer] = fv;
    return [fk, fv];
  }

  /** Called by the model after all layers ran on `steps` new positions. */
  advance(steps: number): void {
    this.length += steps;
  }
}
