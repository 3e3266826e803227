import type { Draw } from './draw.ts';
import {
  CITIES, COUNTRIES, CURRENCIES, DISHES, EXPORTS, FLOWERS, KNOWN_FOR, MONTHS, MOUNTAINS, NATIONAL_ANIMALS,
  RIVERS, SEAS,
} from './pools.ts';
import type { City, Country, World } from './types.ts';

/**
 * A small fictitious world: 10 countries with 4 cities each. Persons are born and live in its cities, and the
 * "world" QA and text sets (the utility data) describe it, so every fact in the corpus agrees with every other.
 */
const N_COUNTRIES = 10;
const CITIES_PER_COUNTRY = 4;

export function generateWorld(draw: Draw): World {
  const countryPairs = draw.sample(COUNTRIES, N_COUNTRIES);
  const cityNames = draw.sample(CITIES, N_COUNTRIES * CITIES_PER_COUNTRY);
  // National symbols are distinct per country, so a wrong answer taken from another country is really wrong.
  const currencies = draw.sample(CURRENCIES, N_COUNTRIES);
  const rivers = draw.sample(RIVERS, N_COUNTRIES);
  const mountains = draw.sample(MOUNTAINS, N_COUNTRIES);
  const animals = draw.sample(NATIONAL_ANIMALS, N_COUNTRIES);
  const flowers = draw.sample(FLOWERS, N_COUNTRIES);
  const dishes = draw.sample(DISHES, N_COUNTRIES);
  const exports = draw.sample(EXPORTS, N_COUNTRIES);
  const codes = draw.sample(Array.from({ length: 70 }, (_, i) => i + 20), N_COUNTRIES);
  const founded = draw.sample(Array.from({ length: 81 }, (_, i) => 800 + 10 * i), N_COUNTRIES);
  const heights = draw.sample(Array.from({ length: 37 }, (_, i) => 1200 + 100 * i), N_COUNTRIES);

  const countries: Country[] = [];
  const cities: City[] = [];
  countryPairs.forEach(([name, language], c) => {
    const own = cityNames.slice(c * CITIES_PER_COUNTRY, (c + 1) * CITIES_PER_COUNTRY);
    countries.push({
      name, language, capital: own[0] as string, cities: own,
      currency: currencies[c] as string, dialing_code: codes[c] as number,
      river: rivers[c] as string, mountain: mountains[c] as string, mountain_height: heights[c] as number,
      sea: draw.pick(SEAS), animal: animals[c] as string, flower: flowers[c] as string, dish: dishes[c] as string,
      export: exports[c] as string, founded: founded[c] as number, festival_month: draw.pick(MONTHS),
    });
    own.forEach((city, i) => {
      cities.push({
        name: city, country: name, capital: i === 0, water: draw.chance(0.5) ? 'river' : 'coast',
        known_for: draw.pick(KNOWN_FOR), university: `University of ${city}`,
      });
    });
  });
  return { countries, cities };
}

export function countryOf(world: World, city: string): Country {
  const c = world.cities.find((x) => x.name === city);
  const country = c && world.countries.find((x) => x.name === c.country);
  if (!country) throw new Error(`persons generator: unknown city ${city}`);
  return country;
}
