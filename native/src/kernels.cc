// Kernels of the native backend. The TS backend (src/engine/backends/ts) is the oracle: each kernel computes
// the same thing, in float32 storage, with float64 accumulation wherever the TS code accumulates long sums.
//
// Vectorisation: the kernel bodies live in kernels_simd.inc, which this file compiles three times (x86-64-v4
// = AVX-512, x86-64-v3 = AVX2+FMA, and the baseline) in namespaces simd_v4 / simd_v3 / simd_v0; each public
// kernel dispatches once per call on the CPU's level (isa_level()). Hot loops are either plain loops that GCC
// auto-vectorises, or written with GCC vector extensions one register wide where auto-vectorisation cannot
// work (exp/tanh/sigmoid, reductions, the attention micro-kernel). On other compilers/CPUs only the baseline
// body is built.
//
// Threading: every O(n) kernel runs through run_parallel (lethe::parallel_for) with a grain that keeps small
// arrays on the calling thread. Kernels whose result could depend on the partition either accumulate in a
// fixed order that does not depend on the partition (per-element sequential sums, fixed-size chunks combined
// in index order), or partition so that each output element is written by one thread only. Results are
// therefore bit-identical for any thread count.
#include "kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define LETHE_X86_MULTIVERSION 1
#include <immintrin.h>
#else
#define LETHE_X86_MULTIVERSION 0
#endif
// Exactly the TS order of operations (no fused multiply-add), where bit-exact results are the goal.
#if defined(__GNUC__) && !defined(__clang__)
#define LETHE_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define LETHE_NO_CONTRACT
#endif
#define LETHE_INLINE inline __attribute__((always_inline))

// Vector helpers are always inlined into callers of the same ISA, so the ABI note about wide vectors is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lethe {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------------------------------------
// Threading helpers

// Runs f(begin, end) over [0, n) on the pool; inline when n <= grain. The std::function wraps a single
// pointer, so it never allocates.
template <class F>
void run_parallel(int64_t n, int64_t grain, const F& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (n <= grain || pool_size() <= 1) {
    f(int64_t{0}, n);
    return;
  }
  const F* fp = &f;
  parallel_for(n, grain, [fp](int64_t b, int64_t e) { (*fp)(b, e); });
}

// Items per chunk so that a chunk does about `work` units when each item costs `cost`.
inline int64_t grain_for(int64_t cost, int64_t work) { return std::max<int64_t>(1, work / std::max<int64_t>(1, cost)); }

// Elements per chunk for cheap (memory-bound) and expensive (transcendental) elementwise loops.
constexpr int64_t kGrainCheap = 32768;
constexpr int64_t kGrainHeavy = 8192;

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

bool heavy_unary(int op) {
  return op == kExp || op == kLog || op == kTanh || op == kSigmoid || op == kGelu || op == kSilu || op == kPow;
}

// ---------------------------------------------------------------------------------------------------------
// Shared definitions (used by the ISA-specific bodies)

// Drops size-1 dims and merges dims that are contiguous in every operand. `st` holds `nops` stride arrays.
// Returns the new rank (>= 1).
int collapse(const int64_t* shape, int rank, const int64_t* const* st, int nops, int64_t* osh,
             int64_t (*ost)[kMaxRank]) {
  int r = 0;
  for (int d = 0; d < rank; d++) {
    const int64_t s = shape[d];
    if (s == 1) continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < nops; k++) merge = ost[k][r - 1] == st[k][d] * s;
    if (merge) {
      osh[r - 1] *= s;
      for (int k = 0; k < nops; k++) ost[k][r - 1] = st[k][d];
    } else {
      osh[r] = s;
      for (int k = 0; k < nops; k++) ost[k][r] = st[k][d];
      r++;
    }
  }
  if (r == 0) {
    osh[0] = 1;
    for (int k = 0; k < nops; k++) ost[k][0] = 0;
    r = 1;
  }
  return r;
}

struct Walk {
  int rank;  // collapsed
  int64_t shape[kMaxRank];
  int64_t st[2][kMaxRank];
};

