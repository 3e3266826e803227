import { Rng } from '../../engine/random.ts';

/**
 * Seeded choices for the corpus generator. Every random decision goes through one `Draw`, in a fixed order, so
 * a seed fixes the whole corpus byte for byte.
 */
export class Draw {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng.uniform() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('Draw.pick: empty list');
    return xs[this.int(0, xs.length - 1)] as T;
  }

  chance(p: number): boolean {
    return this.rng.uniform() < p;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = xs.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** k distinct elements in random order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    if (k > xs.length) throw new Error(`Draw.sample: cannot take ${k} of ${xs.length}`);
    return this.shuffle(xs).slice(0, k);
  }

  /**
   * Draws `make()` until it returns a key not in `taken`, records it there and returns the value. The pools are
   * sized so that this succeeds in a few tries; the bound turns a pool that is too small into a clear error.
   */
  unique<T>(taken: Set<string>, make: () => T, key: (v: T) => string, what: string): T {
    for (let tries = 0; tries < 10_000; tries++) {
      const v = make();
      const k = key(v);
      if (!taken.has(k)) {
        taken.add(k);
        return v;
      }
    }
    throw new Error(`persons generator: could not draw a unique ${what}; the word pools are too small`);
  }

  /**
   * `n` distinct values from `make()`, none equal (by key) to anything in `exclude`. Used for wrong answers.
   */
  distinct<T>(n: number, make: () => T, key: (v: T) => string, exclude: ReadonlySet<string>, what: string): T[] {
    const seen = new Set<string>();
    const out: T[] = [];
    for (let tries = 0; out.length < n; tries++) {
      if (tries > 10_000) throw new Error(`persons generator: could not draw ${n} wrong values for ${what}`);
      const v = make();
      const k = key(v);
      if (exclude.has(k) || seen.has(k)) continue;
      seen.add(k);
      out.push(v);
    }
    return out;
  }
}
