import { z } from 'zod';
import { readRecords } from '../../data/jsonl.ts';
import { readLocatedValues } from '../../data/documents.ts';
import { DataError } from '../../data/errors.ts';

const text = z.string().min(1);

/**
 * One changed fact of a `lethe update` file: the question, the answer the model gives now and the answer it should
 * give instead. `alternatives` are plausible wrong answers phrased like old_answer that the model never learned (the
 * non-member level is measured on them, with new_answer); without them the other facts' values stand in (alternatives.ts).
 * Unknown fields are kept, as in every Lethe record.
 */
export const FactRecordSchema = z.looseObject({
  question: text,
  old_answer: text,
  new_answer: text,
  subject: text.optional(),
  attribute: text.optional(),
  id: text.optional(),
  alternatives: z.array(text).min(1).optional(),
}).superRefine((r, ctx) => {
  if (r.old_answer.trim() === r.new_answer.trim()) ctx.addIssue({ code: 'custom', path: ['new_answer'], message: 'is the same as old_answer: nothing to update' });
});

export type FactRecord = z.infer<typeof FactRecordSchema>;

/** A fact as read, with the line it came from (errors and update.json name it). */
export interface LocatedFact {
  line: number;
  record: FactRecord;
}

/**
 * Reads an update file (JSON Lines, or any JSON layout the data readers accept). Malformed records are errors naming
 * the file, line and field (the JSONL loader's errors); an empty file is one ("the file has no records"); two
 * records asking the same question are refused, naming both lines, since the model cannot learn two new answers.
 */
export function readFacts(path: string): LocatedFact[] {
  const records = readRecords(path, FactRecordSchema);
  const lines = readLocatedValues(path, (loc) => loc.line);
  const facts = records.map((record, i) => ({ line: lines[i]!, record }));
  const seen = new Map<string, number>();
  for (const f of facts) {
    const q = f.record.question.trim();
    const first = seen.get(q);
    if (first !== undefined) throw new DataError(path, f.line, 'question', `asks the same question as line ${first}; give one new answer per question`);
    seen.set(q, f.line);
  }
  return facts;
}

/** Where two answers differ: the shared start and end, and each side's differing middle (the value). */
export interface ChangedSpan {
  prefix: string;
  oldValue: string;
  newValue: string;
  suffix: string;
}

/**
 * The span where old and new answer differ, widened to whole words: "Ann was born in Tarrow." vs "Ann was born in
 * Tarbury." → prefix "Ann was born in ", values "Tarrow" / "Tarbury", suffix ".". Whole words, so that another
 * fact's value put into this frame (alternatives.ts) reads as a sentence.
 */
export function changedSpan(oldAnswer: string, newAnswer: string): ChangedSpan {
  let p = 0;
  const max = Math.min(oldAnswer.length, newAnswer.length);
  while (p < max && oldAnswer[p] === newAnswer[p]) p++;
  // Back to the start of the word the difference falls in.
  while (p > 0 && /\w/.test(oldAnswer[p - 1]!) && (/\w/.test(oldAnswer[p] ?? '') || /\w/.test(newAnswer[p] ?? ''))) p--;
  let s = 0;
  while (s < max - p && oldAnswer[oldAnswer.length - 1 - s] === newAnswer[newAnswer.length - 1 - s]) s++;
  const wordAt = (t: string, i: number): boolean => i >= 0 && i < t.length && /\w/.test(t[i]!);
  while (s > 0 && wordAt(oldAnswer, oldAnswer.length - s) && (wordAt(oldAnswer, oldAnswer.length - s - 1) || wordAt(newAnswer, newAnswer.length - s - 1))) s--;
  return {
    prefix: oldAnswer.slice(0, p), oldValue: oldAnswer.slice(p, oldAnswer.length - s), newValue: newAnswer.slice(p, newAnswer.length - s),
    suffix: oldAnswer.slice(oldAnswer.length - s),
  };
}
