import type { z } from 'zod';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../util/json-depth.ts';
import { MAX_TEXT_BYTES, readUtf8File } from '../util/text-file.ts';
import { TextRecordSchema, TrainingQaSchema, type TrainingRecord } from './schema.ts';

/**
 * A problem with a data file. The message names the file, the 1-based line and the field, so the user can go
 * straight to it: `forget.jsonl:7: field "answer" is missing`.
 */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;
  constructor(file: string, line: number | undefined, field: string | undefined, problem: string) {
    super(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.field = field;
  }
}

/** One parsed line: the JSON value and where it came from. */
interface RawLine {
  line: number;
  value: unknown;
}

/**
 * Parses JSONL text line by line, handing each parsed line to `record` at once, so the first error reported is the
 * first bad line, whatever its problem. Blank lines are skipped; a leading UTF-8 BOM and CRLF are tolerated.
 */
function parseLines<T>(content: string, file: string, record: (raw: RawLine) => T): T[] {
  const body = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const out: T[] = [];
  body.split('\n').forEach((raw, i) => {
    const s = raw.trim();
    if (s === '') return;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (e) {
      throw new DataError(file, i + 1, undefined, `not valid JSON (${(e as Error).message})`);
    }
    if (jsonTooDeep(s)) throw new DataError(file, i + 1, undefined, `nested more than ${MAX_JSON_DEPTH} levels deep`);
    out.push(record({ line: i + 1, value }));
  });
  if (out.length === 0) throw new DataError(file, undefined, undefined, 'the file has no records');
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string';
  return `a ${typeof v}`;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const EXPECTED: Record<string, string> = { string: 'a string', array: 'a list', object: 'an object', number: 'a number' };

/** Turns the first schema issue into a sentence about one field. */
function describeIssue(issue: z.core.$ZodIssue, record: unknown, file: string, line: number): DataError {
  const field = fieldName(issue.path);
  const value = valueAt(record, issue.path);
  let problem: string;
  if (value === undefined) problem = `field "${field}" is missing`;
  else if (issue.code === 'too_small' && typeof value === 'string') problem = `field "${field}" is empty`;
  else if (issue.code === 'too_small' && Array.isArray(value)) problem = `field "${field}" is an empty list`;
  else if (issue.code === 'invalid_type') {
    problem = `field "${field}" must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(value)}`;
  } else problem = `field "${field}": ${issue.message}`;
  return new DataError(file, line, field, problem);
}

function validate<S extends z.ZodType>(schema: S, raw: RawLine, file: string): z.infer<S> {
  if (raw.value === null || typeof raw.value !== 'object' || Array.isArray(raw.value)) {
    throw new DataError(file, raw.line, undefined, `expected a JSON object, got ${kindOf(raw.value)}`);
  }
  const r = schema.safeParse(raw.value);
  if (!r.success) throw describeIssue(r.error.issues[0] as z.core.$ZodIssue, raw.value, file, raw.line);
  return r.data;
}

/** Parses JSONL text already in memory (an upload, a test string). `file` is the name used in errors. */
export function parseJsonl<S extends z.ZodType>(content: string, file: string, schema: S): z.infer<S>[] {
  return parseLines(content, file, (raw) => validate(schema, raw, file));
}

/** Reads a data file strictly: a byte that is not UTF-8 is an error naming its line, not a silent U+FFFD. */
function readText(path: string): string {
  return readUtf8File(path, MAX_TEXT_BYTES, (problem, line) => new DataError(path, line, undefined, problem));
}

/** Reads a JSONL file whose every line must match `schema` (e.g. `QaRecordSchema`). */
export function readJsonl<S extends z.ZodType>(path: string, schema: S): z.infer<S>[] {
  return parseJsonl(readText(path), path, schema);
}

/**
 * Parses a training file in which each line is a QA record (it has "question" or "answer") or a text record
 * (it has "text"), and tags each with its kind.
 */
function parseTrainingRecords(content: string, file: string): TrainingRecord[] {
  const one = (raw: RawLine, item: number | null): TrainingRecord => {
    const v = raw.value;
    const where = item === null ? '' : `item ${item + 1} of the array: `;
    try {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        if ('question' in v || 'answer' in v) return { ...validate(TrainingQaSchema, raw, file), kind: 'qa' };
        if ('text' in v) return { ...validate(TextRecordSchema, raw, file), kind: 'text' };
        throw new DataError(file, raw.line, undefined, 'expected a QA record (fields "question" and "answer") or a text record (field "text")');
      }
      throw new DataError(file, raw.line, undefined, `expected a JSON object${item === null ? ' or an array of them' : ''}, got ${kindOf(v)}`);
    } catch (err) {
      if (!(err instanceof DataError) || item === null) throw err;
      throw new DataError(file, raw.line, err.field, `${where}${err.message.slice(`${file}:${raw.line}: `.length)}`);
    }
  };
  // A line may also hold a JSON array of records: TOFU's full.json and retain*.json are batches of 1,000 per line.
  const records = parseLines(content, file, (raw) => (Array.isArray(raw.value) ? raw.value.map((value, k) => one({ line: raw.line, value }, k)) : [one(raw, null)])).flat();
  if (records.length === 0) throw new DataError(file, undefined, undefined, 'the file has no records');
  return records;
}

export function readTrainingRecords(path: string): TrainingRecord[] {
  return parseTrainingRecords(readText(path), path);
}

/** One JSON object per line, `\n` endings, a final newline: the form Lethe writes (byte-stable for hashing). */
export function formatJsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
