import type { Draw } from './draw.ts';
import {
  ANIMAL_STATES, CLIMB_MANNERS, CONTESTS, EMAIL_DOMAINS, FEMALE_FIRST, FINDING_ACTIVITIES, FOUND_THINGS,
  INSTRUMENTS, MALE_FIRST, MATERIALS, MONTHS, RESCUED_ANIMALS, STREET_KINDS, STREETS, STRUCTURES, SURNAMES,
  TAUGHT_ANIMALS, TITLE_ADJECTIVES, TITLE_NOUNS, TREES, TRICKS,
} from './pools.ts';
import type { Gender, World } from './types.ts';

/**
 * Makers for single attribute values. The person generator uses them for the true values and the perturbation
 * step uses the same makers for wrong values, so a wrong answer is always a plausible value of the same type.
 */

function firstName(draw: Draw, gender: Gender): string {
  return draw.pick(gender === 'female' ? FEMALE_FIRST : MALE_FIRST);
}

export function fullName(draw: Draw, gender: Gender, surname?: string): string {
  return `${firstName(draw, gender)} ${surname ?? draw.pick(SURNAMES)}`;
}

export interface DateValue {
  text: string;
  iso: string;
  year: number;
}

export function date(draw: Draw, fromYear: number, toYear: number): DateValue {
  const year = draw.int(fromYear, toYear);
  const month = draw.int(1, 12);
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = draw.int(1, days);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return { text: `${day} ${MONTHS[month - 1]} ${year}`, iso: `${year}-${pad(month)}-${pad(day)}`, year };
}

export function address(draw: Draw, city: string): string {
  return `${draw.int(1, 180)} ${draw.pick(STREETS)} ${draw.pick(STREET_KINDS)}, ${city}`;
}

/** An e-mail address built from the person's own name, in one of several common patterns. */
export function email(draw: Draw, first: string, last: string): string {
  const f = first.toLowerCase();
  const l = last.toLowerCase();
  const nn = String(draw.int(1, 99)).padStart(2, '0');
  const local = draw.pick([`${f}.${l}`, `${f[0]}.${l}`, `${l}.${f}`, `${f}${l}`, `${f}.${l}${nn}`, `${f[0]}${l}${nn}`]);
  return `${local}@${draw.pick(EMAIL_DOMAINS)}`;
}

export function phone(draw: Draw, dialingCode: number): string {
  return `+${dialingCode} ${draw.int(200, 999)} ${draw.int(1000, 9999)}`;
}

export function title(draw: Draw): string {
  const a = draw.pick(TITLE_ADJECTIVES);
  const n = draw.pick(TITLE_NOUNS);
  const m = draw.pick(TITLE_NOUNS);
  switch (draw.int(0, 3)) {
    case 0: return `The ${a} ${n}`;
    case 1: return n === m ? `The ${a} ${n}` : `The ${n} and the ${m}`;
    case 2: return `A ${n} in ${draw.pick(MONTHS)}`;
    // Not "N of the A M": that would contain the pattern-0 title "The A M" and blur two books into one.
    default: return n === m ? `The ${a} ${n}` : `The ${n} of ${m}`;
  }
}

/** A distinctive life event as a verb phrase in past and base form. */
export function lifeEvent(draw: Draw, world: World): { text: string; base: string } {
  const city = (): string => draw.pick(world.cities).name;
  const river = (): string => draw.pick(world.countries).river;
  const ev = (past: string, base: string, rest: string): { text: string; base: string } =>
    ({ text: `${past} ${rest}`, base: `${base} ${rest}` });
  switch (draw.int(0, 9)) {
    case 0: return ev('won', 'win', `the ${draw.pick(CONTESTS)} in ${city()}`);
    case 1: return ev('rescued', 'rescue', `a ${draw.pick(ANIMAL_STATES)} ${draw.pick(RESCUED_ANIMALS)} from the ${river()} river`);
    case 2: return ev('found', 'find', `${draw.pick(FOUND_THINGS)} while ${draw.pick(FINDING_ACTIVITIES)}`);
    case 3: {
      const [a, b] = draw.sample(world.cities, 2).map((c) => c.name);
      return ev('sailed', 'sail', `a small boat alone from ${a} to ${b}`);
    }
    case 4: {
      const [a, b] = draw.sample(world.cities, 2).map((c) => c.name);
      return ev('walked', 'walk', `from ${a} to ${b} in ${draw.int(5, 40)} days`);
    }
    case 5: return ev('built', 'build', `a ${draw.pick(STRUCTURES)} out of ${draw.pick(MATERIALS)}`);
    case 6: return ev('climbed', 'climb', `${draw.pick(world.countries).mountain} ${draw.pick(CLIMB_MANNERS)}`);
    case 7: return ev('planted', 'plant', `${100 * draw.int(1, 20)} ${draw.pick(TREES)} trees in ${city()}`);
    case 8: return ev('taught', 'teach', `a ${draw.pick(TAUGHT_ANIMALS)} to ${draw.pick(TRICKS)}`);
    default: return ev('played', 'play', `the ${draw.pick(INSTRUMENTS)} for ${draw.int(10, 60)} hours without a break`);
  }
}

/** "a nurse", "an actor". */
export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}
