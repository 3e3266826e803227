// x86-64 SIMD micro-kernels. The addon is built without -march, so each kernel carries its own target
// attribute and is only called after a run-time CPU check (see gemm.cc).
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lethe {
namespace gemm_detail {

#if defined(__x86_64__)

#define LETHE_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define LETHE_AVX2 __attribute__((target("avx2,fma")))

// Both kernels share one shape: MR rows of A broadcast against NV vectors of B per k step, MR * NV
// accumulators kept in registers for the whole kc loop, then one pass over C.

// 12 x 32 with 24 zmm accumulators: 14 loads per 24 FMAs, so Zen 4 / Skylake-X stay FMA-bound, and the
// 12 x kc A sliver (18 KiB at kc = 384) stays in L1 while B slivers stream from L2.
constexpr int kAvx512Mr = 12, kAvx512Nv = 2, kAvx512Nr = 16 * kAvx512Nv;

LETHE_AVX512 void kernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta) {
  constexpr int MR = kAvx512Mr, NV = kAvx512Nv;
  // Pull the C tile towards L1 now; it is read (or owned for writing) only after the kc loop.
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * NV - 1), _MM_HINT_T0);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
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
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* cp = c + i * ldc + 16 * v;
      _mm512_storeu_ps(cp, beta == 0.f ? acc[i][v] : _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(cp), acc[i][v]));
    }
}

// 6 x 16 with 12 ymm accumulators: the classic Haswell shape, leaving 4 of the 16 ymm registers for B and
// the broadcast.
constexpr int kAvx2Mr = 6, kAvx2Nv = 2, kAvx2Nr = 8 * kAvx2Nv;

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

const GemmKernel* avx512_kernel() {
  static const GemmKernel k{"avx512", kAvx512Mr, kAvx512Nr, kernel_avx512, pack_sliver<kAvx512Mr>,
                            pack_sliver<kAvx512Nr>};
  const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("fma");
  return ok ? &k : nullptr;
}

const GemmKernel* avx2_kernel() {
  static const GemmKernel k{"avx2", kAvx2Mr, kAvx2Nr, kernel_avx2, pack_sliver<kAvx2Mr>, pack_sliver<kAvx2Nr>};
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &k : nullptr;
}

#else  // not x86-64: only the portable kernel exists

const GemmKernel* avx512_kernel() { return nullptr; }
const GemmKernel* avx2_kernel() { return nullptr; }

#endif

}  // namespace gemm_detail
}  // namespace lethe
