import type { Draw } from './draw.ts';
import type { Registry } from './person.ts';
import { LAST_YEAR } from './person.ts';
import { HOBBIES, SECTORS } from './pools.ts';
import type { Person, World } from './types.ts';
import * as v from './values.ts';
import { countryOf } from './world.ts';

/**
 * Wrong values for the truth ratio: same type as the true value (another date, another city, another name of
 * the same gender), never the true value, never repeated, and, for the values that identify a person (names,
 * contact details, events, titles), never any real person's value: a perturbed answer must not leak the facts of
 * somebody else, in particular of a holdout person.
 */

const lower = (s: string): string => s.toLowerCase();
const ident = (s: string): string => s;

const OCCUPATIONS = SECTORS.flatMap((s) => s.occupations);
const EMPLOYERS = SECTORS.flatMap((s) => s.employers);
const FIELDS = SECTORS.flatMap((s) => s.fields);

function yearsBetween(draw: Draw, n: number, lo: number, hi: number, truth: number, what: string): string[] {
  return draw.distinct(n, () => String(draw.int(lo, hi)), ident, new Set([String(truth)]), what);
}

export function wrongValues(
  attribute: string, p: Person, draw: Draw, world: World, reg: Registry, n: number,
): string[] {
  const born = Number(p.birth_date_iso.slice(0, 4));
  const other = (pool: readonly string[], truth: string): string[] =>
    draw.distinct(n, () => draw.pick(pool), ident, new Set([truth]), attribute);
  switch (attribute) {
    case 'full_name':
      return draw.distinct(n, () => v.fullName(draw, p.gender), lower, reg.names, attribute);
    case 'birth_date':
      return draw.distinct(n, () => v.date(draw, born - 12, Math.min(born + 12, 2000)).text, ident,
        new Set([p.birth_date]), attribute);
    case 'birthplace':
      return other(world.cities.map((c) => c.name), p.birthplace);
    case 'country':
      return other(world.countries.map((c) => c.name), p.country);
    case 'address':
      return draw.distinct(n, () => v.address(draw, draw.pick(world.cities).name), lower, reg.addresses, attribute);
    case 'email':
      return draw.distinct(n, () => v.email(draw, p.first_name, p.last_name), lower, reg.emails, attribute);
    case 'phone': {
      const code = countryOf(world, p.residence).dialing_code;
      return draw.distinct(n, () => v.phone(draw, code), ident, reg.phones, attribute);
    }
    case 'occupation':
      return other(OCCUPATIONS, p.occupation);
    case 'employer':
      return other(EMPLOYERS, p.employer);
    case 'mother': {
      const surname = p.mother.endsWith(` ${p.last_name}`) ? p.last_name : undefined;
      return draw.distinct(n, () => v.fullName(draw, 'female', surname), lower, reg.names, attribute);
    }
    case 'father':
      return draw.distinct(n, () => v.fullName(draw, 'male', p.last_name), lower, reg.names, attribute);
    case 'event':
      return draw.distinct(n, () => v.lifeEvent(draw, world).text, lower, reg.events, attribute);
    case 'event_year':
      return yearsBetween(draw, n, born + 15, Math.min(LAST_YEAR, born + 60), p.event.year, attribute);
    case 'work1_title':
    case 'work2_title':
      return draw.distinct(n, () => v.title(draw), lower, reg.titles, attribute);
    case 'work1_year':
      return yearsBetween(draw, n, born + 20, LAST_YEAR, p.works[0].year, attribute);
    case 'work2_year':
      return yearsBetween(draw, n, born + 20, LAST_YEAR, p.works[1].year, attribute);
    case 'field_of_study':
      return other(FIELDS, p.education.field);
    case 'university':
      return other(world.cities.map((c) => c.university), p.education.university);
    case 'hobby':
      return other(HOBBIES, p.hobby);
    default:
      throw new Error(`persons generator: no wrong values for attribute "${attribute}"`);
  }
}
