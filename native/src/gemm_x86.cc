// x86-64 SIMD micro-kernels. The addon is built without -march, so each kernel carries its own target
// attribute and is only called after a run-time CPU check (see gemm.cc).
#include "gemm_internal.h"

#include <algorithm>

#if defined(__x86_64__)
// GCC 12 warns about the deliberately undefined vectors inside its own AVX-512 intrinsics (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace lethe {
namespace gemm_detail {

#if defined(__x86_64__)

#define LETHE_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define LETHE_AVX2 __attribute__((target("avx2,fma")))

// Both kernels share one shape: MR rows of A broadcast against NV vectors of B per k step, MR * NV
// accumulators kept in registers for the whole kc loop, then one pass over C.

// 12 x 32 with 24 zmm accumulators: 14 loads per 24 FMAs, so Zen 4 / Skylake-X stay FMA-bound, and the
// 12 x kc A sliver (24 KiB at kc = 512) stays in L1 while B slivers stream from L2.
constexpr int kAvx512Mr = 12, kAvx512Nv = 2, kAvx512Nr = 16 * kAvx512Nv;
static_assert(kAvx512Mr * kAvx512Nr <= kMaxTile, "edge tile buffer too small");

// The parts of an AVX-512 micro-kernel around its k loop, shared by the f32 and bf16 kernels (always inlined, so the
// accumulators stay in registers). Before: pull the C tile towards L1 (it is read, or owned for writing, only after
// the loop) and zero the accumulators. After: one pass over C.
template <int MR, int NV>
LETHE_AVX512 __attribute__((always_inline)) inline void tile_begin(const float* c, int64_t ldc, __m512 (&acc)[MR][NV]) {
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * NV - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
}

template <int MR, int NV>
LETHE_AVX512 __attribute__((always_inline)) inline void tile_end(float* c, int64_t ldc, float beta, const __m512 (&acc)[MR][NV]) {
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* cp = c + i * ldc + 16 * v;
      _mm512_storeu_ps(cp, beta == 0.f ? acc[i][v] : _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(cp), acc[i][v]));
    }
}

LETHE_AVX512 void kernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta) {
  constexpr int MR = kAvx512Mr, NV = kAvx512Nv;
  __m512 acc[MR][NV];
  tile_begin<MR, NV>(c, ldc, acc);
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += 16 * NV;
  }
  tile_end<MR, NV>(c, ldc, beta, acc);
}

// 6 x 16 with 12 ymm accumulators: the classic Haswell shape, leaving 4 of the 16 ymm registers for B and
// the broadcast.
constexpr int kAvx2Mr = 6, kAvx2Nv = 2, kAvx2Nr = 8 * kAvx2Nv;
static_assert(kAvx2Mr * kAvx2Nr <= kMaxTile, "edge tile buffer too small");

LETHE_AVX2 void kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta) {
  constexpr int MR = kAvx2Mr, NV = kAvx2Nv;
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 8 * NV - 1), _MM_HINT_T0);
  }
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += 8 * NV;
  }
  const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* cp = c + i * ldc + 8 * v;
      _mm256_storeu_ps(cp, beta == 0.f ? acc[i][v] : _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(cp), acc[i][v]));
    }
}

// In-register transpose of a 16 x 16 block: r[i] holds row i on entry, column i on exit.
LETHE_AVX512 inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // per 128-bit lane: pairs of rows interleaved
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // per lane: u[i + e] = rows i..i+3 at column e of the lane
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int e = 0; e < 4; ++e) {  // gather the four 4-row groups of each column across lanes
    const __m512 v = _mm512_shuffle_f32x4(r[e], r[4 + e], 0x44), w = _mm512_shuffle_f32x4(r[e], r[4 + e], 0xee);
    const __m512 x = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0x44);
    const __m512 y = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0xee);
    t[e] = _mm512_shuffle_f32x4(v, x, 0x88);
    t[4 + e] = _mm512_shuffle_f32x4(v, x, 0xdd);
    t[8 + e] = _mm512_shuffle_f32x4(w, y, 0x88);
    t[12 + e] = _mm512_shuffle_f32x4(w, y, 0xdd);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Mask of the first n lanes (none for n <= 0, all for n >= 16).
