import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// One strict reader for every text file Lethe parses (config.json, tokenizer files, the sharded index, JSONL data,
// evaluation sets). It lives below src/model and src/data because both read untrusted text and neither imports the
// other: a byte that is not UTF-8 is an error naming the file and line, never a silent U+FFFD.

/** The longest string V8 (Node 20) can build: a larger file cannot be read as one string at all. */
export const MAX_TEXT_BYTES = 0x1fffffe8;

/** Where the first invalid UTF-8 sequence starts: byte offset, 1-based line and byte column. */
interface Utf8Fault {
  offset: number;
  line: number;
  column: number;
  byte: number;
}

/**
 * Reads `path` as UTF-8 (a leading BOM is dropped), refusing files over `maxBytes` and invalid UTF-8. `fail` turns a
 * problem into the caller's own error class, so messages stay `config.json: …`, `forget.jsonl:7: …`.
 */
export function readUtf8File(path: string, maxBytes: number, fail: (problem: string, line?: number) => Error): string {
  let bytes: Uint8Array;
  try {
    bytes = readBounded(path, Math.min(maxBytes, MAX_TEXT_BYTES));
  } catch (err) {
    if (err instanceof RangeError) throw fail(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(`cannot read the file (${code ?? (err as Error).message})`);
  }
  return decodeUtf8(bytes, fail);
}

/** Decodes bytes strictly; the error names the line, column and value of the first bad byte. */
function decodeUtf8(bytes: Uint8Array, fail: (problem: string, line?: number) => Error): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const f = findUtf8Fault(bytes);
    if (!f) throw fail('is not valid UTF-8');
    const hex = f.byte.toString(16).padStart(2, '0');
    throw fail(`invalid UTF-8: byte 0x${hex} at column ${f.column} (byte offset ${f.offset}); save the file as UTF-8`, f.line);
  }
}

/** Reads a whole file, refusing one larger than `maxBytes` before allocating for it. */
function readBounded(path: string, maxBytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new RangeError(`the file has ${size} bytes, more than the ${maxBytes}-byte limit for this kind of file`);
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * The first byte where `bytes` stops being well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF), or null. Only run after TextDecoder refused, to say where.
 */
function findUtf8Fault(bytes: Uint8Array): Utf8Fault | null {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0x0a) {
        line++;
        lineStart = i + 1;
      }
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return { offset: i, line, column: i - lineStart + 1, byte: b };
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c === undefined || c < min || c > max) return { offset: i, line, column: i - lineStart + 1, byte: b };
    }
    i += need + 1;
  }
  return null;
}
