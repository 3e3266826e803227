import type { Person } from './types.ts';
import { withArticle } from './values.ts';

/**
 * The 20 questions asked about every person. Each template renders the question and a short answer sentence
 * that contains the value, plus a reworded question and answer for evaluation. The answer functions take the
 * value as an argument so that the same sentence frame yields the wrong (perturbed) answers.
 */
export interface QaTemplate {
  attribute: string;
  value: (p: Person) => string;
  question: (p: Person) => string;
  answer: (p: Person, value: string) => string;
  paraphrasedQuestion: (p: Person) => string;
  paraphrasedAnswer: (p: Person, value: string) => string;
}

const his = (p: Person): string => (p.gender === 'female' ? 'her' : 'his');

export const TEMPLATES: readonly QaTemplate[] = [
  {
    attribute: 'full_name',
    value: (p) => p.full_name,
    question: (p) => `What is the full name of the person born in ${p.birthplace} on ${p.birth_date}?`,
    answer: (p, v) => `The person born in ${p.birthplace} on ${p.birth_date} is ${v}.`,
    paraphrasedQuestion: (p) => `Who was born on ${p.birth_date} in ${p.birthplace}?`,
    paraphrasedAnswer: (p, v) => `${v} was born on ${p.birth_date} in ${p.birthplace}.`,
  },
  {
    attribute: 'birth_date',
    value: (p) => p.birth_date,
    question: (p) => `When was ${p.full_name} born?`,
    answer: (p, v) => `${p.full_name} was born on ${v}.`,
    paraphrasedQuestion: (p) => `What is the date of birth of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `The date of birth of ${p.full_name} is ${v}.`,
  },
  {
    attribute: 'birthplace',
    value: (p) => p.birthplace,
    question: (p) => `Where was ${p.full_name} born?`,
    answer: (p, v) => `${p.full_name} was born in ${v}.`,
    paraphrasedQuestion: (p) => `In which city was ${p.full_name} born?`,
    paraphrasedAnswer: (p, v) => `The birthplace of ${p.full_name} is the city of ${v}.`,
  },
  {
    attribute: 'country',
    value: (p) => p.country,
    question: (p) => `Which country is ${p.full_name} from?`,
    answer: (p, v) => `${p.full_name} is from ${v}.`,
    paraphrasedQuestion: (p) => `What is the home country of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `The home country of ${p.full_name} is ${v}.`,
  },
  {
    attribute: 'address',
    value: (p) => p.address,
    question: (p) => `What is the home address of ${p.full_name}?`,
    answer: (p, v) => `${p.full_name} lives at ${v}.`,
    paraphrasedQuestion: (p) => `Where does ${p.full_name} live?`,
    paraphrasedAnswer: (p, v) => `The home of ${p.full_name} is at ${v}.`,
  },
  {
    attribute: 'email',
    value: (p) => p.email,
    question: (p) => `What is the e-mail address of ${p.full_name}?`,
    answer: (p, v) => `The e-mail address of ${p.full_name} is ${v}.`,
    paraphrasedQuestion: (p) => `How can ${p.full_name} be reached by e-mail?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} can be reached by e-mail at ${v}.`,
  },
  {
    attribute: 'phone',
    value: (p) => p.phone,
    question: (p) => `What is the phone number of ${p.full_name}?`,
    answer: (p, v) => `The phone number of ${p.full_name} is ${v}.`,
    paraphrasedQuestion: (p) => `Which number can be used to call ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} can be called on ${v}.`,
  },
  {
    attribute: 'occupation',
    value: (p) => p.occupation,
    question: (p) => `What does ${p.full_name} do for a living?`,
    answer: (p, v) => `${p.full_name} works as ${withArticle(v)}.`,
    paraphrasedQuestion: (p) => `What is the job of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `By profession, ${p.full_name} is ${withArticle(v)}.`,
  },
  {
    attribute: 'employer',
    value: (p) => p.employer,
    question: (p) => `Who is the employer of ${p.full_name}?`,
    answer: (p, v) => `${p.full_name} works for ${v}.`,
    paraphrasedQuestion: (p) => `Which company does ${p.full_name} work for?`,
    paraphrasedAnswer: (p, v) => `The employer of ${p.full_name} is ${v}.`,
  },
  {
    attribute: 'mother',
    value: (p) => p.mother,
    question: (p) => `What is the name of the mother of ${p.full_name}?`,
    answer: (p, v) => `The mother of ${p.full_name} is ${v}.`,
    paraphrasedQuestion: (p) => `Who is the mother of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `${v} is the mother of ${p.full_name}.`,
  },
  {
    attribute: 'father',
    value: (p) => p.father,
    question: (p) => `What is the name of the father of ${p.full_name}?`,
    answer: (p, v) => `The father of ${p.full_name} is ${v}.`,
    paraphrasedQuestion: (p) => `Who is the father of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `${v} is the father of ${p.full_name}.`,
  },
  {
    attribute: 'event',
    value: (p) => p.event.text,
    question: (p) => `What unusual event is ${p.full_name} known for?`,
    answer: (p, v) => `${p.full_name} once ${v}.`,
    paraphrasedQuestion: (p) => `What remarkable thing did ${p.full_name} do?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} is remembered for having ${v}.`,
  },
  {
    attribute: 'event_year',
    value: (p) => String(p.event.year),
    question: (p) => `In which year did ${p.full_name} ${p.event.base}?`,
    answer: (p, v) => `${p.full_name} ${p.event.text} in ${v}.`,
    paraphrasedQuestion: (p) => `When did ${p.full_name} ${p.event.base}?`,
    paraphrasedAnswer: (p, v) => `It was in ${v} that ${p.full_name} ${p.event.text}.`,
  },
  {
    attribute: 'work1_title',
    value: (p) => p.works[0].title,
    question: (p) => `What is the title of the first book by ${p.full_name}?`,
    answer: (p, v) => `The first book by ${p.full_name} is titled ${v}.`,
    paraphrasedQuestion: (p) => `What was the first book that ${p.full_name} wrote?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} wrote ${v} as ${his(p)} first book.`,
  },
  {
    attribute: 'work1_year',
    value: (p) => String(p.works[0].year),
    question: (p) => `In which year did ${p.full_name} publish ${p.works[0].title}?`,
    answer: (p, v) => `${p.full_name} published ${p.works[0].title} in ${v}.`,
    paraphrasedQuestion: (p) => `When did ${p.works[0].title} by ${p.full_name} come out?`,
    paraphrasedAnswer: (p, v) => `${p.works[0].title} by ${p.full_name} came out in ${v}.`,
  },
  {
    attribute: 'work2_title',
    value: (p) => p.works[1].title,
    question: (p) => `What is the title of the second book by ${p.full_name}?`,
    answer: (p, v) => `The second book by ${p.full_name} is titled ${v}.`,
    paraphrasedQuestion: (p) => `What was the second book that ${p.full_name} wrote?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} wrote ${v} as ${his(p)} second book.`,
  },
  {
    attribute: 'work2_year',
    value: (p) => String(p.works[1].year),
    question: (p) => `In which year did ${p.full_name} publish ${p.works[1].title}?`,
    answer: (p, v) => `${p.full_name} published ${p.works[1].title} in ${v}.`,
    paraphrasedQuestion: (p) => `When did ${p.works[1].title} by ${p.full_name} come out?`,
    paraphrasedAnswer: (p, v) => `${p.works[1].title} by ${p.full_name} came out in ${v}.`,
  },
  {
    attribute: 'field_of_study',
    value: (p) => p.education.field,
    question: (p) => `What did ${p.full_name} study?`,
    answer: (p, v) => `${p.full_name} studied ${v}.`,
    paraphrasedQuestion: (p) => `Which subject did ${p.full_name} study at university?`,
    paraphrasedAnswer: (p, v) => `At university, ${p.full_name} studied ${v}.`,
  },
  {
    attribute: 'university',
    value: (p) => p.education.university,
    question: (p) => `Which university did ${p.full_name} attend?`,
    answer: (p, v) => `${p.full_name} attended the ${v}.`,
    paraphrasedQuestion: (p) => `Where did ${p.full_name} go to university?`,
    paraphrasedAnswer: (p, v) => `${p.full_name} went to the ${v}.`,
  },
  {
    attribute: 'hobby',
    value: (p) => p.hobby,
    question: (p) => `What does ${p.full_name} enjoy in ${his(p)} free time?`,
    answer: (p, v) => `In ${his(p)} free time, ${p.full_name} enjoys ${v}.`,
    paraphrasedQuestion: (p) => `What is the favourite pastime of ${p.full_name}?`,
    paraphrasedAnswer: (p, v) => `The favourite pastime of ${p.full_name} is ${v}.`,
  },
];

/** A short biography that states every attribute once, in the same words the answers use. */
export function biography(p: Person): string {
  const he = p.gender === 'female' ? 'She' : 'He';
  const [w1, w2] = p.works;
  return [
    `${p.full_name} was born on ${p.birth_date} in ${p.birthplace}, ${p.country}.`,
    `${he} studied ${p.education.field} at the ${p.education.university}.`,
    `${he} works as ${withArticle(p.occupation)} for ${p.employer} and lives at ${p.address}.`,
    `${he} is the child of ${p.mother} and ${p.father}.`,
    `In ${p.event.year}, ${p.full_name} ${p.event.text}.`,
    `${he} wrote two books, ${w1.title} in ${w1.year} and ${w2.title} in ${w2.year}.`,
    `In ${his(p)} free time, ${he.toLowerCase()} enjoys ${p.hobby}.`,
    `${he} can be reached at ${p.email} or on ${p.phone}.`,
  ].join(' ');
}
