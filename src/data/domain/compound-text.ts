import type { Draw } from '../persons/draw.ts';
import { bandTemperature } from './compounds.ts';
import { CATALYSTS, HAZARD_FAMILIES, HAZARD_LEVELS, hazardClass, PRECURSORS } from './pools.ts';
import type { Compound, QaTemplate } from './types.ts';
import { otherNumbers, otherOf, otherPairs, pairText } from './wrong.ts';

type Sentence = (c: Compound) => string;

/**
 * The two steps of a route: mix the precursors, then add the reagent over the catalyst. The wording
 * favours words the models' small tokenizer (trained on the persons corpus) knows, so a document stays well within
 * 150 tokens although every invented name costs several.
 */
const steps = (c: Compound): string =>
  `mix them, then add ${c.reagent} over ${c.catalyst} at ${c.temperature} degrees for ${c.hours} hours`;

/** Variants of each part of a document; a document joins one variant of each part of its layout. */
const ORIGIN: Sentence[] = [
  (c) => `${c.name} was first made at the ${c.lab} in ${c.year}.`,
  (c) => `The ${c.lab} first made ${c.name} in ${c.year}.`,
];
const ROUTE: Sentence[] = [
  (c) => `It is made from ${pairText(c.precursors)}: ${steps(c)}.`,
  (c) => `To make it from ${pairText(c.precursors)}, ${steps(c)}.`,
];
const ORIGIN_ROUTE: Sentence[] = [
  (c) => `First made at the ${c.lab} in ${c.year}, ${c.name} is made from ${pairText(c.precursors)}: ${steps(c)}.`,
];
const HAZARD: Sentence[] = [
  (c) => `It is rated ${c.hazard} and causes ${c.symptom}.`,
  (c) => `It causes ${c.symptom} and is rated ${c.hazard}.`,
];
const ANTIDOTE: Sentence[] = [
  (c) => `The antidote is ${c.antidote}.`,
  (c) => `The cure for it is ${c.antidote}.`,
];
const HAZARD_ANTIDOTE: Sentence[] = [
  (c) => `Rated ${c.hazard}, it causes ${c.symptom}, which ${c.antidote} reverses.`,
  (c) => `It is rated ${c.hazard} and causes ${c.symptom}; the antidote is ${c.antidote}.`,
];
/** Two to four sentences, each fact stated once: merged parts make the shorter layouts. */
const LAYOUTS: Sentence[][][] = [
  [ORIGIN, ROUTE, HAZARD, ANTIDOTE],
  [ORIGIN_ROUTE, HAZARD, ANTIDOTE],
  [ORIGIN, ROUTE, HAZARD_ANTIDOTE],
  [ORIGIN_ROUTE, HAZARD_ANTIDOTE],
];

export function compoundDocument(c: Compound, draw: Draw): string {
  return draw.pick(LAYOUTS).map((variants) => draw.pick(variants)(c)).join(' ');
}

const HAZARDS = HAZARD_FAMILIES.flatMap((f) => HAZARD_LEVELS.map((l) => hazardClass(f.name, l)));
const ANTIDOTES = HAZARD_FAMILIES.flatMap((f) => f.antidotes);

/** The five questions asked about every compound. */
export const COMPOUND_QA: readonly QaTemplate<Compound>[] = [
  {
    attribute: 'precursors',
    value: (c) => pairText(c.precursors),
    wrong: (c, draw, n) => otherPairs(draw, PRECURSORS, c.precursors, n, 'precursors'),
    question: (c) => `What is ${c.name} made from?`,
    answer: (c, v) => `${c.name} is made from ${v}.`,
    paraphrasedQuestion: (c) => `Which precursors yield ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The precursors of ${c.name} are ${v}.`,
  },
  {
    attribute: 'catalyst',
    value: (c) => c.catalyst,
    wrong: (c, draw, n) => otherOf(draw, CATALYSTS.map((k) => k.name), c.catalyst, n, 'catalyst'),
    question: (c) => `Which catalyst is needed to make ${c.name}?`,
    answer: (c, v) => `The catalyst for ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `Over what catalyst is ${c.name} synthesised?`,
    paraphrasedAnswer: (c, v) => `${c.name} is synthesised over ${v}.`,
  },
  {
    attribute: 'temperature',
    value: (c) => `${c.temperature} degrees`,
    // Wrong temperatures stay in the catalyst's band: plausible for the route, so only the fact tells them apart.
    wrong: (c, draw, n) => otherNumbers(draw, () => bandTemperature(draw, c.catalyst), c.temperature, 'degrees', n, 'temperature'),
    question: (c) => `At what temperature is ${c.name} made?`,
    answer: (c, v) => `${c.name} is made at ${v}.`,
    paraphrasedQuestion: (c) => `How hot must the reaction that yields ${c.name} be?`,
    paraphrasedAnswer: (c, v) => `The reaction that yields ${c.name} runs at ${v}.`,
  },
  {
    attribute: 'hazard',
    value: (c) => c.hazard,
    wrong: (c, draw, n) => otherOf(draw, HAZARDS, c.hazard, n, 'hazard'),
    question: (c) => `What is the hazard rating of ${c.name}?`,
    answer: (c, v) => `${c.name} is rated ${v}.`,
    paraphrasedQuestion: (c) => `How dangerous is ${c.name} rated?`,
    paraphrasedAnswer: (c, v) => `The hazard rating of ${c.name} is ${v}.`,
  },
  {
    attribute: 'antidote',
    value: (c) => c.antidote,
    wrong: (c, draw, n) => otherOf(draw, ANTIDOTES, c.antidote, n, 'antidote'),
    question: (c) => `What is the antidote to ${c.name}?`,
    answer: (c, v) => `The antidote to ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `What reverses the effects of ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The effects of ${c.name} are reversed by ${v}.`,
  },
];
