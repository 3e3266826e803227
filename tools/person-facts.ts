import { readFileSync } from 'node:fs';

/**
 * Scoring source-free findings against the persons corpus's truth (data/persons/persons.json), for the bench only:
 * the library never reads it. A fact is one of a person's 19 attributes in all_qa.jsonl other than the full name
 * (the name is what source-free mode is given); it counts as found when a kept claim about the person contains its
 * value (case-insensitive), and for the years of the event and of each book when one claim holds both the year and
 * what it is the year of. A kept claim is true when it contains at least one of the person's values and no value
 * of another person's that is not also part of one of this person's.
 */
interface Person {
  full_name: string; birth_date: string; birthplace: string; country: string; address: string; email: string; phone: string;
  occupation: string; employer: string; mother: string; father: string; event: { text: string; year: number };
  works: { title: string; year: number }[]; education: { field: string; university: string }; hobby: string;
}

/** attribute → the strings a claim must all contain for the fact to be found. */
export function factsOf(p: Person): Record<string, string[]> {
  return {
    birth_date: [p.birth_date], birthplace: [p.birthplace], country: [p.country], address: [p.address], email: [p.email], phone: [p.phone],
    occupation: [p.occupation], employer: [p.employer], mother: [p.mother], father: [p.father], event: [p.event.text],
    event_year: [p.event.text, String(p.event.year)], work1_title: [p.works[0]!.title], work1_year: [p.works[0]!.title, String(p.works[0]!.year)],
    work2_title: [p.works[1]!.title], work2_year: [p.works[1]!.title, String(p.works[1]!.year)],
    field_of_study: [p.education.field], university: [p.education.university], hobby: [p.hobby],
  };
}

export interface FactScore {
  /** Facts found / facts of the subjects. */
  recall: number;
  /** True claims / kept claims. */
  precision: number;
  facts: number;
  found: number;
  claims: number;
  trueClaims: number;
}

export function loadPersons(path = 'data/persons/persons.json'): Map<string, Person> {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { persons: Person[]; holdout: Person[] };
  return new Map([...j.persons, ...j.holdout].map((p) => [p.full_name, p]));
}

export function scoreFindings(kept: readonly { name: string; text: string }[], subjects: readonly string[], persons: Map<string, Person>): FactScore {
  const lower = (s: string): string => s.toLowerCase();
  const allValues = new Set([...persons.values()].flatMap((p) => Object.values(factsOf(p)).map((v) => lower(v[0]!))));
  let facts = 0;
  let found = 0;
  for (const name of subjects) {
    const p = persons.get(name);
    if (!p) throw new Error(`${name}: not in persons.json`);
    const mine = kept.filter((k) => k.name === name).map((k) => lower(k.text));
    for (const need of Object.values(factsOf(p))) {
      facts++;
      if (mine.some((t) => need.every((v) => t.includes(lower(v))))) found++;
    }
  }
  let trueClaims = 0;
  for (const k of kept) {
    const own = Object.values(factsOf(persons.get(k.name)!)).map((v) => lower(v[0]!));
    const t = lower(k.text);
    const right = own.some((v) => t.includes(v));
    const wrong = [...allValues].some((v) => t.includes(v) && !own.some((o) => o.includes(v) || v.includes(o)));
    if (right && !wrong) trueClaims++;
  }
  return { recall: facts === 0 ? 0 : found / facts, precision: kept.length === 0 ? 0 : trueClaims / kept.length, facts, found, claims: kept.length, trueClaims };
}
