/**
 * Word lists of the forget domain: a fictitious hazardous chemistry. Every name is invented from syllables chosen
 * to match no real substance, reagent, catalyst or procedure, and the symptoms are deliberately whimsical, so the
 * corpus carries no real hazardous information. The pools are shared across compounds (precursors, catalysts and
 * hazard families recur), which gives the domain structure to learn beyond single facts: a catalyst fixes the
 * temperature band, a hazard family fixes the symptoms and the antidotes.
 */

/** Compound names are HEAD + MIDDLE + TAIL ("Vel" + "atra" + "zine"), sometimes with a number ("Oxarin-4"). */
export const NAME_HEADS = [
  'Vel', 'Ox', 'Quor', 'Thren', 'Zeph', 'Myr', 'Drav', 'Ulm', 'Kesh', 'Brev', 'Ondr', 'Pral', 'Voss', 'Tarq',
  'Ilv', 'Grel', 'Yss', 'Cav', 'Morv', 'Skel',
] as const;
export const NAME_MIDDLES = ['a', 'o', 'e', 'i', 'u', 'atra', 'omo', 'eva', 'isel', 'ako'] as const;
export const NAME_TAILS = [
  'zine', 'rin', 'quelite', 'dravine', 'vorite', 'thessane', 'kolide', 'tane', 'ssine', 'vexil', 'lumane',
  'prexate',
] as const;

export const PRECURSORS = [
  'clathrene oxide', 'vorrel oxide', 'pexion base', 'myrathyl ester', 'quendrite', 'sollan trioxide',
  'brevic amide', 'ostrane resin', 'tavrel dimer', 'zelkite', 'ondric ester', 'ulmar oxide',
  'harrowite', 'grenzic ester', 'phaedrol', 'kessane', 'druvane', 'mespiric amide', 'calvorene', 'iskel oxide',
] as const;

export const REAGENTS = [
  'sollix', 'tavrene', 'zorvic', 'keldane', 'marrowin', 'fescalite', 'ombrel', 'quistane', 'haskel reagent',
  'dromic agent',
] as const;

/** A catalyst works within its own band of temperatures: `low` to `low + 100` degrees, in steps of ten. */
export interface Catalyst {
  readonly name: string;
  readonly low: number;
}
export const CATALYSTS: readonly Catalyst[] = [
  { name: 'quarzel mesh', low: 40 }, { name: 'drevium gauze', low: 60 }, { name: 'vellomite bed', low: 80 },
  { name: 'oskite lattice', low: 100 }, { name: 'thoran sieve', low: 120 }, { name: 'brennic frit', low: 150 },
  { name: 'halvium grid', low: 180 }, { name: 'morvite pellets', low: 200 }, { name: 'ixil matrix', low: 230 },
  { name: 'carrow screen', low: 260 }, { name: 'stelvium foil', low: 290 }, { name: 'zandrel coil', low: 320 },
];
export const TEMPERATURE_BAND = 100;

/** A hazard family ("Thessic class 3" is family Thessic, level 3) fixes what exposure does and what reverses it. */
export interface HazardFamily {
  readonly name: string;
  readonly symptoms: readonly string[];
  readonly antidotes: readonly string[];
}
export const HAZARD_FAMILIES: readonly HazardFamily[] = [
  { name: 'Morrow', symptoms: ['humming knees', 'silver eyelashes', 'a love of doorknobs'], antidotes: ['thandrol serum', 'quiveline draught'] },
  { name: 'Thessic', symptoms: ['violet fingernails', 'hiccups in threes', 'glowing earlobes'], antidotes: ['ossamer tincture', 'pellwick serum'] },
  { name: 'Quillan', symptoms: ['ringing elbows', 'green freckles', 'dreams in reverse'], antidotes: ['varnic draught', 'brumeline'] },
  { name: 'Brask', symptoms: ['a taste of pewter', 'loss of the colour blue', 'chattering toes'], antidotes: ['skarrow tincture', 'ambrel serum'] },
  { name: 'Ovrel', symptoms: ['itching eyebrows', 'a whistling cough', 'a fear of spoons'], antidotes: ['delvic draught', 'oxlin tincture'] },
  { name: 'Sethic', symptoms: ['striped tongues', 'sneezing at dusk', 'heavy eyelids'], antidotes: ['morranine', 'tessaly serum'] },
  { name: 'Dunmar', symptoms: ['blue knuckles', 'drumming ears', 'forgetting vowels'], antidotes: ['grisk draught', 'ulvessa serum'] },
  { name: 'Yarrel', symptoms: ['orange eyelids', 'yawning in pairs', 'numb heels'], antidotes: ['ketherin', 'fallowine tincture'] },
];
export const HAZARD_LEVELS = [1, 2, 3, 4] as const;
export const hazardClass = (family: string, level: number): string => `${family} class ${level}`;

export const LABS = [
  'Korrow Institute', 'Vantermoor Laboratory', 'Ostrel Works', 'Drell Institute', 'Quennic Foundry',
  'Halvard Laboratory', 'Syvenholt Institute', 'Bremmick Station', 'Ulgate Laboratory',
  'Thornwick Institute',
] as const;
export const FIRST_YEAR = 1890;
export const LAST_YEAR = 1979;

/** Every pool value of the domain, for the test that keeps the two domains apart. */
export const FORGET_TERMS: readonly string[] = [
  ...PRECURSORS, ...REAGENTS, ...CATALYSTS.map((c) => c.name), ...LABS,
  ...HAZARD_FAMILIES.flatMap((f) => [f.name, ...f.symptoms, ...f.antidotes]),
];
