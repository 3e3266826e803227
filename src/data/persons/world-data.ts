import type { Draw } from './draw.ts';
import { KNOWN_FOR, SEAS } from './pools.ts';
import type { QaRecord, TextRecord } from '../schema.ts';
import type { City, Country, World } from './types.ts';

/**
 * The utility sets: 200 QA pairs (12 per country, 2 per city) and 100 short paragraphs about the fictitious
 * world. They carry the same evaluation fields as the persons QA, so model utility can use the truth ratio on
 * them. Wrong answers are the values of other countries or cities, so they are plausible and really wrong.
 */

interface Fact<T> {
  attribute: string;
  value: (x: T) => string;
  question: (x: T) => string;
  answer: (x: T, v: string) => string;
  paraphrasedQuestion: (x: T) => string;
  paraphrasedAnswer: (x: T, v: string) => string;
}

const COUNTRY_FACTS: readonly Fact<Country>[] = [
  {
    attribute: 'capital', value: (c) => c.capital,
    question: (c) => `What is the capital of ${c.name}?`, answer: (c, v) => `The capital of ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `Which city is the capital of ${c.name}?`,
    paraphrasedAnswer: (c, v) => `${v} is the capital city of ${c.name}.`,
  },
  {
    attribute: 'language', value: (c) => c.language,
    question: (c) => `What language do people speak in ${c.name}?`, answer: (c, v) => `People in ${c.name} speak ${v}.`,
    paraphrasedQuestion: (c) => `Which language is spoken in ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The language of ${c.name} is ${v}.`,
  },
  {
    attribute: 'currency', value: (c) => c.currency,
    question: (c) => `What is the currency of ${c.name}?`, answer: (c, v) => `The currency of ${c.name} is the ${v}.`,
    paraphrasedQuestion: (c) => `Which money do people use in ${c.name}?`,
    paraphrasedAnswer: (c, v) => `People in ${c.name} pay with the ${v}.`,
  },
  {
    attribute: 'dialing_code', value: (c) => `+${c.dialing_code}`,
    question: (c) => `What is the dialing code of ${c.name}?`, answer: (c, v) => `The dialing code of ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `Which code do phone numbers in ${c.name} start with?`,
    paraphrasedAnswer: (c, v) => `Phone numbers in ${c.name} start with ${v}.`,
  },
  {
    attribute: 'river', value: (c) => c.river,
    question: (c) => `What is the longest river in ${c.name}?`, answer: (c, v) => `The longest river in ${c.name} is the ${v}.`,
    paraphrasedQuestion: (c) => `Which river is the longest in ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The ${v} is the longest river in ${c.name}.`,
  },
  {
    attribute: 'mountain', value: (c) => c.mountain,
    question: (c) => `What is the highest mountain in ${c.name}?`, answer: (c, v) => `The highest mountain in ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `Which mountain is the highest in ${c.name}?`,
    paraphrasedAnswer: (c, v) => `${v} is the highest mountain in ${c.name}.`,
  },
  {
    attribute: 'sea', value: (c) => c.sea,
    question: (c) => `Which sea lies on the coast of ${c.name}?`, answer: (c, v) => `The coast of ${c.name} faces the ${v}.`,
    paraphrasedQuestion: (c) => `What sea does ${c.name} border?`,
    paraphrasedAnswer: (c, v) => `${c.name} borders the ${v}.`,
  },
  {
    attribute: 'national_animal', value: (c) => c.animal,
    question: (c) => `What is the national animal of ${c.name}?`, answer: (c, v) => `The national animal of ${c.name} is the ${v}.`,
    paraphrasedQuestion: (c) => `Which animal is the symbol of ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The ${v} is the animal symbol of ${c.name}.`,
  },
  {
    attribute: 'national_flower', value: (c) => c.flower,
    question: (c) => `What is the national flower of ${c.name}?`, answer: (c, v) => `The national flower of ${c.name} is the ${v}.`,
    paraphrasedQuestion: (c) => `Which flower is the symbol of ${c.name}?`,
    paraphrasedAnswer: (c, v) => `The ${v} is the flower symbol of ${c.name}.`,
  },
  {
    attribute: 'dish', value: (c) => c.dish,
    question: (c) => `What is a famous dish in ${c.name}?`, answer: (c, v) => `A famous dish in ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `Which dish is ${c.name} known for?`,
    paraphrasedAnswer: (c, v) => `${c.name} is known for its ${v}.`,
  },
  {
    attribute: 'export', value: (c) => c.export,
    question: (c) => `What is the main export of ${c.name}?`, answer: (c, v) => `The main export of ${c.name} is ${v}.`,
    paraphrasedQuestion: (c) => `What does ${c.name} sell most to other countries?`,
    paraphrasedAnswer: (c, v) => `${c.name} sells mostly ${v} to other countries.`,
  },
  {
    attribute: 'founded', value: (c) => String(c.founded),
    question: (c) => `When was ${c.name} founded?`, answer: (c, v) => `${c.name} was founded in ${v}.`,
    paraphrasedQuestion: (c) => `In which year was ${c.name} founded?`,
    paraphrasedAnswer: (c, v) => `The founding year of ${c.name} is ${v}.`,
  },
];