inline __mmask16 first_lanes(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
}

// AVX-512 version of pack_sliver (same layout). When the sliver's rows run along memory (no transpose in
// the source) each k is a masked vector copy; otherwise 16 x 16 blocks are transposed in registers, which
// reads every source cache line once instead of striding through W rows per k.
template <int W>
LETHE_AVX512 void pack_avx512(MatView src, int64_t rows, int64_t kc, float scale, float* out) {
  const __m512 vscale = _mm512_set1_ps(scale);
  if (src.rs == 1) {
    for (int64_t k = 0; k < kc; ++k)
      for (int r0 = 0; r0 < W; r0 += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(first_lanes(rows - r0), src.p + k * src.cs + r0);
        _mm512_mask_storeu_ps(out + k * W + r0, first_lanes(W - r0), _mm512_mul_ps(v, vscale));
      }
    return;
  }
  // Views always have one unit stride, so here src.cs == 1: each row is contiguous along k.
  for (int r0 = 0; r0 < W; r0 += 16) {
    const int64_t nrows = std::min<int64_t>(16, std::max<int64_t>(0, rows - r0));
    const __mmask16 store_mask = first_lanes(W - r0);
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t nk = std::min<int64_t>(16, kc - k0);
      __m512 v[16];
      for (int i = 0; i < 16; ++i)
        v[i] = i < nrows ? _mm512_maskz_loadu_ps(first_lanes(nk), src.p + (r0 + i) * src.rs + k0 * src.cs)
                         : _mm512_setzero_ps();
      transpose16x16(v);
      for (int64_t k = 0; k < nk; ++k)
        _mm512_mask_storeu_ps(out + (k0 + k) * W + r0, store_mask, _mm512_mul_ps(v[k], vscale));
    }
  }
}

// ---- bf16 operands, f32 accumulation (AVX512-BF16) ----

#define LETHE_AVX512_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,fma")))

