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
