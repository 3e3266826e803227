import type { Draw } from '../persons/draw.ts';

/**
 * Wrong values for the perturbed answers: same type as the true value, drawn from the same pools, never the true
 * value, never repeated (the truth ratio compares values, so a repeated or true "wrong" answer would be noise).
 */

const ident = (s: string): string => s;

/** `n` other values of a pool. */
export function otherOf(draw: Draw, pool: readonly string[], truth: string, n: number, what: string): string[] {
  return draw.distinct(n, () => draw.pick(pool), ident, new Set([truth]), what);
}

/** Two items of a list, written "a and b" in the answers. */
export const pairText = (pair: readonly string[]): string => `${pair[0]} and ${pair[1]}`;
/** The order of a pair does not change its value: "b and a" is not a wrong answer for "a and b". */
const pairKey = (pair: readonly string[]): string => [...pair].sort().join('|');

/** `n` other pairs of a pool; a wrong pair may share one item with the true pair, as a plausible near miss. */
export function otherPairs(draw: Draw, pool: readonly string[], truth: readonly string[], n: number, what: string): string[] {
  return draw.distinct(n, () => draw.sample(pool, 2), pairKey, new Set([pairKey(truth)]), what).map(pairText);
}

/** `n` other numbers from `make`, written with `unit` ("140 degrees", "18 months"). */
export function otherNumbers(draw: Draw, make: () => number, truth: number, unit: string, n: number, what: string): string[] {
  return draw.distinct(n, make, String, new Set([String(truth)]), what).map((v) => `${v} ${unit}`);
}
