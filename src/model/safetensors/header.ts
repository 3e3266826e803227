import { DTYPE_SIZE, isSupportedDType, type SafetensorsDType } from './dtype.ts';

/** Largest header Lethe accepts (the reference implementation's bound). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Most tensors one file may list. Lethe's largest acceptable model (1,024 layers, src/model/limits.ts) has about
 * 16,400; a 100 MiB header of zero-size entries would list 1.7 million, and V8 takes ~13 s and ~1 GB just to
 * JSON.parse an object with that many keys, so they are counted before parsing.
 */
export const MAX_TENSORS = 65_536;

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface Header {
  /** Bytes before the data section: 8 + header length. */
  dataStart: number;
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/** Reads the 8-byte little-endian header length, checking it against the bound and the file size. */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new SafetensorsError(file, `file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError(file, `header length ${len} runs past the end of the ${fileSize}-byte file (truncated?)`);
  }
  if (len < 2) throw new SafetensorsError(file, `header length ${len} is too small to hold a JSON object`);
  return len;
}

/**
 * Parses and validates the JSON header: every entry has a known dtype, a shape of non-negative integers, and
 * offsets inside the data section whose length equals product(shape) × dtype size; entries do not overlap and
 * cover the data section without holes (as the reference implementation requires).
 */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): Header {
  const dataStart = 8 + json.byteLength;
  const dataLength = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  const keys = countTopLevelKeys(json, MAX_TENSORS + 1);
  if (keys > MAX_TENSORS + 1) {
    throw new SafetensorsError(file, `header lists more than ${MAX_TENSORS} tensors (the limit for one file; corrupt or hostile?)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(file, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(file, 'header must be a JSON object mapping tensor names to entries');
  }
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new SafetensorsError(file, '__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(file, name, value, dataLength));
  }
  checkLayout(file, tensors, dataLength);
  return { dataStart, tensors, metadata };
}

/**
 * Keys of the outermost JSON object (tensors plus __metadata__), counting up to `stop`: a byte scan that tracks
 * strings and nesting, cheap next to JSON.parse. Multi-byte UTF-8 never contains ASCII bytes, so scanning bytes is
 * exact. For malformed JSON the count is meaningless, and JSON.parse reports the error afterwards.
 */
function countTopLevelKeys(json: Uint8Array, stop: number): number {
  let depth = 0;
  let inString = false;
  let keys = 0;
  for (let i = 0; i < json.length; i++) {
    const b = json[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) depth--;
    else if (b === 0x3a && depth === 1 && ++keys > stop) return keys;
  }
  return keys;
}

function parseEntry(file: string, name: string, value: unknown, dataLength: number): TensorEntry {
  const where = `tensor "${name}"`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SafetensorsError(file, `${where}: entry must be an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSupportedDType(dtype)) {
    throw new SafetensorsError(file, `${where}: unsupported dtype ${brief(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(file, `${where}: shape must be an array of non-negative integers, got ${brief(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(file, `${where}: data_offsets must be two non-negative integers, got ${brief(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section (truncated?)`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = count * DTYPE_SIZE[dtype];
  if (end - begin !== expected) {
    throw new SafetensorsError(file, `${where}: ${end - begin} bytes for shape ${brief(shape)} of ${dtype}, expected ${expected}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** A value for an error message: short, and safe for values nested deeper than JSON.stringify can recurse. */
function brief(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    return '(a value nested too deeply to show)';
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function checkLayout(file: string, tensors: TensorEntry[], dataLength: number): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin < at) {
      const other = sorted.find((o) => o !== t && o.begin < t.end && t.begin < o.end) ?? t;
      throw new SafetensorsError(file, `tensor "${t.name}" [${t.begin}, ${t.end}] overlaps tensor "${other.name}" [${other.begin}, ${other.end}]`);
    }
    if (t.begin > at) throw new SafetensorsError(file, `bytes [${at}, ${t.begin}) of the data section belong to no tensor (a hole before "${t.name}")`);
    at = t.end;
  }
  if (at !== dataLength) {
    throw new SafetensorsError(file, `the data section has ${dataLength} bytes but the tensors cover ${at}`);
  }
}
