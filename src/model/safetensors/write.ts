import type { Tensor } from '../../engine/index.ts';
import { atomicWrite } from '../io/atomic-file.ts';
import { countNonFiniteEncoded, encodeFloat, MAX_FINITE } from './dtype.ts';
import { SafetensorsError } from './header.ts';

export type SaveDType = 'F32' | 'F16' | 'BF16';

export interface SaveOptions {
  /** Float tensors are stored in this dtype (default F32); i32 tensors are stored as I32. */
  dtype?: SaveDType;
  metadata?: Record<string, string>;
  /** Write NaN/±Inf as they are (format tests only); by default a tensor not finite as stored is refused. */
  allowNonFinite?: boolean;
}

/**
 * Writes tensors as a safetensors file atomically: to a temporary file in the same folder, fsync, then rename
 * over the target, so a crash leaves either the old file or the new one, never a torn one. A tensor with a value
 * that is not finite as stored (NaN, ±Inf, or beyond the dtype's range, e.g. above 65504 in F16) is refused and
 * nothing is written.
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
      : encodeFloat(dtype, t.f32('saveSafetensors'));
    if (t.dtype !== 'i32' && !options.allowNonFinite) refuseNonFinite(path, name, dtype, t.f32('saveSafetensors'), bytes);
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

function refuseNonFinite(path: string, name: string, dtype: SaveDType, values: Float32Array, bytes: Uint8Array): void {
  const bad = countNonFiniteEncoded(dtype, bytes);
  if (bad === 0) return;
  let largest = 0;
  for (const v of values) if (Number.isFinite(v)) largest = Math.max(largest, Math.abs(v));
  throw new SafetensorsError(path, `tensor "${name}": ${bad} of ${values.length} values are not finite as stored in ${dtype} `
    + `(largest finite |value| ${largest.toExponential(3)}; ${dtype} holds at most ${MAX_FINITE[dtype].toExponential(3)}); nothing was written`);
}
