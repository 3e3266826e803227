/** Up to n items spread evenly over the set: a fixed, representative sample (guard checks, evaluation subsets). */
export function evenSample<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}