const CITY_FACTS: readonly Fact<City>[] = [
  {
    attribute: 'city_country', value: (c) => c.country,
    question: (c) => `In which country is ${c.name}?`, answer: (c, v) => `${c.name} is in ${v}.`,
    paraphrasedQuestion: (c) => `Which country does ${c.name} belong to?`,
    paraphrasedAnswer: (c, v) => `The city of ${c.name} lies in ${v}.`,
  },
  {
    attribute: 'known_for', value: (c) => c.known_for,
    question: (c) => `What is ${c.name} known for?`, answer: (c, v) => `${c.name} is known for its ${v}.`,
    paraphrasedQuestion: (c) => `What is ${c.name} famous for?`,
    paraphrasedAnswer: (c, v) => `${c.name} is famous for its ${v}.`,
  },
];

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

function factRecord<T extends { name: string }>(draw: Draw, x: T, f: Fact<T>, pool: readonly string[]): QaRecord {
  const truth = f.value(x);
  const wrong = draw.distinct(5, () => draw.pick(pool), (s) => s, new Set([truth]), f.attribute);
  return {
    id: `w-${slug(x.name)}-${f.attribute}`, subject: x.name, attribute: f.attribute,
    question: f.question(x), answer: f.answer(x, truth),
    paraphrased_question: f.paraphrasedQuestion(x), paraphrased_answer: f.paraphrasedAnswer(x, truth),
    perturbed_answers: wrong.map((w) => f.paraphrasedAnswer(x, w)),
  };
}

export function worldQa(draw: Draw, world: World): QaRecord[] {
  const out: QaRecord[] = [];
  for (const c of world.countries) {
    // Other countries' values are distinct by construction, except seas, which countries may share.
    for (const f of COUNTRY_FACTS) out.push(factRecord(draw, c, f, f.attribute === 'sea' ? SEAS : world.countries.map(f.value)));
  }
  const pools: Record<string, readonly string[]> = {
    city_country: world.countries.map((c) => c.name),
    known_for: KNOWN_FOR,
  };
  for (const c of world.cities) {
    for (const f of CITY_FACTS) out.push(factRecord(draw, c, f, pools[f.attribute] as readonly string[]));
  }
  return out;
}

function countryParagraphs(c: Country, world: World): string[] {
  const [c1, c2, c3, c4] = c.cities;
  const port = world.cities.find((x) => x.country === c.name && x.water === 'coast')?.name ?? c.capital;
  return [
    `${c.name} is a country with four main cities: ${c1}, ${c2}, ${c3} and ${c4}. The capital is ${c.capital}. ` +
      `People in ${c.name} speak ${c.language} and pay with the ${c.currency}.`,
    `The longest river in ${c.name} is the ${c.river}. The highest mountain is ${c.mountain}, which is ` +
      `${c.mountain_height} metres high. The coast of ${c.name} faces the ${c.sea}.`,
    `The main export of ${c.name} is ${c.export}. Most of it leaves the country through ${port}. ` +
      `Phone numbers in ${c.name} start with +${c.dialing_code}.`,
    `The national animal of ${c.name} is the ${c.animal}, and its national flower is the ${c.flower}. ` +
      `A famous dish in ${c.name} is ${c.dish}. Every year in ${c.festival_month}, people hold a festival in ${c.capital}.`,
    `${c.name} was founded in ${c.founded}, and ${c.capital} has been its capital since then. ` +
      `The old town of ${c.capital} still has walls from that time.`,
  ];
}

function cityParagraph(city: City, world: World): string {
  const c = world.countries.find((x) => x.name === city.country) as Country;
  const first = city.capital ? `${city.name} is the capital of ${c.name}.` : `${city.name} is a city in ${c.name}.`;
  const water = city.water === 'river' ? `It lies on the ${c.river} river.` : `It lies on the coast of the ${c.sea}.`;
  return `${first} ${water} The city is known for its ${city.known_for}. ${city.name} is home to the ${city.university}.`;
}

const N_TRADE_PARAGRAPHS = 10;

export function worldText(draw: Draw, world: World): TextRecord[] {
  const out: TextRecord[] = [];
  for (const c of world.countries) {
    countryParagraphs(c, world).forEach((text, i) => out.push({ id: `wt-${slug(c.name)}-${i + 1}`, subject: c.name, text }));
  }
  for (const city of world.cities) out.push({ id: `wt-${slug(city.name)}`, subject: city.name, text: cityParagraph(city, world) });
  // Trade between distinct pairs of countries, consistent with their exports.
  const pairs = world.countries.flatMap((a, i) => world.countries.slice(i + 1).map((b) => [a, b] as const));
  draw.sample(pairs, N_TRADE_PARAGRAPHS).forEach(([a, b], i) => {
    out.push({
      id: `wt-trade-${i + 1}`,
      text: `${a.name} and ${b.name} trade with each other. ${a.name} sells ${a.export} to ${b.name}, and ` +
        `${b.name} sells ${b.export} to ${a.name}. Ships and trains carry the goods between ${a.capital} and ${b.capital}.`,
    });
  });
  return out;
}