// JS ToInt32 of a float (what storing a float into an Int32Array does).
inline int32_t js_to_int32(float f) {
  if (!std::isfinite(f)) return 0;
  double t = std::trunc(static_cast<double>(f));
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

template <class S, class D>
LETHE_INLINE D convert_elem(S s) {
  if constexpr (std::is_same_v<S, D>) {
    return s;
  } else if constexpr (std::is_same_v<D, int32_t>) {
    return js_to_int32(s);
  } else {
    return static_cast<float>(s);
  }
}

template <class S, class D>
void copy_rows(const Walk& w, const S* src, D* dst, int64_t r0, int64_t r1) {
  const int R = w.rank;
  const int64_t inner = w.shape[R - 1];
  int64_t idx[kMaxRank] = {0};
  int64_t is = 0, id = 0;
  int64_t rem = r0;
  for (int d = R - 2; d >= 0; d--) {
    idx[d] = rem % w.shape[d];
    rem /= w.shape[d];
    is += idx[d] * w.st[0][d];
    id += idx[d] * w.st[1][d];
  }
  const int64_t ss = w.st[0][R - 1], ds = w.st[1][R - 1];
  for (int64_t r = r0; r < r1; r++) {
    const S* s = src + is;
    D* t = dst + id;
    if constexpr (std::is_same_v<S, D>) {
      if (ss == 1 && ds == 1) {
        std::memmove(t, s, static_cast<size_t>(inner) * sizeof(S));
      } else {
        for (int64_t j = 0; j < inner; j++) t[j * ds] = s[j * ss];
      }
    } else {
      for (int64_t j = 0; j < inner; j++) t[j * ds] = convert_elem<S, D>(s[j * ss]);
    }
    for (int d = R - 2; d >= 0; d--) {
      is += w.st[0][d];
      id += w.st[1][d];
      if (++idx[d] < w.shape[d]) break;
      is -= w.st[0][d] * w.shape[d];
      id -= w.st[1][d] * w.shape[d];
      idx[d] = 0;
    }
  }
}

// The TS max rule over a row: the first NaN if there is one, else the first maximal element; m = -inf and
// index 0 when nothing beats -inf. `base` is the index of x[0] in the row.
struct MaxArg {
  float m;
  int64_t i;
};
inline bool max_rule(float cur, float v) { return cur == cur && (v > cur || v != v); }

// Rows longer than this are processed in chunks of this size (partials combined in order), so a long row
// can be split across threads and the result does not depend on how.
constexpr int64_t kRedChunk = 16384;
constexpr int64_t kRedIB = 256;  // columns per item when reducing over a strided axis

inline MaxArg combine_max(MaxArg acc, MaxArg c) {
  if (acc.m != acc.m) return acc;
  if (c.m != c.m || c.m > acc.m) return c;
  return acc;
}

constexpr int64_t kColBlock = 64;  // columns per item in embedding_backward
// Rows shorter than this take the norm kernels' float64 scalar path for the per-element outputs too. Such rows
// can cancel almost completely (a layer norm over 1 or 2 elements has gx ~ 0, an RMS norm over 1 element
// gx ~ eps), where float32 arithmetic would not match the TS float64 results; they are cheap anyway.
constexpr int64_t kNormSmallN = 16;
constexpr int64_t kNormPrefetch = 2048;  // elements (8 KB) the norm kernels prefetch ahead

constexpr int64_t kAttnQB = 32;   // query rows per forward item
constexpr int64_t kAttnQBb = 64;  // query rows per backward block

// Per-thread scratch, grown on demand and kept for the next call.
struct Scratch {
  std::vector<float> buf[10];
  float* get(int i, int64_t n) {
    if (static_cast<int64_t>(buf[i].size()) < n) buf[i].resize(static_cast<size_t>(n));
    return buf[i].data();
  }
};
Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

struct AttnFwdItem {
  const float *q, *k, *v;
  float *out, *lse;
  AttnDims d;
};

struct AttnBwdItem {
  const float *q, *k, *v, *out, *lse, *gout;
  float *gq, *gk, *gv;
  AttnDims d;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// The ISA-specific bodies

// LETHE_SIMD_X86 names the x86 level of the body being compiled (4, 3, or 0 for the SSE2 baseline), for the few
// helpers that use intrinsics (a C++ translation unit does not see the ISA macros a target pragma would set);
// it is left undefined for the portable body on other CPUs.
namespace {
#if LETHE_X86_MULTIVERSION
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
namespace simd_v4 {
constexpr int W = 16;
#define LETHE_SIMD_X86 4
#include "kernels_simd.inc"
#undef LETHE_SIMD_X86
}  // namespace simd_v4
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
namespace simd_v3 {
constexpr int W = 8;
#define LETHE_SIMD_X86 3
#include "kernels_simd.inc"
#undef LETHE_SIMD_X86
}  // namespace simd_v3
#pragma GCC pop_options
#endif

namespace simd_v0 {
constexpr int W = 4;
#if LETHE_X86_MULTIVERSION
#define LETHE_SIMD_X86 0
#endif
#include "kernels_simd.inc"
#undef LETHE_SIMD_X86
}  // namespace simd_v0

// 4: x86-64-v4 (AVX-512 F/BW/CD/DQ/VL), 3: x86-64-v3 (AVX2, FMA, BMI2...), 0: baseline. The environment
// variable LETHE_SIMD=avx2|portable caps the level (to test the other code paths, or to compare them).
int isa_level() {
#if LETHE_X86_MULTIVERSION
  static const int level = [] {
    __builtin_cpu_init();
    int lv = 0;
    if (__builtin_cpu_supports("x86-64-v4")) lv = 4;
    else if (__builtin_cpu_supports("x86-64-v3")) lv = 3;
    if (const char* cap = std::getenv("LETHE_SIMD")) {
      if (std::strcmp(cap, "portable") == 0) lv = 0;
      else if (std::strcmp(cap, "avx2") == 0 && lv > 3) lv = 3;
    }
    return lv;
  }();
  return level;
#else
  return 0;
#endif
}

// Calls simd_vN::fn(args...) for this CPU's level.
#if LETHE_X86_MULTIVERSION
#define LETHE_SIMD(fn, ...)                                                                    \
  (isa_level() == 4 ? simd_v4::fn(__VA_ARGS__)                                                 \
                    : isa_level() == 3 ? simd_v3::fn(__VA_ARGS__) : simd_v0::fn(__VA_ARGS__))
#else
#define LETHE_SIMD(fn, ...) simd_v0::fn(__VA_ARGS__)
#endif

// Reduces one contiguous row (inner == 1), splitting it over threads when `par`. Rows longer than kRedChunk
// are reduced chunk by chunk and the partials combined in order, whether or not the chunks ran in parallel.
float reduce_row(int op, const float* x, int64_t n, int32_t* argmax, bool par) {
  const int64_t nch = (n + kRedChunk - 1) / kRedChunk;
  auto len = [&](int64_t c) { return std::min(kRedChunk, n - c * kRedChunk); };
  if (nch == 1) {
    if (op == kSum) return static_cast<float>(LETHE_SIMD(sum_chunk, x, n));
    const MaxArg r = LETHE_SIMD(max_arg_chunk, x, n, int64_t{0});
    if (op == kMax) {
      if (argmax) *argmax = static_cast<int32_t>(r.i);
      return r.m;
    }
    if (r.m == -kInf || r.m != r.m) return r.m;
    return static_cast<float>(r.m + std::log(LETHE_SIMD(sum_exp_chunk, x, n, r.m)));
  }
  if (op == kSum) {
    std::vector<double> part(static_cast<size_t>(nch), 0.0);
    auto f = [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; c++) part[c] = LETHE_SIMD(sum_chunk, x + c * kRedChunk, len(c));
    };
    if (par) run_parallel(nch, 1, f); else f(0, nch);
    double s = 0;
    for (int64_t c = 0; c < nch; c++) s += part[c];
    return static_cast<float>(s);
  }
  std::vector<MaxArg> mp(static_cast<size_t>(nch));
  auto fm = [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) mp[c] = LETHE_SIMD(max_arg_chunk, x + c * kRedChunk, len(c), c * kRedChunk);
  };
  if (par) run_parallel(nch, 1, fm); else fm(0, nch);
  MaxArg r{-kInf, 0};
  for (int64_t c = 0; c < nch; c++) r = combine_max(r, mp[c]);
  if (op == kMax) {
    if (argmax) *argmax = static_cast<int32_t>(r.i);
    return r.m;
  }
  if (r.m == -kInf || r.m != r.m) return r.m;
  std::vector<double> part(static_cast<size_t>(nch), 0.0);
  auto fs = [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) part[c] = LETHE_SIMD(sum_exp_chunk, x + c * kRedChunk, len(c), r.m);
  };
  if (par) run_parallel(nch, 1, fs); else fs(0, nch);
  double s = 0;
  for (int64_t c = 0; c < nch; c++) s += part[c];
  return static_cast<float>(r.m + std::log(s));
}

}  // namespace

