// Seeded mutations of file bytes and JSON documents, shared by the fuzz test and tools/fuzz.ts. Every choice comes
// from one PRNG, so (kind, seed, index) names a case exactly and a failure reproduces with the same three numbers.

/** mulberry32: small, fast, and independent of the engine's own Rng. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed of case `index` of `kind` in a campaign seeded `seed`. */
export function caseSeed(kind: string, seed: number, index: number): number {
  let h = 2166136261 ^ seed;
  for (const c of `${kind}:${index}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Byte sequences that are not UTF-8: a lone continuation, overlong, surrogate, truncated, out of range, 0xff. */
export const INVALID_UTF8: readonly number[][] = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xfe], [0xc3]];

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Byte-level mutations: bit flips, byte sets, truncation, invalid UTF-8, deleted or duplicated ranges. */
export function mutateBytes(r: Prng, b: Uint8Array, region?: [number, number]): { bytes: Uint8Array; what: string } {
  const [lo, hi] = region ?? [0, b.length];
  const at = (): number => lo + r.int(Math.max(1, hi - lo));
  switch (r.int(6)) {
    case 0: {
      const out = b.slice();
      const n = 1 + r.int(8);
      for (let k = 0; k < n; k++) {
        const i = at();
        if (i < out.length) out[i]! ^= 1 << r.int(8);
      }
      return { bytes: out, what: `flip ${n} bits` };
    }
    case 1: {
      const out = b.slice();
      const i = at();
      if (i < out.length) out[i] = r.pick([0x00, 0xff, 0x22, 0x7b, 0x7d, 0x2c, 0x3a, 0x5c, 0x30, 0x39, r.int(256)]);
      return { bytes: out, what: `set byte ${i}` };
    }
    case 2: {
      const i = r.chance(0.5) ? at() : r.int(b.length + 1);
      return { bytes: b.slice(0, i), what: `truncate at ${i}` };
    }
    case 3: {
      const i = at();
      const seq = r.pick(INVALID_UTF8);
      return { bytes: concat(b.subarray(0, i), Uint8Array.from(seq), b.subarray(i)), what: `insert invalid UTF-8 [${seq.map((x) => x.toString(16))}] at ${i}` };
    }
    case 4: {
      const i = at();
      const n = 1 + r.int(64);
      return { bytes: concat(b.subarray(0, i), b.subarray(i + n)), what: `delete ${n} bytes at ${i}` };
    }
    default: {
      const i = at();
      const n = 1 + r.int(64);
      return { bytes: concat(b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n)), what: `duplicate ${n} bytes at ${i}` };
    }
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Slot = { parent: Json[] | { [k: string]: Json }; key: string | number; path: string };

/** Every position in a JSON tree (skipping into arrays past `maxItems` items, so huge vocabularies stay cheap). */
function slots(root: Json, maxItems = 64): Slot[] {
  const out: Slot[] = [];
  const walk = (v: Json, path: string): void => {
    if (Array.isArray(v)) {
      for (let i = 0; i < Math.min(v.length, maxItems); i++) {
        out.push({ parent: v, key: i, path: `${path}[${i}]` });
        walk(v[i]!, `${path}[${i}]`);
      }
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      const chosen = keys.length > maxItems ? keys.slice(0, maxItems) : keys;
      for (const k of chosen) {
        out.push({ parent: v, key: k, path: `${path}.${k}` });
        walk(v[k]!, `${path}.${k}`);
      }
    }
  };
  walk(root, '');
  return out;
}

/** Values that break parsers: huge, negative, fractional, wrong type, empty, long, lone surrogate. */
export const HOSTILE_VALUES: readonly Json[] = [
  1e308, -1, 0, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 1e9, 0.5, -1e9, 3.000001, '12', '', 'x'.repeat(100_000), '\ud800', null, true, [], {}, [1, 2], { a: 1 },
];

/**
 * JSON-level mutations: hostile values at a random position (often one `targets` picks: paths, or a test on the
 * path), deleted keys,
 * duplicated keys, deep nesting, type swaps. Returns text, since duplicate keys and deep nesting cannot be
 * built through JSON.stringify.
 */
export function mutateJson(r: Prng, doc: Json, targets: readonly string[] | ((path: string) => boolean) = []): { text: string; what: string } | null {
  // A document an earlier step nested 100,000 deep is past any recursive walk: the caller mutates bytes instead.
  try {
    return mutateTree(r, structuredClone(doc), targets);
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
}

function mutateTree(r: Prng, copy: Json, targets: readonly string[] | ((path: string) => boolean)): { text: string; what: string } {
  const all = slots(copy);
  if (all.length === 0) return { text: JSON.stringify(copy), what: 'no slots' };
  const aimed = typeof targets === 'function' ? targets
    : (path: string): boolean => targets.some((t) => path === t || path.startsWith(`${t}[`) || path.startsWith(`${t}.`));
  const targeted = r.chance(0.6) ? all.filter((s) => aimed(s.path)) : [];
  const slot = r.pick(targeted.length > 0 ? targeted : all);
  const set = (v: Json): void => {
    (slot.parent as Record<string | number, Json>)[slot.key] = v;
  };
  switch (r.int(5)) {
    case 0:
    case 1: {
      const v = r.pick(HOSTILE_VALUES);
      set(v);
      return { text: JSON.stringify(copy), what: `${slot.path} = ${JSON.stringify(v)?.slice(0, 30)}` };
    }
    case 2: {
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return { text: JSON.stringify(copy), what: `delete ${slot.path}` };
    }
    case 3: {
      // Deep nesting: JSON.parse copes iteratively; recursive walkers do not.
      const depth = r.pick([100, 5000, 100_000]);
      const marker = '"__NEST__"';
      set('__NEST__');
      return { text: JSON.stringify(copy).replace(marker, '['.repeat(depth) + '1' + ']'.repeat(depth)), what: `${slot.path} nested ${depth} deep` };
    }
    default: {
      if (Array.isArray(slot.parent)) {
        set(r.pick(HOSTILE_VALUES));
        return { text: JSON.stringify(copy), what: `${slot.path} replaced` };
      }
      // Duplicate key, the hostile value last (JSON.parse keeps the later one).
      const original = slot.parent[slot.key as string]!;
      set(r.pick(HOSTILE_VALUES));
      const text = JSON.stringify(copy);
      const key = JSON.stringify(slot.key);
      const i = text.indexOf(`${key}:`);
      const dup = `${key}:${JSON.stringify(original)},`;
      return { text: i < 0 ? text : text.slice(0, i) + dup + text.slice(i), what: `duplicate key ${slot.path}` };
    }
  }
}

export type { Json };