// Same 12 x 32 tile and register plan as kernel_avx512, but each step takes a k-pair: one vdpbf16ps adds
// a(i, 2p) * b(2p, j) + a(i, 2p + 1) * b(2p + 1, j) to the f32 accumulator, so a slice needs half the
// instructions and half the bytes of packed operands.
LETHE_AVX512_BF16 void kernel_avx512_bf16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                          float beta) {
  constexpr int MR = kAvx512Mr, NV = kAvx512Nv;
  const auto* a32 = reinterpret_cast<const int32_t*>(a);
  const auto* b32 = reinterpret_cast<const int32_t*>(b);
  __m512 acc[MR][NV];
  tile_begin<MR, NV>(c, ldc, acc);
  const int64_t pairs = (kc + 1) / 2;
#pragma GCC unroll 4
  for (int64_t p = 0; p < pairs; ++p) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_load_si512(b32 + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(a32[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
    }
    a32 += MR;
    b32 += 16 * NV;
  }
  tile_end<MR, NV>(c, ldc, beta, acc);
}

// Packs a sliver into the k-pair layout (gemm_internal.h, PackFn). Rows along memory: the two k values of a
// pair are two vectors of rows, converted together and interleaved. Rows along k: 32 consecutive k of a row
// convert into 16 pairs in order, and 16 x 16 blocks of pairs are transposed in registers.
template <int W>
LETHE_AVX512_BF16 void pack_avx512_bf16(MatView src, int64_t rows, int64_t kc, float scale, float* out) {
  const __m512 vscale = _mm512_set1_ps(scale);
  auto* out32 = reinterpret_cast<int32_t*>(out);
  const int64_t pairs = (kc + 1) / 2;
  if (src.rs == 1) {
    // Interleave the 16 bf16 of k = 2p (lanes 0-15 of the conversion) with those of k = 2p + 1 (lanes 16-31).
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t p = 0; p < pairs; ++p)
      for (int r0 = 0; r0 < W; r0 += 16) {
        const __mmask16 m = first_lanes(rows - r0);
        const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src.p + 2 * p * src.cs + r0), vscale);
        const __m512 hi = 2 * p + 1 < kc ? _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src.p + (2 * p + 1) * src.cs + r0), vscale)
                                         : _mm512_setzero_ps();
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        _mm512_mask_storeu_epi32(out32 + p * W + r0, first_lanes(W - r0), _mm512_permutexvar_epi16(interleave, both));
      }
    return;
  }
  // Here src.cs == 1: each row is contiguous along k.
  for (int r0 = 0; r0 < W; r0 += 16) {
    const int64_t nrows = std::min<int64_t>(16, std::max<int64_t>(0, rows - r0));
    const __mmask16 store_mask = first_lanes(W - r0);
    for (int64_t k0 = 0; k0 < kc; k0 += 32) {
      const int64_t nk = std::min<int64_t>(32, kc - k0), np = (nk + 1) / 2;
      __m512 v[16];
      for (int i = 0; i < 16; ++i) {
        if (i >= nrows) {
          v[i] = _mm512_setzero_ps();
          continue;
        }
        const float* row = src.p + (r0 + i) * src.rs + k0;
        const __m512 x0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(first_lanes(nk), row), vscale);
        const __m512 x1 = _mm512_mul_ps(_mm512_maskz_loadu_ps(first_lanes(nk - 16), row + 16), vscale);
        v[i] = (__m512)_mm512_cvtne2ps_pbh(x1, x0);  // lane q holds the pair (k0 + 2q, k0 + 2q + 1)
      }
      transpose16x16(v);
      for (int64_t q = 0; q < np; ++q)
        _mm512_mask_storeu_epi32(out32 + (k0 / 2 + q) * W + r0, store_mask, _mm512_castps_si512(v[q]));
    }
  }
}

LETHE_AVX512 void direct_avx512(const Product& g, int64_t i0, int64_t rows, int64_t j0, int64_t j1, float* scratch) {
  direct_tile(g, i0, rows, j0, j1, scratch);
}

LETHE_AVX2 void direct_avx2(const Product& g, int64_t i0, int64_t rows, int64_t j0, int64_t j1, float* scratch) {
  direct_tile(g, i0, rows, j0, j1, scratch);
}

const GemmKernel* avx512_kernel() {
  static const GemmKernel k{"avx512", kAvx512Mr, kAvx512Nr, kernel_avx512, pack_avx512<kAvx512Mr>,
                            pack_avx512<kAvx512Nr>, direct_avx512};
  const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("fma");
  return ok ? &k : nullptr;
}

LETHE_AVX512_BF16 void direct_avx512_bf16(const Product& g, int64_t i0, int64_t rows, int64_t j0, int64_t j1,
                                          float* scratch) {
  direct_tile(g, i0, rows, j0, j1, scratch);
}

const GemmKernel* avx512_bf16_kernel() {
  static const GemmKernel k{"avx512-bf16", kAvx512Mr, kAvx512Nr, kernel_avx512_bf16, pack_avx512_bf16<kAvx512Mr>,
                            pack_avx512_bf16<kAvx512Nr>, direct_avx512_bf16, true};
  const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16") &&
                  __builtin_cpu_supports("fma");
  return ok ? &k : nullptr;
}

const GemmKernel* avx2_kernel() {
  static const GemmKernel k{"avx2", kAvx2Mr, kAvx2Nr, kernel_avx2, pack_sliver<kAvx2Mr>, pack_sliver<kAvx2Nr>,
                            direct_avx2};
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &k : nullptr;
}

#else  // not x86-64: only the portable kernel exists

const GemmKernel* avx512_kernel() { return nullptr; }
const GemmKernel* avx2_kernel() { return nullptr; }
const GemmKernel* avx512_bf16_kernel() { return nullptr; }

#endif

}  // namespace gemm_detail
}  // namespace lethe