// =========================================================================================================
// Public entry points

void unary(int op, const float* x, float* out, int64_t n, double p) {
  run_parallel(n, heavy_unary(op) ? kGrainHeavy : kGrainCheap,
               [&](int64_t b, int64_t e) { LETHE_SIMD(unary_range, op, x + b, out + b, e - b, p); });
}

void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, double p) {
  const bool heavy = op == kGelu || op == kSilu || op == kPow;
  run_parallel(n, heavy ? kGrainHeavy : kGrainCheap,
               [&](int64_t b, int64_t e) {
                 LETHE_SIMD(unary_backward_range, op, x + b, y + b, gy + b, gx + b, e - b, p);
               });
}

void binary(int op, const float* a, const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
            const int64_t* shape, int rank) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  Walk w;
  const int64_t* st[2] = {a_strides, b_strides};
  w.rank = collapse(shape, rank, st, 2, w.shape, w.st);
  const int64_t inner = w.shape[w.rank - 1];
  const int64_t rows = total / inner;
  run_parallel(rows, grain_for(inner, kGrainCheap),
               [&](int64_t r0, int64_t r1) { LETHE_SIMD(binary_range, op, w, a, b, out, r0, r1); });
}

void reduce(int op, const float* x, int64_t outer, int64_t n, int64_t inner, float* out, int32_t* argmax) {
  if (outer == 0 || inner == 0) return;
  if (n == 0) {
    // Empty reduction: sum 0, max/logsumexp -inf with argmax 0 (what the TS loops produce).
    for (int64_t i = 0; i < outer * inner; i++) {
      out[i] = op == kSum ? 0.f : -kInf;
      if (argmax && op == kMax) argmax[i] = 0;
    }
    return;
  }
  if (inner == 1) {
    const int64_t nch = (n + kRedChunk - 1) / kRedChunk;
    if (outer >= 2 * pool_size() || nch == 1) {
      run_parallel(outer, grain_for(n, kGrainCheap), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) out[r] = reduce_row(op, x + r * n, n, argmax ? argmax + r : nullptr, false);
      });
    } else {
      for (int64_t r = 0; r < outer; r++) out[r] = reduce_row(op, x + r * n, n, argmax ? argmax + r : nullptr, true);
    }
    return;
  }
  const int64_t nib = (inner + kRedIB - 1) / kRedIB;
  run_parallel(outer * nib, grain_for(n * std::min(inner, kRedIB), kGrainCheap), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; item++) {
      const int64_t o = item / nib, i0 = (item % nib) * kRedIB;
      const int64_t cnt = std::min(kRedIB, inner - i0);
      LETHE_SIMD(reduce_cols, op, x + o * n * inner + i0, n, inner, out + o * inner + i0,
                 argmax ? argmax + o * inner + i0 : nullptr, cnt);
    }
  });
}

