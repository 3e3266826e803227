/** safetensors dtypes Lethe reads, their byte sizes, and conversions to and from the engine's f32/i32. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1,
};

export function isSupportedDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, d);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half → float (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Typed-array views read the host's byte order; safetensors is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

let halves: Float32Array | null = null;

/** Every half's float value, indexed by its bits (built on first use, 256 KiB). */
function halfTable(): Float32Array {
  if (!halves) {
    halves = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halves[h] = halfToFloat(h);
  }
  return halves;
}

/** float → IEEE half with round-to-nearest-even (as PyTorch's .half()). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** float → bfloat16 bits with round-to-nearest-even (NaN stays NaN). */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes raw little-endian bytes of one tensor into engine storage (floats → f32, integers → i32). */
export function decode(dtype: SafetensorsDType, bytes: Uint8Array, name: string): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_SIZE[dtype];
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F16': {
      // A lookup over all 65,536 halves: the per-element arithmetic took ~0.5 s per embedded model load.
      const table = halfTable();
      const out = new Float32Array(n);
      if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
        const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = table[bits[i]!]!;
      } else {
        for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)]!;
      }
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new RangeError(`tensor "${name}": I64 value ${v} at index ${i} does not fit in i32`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'U8': case 'BOOL':
      return Int32Array.from(bytes);
  }
}

/** Encodes f32 values as the given float dtype (little-endian bytes). */
export function encodeFloat(dtype: 'F32' | 'F16' | 'BF16', values: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    view.setUint16(2 * i, dtype === 'F16' ? floatToHalf(values[i]!) : floatToBf16(values[i]!), true);
  }
  return out;
}

/** Largest finite magnitude of each storage dtype (for error messages). */
export const MAX_FINITE: Readonly<Record<'F32' | 'F16' | 'BF16', number>> = { F32: 3.4028234663852886e38, F16: 65504, BF16: 3.3895313892515355e38 };

/**
 * How many encoded values are ±Inf or NaN (every exponent bit set): what a reader of the file gets back. A finite f32
 * weight above 65504 becomes Inf in F16, so finiteness must be checked after the cast, not before.
 */
export function countNonFiniteEncoded(dtype: 'F32' | 'F16' | 'BF16', bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bad = 0;
  if (dtype === 'F32') {
    for (let i = 0; i < bytes.byteLength; i += 4) if ((view.getUint32(i, true) & 0x7f800000) === 0x7f800000) bad++;
  } else {
    const mask = dtype === 'F16' ? 0x7c00 : 0x7f80;
    for (let i = 0; i < bytes.byteLength; i += 2) if ((view.getUint16(i, true) & mask) === mask) bad++;
  }
  return bad;
}

/** Rounds f32 values in place to what `dtype` stores (identity for F32): the weights exactly as a reader gets them. */
export function roundToDType(dtype: 'F32' | 'F16' | 'BF16', values: Float32Array): void {
  if (dtype === 'F32') return;
  values.set(decode(dtype, encodeFloat(dtype, values), 'round-trip'));
}
