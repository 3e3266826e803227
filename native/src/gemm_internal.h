#pragma once
// Shared between gemm.cc (driver, portable kernel) and gemm_x86.cc (SIMD kernels). Not part of the API.
#include <cstdint>
#include <cstring>

namespace lethe {
namespace gemm_detail {

// Read-only strided view: element (r, c) lives at p[r * rs + c * cs]. A transposed operand is the same
// memory with rs and cs swapped, so packing is the only code that ever sees transposes.
struct MatView {
  const float* p;
  int64_t rs, cs;
  MatView at(int64_t r, int64_t c) const { return {p + r * rs + c * cs, rs, cs}; }
  MatView t() const { return {p, cs, rs}; }
};

// One product C = alpha * op(A) @ op(B) + beta * C, C row-major with row stride ldc.
struct Product {
  MatView a, b;  // op(A): M x K, op(B): K x N
  int64_t M, N, K;
  float alpha, beta;
  float* c;
  int64_t ldc;
  const float* bias = nullptr;  // N values added to every row of C before the first slice (beta is then 0)
  bool bf16 = false;  // operands rounded to bfloat16 (products exact, sums in f32), as under PyTorch's bf16 autocast
};

// Bits of the bfloat16 nearest to x (round to nearest even), in the upper half of a float's bits. Subnormals
// become signed zero and NaN stays a quiet NaN, as the AVX512-BF16 instructions treat them, so that the
// rounded-operand path on other CPUs and the hardware path agree on what a bf16 operand is.
inline uint32_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0) return u & 0x80000000u;
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & 0xffff0000u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
}

// x rounded to bfloat16 and widened back to f32.
inline float round_bf16(float x) {
  const uint32_t u = bf16_bits(x);
  float y;
  std::memcpy(&y, &u, sizeof y);
  return y;
}

// C[0:MR, 0:NR] = a_sliver @ b_sliver + beta * C (beta == 0: C is only written). a is kc x MR packed
// column by column (MR values per k), b is kc x NR packed row by row (NR values per k), both 64-byte aligned.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta);

// Packs `rows` (<= W) rows of src, each kc long, as out[k * W + r] = scale * src(r, k); rows up to W are
// zero-filled so edge slivers need no special case in the kernel. A bf16 kernel's packing instead writes
// ceil(kc / 2) k-pairs, out32[p * W + r] = bf16(scale * src(r, 2p)) | bf16(scale * src(r, 2p + 1)) << 16 (an odd
// kc's last pair padded with zero): never more floats than the f32 layout, so the driver's offsets hold for both.
using PackFn = void (*)(MatView src, int64_t rows, int64_t kc, float scale, float* out);

// Unpacked path for shapes the micro-tile would mostly pad (GEMV-like, few columns of a transposed B):
// computes C[i0 : i0 + rows, j0 : j1] of g with rows <= kDirectRows, using scratch for rows * K floats.
using DirectFn = void (*)(const Product& g, int64_t i0, int64_t rows, int64_t j0, int64_t j1, float* scratch);
constexpr int kDirectRows = 4;
constexpr int64_t kDirectCols = 256;

constexpr int kMaxTile = 12 * 32;  // largest mr * nr of any kernel (edge tiles go through a buffer this big)

struct GemmKernel {
  const char* name;
  int mr, nr;          // micro-tile: mr rows of op(A) (broadcast) x nr columns of op(B) (vector loads)
  MicroKernel kernel;
  PackFn pack_a;       // packs an mr-row sliver of op(A)
  PackFn pack_b;       // packs an nr-row sliver of op(B)^T
  DirectFn direct;
  bool bf16_pairs = false;  // packs the bf16 k-pair layout and multiplies bf16 in hardware
};

