#pragma once
// Kernels of the native backend (see src/engine/backend.ts for the exact semantics of each; the TS backend in
// src/engine/backends/ts is the oracle), in C++ terms with every size explicit. What the addon exports and how
// it reads and checks the JS arguments comes from the ABI table (src/engine/backends/native-abi.ts). Every
// function trusts its arguments: addon.cc validates sizes, ranges and index values before calling. All buffers
// are flat, row-major, and may be unaligned.
#include <cstdint>

#include "abi.gen.h"  // the op-code enums (UnaryOp, BinaryOp, ReduceOp), generated from the ABI table

namespace lethe {

// Element kinds for copy_strided.
enum ElemKind : int { kF32 = 0, kI32 = 1 };

constexpr int kMaxRank = 16;

struct AttnDims {
  int64_t B, H, Hkv, Tq, Tk, D;
  float scale;
  // Left padding: batch row b sees only keys j >= key_start[b] (values in [0, Tk]); nullptr: all keys.
  const int32_t* key_start = nullptr;
};

struct AdamWParams {
  double lr, beta1, beta2, eps, weight_decay, bc1, bc2;
};

void unary(int op, const float* x, float* out, int64_t n, double p);
void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, double p);

// out[i] = a[ia] op b[ib] over `shape` (rank <= kMaxRank; out contiguous), strides in elements.
void binary(int op, const float* a, const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
            const int64_t* shape, int rank);

void reduce(int op, const float* x, int64_t outer, int64_t n, int64_t inner, float* out, int32_t* argmax);

// Copies `shape` elements between two strided layouts; src and dst may be f32 or i32 (mixed kinds convert
// the way a JS typed-array store does).
void copy_strided(const void* src, int src_kind, int64_t src_offset, const int64_t* src_strides, void* dst,
                  int dst_kind, int64_t dst_offset, const int64_t* dst_strides, const int64_t* shape, int rank);

void softmax(const float* x, float* out, int64_t rows, int64_t n, bool log);
void softmax_backward(const float* y, const float* gy, float* gx, int64_t rows, int64_t n, bool log);

void layer_norm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, int64_t rows,
                int64_t n, double eps);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         float* gx, float* gw, float* gb, int64_t rows, int64_t n);
void rms_norm(const float* x, const float* w, float* out, float* rstd, int64_t rows, int64_t n, double eps);
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy, float* gx, float* gw,
                       int64_t rows, int64_t n);

void cross_entropy(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t rows,
                   int64_t v, int64_t ignore_index);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* gloss,
                            float* gx, int64_t rows, int64_t v, int64_t ignore_index);

void embedding(const float* weight, const int32_t* ids, int64_t count, float* out, int64_t d);
// `vocab` = rows of gw (ids are in [0, vocab)).
void embedding_backward(const int32_t* ids, int64_t count, const float* gy, float* gw, int64_t vocab, int64_t d);

void gather(const float* x, const int32_t* index, float* out, int64_t outer, int64_t n, int64_t m, int64_t inner);
void gather_backward(const int32_t* index, const float* gy, float* gx, int64_t outer, int64_t n, int64_t m,
                     int64_t inner);

void rope(const float* x, float* out, int64_t bh, int64_t t, int64_t d, const float* cos, const float* sin,
          bool inverse);

void attention(const float* q, const float* k, const float* v, float* out, float* lse, const AttnDims& dims);
void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* gout, float* gq, float* gk, float* gv, const AttnDims& dims);

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWParams& a);
void axpy(double alpha, const float* x, float* y, int64_t n);
double sum_squares(const float* x, int64_t n);
bool has_non_finite(const float* x, int64_t n);

// "avx512", "avx2" or "portable": the clone of the vectorised kernels this CPU runs.
const char* simd_level();

}  // namespace lethe