void copy_strided(const void* src, int src_kind, int64_t src_offset, const int64_t* src_strides, void* dst,
                  int dst_kind, int64_t dst_offset, const int64_t* dst_strides, const int64_t* shape, int rank) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  Walk w;
  const int64_t* st[2] = {src_strides, dst_strides};
  w.rank = collapse(shape, rank, st, 2, w.shape, w.st);
  const int64_t inner = w.shape[w.rank - 1];
  const int64_t rows = total / inner;
  auto run = [&](auto* s, auto* t) {
    run_parallel(rows, grain_for(inner, kGrainCheap), [&](int64_t r0, int64_t r1) { copy_rows(w, s, t, r0, r1); });
  };
  if (src_kind == kF32) {
    const float* s = static_cast<const float*>(src) + src_offset;
    if (dst_kind == kF32) run(s, static_cast<float*>(dst) + dst_offset);
    else run(s, static_cast<int32_t*>(dst) + dst_offset);
  } else {
    const int32_t* s = static_cast<const int32_t*>(src) + src_offset;
    if (dst_kind == kF32) run(s, static_cast<float*>(dst) + dst_offset);
    else run(s, static_cast<int32_t*>(dst) + dst_offset);
  }
}

void softmax(const float* x, float* out, int64_t rows, int64_t n, bool log) {
  if (n == 0) return;
  run_parallel(rows, grain_for(n, kGrainHeavy),
               [&](int64_t b, int64_t e) { LETHE_SIMD(softmax_rows, x, out, b, e, n, log); });
}

