#pragma once
#include <cstdint>

namespace lethe {

// For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, all row-major f32.
// op(A_b) is M x K: A_b = A + b*strideA is M x K with row stride lda (lda >= K) if !transA, else K x M (lda >= M).
// op(B_b) is K x N: B_b = B + b*strideB is K x N (ldb >= N) if !transB, else N x K (ldb >= K).
// C_b = C + b*strideC is M x N with row stride ldc. beta == 0 means C is overwritten and its old contents
// (even NaN) are ignored. strideA/strideB may be 0 (broadcast the same matrix over the batch).
// K == 0 gives C = beta*C. Must be correct for any sizes >= 0 (1x1, tall-skinny, odd sizes, M or N < tile).
// bias (N values, or null; only with beta == 0) is added to every row: C_b = bias + alpha * op(A_b) @ op(B_b),
// rounded exactly as if C_b had held the bias and beta were 1. It is written into each tile of C just before
// the tile's first accumulation, while the tile is in cache, not in a separate pass over C.
void sgemm_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t strideA,
                   const float* B, int64_t ldb, int64_t strideB,
                   float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch, const float* bias = nullptr,
                   bool bf16 = false);
// bf16 == true: every element of op(A) (times alpha) and of op(B) is first rounded to bfloat16 (to nearest even;
// subnormals to zero), products and sums stay f32 -- what PyTorch's bf16 autocast does to a matmul's inputs, with
// an f32 result. Where the CPU has AVX512-BF16 this runs on vdpbf16ps; elsewhere the packed operands are rounded
// and the f32 kernel runs, which gives the same products and differs only in how each pair of them is summed.

// Name of the micro-kernel selected at run time: "avx512", "avx2" or "portable".
const char* gemm_kernel_name();
// The kernel bf16 products run on: "avx512-bf16", or the f32 kernel's name when operands are rounded for it.
const char* gemm_bf16_kernel_name();

}  // namespace lethe
