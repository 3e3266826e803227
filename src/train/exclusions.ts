import { createHash } from 'node:crypto';
import { z } from 'zod';
import { readLocatedValues } from '../data/documents.ts';
import { DataError, jsonSyntaxProblem } from '../data/errors.ts';
import { readTrainingRecords, trainingDataFile } from '../data/jsonl.ts';
import { contentHash, recordHash } from '../data/record-hash.ts';
import type { TrainingRecord } from '../data/schema.ts';
import type { OnExcluded } from './choices.ts';
import { MAX_TEXT_BYTES, readUtf8File } from '../util/text-file.ts';

/**
 * Exclusion lists (`lethe exclusions export`): the hashes of records erased by erasure requests, which a full
 * retrain must not train on again. The schema is the one source of the format: the workflow writes it, training
 * reads it. Hashes and request ids only — no personal data.
 */
export const EXCLUSION_FORMAT = 'lethe-exclusions/v1';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest');
const CorpusRef = z.object({ id: z.string(), sha256: sha256Hex, path: z.string() });

export const ExclusionListSchema = z.looseObject({
  format: z.literal(EXCLUSION_FORMAT),
  /** The corpus the list was made for; null: every registered corpus (each record names its own). */
  corpus: CorpusRef.nullable(),
  corpora: z.array(CorpusRef),
  generatedAt: z.string(),
  records: z.array(z.object({
    hash: sha256Hex,
    /** SHA-256 of the trained content; null when the corpus file was gone when the list was made. */
    contentHash: sha256Hex.nullable(),
    requestId: z.string(),
    corpus: z.string(),
  })),
});
export type ExclusionList = z.infer<typeof ExclusionListSchema>;

/** What a training log says of the lists it honoured: per list how many records it named and how many it removed. */
export interface ExclusionReport {
  onExcluded: OnExcluded;
  lists: { file: string; sha256: string; corpus: ExclusionList['corpus']; listed: number; skipped: number }[];
  /** Training records left out (a record on two lists counts once here, once in each list's count). */
  skipped: number;
}

interface LoadedList {
  file: string;
  sha256: string;
  list: ExclusionList;
  hashes: Set<string>;
  contentHashes: Set<string>;
}

const fieldPath = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');

/** Reads and checks an exclusion list; anything wrong is one error naming the file and the field. */
export function readExclusionList(file: string): LoadedList {
  const fail = (problem: string) => new DataError(file, undefined, undefined, `not a Lethe exclusion list (${EXCLUSION_FORMAT}, from lethe exclusions export): ${problem}`);
  const text = readUtf8File(file, MAX_TEXT_BYTES, (problem) => fail(problem));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw fail(jsonSyntaxProblem(e));
  }
  const r = ExclusionListSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw fail(`${issue.path.length > 0 ? `${fieldPath(issue.path)}: ` : ''}${issue.message}`);
  }
  return {
    file, sha256: createHash('sha256').update(text).digest('hex'), list: r.data,
    hashes: new Set(r.data.records.map((x) => x.hash)),
    contentHashes: new Set(r.data.records.flatMap((x) => (x.contentHash === null ? [] : [x.contentHash]))),
  };
}

/**
 * Reads the training files and leaves out every record an exclusion list names, by record hash or by content hash.
 * `skip` drops them and reports the counts; `refuse` stops before any training, naming how many there are and where
 * the first is. Without lists the records are read as they are and the report is null.
 */
export function readTrainingExcluding(files: readonly string[], listFiles: readonly string[], onExcluded: OnExcluded): { records: TrainingRecord[]; exclusions: ExclusionReport | null } {
  if (listFiles.length === 0) return { records: files.flatMap((f) => readTrainingRecords(f)), exclusions: null };
  const lists = listFiles.map(readExclusionList);
  const skippedBy = lists.map(() => 0);
  const records: TrainingRecord[] = [];
  let first: { file: string; line: number } | null = null;
  let skipped = 0;
  for (const f of files) {
    const file = trainingDataFile(f);
    const recs = readTrainingRecords(file);
    // The same reader over the same file: one located value per training record, in order.
    const located = readLocatedValues(file, (loc) => ({ line: loc.line, hash: recordHash(loc.value) }));
    for (const [i, rec] of recs.entries()) {
      const content = contentHash(rec);
      const hits = lists.map((l) => l.hashes.has(located[i]!.hash) || (content !== null && l.contentHashes.has(content)));
      if (!hits.some(Boolean)) {
        records.push(rec);
        continue;
      }
      hits.forEach((h, k) => { if (h) skippedBy[k]!++; });
      skipped++;
      first ??= { file, line: located[i]!.line };
    }
  }
  if (onExcluded === 'refuse' && first) {
    throw new DataError(first.file, first.line, undefined, `${skipped} training record(s) are on the exclusion list${lists.length > 1 ? 's' : ''} ${listFiles.join(', ')} (this is the first); remove them, or train with --on-excluded skip`);
  }
  if (records.length === 0) throw new Error(`${files.join(', ')}: all ${skipped} training record(s) are on the exclusion list${lists.length > 1 ? 's' : ''} ${listFiles.join(', ')}; nothing is left to train on`);
  return {
    records,
    exclusions: {
      onExcluded, skipped,
      lists: lists.map((l, k) => ({ file: l.file, sha256: l.sha256, corpus: l.list.corpus, listed: l.hashes.size, skipped: skippedBy[k]! })),
    },
  };
}

/** One line per list for the console: how many of its records were left out. */
export function formatExclusions(r: ExclusionReport): string {
  return r.lists.map((l) => `${l.file}: ${l.skipped} training record(s) skipped (the list names ${l.listed})`).join('\n');
}