void softmax_backward(const float* y, const float* gy, float* gx, int64_t rows, int64_t n, bool log) {
  if (n == 0) return;
  run_parallel(rows, grain_for(n, log ? kGrainHeavy : kGrainCheap),
               [&](int64_t b, int64_t e) { LETHE_SIMD(softmax_backward_rows, y, gy, gx, b, e, n, log); });
}

void layer_norm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, int64_t rows,
                int64_t n, double eps) {
  run_parallel(rows, grain_for(n, kGrainCheap),
               [&](int64_t r0, int64_t r1) { LETHE_SIMD(layer_norm_rows, x, w, b, out, mean, rstd, r0, r1, n, eps); });
}

namespace {

// The norm backwards sum gw (and gb) over rows in partials, one per chunk of norm_chunk_rows rows (a function of
// the shape only), combined in chunk order in float64: the result does not depend on the thread count.
// Chunks of 64 rows (down to 8 for very long rows) and at most ~128 of them keep the partials small next to the
// data (about 24 / (12 * chunk rows) of its traffic).
int64_t norm_chunk_rows(int64_t rows, int64_t n) {
  const int64_t by_n = std::clamp<int64_t>(262144 / std::max<int64_t>(n, 1), 8, 64);
  return std::max(by_n, (rows + 127) / 128);
}

// Partials of the calling thread, kept for the next call (float64 for the RMS norm, float32 for the layer norm).
template <class T>
T* norm_partials(int64_t count) {
  static thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < count) buf.resize(static_cast<size_t>(count));
  return buf.data();
}

// out[j] = Σ over the nc partials (stride apart) of column j, in partial order, in float64 (the partials float64 or
// float32); columns split over threads.
template <class T>
void norm_combine_all(const T* part, int64_t nc, int64_t stride, int64_t n, float* out) {
  constexpr int64_t kCols = 256;
  const int64_t nb = (n + kCols - 1) / kCols;
  run_parallel(nb, grain_for(nc * kCols, kGrainCheap), [&](int64_t b0, int64_t b1) {
    LETHE_SIMD(norm_combine, part, nc, stride, b0 * kCols, std::min(n, b1 * kCols), out);
  });
}

}  // namespace

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         float* gx, float* gw, float* gb, int64_t rows, int64_t n) {
  if (n <= 0) return;
  if (rows <= 0) {
    std::fill(gw, gw + n, 0.f);
    if (gb) std::fill(gb, gb + n, 0.f);
    return;
  }
  const int64_t cr = norm_chunk_rows(rows, n);
  const int64_t nc = (rows + cr - 1) / cr;
  float* part = norm_partials<float>(nc * 2 * n);  // chunk c: gw partial, gb partial, n floats each
  run_parallel(nc, grain_for(cr * n, kGrainCheap), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      float* pw = part + c * 2 * n;
      LETHE_SIMD(layer_norm_backward_chunk, x, w, mean, rstd, gy, gx, c * cr, std::min(rows, (c + 1) * cr), rows, n,
                 pw, pw + n);
    }
  });
  norm_combine_all(part, nc, 2 * n, n, gw);
  if (gb) norm_combine_all(part + n, nc, 2 * n, n, gb);
}

void rms_norm(const float* x, const float* w, float* out, float* rstd, int64_t rows, int64_t n, double eps) {
  run_parallel(rows, grain_for(n, kGrainCheap),
               [&](int64_t r0, int64_t r1) { LETHE_SIMD(rms_norm_rows, x, w, out, rstd, r0, r1, n, eps); });
}

void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy, float* gx, float* gw,
                       int64_t rows, int64_t n) {
  if (n <= 0) return;
  if (rows <= 0) {
    std::fill(gw, gw + n, 0.f);
    return;
  }
  const int64_t cr = norm_chunk_rows(rows, n);
  const int64_t nc = (rows + cr - 1) / cr;
  double* part = norm_partials<double>(nc * 2 * n);  // chunk c: gw partial, w scratch, n doubles each
  run_parallel(nc, grain_for(cr * n, kGrainCheap), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      double* pw = part + c * 2 * n;
      LETHE_SIMD(rms_norm_backward_chunk, x, w, rstd, gy, gx, c * cr, std::min(rows, (c + 1) * cr), rows, n, pw,
                 pw + n);
    }
  });
  norm_combine_all(part, nc, 2 * n, n, gw);
}

