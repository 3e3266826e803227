import type { TrainingRecord } from '../data/schema.ts';
import { readTrainingRecords } from '../data/jsonl.ts';
import type { FieldMap } from '../data/fields.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { qaTokens } from '../model/qa-format.ts';

/**
 * One forget or retain record, tokenized the way training saw it: BOS + prompt, then answer + EOS. QA records
 * keep their question (refusal methods pair it with a new answer); a text record is all answer after BOS.
 */
export interface UnlearnItem {
  prompt: number[];
  answer: number[];
  /** The question text for QA records, null for text records. */
  question: string | null;
  /** Whom the record is about, when the file says. */
  subject: string | null;
  /** Set when the record was longer than the model's context and was cut to fit (see tokenizeItems). */
  truncated?: true;
  /** QA records: the answer as text, which fact it states, and wrong answers phrased alike (counterexample's alternatives). */
  answerText?: string;
  attribute?: string;
  perturbed?: readonly string[];
}

/**
 * The same tokenization as src/train/examples.ts (BOS + prompt | answer + EOS), cut to the model's context: the
 * answer loses its end, and a prompt that leaves no room for one answer token loses its start (the part farthest
 * from the answer). Cut items are marked `truncated` so the run can say how many there were.
 */
export function tokenizeItems(records: readonly TrainingRecord[], tokenizer: Tokenizer, maxLength: number): UnlearnItem[] {
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  const head = bos === null ? [] : [bos];
  return records.map((r) => {
    let prompt: number[];
    let answer: number[];
    if (r.kind === 'qa') ({ prompt, answer } = qaTokens(tokenizer, r.question, r.answer));
    else {
      const body = tokenizer.encode(r.text, { addSpecialTokens: false });
      prompt = head;
      answer = tokenizer.eosId === null ? body : [...body, tokenizer.eosId];
    }
    if (prompt.length === 0) throw new RangeError('the tokenizer has neither a BOS nor an EOS token to start a text record with');
    const cutPrompt = prompt.length > maxLength - 1 ? prompt.slice(prompt.length - (maxLength - 1)) : prompt;
    const keep = maxLength - cutPrompt.length;
    const item: UnlearnItem = { prompt: cutPrompt, answer: answer.slice(0, keep), question: r.kind === 'qa' ? r.question : null, subject: r.subject ?? null };
    if (cutPrompt.length < prompt.length || answer.length > keep) item.truncated = true;
    if (r.kind === 'qa') {
      item.answerText = r.answer;
      if (r.attribute !== undefined) item.attribute = r.attribute;
      if (r.perturbed_answers !== undefined) item.perturbed = r.perturbed_answers;
    }
    return item;
  });
}

/** An answer for an existing item's prompt (refusal methods): " text" + EOS after the same prompt. */
export function withAnswer(item: UnlearnItem, answerText: string, tokenizer: Tokenizer): UnlearnItem {
  return { ...item, answer: qaTokens(tokenizer, item.question ?? '', answerText).answer, answerText };
}

/**
 * A forget or retain set already tokenized in memory, where there is no file to read: source-free unlearning builds
 * its sets from the model's own answers. `description` says in unlearn.json what the items are.
 */
export interface ItemSet {
  items: readonly UnlearnItem[];
  description: string;
}

/**
 * Reads a forget or retain set (any layout readTrainingRecords accepts, a MUSE folder by its raw texts for `role`);
 * an empty set is an error that names it (there is nothing to unlearn).
 */
export function readUnlearnRecords(path: string, role: 'forget' | 'retain', fields?: FieldMap): TrainingRecord[] {
  const records = readTrainingRecords(path, { role, ...(fields ? { fields } : {}) });
  if (records.length === 0) throw new RangeError(`${path}: the ${role} set is empty`);
  return records;
}
