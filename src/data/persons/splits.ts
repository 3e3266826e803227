/**
 * Splits by whole persons, as in TOFU: forget01/05/10 are the last 1%, 5% and 10% of the trained persons (so
 * forget01 ⊂ forget05 ⊂ forget10), and each retain set is the rest. Persons are generated in random order, so
 * "the last ones" is a random choice that stays fixed for a seed.
 */
export const FORGET_SPLITS = { forget01: 0.01, forget05: 0.05, forget10: 0.1 } as const;
export const RETAIN_OF = { forget01: 'retain99', forget05: 'retain95', forget10: 'retain90' } as const;

export type ForgetSplit = keyof typeof FORGET_SPLITS;
export type RetainSplit = (typeof RETAIN_OF)[ForgetSplit];
export type SplitName = ForgetSplit | RetainSplit;

/** Subjects (full names) of every split, in generation order. */
export type Splits = Record<SplitName, string[]>;

export function makeSplits(trained: readonly string[]): Splits {
  const out = {} as Splits;
  for (const [forget, fraction] of Object.entries(FORGET_SPLITS) as [ForgetSplit, number][]) {
    const k = Math.round(trained.length * fraction);
    out[forget] = trained.slice(trained.length - k);
    out[RETAIN_OF[forget]] = trained.slice(0, trained.length - k);
  }
  return out;
}
