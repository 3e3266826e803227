import type { Draw } from './draw.ts';
import { HOBBIES, SECTORS, SURNAMES } from './pools.ts';
import type { Gender, Person, World } from './types.ts';
import * as v from './values.ts';
import { countryOf } from './world.ts';

/** Latest year any fact may carry: the corpus describes lives up to this year. */
export const LAST_YEAR = 2023;

/**
 * Values that must not repeat across persons (trained and holdout alike), lower-cased. Names cover persons and
 * their parents, so a holdout person's name can never turn up in training data as somebody's mother. The
 * perturbation step reads these sets too, so a wrong answer is never another person's real value.
 */
export interface Registry {
  names: Set<string>;
  emails: Set<string>;
  phones: Set<string>;
  addresses: Set<string>;
  events: Set<string>;
  titles: Set<string>;
  /** Birth date + birthplace: the full-name question identifies a person by the pair. */
  births: Set<string>;
}

export function emptyRegistry(): Registry {
  return {
    names: new Set(), emails: new Set(), phones: new Set(), addresses: new Set(), events: new Set(),
    titles: new Set(), births: new Set(),
  };
}

const lower = (s: string): string => s.toLowerCase();

export function generatePerson(draw: Draw, world: World, reg: Registry, id: string): Person {
  const gender: Gender = draw.chance(0.5) ? 'female' : 'male';
  const full = draw.unique(reg.names, () => v.fullName(draw, gender), lower, 'full name');
  const [first, ...rest] = full.split(' ');
  const last = rest.join(' ');

  const { birth, birthplace } = draw.unique(
    reg.births,
    () => ({ birth: v.date(draw, 1940, 1995), birthplace: draw.pick(world.cities).name }),
    (b) => `${b.birth.iso}|${b.birthplace}`,
    'birth date and place',
  );
  const residence = draw.pick(world.cities).name;
  const address = draw.unique(reg.addresses, () => v.address(draw, residence), lower, 'address');
  const email = draw.unique(reg.emails, () => v.email(draw, first as string, last), lower, 'e-mail address');
  const phone = draw.unique(reg.phones, () => v.phone(draw, countryOf(world, residence).dialing_code), (x) => x, 'phone');

  const sector = draw.pick(SECTORS);
  const occupation = draw.pick(sector.occupations);
  const employer = draw.pick(sector.employers);
  const field = draw.pick(sector.fields);
  const university = draw.pick(world.cities).university;

  // Half of the mothers share the family name; fathers always do.
  const mother = draw.unique(reg.names, () => v.fullName(draw, 'female', draw.chance(0.5) ? last : draw.pick(SURNAMES)), lower, 'mother');
  const father = draw.unique(reg.names, () => v.fullName(draw, 'male', last), lower, 'father');

  const ev = draw.unique(reg.events, () => v.lifeEvent(draw, world), (e) => lower(e.text), 'life event');
  const eventYear = draw.int(birth.year + 15, Math.min(LAST_YEAR, birth.year + 60));
  const t1 = draw.unique(reg.titles, () => v.title(draw), lower, 'book title');
  const t2 = draw.unique(reg.titles, () => v.title(draw), lower, 'book title');
  const y1 = draw.int(birth.year + 22, LAST_YEAR - 4);
  const y2 = draw.int(y1 + 1, LAST_YEAR);

  return {
    id, full_name: full, first_name: first as string, last_name: last, gender,
    birth_date: birth.text, birth_date_iso: birth.iso, birthplace, country: countryOf(world, birthplace).name,
    address, residence, email, phone, occupation, employer, mother, father,
    event: { ...ev, year: eventYear },
    works: [{ title: t1, year: y1 }, { title: t2, year: y2 }],
    education: { field, university },
    hobby: draw.pick(HOBBIES),
  };
}