void cross_entropy(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t rows, int64_t v,
                   int64_t ignore_index) {
  run_parallel(rows, grain_for(v, kGrainHeavy), [&](int64_t b, int64_t e) {
    LETHE_SIMD(cross_entropy_rows, logits, targets, losses, lse, b, e, v, ignore_index);
  });
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* gloss,
                            float* gx, int64_t rows, int64_t v, int64_t ignore_index) {
  run_parallel(rows, grain_for(v, kGrainHeavy), [&](int64_t b, int64_t e) {
    LETHE_SIMD(cross_entropy_backward_rows, logits, targets, lse, gloss, gx, b, e, v, ignore_index);
  });
}

void embedding(const float* weight, const int32_t* ids, int64_t count, float* out, int64_t d) {
  run_parallel(count, grain_for(d, kGrainCheap), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      std::memcpy(out + i * d, weight + static_cast<int64_t>(ids[i]) * d, static_cast<size_t>(d) * sizeof(float));
    }
  });
}

// Each gw element receives its contributions in id order from one thread: with d >= 64 the threads split the
// columns, otherwise the vocabulary rows. Either way the result equals the sequential one bit for bit.
void embedding_backward(const int32_t* ids, int64_t count, const float* gy, float* gw, int64_t vocab, int64_t d) {
  if (count == 0 || d == 0) return;
  const bool par = count * d > kGrainCheap && pool_size() > 1;
  if (d >= kColBlock || !par) {
    const int64_t nb = (d + kColBlock - 1) / kColBlock;
    run_parallel(par ? nb : 1, 1, [&](int64_t b0, int64_t b1) {
      const int64_t c0 = par ? b0 * kColBlock : 0;
      const int64_t c1 = par ? std::min(d, b1 * kColBlock) : d;
      for (int64_t i = 0; i < count; i++) {
        float* dst = gw + static_cast<int64_t>(ids[i]) * d;
        const float* src = gy + i * d;
        for (int64_t j = c0; j < c1; j++) dst[j] += src[j];
      }
    });
    return;
  }
  const int64_t parts = std::min<int64_t>(vocab, pool_size());
  run_parallel(parts, 1, [&](int64_t p0, int64_t p1) {
    const int64_t lo = vocab * p0 / parts, hi = vocab * p1 / parts;
    for (int64_t i = 0; i < count; i++) {
      const int64_t id = ids[i];
      if (id < lo || id >= hi) continue;
      float* dst = gw + id * d;
      const float* src = gy + i * d;
      for (int64_t j = 0; j < d; j++) dst[j] += src[j];
    }
  });
}

void gather(const float* x, const int32_t* index, float* out, int64_t outer, int64_t n, int64_t m, int64_t inner) {
  run_parallel(outer * m, grain_for(inner, kGrainCheap), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; row++) {
      const int64_t o = row / m;
      const int32_t* idx = index + row * inner;
      float* dst = out + row * inner;
      const float* src = x + o * n * inner;
      for (int64_t i = 0; i < inner; i++) dst[i] = src[static_cast<int64_t>(idx[i]) * inner + i];
    }
  });
}

// Items are (o, column block): each writes only gx[o, :, block], in k order like the TS loop.
void gather_backward(const int32_t* index, const float* gy, float* gx, int64_t outer, int64_t n, int64_t m,
                     int64_t inner) {
  const int64_t nib = (inner + kRedIB - 1) / kRedIB;
  run_parallel(outer * nib, grain_for(m * std::min(inner, kRedIB), kGrainCheap), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; item++) {
      const int64_t o = item / nib, i0 = (item % nib) * kRedIB, i1 = std::min(inner, i0 + kRedIB);
      float* g = gx + o * n * inner;
      for (int64_t k = 0; k < m; k++) {
        const int64_t at = (o * m + k) * inner;
        for (int64_t i = i0; i < i1; i++) g[static_cast<int64_t>(index[at + i]) * inner + i] += gy[at + i];
      }
    }
  });
}

