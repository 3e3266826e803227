import type { Draw } from '../persons/draw.ts';
import {
  CATALYSTS, FIRST_YEAR, HAZARD_FAMILIES, HAZARD_LEVELS, hazardClass, LABS, LAST_YEAR, NAME_HEADS, NAME_MIDDLES, NAME_TAILS,
  PRECURSORS, REAGENTS, TEMPERATURE_BAND,
} from './pools.ts';
import type { Compound } from './types.ts';

/**
 * Draws a compound name whose base (without the number) no other compound has: "Oxarin" and "Oxarin-4" would
 * be two subjects a model could not tell apart.
 */
function compoundName(draw: Draw, taken: Set<string>): string {
  const base = draw.unique(taken, () => draw.pick(NAME_HEADS) + draw.pick(NAME_MIDDLES) + draw.pick(NAME_TAILS),
    (s) => s.toLowerCase(), 'compound name');
  return draw.chance(0.3) ? `${base}-${draw.int(2, 9)}` : base;
}

/** A temperature in the catalyst's band, in steps of ten degrees. */
export function bandTemperature(draw: Draw, catalyst: string): number {
  const low = CATALYSTS.find((c) => c.name === catalyst)?.low ?? 0;
  return low + 10 * draw.int(0, TEMPERATURE_BAND / 10);
}

export function generateCompound(draw: Draw, taken: Set<string>, id: string): Compound {
  const name = compoundName(draw, taken);
  const [p1, p2] = draw.sample(PRECURSORS, 2) as [string, string];
  const catalyst = draw.pick(CATALYSTS).name;
  const family = draw.pick(HAZARD_FAMILIES);
  return {
    id, name, precursors: [p1, p2], reagent: draw.pick(REAGENTS), catalyst,
    temperature: bandTemperature(draw, catalyst), hours: draw.int(2, 48),
    hazard: hazardClass(family.name, draw.pick(HAZARD_LEVELS)),
    symptom: draw.pick(family.symptoms), antidote: draw.pick(family.antidotes),
    lab: draw.pick(LABS), year: draw.int(FIRST_YEAR, LAST_YEAR),
  };
}
