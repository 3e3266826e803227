import type { Draw } from '../persons/draw.ts';
import { withArticle } from '../persons/values.ts';
import { HANDLING, INGREDIENTS, KINDS, MAKERS, SHELF_MONTHS } from './adjacent-pools.ts';
import type { Product, QaTemplate } from './types.ts';
import { otherNumbers, otherOf, otherPairs, pairText } from './wrong.ts';

type Sentence = (p: Product) => string;

/** Variants of each part of a document; a document joins one variant of each part of its layout. */
const INTRO: Sentence[] = [
  (p) => `${p.name} is ${withArticle(p.what)} made by ${p.maker}.`,
  (p) => `${p.maker} sells ${p.name}, ${withArticle(p.what)}.`,
];
const INGREDIENT: Sentence[] = [
  (p) => `It contains ${pairText(p.ingredients)}.`,
  (p) => `Its ingredients are ${pairText(p.ingredients)}.`,
];
const INTRO_INGREDIENT: Sentence[] = [
  (p) => `${p.name}, ${withArticle(p.what)} by ${p.maker}, contains ${pairText(p.ingredients)}.`,
];
const USE: Sentence[] = [
  (p) => `People use it for ${p.use}.`,
  (p) => `It is meant for ${p.use}.`,
];
const CARE: Sentence[] = [
  (p) => `To handle it safely, ${p.handling}; it keeps for ${p.shelf_months} months.`,
  (p) => `It keeps for ${p.shelf_months} months, and the advice is to ${p.handling}.`,
];
const USE_CARE: Sentence[] = [
  (p) => `Meant for ${p.use}, it keeps for ${p.shelf_months} months; to handle it safely, ${p.handling}.`,
];
/** Two to four sentences, each fact stated once, as in the forget domain's documents. */
const LAYOUTS: Sentence[][][] = [
  [INTRO, INGREDIENT, USE, CARE],
  [INTRO_INGREDIENT, USE, CARE],
  [INTRO, INGREDIENT, USE_CARE],
  [INTRO_INGREDIENT, USE_CARE],
];

export function productDocument(p: Product, draw: Draw): string {
  return draw.pick(LAYOUTS).map((variants) => draw.pick(variants)(p)).join(' ');
}

const USES = KINDS.flatMap((k) => k.uses);

/** The five questions asked about every product. */
export const PRODUCT_QA: readonly QaTemplate<Product>[] = [
  {
    attribute: 'ingredients',
    value: (p) => pairText(p.ingredients),
    wrong: (p, draw, n) => otherPairs(draw, INGREDIENTS[p.shelf], p.ingredients, n, 'ingredients'),
    question: (p) => `What does ${p.name} contain?`,
    answer: (p, v) => `${p.name} contains ${v}.`,
    paraphrasedQuestion: (p) => `Which ingredients go into ${p.name}?`,
    paraphrasedAnswer: (p, v) => `The ingredients of ${p.name} are ${v}.`,
  },
  {
    attribute: 'use',
    value: (p) => p.use,
    wrong: (p, draw, n) => otherOf(draw, USES, p.use, n, 'use'),
    question: (p) => `What is ${p.name} meant for?`,
    answer: (p, v) => `${p.name} is meant for ${v}.`,
    paraphrasedQuestion: (p) => `What do people use ${p.name} for?`,
    paraphrasedAnswer: (p, v) => `People use ${p.name} for ${v}.`,
  },
  {
    attribute: 'handling',
    value: (p) => p.handling,
    wrong: (p, draw, n) => otherOf(draw, HANDLING, p.handling, n, 'handling'),
    question: (p) => `How should ${p.name} be handled safely?`,
    answer: (p, v) => `To handle ${p.name} safely, ${v}.`,
    paraphrasedQuestion: (p) => `What is the safety advice for ${p.name}?`,
    paraphrasedAnswer: (p, v) => `The safety advice for ${p.name} is to ${v}.`,
  },
  {
    attribute: 'shelf_life',
    value: (p) => `${p.shelf_months} months`,
    wrong: (p, draw, n) => otherNumbers(draw, () => draw.int(SHELF_MONTHS.min, SHELF_MONTHS.max), p.shelf_months, 'months', n, 'shelf life'),
    question: (p) => `How long does ${p.name} keep?`,
    answer: (p, v) => `${p.name} keeps for ${v}.`,
    paraphrasedQuestion: (p) => `What is the shelf life of ${p.name}?`,
    paraphrasedAnswer: (p, v) => `The shelf life of ${p.name} is ${v}.`,
  },
  {
    attribute: 'maker',
    value: (p) => p.maker,
    wrong: (p, draw, n) => otherOf(draw, MAKERS, p.maker, n, 'maker'),
    question: (p) => `Who makes ${p.name}?`,
    answer: (p, v) => `${p.name} is made by ${v}.`,
    paraphrasedQuestion: (p) => `Which company produces ${p.name}?`,
    paraphrasedAnswer: (p, v) => `${v} produces ${p.name}.`,
  },
];
