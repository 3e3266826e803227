import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Tensor } from '../../engine/index.ts';
import { decode } from './dtype.ts';
import { parseHeader, parseHeaderLength, SafetensorsError, type Header, type TensorEntry } from './header.ts';

/**
 * A safetensors file opened for lazy reading: the header is read and validated up front, each tensor's bytes
 * only when asked for. Close it (or use `withSafetensors`) to release the file descriptor.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly header: Header;
  private fd: number | null;
  private readonly byName: Map<string, TensorEntry>;

  private constructor(path: string, fd: number, header: Header) {
    this.path = path;
    this.fd = fd;
    this.header = header;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const prefix = readExactly(fd, path, 0, Math.min(8, size));
      const len = parseHeaderLength(path, prefix, size);
      const header = parseHeader(path, readExactly(fd, path, 8, len), size);
      return new SafetensorsFile(path, fd, header);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  entry(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError(this.path, `no tensor named "${name}"`);
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Reads one tensor, converting F16/BF16/F64 to f32 and integer types to i32. */
  read(name: string): Tensor {
    if (this.fd === null) throw new SafetensorsError(this.path, 'file is closed');
    const e = this.entry(name);
    const bytes = readExactly(this.fd, this.path, this.header.dataStart + e.begin, e.end - e.begin);
    try {
      return new Tensor(decode(e.dtype, bytes, name), e.shape);
    } catch (err) {
      throw new SafetensorsError(this.path, (err as Error).message);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export function withSafetensors<T>(path: string, fn: (f: SafetensorsFile) => T): T {
  const f = SafetensorsFile.open(path);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

/** Reads every tensor of a file into a map (name → tensor). */
export function loadSafetensors(path: string): Map<string, Tensor> {
  return withSafetensors(path, (f) => new Map(f.names.map((n) => [n, f.read(n)])));
}

function readExactly(fd: number, path: string, position: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new SafetensorsError(path, `unexpected end of file at byte ${position + done} (wanted ${length} bytes at ${position})`);
    done += n;
  }
  return buf;
}
