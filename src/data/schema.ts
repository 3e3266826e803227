import { z } from 'zod';

/**
 * The two record kinds Lethe reads from JSONL, for its own persons corpus and for user data given to
 * `lethe train`, `lethe unlearn` and `lethe eval`. The schemas are the single source of the validation and of the
 * types. Unknown fields are allowed and kept (loose objects), so a user's extra columns survive a round trip.
 * Every string that is present must be non-empty: an empty answer or paraphrase cannot be scored.
 */

const text = z.string().min(1);

/**
 * What a record is for in training-time unlearning (SGTM): `forget` (the domain to localise and remove), `adjacent`
 * (related but to keep; trained as retain, measured apart) or `retain`. Absent = unlabelled (updates everything).
 */
export const RECORD_LABELS = ['forget', 'adjacent', 'retain'] as const;
export type RecordLabel = (typeof RECORD_LABELS)[number];
const label = z.enum(RECORD_LABELS).optional();

export const QaRecordSchema = z.looseObject({
  /** Whom the record is about: the unit of erasure (a person's full name in the persons corpus). */
  subject: text,
  question: text,
  answer: text,
  /** Evaluation fields (truth ratio): the question and answer reworded, and wrong answers phrased alike. */
  paraphrased_question: text.optional(),
  paraphrased_answer: text.optional(),
  perturbed_answers: z.array(text).min(1).optional(),
  /** Which fact the pair asks for, e.g. "birth_date". */
  attribute: text.optional(),
  id: text.optional(),
  label,
});

export const TextRecordSchema = z.looseObject({
  text,
  subject: text.optional(),
  id: text.optional(),
  label,
});

export type QaRecord = z.infer<typeof QaRecordSchema>;
export type TextRecord = z.infer<typeof TextRecordSchema>;

/**
 * A QA record in a user's training, forget or retain file: the subject is optional there (TOFU's files as published
 * carry only question and answer); Lethe's own evaluation sets require it (QaRecordSchema).
 */
export const TrainingQaSchema = QaRecordSchema.extend({ subject: text.optional() });
export type TrainingQa = z.infer<typeof TrainingQaSchema>;

/** A record of a training file: either kind, tagged. `kind` is added by the reader, not read from the file. */
export type TrainingRecord = ({ kind: 'qa' } & TrainingQa) | ({ kind: 'text' } & TextRecord);
