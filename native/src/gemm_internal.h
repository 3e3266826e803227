#pragma once
// Shared between gemm.cc (driver, portable kernel) and gemm_x86.cc (SIMD kernels). Not part of the API.
#include <cstdint>

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

// C[0:MR, 0:NR] = a_sliver @ b_sliver + beta * C (beta == 0: C is only written). a is kc x MR packed
// column by column (MR values per k), b is kc x NR packed row by row (NR values per k), both 64-byte aligned.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta);

// Packs `rows` (<= W) rows of src, each kc long, as out[k * W + r] = scale * src(r, k); rows up to W are
// zero-filled so edge slivers need no special case in the kernel.
using PackFn = void (*)(MatView src, int64_t rows, int64_t kc, float scale, float* out);

struct GemmKernel {
  const char* name;
  int mr, nr;          // micro-tile: mr rows of op(A) (broadcast) x nr columns of op(B) (vector loads)
  MicroKernel kernel;
  PackFn pack_a;       // packs an mr-row sliver of op(A)
  PackFn pack_b;       // packs an nr-row sliver of op(B)^T
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

// Null where the CPU (or the build target) lacks the instructions.
const GemmKernel* avx512_kernel();
const GemmKernel* avx2_kernel();

}  // namespace gemm_detail
}  // namespace lethe
