/**
 * Rounding to bfloat16, as the native GEMM's bf16 products do it (native/src/gemm_internal.h, bf16_bits): to the
 * nearest even bf16, subnormals to signed zero (AVX512-BF16 treats them as zero), NaN kept as a quiet NaN.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function roundBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7f800000) === 0) u32[0] = u & 0x80000000;
  else if ((u & 0x7fffffff) > 0x7f800000) u32[0] = (u | 0x00400000) & 0xffff0000;
  else u32[0] = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
  return f32[0]!;
}

/** A copy of `x` with every element times `scale`, rounded to f32 and then to bf16. */
export function roundedBf16Copy(x: Float32Array, scale = 1): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundBf16(Math.fround(scale * x[i]!));
  return out;
}
