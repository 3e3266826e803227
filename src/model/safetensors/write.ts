import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '../../engine/index.ts';
import { encodeFloat } from './dtype.ts';

export type SaveDType = 'F32' | 'F16' | 'BF16';

export interface SaveOptions {
  /** Float tensors are stored in this dtype (default F32); i32 tensors are stored as I32. */
  dtype?: SaveDType;
  metadata?: Record<string, string>;
}

/**
 * Writes tensors as a safetensors file atomically: to a temporary file in the same folder, fsync, then rename
 * over the target, so a crash leaves either the old file or the new one, never a torn one.
 */
export function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  options: SaveOptions = {}): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const dtype = options.dtype ?? 'F32';
  const blobs: Uint8Array[] = [];
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length > 0) header['__metadata__'] = options.metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error(`${path}: "__metadata__" is reserved and cannot name a tensor`);
    const bytes = t.dtype === 'i32'
      ? new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength))
      : encodeFloat(dtype, t.data as Float32Array);
    header[name] = { dtype: t.dtype === 'i32' ? 'I32' : dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  // Pad the header with spaces to a multiple of 8 bytes so the data section is aligned (as the reference does).
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  atomicWrite(path, [prefix, headerBytes, ...blobs]);
}

/** Writes chunks to path through a temp file + fsync + rename (and fsyncs the folder so the rename sticks). */
export function atomicWrite(path: string, chunks: readonly Uint8Array[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      let done = 0;
      while (done < c.byteLength) done += writeSync(fd, c, done, c.byteLength - done);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dirFd = openSync(dirname(path), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  }
}
