import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readLocatedValues } from '../../data/documents.ts';
import { contentHash, recordHash } from '../../data/record-hash.ts';
import { findEmails, findPhones, tokens } from './normalize.ts';

/**
 * A corpus index: for each record of a training-data file, where it is (line, array item), its hash, and its
 * searchable content — the normalised tokens of the fields training reads, the e-mail addresses and phone numbers in it.
 * Built once per file version (keyed by the file's SHA-256) and stored under the data directory. It holds the
 * corpus's text in normalised form, so it is as sensitive as the corpus and lives with the store (mode 0600).
 */
export interface CorpusIndex {
  version: 1;
  path: string;
  sha256: string;
  records: IndexedRecord[];
}

export interface IndexedRecord {
  line: number;
  item: number | null;
  /** SHA-256 of the record's JSON (or text): names it in assessments and certificates without its content. */
  hash: string;
  /** SHA-256 of the trained content (src/data/record-hash.ts); null for a record training cannot read; absent in older indexes. */
  contentHash?: string | null;
  /** The subject field, when the record has one (normalised tokens joined by a space). */
  subject: string | null;
  /** Normalised tokens of the searched fields (subject, question, answer, text), joined by spaces. */
  text: string;
  emails: string[];
  phones: string[];
}

/**
 * The fields a model is trained on (question, answer, text) and the record's subject. Evaluation-only fields
 * (paraphrased and perturbed answers, which name other people on purpose) are not searched: they never reach the
 * weights, and matching them would report records about someone else.
 */
const SEARCHED_FIELDS = ['subject', 'question', 'answer', 'text'] as const;

function searchedStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  const r = v as Record<string, unknown>;
  return SEARCHED_FIELDS.map((f) => r[f]).filter((x): x is string => typeof x === 'string');
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Indexes a data file in any layout Lethe reads (JSON Lines, JSON arrays, plain text). */
export function buildCorpusIndex(path: string): CorpusIndex {
  const sha256 = sha256File(path);
  const records = readLocatedValues(path, (loc): IndexedRecord => {
    const all = searchedStrings(loc.value);
    const subject = loc.value !== null && typeof loc.value === 'object' && typeof (loc.value as Record<string, unknown>)['subject'] === 'string'
      ? tokens((loc.value as Record<string, string>)['subject']!).join(' ') : null;
    return {
      line: loc.line, item: loc.item, hash: recordHash(loc.value), contentHash: contentHash(loc.value), subject,
      text: all.flatMap(tokens).join(' '), emails: all.flatMap(findEmails), phones: all.flatMap(findPhones),
    };
  });
  return { version: 1, path, sha256, records };
}
