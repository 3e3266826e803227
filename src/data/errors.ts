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

/** "an object", "a string", "an empty string", "null", … for error messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string';
  return `a ${typeof v}`;
}

/**
 * The JSON parser's complaint without the excerpt of the input V8 quotes (`"…" is not valid JSON`): data files
 * may hold personal data, and an excerpt with a newline would break the one-line error.
 */
export function jsonSyntaxProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const bare = message.replace(/,?\s*(\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON$/, '').replace(/\s+/g, ' ').trim();
  return `not valid JSON (${bare || 'syntax error'})`;
}
