import { extname } from 'node:path';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../util/json-depth.ts';
import { MAX_TEXT_BYTES, readUtf8File } from '../util/text-file.ts';
import { DataError, jsonSyntaxProblem } from './errors.ts';

/**
 * The layouts a data file may come in, told apart by content (TOFU publishes the same records both ways under the
 * same names):
 *
 * - JSON Lines: one JSON value per line (TOFU on Hugging Face, Lethe's own files); a line may also hold a JSON
 *   array of records (TOFU's full.json / retain90.json: batches of 1,000 per line);
 * - one JSON document: an array of records, on one line (TOFU's *_perturbed.json here, MUSE's load_data.py output)
 *   or pretty-printed over many; or a single object;
 * - plain text (a `.txt` file): documents separated by blank lines.
 *
 * Every value comes back with the 1-based line it starts on, and its index when it sits in an array, so that errors
 * say `retain.json:1: item 2 of the array: field "answer" is missing`.
 */
export interface Located {
  value: unknown;
  line: number;
  /** 0-based index in the array that held it; null for a value that is a whole line or document. */
  item: number | null;
}

/** Reads a data file strictly: a byte that is not UTF-8 is an error naming its line, not a silent U+FFFD. */
export function readDataText(path: string): string {
  return readUtf8File(path, MAX_TEXT_BYTES, (problem, line) => new DataError(path, line, undefined, problem));
}

/** Plain-text files are told by their extension: `.txt` (any case). Everything else is read as JSON. */
export function isPlainTextFile(path: string): boolean {
  return extname(path).toLowerCase() === '.txt';
}

/**
 * The values of a data file (JSON in either layout, or plain text for `.txt`), each handed to `visit` with where it
 * starts, in file order, as soon as it is parsed: the first error reported is the first bad line, whatever its problem.
 */
export function readLocatedValues<T>(path: string, visit: (v: Located) => T): T[] {
  const content = readDataText(path);
  return isPlainTextFile(path) ? parseTextDocuments(content, path, visit) : parseJsonValues(content, path, visit);
}

function stripBom(content: string): string {
  return content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
}

function noRecords(file: string): DataError {
  return new DataError(file, undefined, undefined, 'the file has no records');
}

/** JSON.parse, or the error's message. */
function tryParse(s: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** The 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/**
 * The line each element of a top-level JSON array starts on (the text is known to parse as an array). Scans once,
 * skipping strings, so brackets and commas inside them do not count.
 */
export function arrayItemLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (depth === 1 && expecting && c !== 0x5d) {
      lines.push(line);
      expecting = false;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth === 1) expecting = true;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && depth === 1) expecting = true;
  }
  return lines;
}

/**
 * Parses a JSON data file in either layout. JSON Lines when the first non-blank line is JSON by itself (each line a
 * value; an array on a line is a batch of records); otherwise one document over several lines (a pretty-printed
 * array or object), whose syntax errors name the line they occur on. Blank lines, a leading BOM and CRLF are fine.
 */
export function parseJsonValues<T>(content: string, file: string, visit: (v: Located) => T): T[] {
  const body = stripBom(content);
  const lines = body.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) throw noRecords(file);
  if (!tryParse(lines[first]!.trim()).ok) {
    const doc = tryParse(body);
    if (!doc.ok) {
      const at = /at position (\d+)/.exec(doc.message);
      throw new DataError(file, at ? lineAt(body, Number(at[1])) : first + 1, undefined, jsonSyntaxProblem(new Error(doc.message)));
    }
    if (jsonTooDeep(body)) throw new DataError(file, first + 1, undefined, `nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (!Array.isArray(doc.value)) return [visit({ value: doc.value, line: first + 1, item: null })];
    if (doc.value.length === 0) throw noRecords(file);
    const starts = arrayItemLines(body);
    return doc.value.map((value, k) => visit({ value, line: starts[k] ?? first + 1, item: k }));
  }
  const out: T[] = [];
  lines.forEach((raw, i) => {
    const s = raw.trim();
    if (s === '') return;
    const parsed = tryParse(s);
    if (!parsed.ok) throw new DataError(file, i + 1, undefined, jsonSyntaxProblem(new Error(parsed.message)));
    if (jsonTooDeep(s)) throw new DataError(file, i + 1, undefined, `nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (Array.isArray(parsed.value)) parsed.value.forEach((value, k) => out.push(visit({ value, line: i + 1, item: k })));
    else out.push(visit({ value: parsed.value, line: i + 1, item: null }));
  });
  if (out.length === 0) throw noRecords(file);
  return out;
}

/**
 * Plain text: one document per run of non-blank lines (documents are separated by one or more blank or
 * whitespace-only lines; the line breaks inside a document are kept, its ends trimmed). A file without blank lines
 * is one document. MUSE's raw/*.txt are its documents joined by blank lines, so they read back paragraph by paragraph.
 */
export function parseTextDocuments<T>(content: string, file: string, visit: (v: Located) => T): T[] {
  const lines = stripBom(content).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const out: T[] = [];
  let start = -1;
  const flush = (end: number): void => {
    if (start < 0) return;
    out.push(visit({ value: lines.slice(start, end).join('\n').trim(), line: start + 1, item: null }));
    start = -1;
  };
  lines.forEach((l, i) => {
    if (l.trim() === '') flush(i);
    else if (start < 0) start = i;
  });
  flush(lines.length);
  if (out.length === 0) throw noRecords(file);
  return out;
}