// Generic sliver packing; the inner loops are contiguous whenever the source allows it.
template <int W>
void pack_sliver(MatView src, int64_t rows, int64_t kc, float scale, float* out) {
  if (src.rs == 1) {  // the W values for one k are contiguous: plain copy per k
    for (int64_t k = 0; k < kc; ++k) {
      const float* s = src.p + k * src.cs;
      float* o = out + k * W;
      for (int64_t r = 0; r < rows; ++r) o[r] = scale * s[r];
      for (int64_t r = rows; r < W; ++r) o[r] = 0.f;
    }
    return;
  }
  // Transposing copy: walk the rows in lockstep so each one is read sequentially.
  for (int64_t k = 0; k < kc; ++k) {
    const float* s = src.p + k * src.cs;
    float* o = out + k * W;
    for (int64_t r = 0; r < rows; ++r) o[r] = scale * s[r * src.rs];
    for (int64_t r = rows; r < W; ++r) o[r] = 0.f;
  }
}

// direct_tile for bf16 operands, the A rows already rounded in arows: op(B)'s values are rounded as they are
// read. Only GEMV-like shapes come here, where the reads of B dominate anyway.
__attribute__((always_inline)) inline void direct_tile_rounded_b(const Product& g, int64_t i0, int64_t rows,
                                                                 int64_t j0, int64_t j1, const float* arows) {
  const int64_t K = g.K;
  for (int64_t j = j0; j < j1; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      float sum = 0.f;
      for (int64_t p = 0; p < K; ++p) sum += arows[r * K + p] * round_bf16(*g.b.at(p, j).p);
      float& c = g.c[(i0 + r) * g.ldc + j];
      c = g.beta == 0.f ? sum : sum + g.beta * c;
    }
}

// Body of every DirectFn; always inlined so that each ISA's wrapper vectorizes it for that ISA.
// The rows of op(A) are first copied (times alpha) into contiguous scratch. Then, if the columns of op(B)
// are contiguous (B transposed), each C element is a dot product kept in 16 independent partial sums
// (vectorizable without reassociating); otherwise rows of op(B) are streamed into row accumulators.
__attribute__((always_inline)) inline void direct_tile(const Product& g, int64_t i0, int64_t rows, int64_t j0,
                                                       int64_t j1, float* arows) {
  const int64_t K = g.K;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < K; ++p) {
      const float v = g.alpha * *g.a.at(i0 + r, p).p;
      arows[r * K + p] = g.bf16 ? round_bf16(v) : v;
    }
  if (g.bf16) {
    direct_tile_rounded_b(g, i0, rows, j0, j1, arows);
    return;
  }
  auto store = [&](int64_t r, int64_t j, float v) {
    float& c = g.c[(i0 + r) * g.ldc + j];
    c = g.beta == 0.f ? v : v + g.beta * c;
  };
  if (g.b.rs == 1) {
    constexpr int L = 16;
    for (int64_t j = j0; j < j1; ++j) {
      const float* bcol = g.b.p + j * g.b.cs;
      float part[kDirectRows][L] = {};
      int64_t p = 0;
      for (; p + L <= K; p += L)
        for (int64_t r = 0; r < rows; ++r)
          for (int l = 0; l < L; ++l) part[r][l] += arows[r * K + p + l] * bcol[p + l];
      for (int64_t r = 0; r < rows; ++r) {
        float sum = 0.f;
        for (int l = 0; l < L; ++l) sum += part[r][l];
        for (int64_t q = p; q < K; ++q) sum += arows[r * K + q] * bcol[q];
        store(r, j, sum);
      }
    }
    return;
  }
  for (int64_t jc = j0; jc < j1; jc += kDirectCols) {
    const int64_t nj = j1 - jc < kDirectCols ? j1 - jc : kDirectCols;
    float acc[kDirectRows][kDirectCols];
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < nj; ++j) acc[r][j] = 0.f;
    for (int64_t p = 0; p < K; ++p) {
      const float* brow = g.b.p + p * g.b.rs + jc;  // cs == 1 here
      for (int64_t r = 0; r < rows; ++r) {
        const float a = arows[r * K + p];
        for (int64_t j = 0; j < nj; ++j) acc[r][j] += a * brow[j];
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < nj; ++j) store(r, jc + j, acc[r][j]);
  }
}

// Null where the CPU (or the build target) lacks the instructions.
const GemmKernel* avx512_kernel();
const GemmKernel* avx2_kernel();
// bf16 operands with f32 accumulation on AVX512-BF16 (vdpbf16ps, two k steps per instruction).
const GemmKernel* avx512_bf16_kernel();

}  // namespace gemm_detail
}  // namespace lethe
