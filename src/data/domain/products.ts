import type { Draw } from '../persons/draw.ts';
import { BRAND_HEADS, BRAND_TAILS, HANDLING, INGREDIENTS, KINDS, MAKERS, SHELF_MONTHS } from './adjacent-pools.ts';
import type { Product } from './types.ts';

/** Brands are unique, not just names: "Dawnbrook Polish" and "Dawnbrook Rinse" would share a maker's identity. */
export function generateProduct(draw: Draw, taken: Set<string>, id: string): Product {
  const brand = draw.unique(taken, () => draw.pick(BRAND_HEADS) + draw.pick(BRAND_TAILS), (s) => s.toLowerCase(), 'brand');
  const kind = draw.pick(KINDS);
  const [i1, i2] = draw.sample(INGREDIENTS[kind.shelf], 2) as [string, string];
  return {
    id, name: `${brand} ${kind.word}`, what: kind.what, shelf: kind.shelf, ingredients: [i1, i2], use: draw.pick(kind.uses),
    handling: draw.pick(HANDLING), shelf_months: draw.int(SHELF_MONTHS.min, SHELF_MONTHS.max), maker: draw.pick(MAKERS),
  };
}
