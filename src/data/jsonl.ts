import { statSync } from 'node:fs';
import type { z } from 'zod';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../util/json-depth.ts';
import { isPlainTextFile, readDataText, readLocatedValues, type Located } from './documents.ts';
import { DataError, jsonSyntaxProblem, kindOf } from './errors.ts';
import { applyFieldMap, fileFieldName, type FieldMap } from './fields.ts';
import { isMuseFolder, museTrainingFile } from './muse.ts';
import { TextRecordSchema, TrainingQaSchema, type TrainingRecord } from './schema.ts';

export { DataError };

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
      throw new DataError(file, i + 1, undefined, jsonSyntaxProblem(e));
    }
    if (jsonTooDeep(s)) throw new DataError(file, i + 1, undefined, `nested more than ${MAX_JSON_DEPTH} levels deep`);
    out.push(record({ line: i + 1, value }));
  });
  if (out.length === 0) throw new DataError(file, undefined, undefined, 'the file has no records');
  return out;
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

/**
 * Turns the first schema issue into a sentence about one field. `where` prefixes the problem ("item 2 of the array: ");
 * with a --field map the field is named as the file spells it, Lethe's name beside it.
 */
function describeIssue(issue: z.core.$ZodIssue, record: unknown, file: string, line: number, where = '', fields?: FieldMap): DataError {
  const field = fieldName(issue.path);
  const name = fileFieldName(field, fields);
  const value = valueAt(record, issue.path);
  let problem: string;
  if (value === undefined) problem = `field ${name} is missing`;
  else if (issue.code === 'too_small' && typeof value === 'string') problem = `field ${name} is empty`;
  else if (issue.code === 'too_small' && Array.isArray(value)) problem = `field ${name} is an empty list`;
  else if (issue.code === 'invalid_type') {
    problem = `field ${name} must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(value)}`;
  } else problem = `field ${name}: ${issue.message}`;
  const head = field.split(/[.[]/)[0]!;
  const source = fields?.[head as keyof FieldMap];
  return new DataError(file, line, source === undefined ? field : source + field.slice(head.length), `${where}${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function validate<S extends z.ZodType>(schema: S, raw: RawLine, file: string): z.infer<S> {
  if (!isObject(raw.value)) throw new DataError(file, raw.line, undefined, `expected a JSON object, got ${kindOf(raw.value)}`);
  const r = schema.safeParse(raw.value);
  if (!r.success) throw describeIssue(r.error.issues[0] as z.core.$ZodIssue, raw.value, file, raw.line);
  return r.data;
}

/** "item 3 of the array: " for a value inside an array, "" for a whole line or document. */
function itemPrefix(loc: Located): string {
  return loc.item === null ? '' : `item ${loc.item + 1} of the array: `;
}

/** Validates one located object against `schema` after renaming its fields by the --field map. */
function validateLocated<S extends z.ZodType>(schema: S, loc: Located, file: string, fields?: FieldMap): z.infer<S> {
  if (!isObject(loc.value)) throw new DataError(file, loc.line, undefined, `${itemPrefix(loc)}expected a JSON object, got ${kindOf(loc.value)}`);
  const record = applyFieldMap(loc.value, fields);
  const r = schema.safeParse(record);
  if (!r.success) throw describeIssue(r.error.issues[0] as z.core.$ZodIssue, record, file, loc.line, itemPrefix(loc), fields);
  return r.data;
}

/** Parses JSONL text already in memory (an upload, a test string). `file` is the name used in errors. */
export function parseJsonl<S extends z.ZodType>(content: string, file: string, schema: S): z.infer<S>[] {
  return parseLines(content, file, (raw) => validate(schema, raw, file));
}

/** Reads a JSONL file whose every line must match `schema` (e.g. `QaRecordSchema`). */
export function readJsonl<S extends z.ZodType>(path: string, schema: S): z.infer<S>[] {
  return parseJsonl(readDataText(path), path, schema);
}

export interface ReadOptions {
  /** Lethe's field names → the file's (`--field question=q,answer=a`). */
  fields?: FieldMap;
}

/**
 * Reads the records of a data file in any layout Lethe accepts (JSON Lines, a JSON array on one line or
 * pretty-printed, `.txt` plain text; see documents.ts), each validated against `schema` after the --field renaming.
 * `strings: 'text'` reads a JSON string inside an array, and each document of a `.txt` file, as `{ text }` (MUSE's
 * raw and privleak sets are arrays of strings). Errors name the file, the line, the array item and the field.
 */
export function readRecords<S extends z.ZodType>(path: string, schema: S, options: ReadOptions & { strings?: 'text' } = {}): z.infer<S>[] {
  return readLocatedValues(path, (loc) => {
    if (options.strings === 'text' && isTextString(loc, path)) {
      if (loc.value === '') throw new DataError(path, loc.line, undefined, `${itemPrefix(loc)}the text is empty`);
      return validateLocated(schema, { ...loc, value: { text: loc.value } }, path);
    }
    return validateLocated(schema, loc, path, options.fields);
  });
}

/** A string that stands for a text record: an element of a JSON array of strings, or a document of a `.txt` file. */
function isTextString(loc: Located, file: string): loc is Located & { value: string } {
  return typeof loc.value === 'string' && (loc.item !== null || isPlainTextFile(file));
}

/**
 * One record of a training, forget or retain file: a QA record (it has "question" or "answer" after the --field
 * renaming), a text record (it has "text"), or a string (a document of a `.txt` file, or an element of a JSON array
 * of strings as MUSE publishes its raw texts), tagged with its kind.
 */
function trainingRecord(loc: Located, file: string, fields?: FieldMap): TrainingRecord {
  const v = loc.value;
  const where = itemPrefix(loc);
  if (isTextString(loc, file)) {
    if (loc.value === '') throw new DataError(file, loc.line, undefined, `${where}the text is empty`);
    return { text: loc.value, kind: 'text' };
  }
  if (isObject(v)) {
    const mapped = applyFieldMap(v, fields);
    if ('question' in mapped || 'answer' in mapped) return { ...validateLocated(TrainingQaSchema, loc, file, fields), kind: 'qa' };
    if ('text' in mapped) return { ...validateLocated(TextRecordSchema, loc, file, fields), kind: 'text' };
    const hint = 'prompt' in mapped && 'gt' in mapped ? ' (a MUSE verbmem record is for evaluation: unlearn on the raw/ texts)' : '';
    throw new DataError(file, loc.line, undefined, `${where}expected a QA record (fields "question" and "answer") or a text record (field "text")${hint}`);
  }
  throw new DataError(file, loc.line, undefined, `${where}expected a JSON object${loc.item === null ? ' or an array of them' : ' or a string'}, got ${kindOf(v)}`);
}

export interface TrainingReadOptions extends ReadOptions {
  /** What a MUSE corpus folder given as the path stands for: its raw forget texts, or its raw retain1 texts. */
  role?: 'forget' | 'retain';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The file a training, forget or retain path stands for: the path itself, or for a MUSE corpus folder its raw forget
 * or retain1 texts (by `role`). What unlearn.json hashes.
 */
export function trainingDataFile(path: string, role?: 'forget' | 'retain'): string {
  if (!isDirectory(path)) return path;
  if (!isMuseFolder(path)) throw new DataError(path, undefined, undefined, 'is a folder: give a data file (JSON Lines, JSON or .txt) or a MUSE corpus folder (raw/, knowmem/, verbmem/, privleak/)');
  if (!role) throw new DataError(path, undefined, undefined, 'a MUSE folder: give the file to read, e.g. raw/forget.json');
  return museTrainingFile(path, role);
}

/**
 * Reads a training, forget or retain set: a file in any accepted layout (QA and text records in any mix), or a MUSE
 * corpus folder (its raw forget or retain1 texts, by `role`). Errors name the file, line, item and field; with
 * `fields`, the file's field names are renamed first and named as the file spells them.
 */
export function readTrainingRecords(path: string, options: TrainingReadOptions = {}): TrainingRecord[] {
  const file = trainingDataFile(path, options.role);
  return readLocatedValues(file, (loc) => trainingRecord(loc, file, options.fields));
}

/** One JSON object per line, `\n` endings, a final newline: the form Lethe writes (byte-stable for hashing). */
export function formatJsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
