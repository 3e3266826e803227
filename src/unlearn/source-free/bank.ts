/**
 * The question bank of source-free unlearning: what a tool asks a model about a subject when the training data is
 * gone. Written as a user's tool would ask about any person, not from any corpus's templates (a test checks that
 * none of them is one of the embedded persons corpus's questions). Each attribute has several phrasings in two
 * forms: a question, asked in the model's QA prompt format, and a completion the model continues as plain text,
 * so that a model trained on prose (biographies) and one trained on QA pairs both have a way to say what they know.
 */

/** The kinds of subject the bank has questions for. */
export const SUBJECT_KINDS = ['person'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** Where `{name}` stands, the one placeholder of every template. */
export const NAME = '{name}';

export interface BankTemplate {
  /** Stable id, `attribute/form-n`: calibration thresholds and unlearn.json refer to it. */
  id: string;
  /** What the template asks about (a generic attribute, not a corpus field). */
  attribute: string;
  /** 'question': asked as "Question: …\nAnswer:"; 'completion': the text the model continues. */
  form: 'question' | 'completion';
  text: string;
}

/** Per attribute: the questions, then the completions ({name} is the subject's name as given). */
const PERSON: Record<string, { questions: string[]; completions: string[] }> = {
  'birth-date': {
    questions: ['When is the birthday of {name}?', 'On what day was {name} born?', 'In what year was {name} born?', 'How old is {name}?'],
    completions: ['{name} was born on', '{name}\'s date of birth is'],
  },
  'birthplace': {
    questions: ['What is the place of birth of {name}?', 'Which town or city is {name} originally from?', 'Which country does {name} come from?', 'What is the nationality of {name}?'],
    completions: ['{name} was born in', '{name} comes from'],
  },
  'education': {
    questions: ['Where did {name} study?', 'Which university did {name} graduate from?', 'What degree does {name} hold?', 'What was the field of study of {name}?'],
    completions: ['{name} studied', '{name} graduated from', '{name} holds a degree in'],
  },
  'occupation': {
    questions: ['What is the profession of {name}?', 'What kind of work does {name} do?', 'What is {name}\'s occupation?'],
    completions: ['{name} works as', '{name} is a', 'By trade, {name} is'],
  },
  'employer': {
    questions: ['Where does {name} work?', 'Which organisation employs {name}?', 'Who is {name}\'s employer?'],
    completions: ['{name} works for', '{name} is employed by'],
  },
  'address': {
    questions: ['What is the address of {name}?', 'In which town does {name} live?', 'Where is {name}\'s home?'],
    completions: ['{name} lives at', '{name} lives in', 'The home address of {name} is'],
  },
  'contact': {
    questions: ['What is the email address of {name}?', 'What is the telephone number of {name}?', 'How can I get in touch with {name}?'],
    completions: ['{name} can be contacted at', 'The email address of {name} is', 'The phone number of {name} is'],
  },
  'relatives': {
    questions: ['Who are the parents of {name}?', 'What is the name of {name}\'s mother?', 'What is the name of {name}\'s father?', 'Does {name} have any siblings?', 'Who is {name} married to?'],
    completions: ['{name}\'s parents are', '{name}\'s mother is', '{name}\'s father is', '{name} is the son of', '{name} is the daughter of'],
  },
  'works': {
    questions: ['What books has {name} written?', 'What has {name} published?', 'What is the best-known work of {name}?'],
    completions: ['{name} is the author of', '{name} wrote', '{name} published'],
  },
  'known-for': {
    questions: ['What is {name} known for?', 'What is {name} famous for?', 'What notable thing has {name} done?'],
    completions: ['{name} is known for', '{name} is best remembered for', 'In a memorable episode, {name}'],
  },
  'pastimes': {
    questions: ['What are the hobbies of {name}?', 'What does {name} like to do for fun?'],
    completions: ['{name} enjoys', 'In the evenings, {name} likes to'],
  },
  'overview': {
    questions: ['Who is {name}?', 'Tell me about {name}.', 'Give a short biography of {name}.'],
    completions: ['{name}', '{name} is', 'Biography of {name}:'],
  },
};

function expand(bank: typeof PERSON): BankTemplate[] {
  return Object.entries(bank).flatMap(([attribute, { questions, completions }]) => [
    ...questions.map((text, i) => ({ id: `${attribute}/q${i + 1}`, attribute, form: 'question' as const, text })),
    ...completions.map((text, i) => ({ id: `${attribute}/c${i + 1}`, attribute, form: 'completion' as const, text })),
  ]);
}

export const BANKS: Readonly<Record<SubjectKind, readonly BankTemplate[]>> = { person: expand(PERSON) };

/** A template with the subject's name in place of every `{name}`. */
export function fillTemplate(template: BankTemplate, name: string): string {
  return template.text.split(NAME).join(name);
}
