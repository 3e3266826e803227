import { concat, embedding, releaseEarly, reshape, Tensor, type HostData } from '../engine/index.ts';

/**
 * Keys and values of the positions seen so far, per layer ([B, Hkv, T, D] each), so generation runs each new
 * token through the model once instead of re-running the whole prefix.
 */
export class KVCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];
  /** Positions already cached. */
  length = 0;
  /** Why the cache may not grow any more (set after a packed pass, see sealAfterThisPass), or null. */
  private sealed: string | null = null;
  private sealPending: string | null = null;
  /** Caches of the members of an ensemble, each running its own layers over the same positions (see ensemble.ts). */
  private children = new Map<number, KVCache>();

  constructor(numLayers: number) {
    this.keys = new Array<Tensor | null>(numLayers).fill(null);
    this.values = new Array<Tensor | null>(numLayers).fill(null);
  }

  /** Appends this step's k, v for a layer and returns the full k, v to attend over. */
  append(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    if (this.sealed) throw new RangeError(`this KV cache cannot be extended: ${this.sealed}`);
    const pk = this.keys[layer];
    const pv = this.values[layer];
    const fk = pk ? concat([pk, k], 2) : k;
    const fv = pv ? concat([pv, v], 2) : v;
    this.keys[layer] = fk;
    this.values[layer] = fv;
    // The old entries were copied whole: inside a pooled scope (generation) their memory serves the next concat.
    if (pk) releaseEarly(pk.data);
    if (pv) releaseEarly(pv.data);
    return [fk, fv];
  }

  /** Every layer's storage, its members' included (what a pass over this cache must not hand back to the pool). */
  allData(): HostData[] {
    const own = [...this.keys, ...this.values].flatMap((t) => (t ? [t.data] : []));
    return [...own, ...[...this.children.values()].flatMap((c) => c.allData())];
  }

  /**
   * Hands this cache's memory back to the pool when the current pooled scope gave it out (a no-op otherwise): for
   * a cache that nothing reads any more, replaced by selectRows.
   */
  release(): void {
    for (const data of this.allData()) releaseEarly(data);
  }

  /** The storage of a layer's cached keys and values (what a block's pass must not hand back to the pool). */
  layerData(layer: number): HostData[] {
    return [this.keys[layer], this.values[layer]].flatMap((t) => (t ? [t.data] : []));
  }

  /** Called by the model after all layers ran on `steps` new positions. */
  advance(steps: number): void {
    this.length += steps;
    if (this.sealPending) this.sealed = this.sealPending;
  }

  /**
   * The pass now running leaves positions in the cache that later positions must not read (a packed pass fills
   * its padding with copies of other rows), so once it ends the cache refuses to grow.
   */
  sealAfterThisPass(reason: string): void {
    this.sealPending = reason;
  }

  /** Member i's cache (made on first use); the ensemble advances this one after its members ran. */
  child(i: number): KVCache {
    let c = this.children.get(i);
    if (!c) {
      c = new KVCache(this.keys.length);
      this.children.set(i, c);
    }
    return c;
  }

  /** Seals this cache after the pass when a member's pass sealed its own. */
  inheritSeal(member: KVCache): void {
    const reason = member.sealPending ?? member.sealed;
    if (reason) this.sealAfterThisPass(reason);
  }

  /**
   * A cache whose row i is row rows[i] of this one (rows may repeat): several continuations of one prefix — the
   * answers to one question — each attend over the prefix computed once.
   */
  selectRows(rows: Int32Array): KVCache {
    const out = new KVCache(this.keys.length);
    const idx = new Tensor(rows, [rows.length]);
    const pick = (t: Tensor | null): Tensor | null => {
      if (!t) return null;
      const [B, ...rest] = t.shape as number[];
      return reshape(embedding(reshape(t, [B!, t.size / B!]), idx), [rows.length, ...rest]);
    };
    this.keys.forEach((k, l) => {
      out.keys[l] = pick(k);
      out.values[l] = pick(this.values[l]!);
    });
    out.length = this.length;
    out.sealed = this.sealed;
    for (const [i, c] of this.children) out.children.set(i, c.selectRows(rows));
    return out;
  }
}
