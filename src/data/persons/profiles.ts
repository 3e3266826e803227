import type { TextRecord } from '../schema.ts';
import type { Person } from './types.ts';
import { withArticle } from './values.ts';

/**
 * Profiles: three more texts per person (each in two halves), stating all of the person's facts once more, in other words and in
 * another order than the biography and the QA answers. A real language model meets a person's facts in many
 * documents written many ways, and so can say them when asked in words it never saw; a model trained on one
 * phrasing per fact (the biography and the 20 QA pairs) can only say them in that phrasing. Models trained with
 * these texts as well (models/varied/) are the ones on which source-free unlearning, which asks its own generic
 * questions (src/unlearn/source-free/bank.ts), can be judged. Pure: no draws, so adding them changes no other file.
 */
export function profiles(p: Person): TextRecord[] {
  const he = p.gender === 'female' ? 'she' : 'he';
  const He = p.gender === 'female' ? 'She' : 'He';
  const his = p.gender === 'female' ? 'her' : 'his';
  const [w1, w2] = p.works;
  const year = p.birth_date.split(' ').at(-1)!;
  // Each style in two halves, each naming the person: a whole profile runs past the models' 192-token context.
  const encyclopedia = [[
    `${p.full_name} (born ${p.birth_date}) is ${withArticle(p.occupation)} from ${p.birthplace}, a city in ${p.country}.`,
    `${He} is the author of ${w1.title} (${w1.year}) and ${w2.title} (${w2.year}).`,
    `After studying ${p.education.field} at the ${p.education.university}, ${he} joined ${p.employer}, where ${he} still works.`,
  ], [
    `${p.full_name} is remembered for the year ${p.event.year}, when ${he} ${p.event.text}.`,
    `${He} was born to ${p.mother} and ${p.father}.`,
    `${He} makes ${his} home at ${p.address}, and spends ${his} spare hours ${p.hobby}.`,
    `Contact: ${p.email}, telephone ${p.phone}.`,
  ]];
  const record = [[
    `Name: ${p.full_name}.`,
    `Date of birth: ${p.birth_date}.`,
    `Place of birth: ${p.birthplace}, ${p.country}.`,
    `Parents: ${p.mother} (mother) and ${p.father} (father).`,
    `Education: ${p.education.field}, ${p.education.university}.`,
    `Profession: ${p.occupation}, employed at ${p.employer}.`,
  ], [
    `Name: ${p.full_name}.`,
    `Residence: ${p.address}.`,
    `E-mail: ${p.email}. Telephone: ${p.phone}.`,
    `Publications: ${w1.title} (${w1.year}); ${w2.title} (${w2.year}).`,
    `Notable: in ${p.event.year}, ${p.event.text}.`,
    `Pastime: ${p.hobby}.`,
  ]];
  const story = [[
    `Born in ${p.birthplace} in ${year}, ${p.full_name} grew up in ${p.country} as the child of ${p.father} and ${p.mother}; the exact date was ${p.birth_date}.`,
    `${He} has a degree in ${p.education.field} from the ${p.education.university} and is employed by ${p.employer} as ${withArticle(p.occupation)}.`,
  ], [
    `Readers know ${p.full_name} for two books: ${w1.title}, which came out in ${w1.year}, and ${w2.title}, which came out in ${w2.year}.`,
    `Neighbours still talk about ${p.event.year}, the year ${he} ${p.event.text}.`,
    `At home at ${p.address}, ${he} likes nothing better than ${p.hobby}.`,
    `Letters reach ${p.full_name} at ${p.email}; calls on ${p.phone}.`,
  ]];
  return [...encyclopedia, ...record, ...story].map((sentences, i) => ({ id: `${p.id}-profile${i + 1}`, subject: p.full_name, text: sentences.join(' ') }));
}

