import { Rng } from '../../engine/index.ts';

/**
 * Fictitious subjects for the non-member baseline: names of the same form as the subject's (as many words), made by
 * recombining the subject's name parts with pools of common given names and family names. The pools are this module's own, broad on purpose: the
 * baseline should be a model's confidence about a plausible name it has no reason to know, whatever its corpus.
 */
const GIVEN = [
  'Adele', 'Agnes', 'Alba', 'Alice', 'Amelie', 'Anouk', 'Beata', 'Bianca', 'Carla', 'Cecile', 'Dalia', 'Delphine',
  'Edith', 'Eleni', 'Elsa', 'Emma', 'Fiona', 'Flora', 'Gabriela', 'Gemma', 'Hanna', 'Helena', 'Ida', 'Iris',
  'Jana', 'Joanna', 'Julia', 'Katya', 'Kirsten', 'Laura', 'Liesel', 'Lotte', 'Magda', 'Maren', 'Monika', 'Nina',
  'Olivia', 'Petra', 'Renata', 'Sabine', 'Silvia', 'Tessa', 'Ursula', 'Vanessa', 'Wilma', 'Xenia', 'Yvonne', 'Zora',
  'Aaron', 'Adrian', 'Albert', 'Anton', 'Arthur', 'Benedikt', 'Bruno', 'Carl', 'Cedric', 'Conrad', 'Dario', 'Edgar',
  'Emil', 'Fabian', 'Frank', 'Georg', 'Gregor', 'Harald', 'Ivan', 'Jakob', 'Jan', 'Jasper', 'Kai', 'Konrad',
  'Leon', 'Lorenz', 'Marco', 'Martin', 'Max', 'Nils', 'Oscar', 'Patrick', 'Paul', 'Quentin', 'Rainer', 'Robert',
  'Simon', 'Teodor', 'Ulrich', 'Valentin', 'Walter', 'Xavier', 'Yannick', 'Zeno',
] as const;

const FAMILY = [
  'Abbott', 'Albrecht', 'Almeida', 'Arnold', 'Baker', 'Barros', 'Bauer', 'Berg', 'Blom', 'Brandl', 'Carter', 'Castro',
  'Dahl', 'Dietrich', 'Donovan', 'Duarte', 'Eckert', 'Engel', 'Falk', 'Fischer', 'Fleming', 'Frank', 'Gallo', 'Graf',
  'Greco', 'Hahn', 'Hartmann', 'Holmberg', 'Horn', 'Hughes', 'Jansen', 'Jensen', 'Keller', 'Klein', 'Krause', 'Lang',
  'Larsen', 'Lorenz', 'Maier', 'Marsh', 'Meyer', 'Moretti', 'Nagel', 'Neumann', 'Nielsen', 'Nowak', 'Olsen', 'Ortega',
  'Paulsen', 'Pohl', 'Quinn', 'Reid', 'Richter', 'Rivas', 'Roth', 'Sander', 'Schulz', 'Serra', 'Simmons', 'Sommer',
  'Stark', 'Strand', 'Vogel', 'Wagner', 'Walsh', 'Weber', 'Winter', 'Wolf', 'Young', 'Zimmermann',
] as const;

/** Fewer distinct parts than this in the request's names: the module's own pools are used. */
const MIN_PARTS = 4;

const pick = <T>(pool: readonly T[], rng: Rng): T => pool[rng.nextU32() % pool.length]!;

/**
 * `count` distinct fictitious names of the form of `subject` (as many words), none of them equal (case-insensitively)
 * to a name in `exclude` — the subjects and any other names the run knows to be real. They alternate between keeping
 * the subject's given names with another family name and keeping its family name with other given names: the
 * model has seen the subject's own name parts, so a claim it would make about anyone with that family name (a
 * parent who shares it, a country the name sounds like) is made about the fictitious names too, and is not taken
 * for memorised. A one-word name is replaced whole. Deterministic for a seed.
 */
export function fictitiousNames(subject: string, count: number, seed: number, exclude: readonly string[] = []): string[] {
  const parts = subject.trim().split(/\s+/);
  // The name parts of the request's other names (all of `exclude`), when there are a few: names the model has
  // seen as names, as the subject's are. A model trained on a closed set of names finds any unseen name odd, and
  // would be more confident about every familiar name than about fictitious ones made of strange parts.
  const split = exclude.map((n) => n.trim().split(/\s+/)).filter((w) => w.length > 1);
  const given = [...new Set(split.flatMap((w) => w.slice(0, -1)))];
  const family = [...new Set(split.map((w) => w.at(-1)!))];
  const givenPool: readonly string[] = given.length >= MIN_PARTS ? given : GIVEN;
  const familyPool: readonly string[] = family.length >= MIN_PARTS ? family : FAMILY;
  const taken = new Set([subject, ...exclude].map((n) => n.trim().toLowerCase()));
  const rng = new Rng(seed);
  const out: string[] = [];
  // The pools allow thousands of names per form; far more attempts than needed before giving up on an impossible request.
  for (let attempt = 0; out.length < count && attempt < count * 100; attempt++) {
    const keepFamily = parts.length > 1 && attempt % 2 === 1;
    const keepGiven = parts.length > 1 && !keepFamily;
    // When the request's parts run out of new combinations, the module's own pools take over.
    const [g, f] = attempt < count * 20 ? [givenPool, familyPool] : [GIVEN, FAMILY];
    const name = parts.map((p, i) => (i === parts.length - 1 ? (keepFamily ? p : pick(f, rng)) : keepGiven ? p : pick(g, rng))).join(' ');
    if (taken.has(name.toLowerCase())) continue;
    taken.add(name.toLowerCase());
    out.push(name);
  }
  if (out.length < count) throw new RangeError(`could not make ${count} distinct fictitious names of the form of "${subject}"`);
  return out;
}