void rope(const float* x, float* out, int64_t bh, int64_t t, int64_t d, const float* cos, const float* sin,
          bool inverse) {
  const float sign = inverse ? -1.f : 1.f;
  run_parallel(bh * t, grain_for(d, kGrainCheap),
               [&](int64_t r0, int64_t r1) { LETHE_SIMD(rope_rows, x, out, r0, r1, t, d, cos, sin, sign); });
}

void attention(const float* q, const float* k, const float* v, float* out, float* lse, const AttnDims& dims) {
  const int64_t nqb = (dims.Tq + kAttnQB - 1) / kAttnQB;
  const int64_t items = dims.B * dims.H * nqb;
  if (items == 0) return;
  const AttnFwdItem it{q, k, v, out, lse, dims};
  const int64_t cost = kAttnQB * std::max<int64_t>(dims.Tk, 1) * std::max<int64_t>(dims.D, 1) * 4;
  run_parallel(items, grain_for(cost, 1 << 18),
               [&](int64_t b0, int64_t b1) { LETHE_SIMD(attn_fwd_run, it, nqb, b0, b1); });
}

void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* gout, float* gq, float* gk, float* gv, const AttnDims& dims) {
  const int64_t items = dims.B * dims.Hkv;
  if (items == 0) return;
  if (dims.Tk == 0 || dims.D == 0) {
    // No keys (or empty rows): every gradient is zero.
    std::memset(gq, 0, static_cast<size_t>(dims.B * dims.H * dims.Tq * dims.D) * sizeof(float));
    std::memset(gk, 0, static_cast<size_t>(dims.B * dims.Hkv * dims.Tk * dims.D) * sizeof(float));
    std::memset(gv, 0, static_cast<size_t>(dims.B * dims.Hkv * dims.Tk * dims.D) * sizeof(float));
    return;
  }
  const AttnBwdItem it{q, k, v, out, lse, gout, gq, gk, gv, dims};
  const int64_t cost = (dims.H / dims.Hkv) * std::max<int64_t>(dims.Tq, 1) * dims.Tk * dims.D * 10;
  run_parallel(items, grain_for(cost, 1 << 18), [&](int64_t b0, int64_t b1) { LETHE_SIMD(attn_bwd_run, it, b0, b1); });
}

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWParams& a) {
  const double decay = 1 - a.lr * a.weight_decay;
  const double step_size = a.lr / a.bc1;
  const double sqrt_bc2 = std::sqrt(a.bc2);
  run_parallel(n, kGrainCheap, [&](int64_t b, int64_t e) {
    LETHE_SIMD(adamw_range, param + b, grad + b, m + b, v + b, e - b, a.beta1, a.beta2, a.eps, decay, step_size,
               sqrt_bc2);
  });
}

void axpy(double alpha, const float* x, float* y, int64_t n) {
  run_parallel(n, kGrainCheap, [&](int64_t b, int64_t e) { LETHE_SIMD(axpy_range, alpha, x + b, y + b, e - b); });
}

double sum_squares(const float* x, int64_t n) {
  const int64_t nch = (n + kRedChunk - 1) / kRedChunk;
  if (nch <= 1) return n > 0 ? LETHE_SIMD(sum_squares_chunk, x, n) : 0.0;
  std::vector<double> part(static_cast<size_t>(nch));
  run_parallel(nch, 2, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      part[c] = LETHE_SIMD(sum_squares_chunk, x + c * kRedChunk, std::min(kRedChunk, n - c * kRedChunk));
    }
  });
  double s = 0;
  for (int64_t c = 0; c < nch; c++) s += part[c];
  return s;
}

bool has_non_finite(const float* x, int64_t n) {
  const int64_t nch = (n + kRedChunk - 1) / kRedChunk;
  if (nch <= 1) return n > 0 && LETHE_SIMD(non_finite_chunk, x, n);
  std::atomic<bool> found{false};
  run_parallel(nch, 2, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e && !found.load(std::memory_order_relaxed); c++) {
      if (LETHE_SIMD(non_finite_chunk, x + c * kRedChunk, std::min(kRedChunk, n - c * kRedChunk))) found.store(true);
    }
  });
  return found.load();
}

const char* simd_level() {
  switch (isa_level()) {
    case 4: return "avx512";
    case 3: return "avx2";
    default: return "portable";
  }
}

}  // namespace lethe
