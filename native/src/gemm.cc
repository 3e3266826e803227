// Packed, cache-blocked SGEMM in the BLIS/GotoBLAS style.
//
// Loop nest for one product C = alpha * op(A) @ op(B) + beta * C (op = optional transpose):
//   for each kc-deep slice of K:
//     for each mc-row block of op(A):
//       pack the block into mr-row slivers (alpha folded in), shared by all threads     [L3]
//       in parallel, each thread owns a range of columns (or of A slivers when N is narrow):
//         for each nc-column block of its range: pack it into nr-column slivers          [L2, per thread]
//           for each A sliver (kept in L1), for each B sliver: micro-kernel on an mr x nr tile of C
// Transposes only change the strides the packing routines read with; the kernels never see them.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "gemm_internal.h"
#include "thread_pool.h"

namespace lethe {
namespace {

using gemm_detail::GemmKernel;
using gemm_detail::MatView;

// ---- Tuning (Zen 4: 32 KiB L1d, 1 MiB L2 per core, shared L3) ----
constexpr int64_t kKc = 384;    // depth of a slice: a 12 x kc A sliver (18 KiB) stays in L1
constexpr int64_t kNc = 480;    // B block per thread: kc x nc floats (720 KiB) stays in L2
constexpr int64_t kMc = 4096;   // A block shared by the threads, streamed from L3
constexpr int64_t kDirectFlops = 32 * 32 * 32;        // M*N*K at or below: plain loops, no packing
constexpr int64_t kThreadFlops = 96 * 96 * 96;        // below: one thread, dispatch would cost more than it saves
constexpr int64_t kBatchSerialFlops = 256 * 256 * 256;  // per product; below: parallelize over the batch
constexpr int kMaxTile = 12 * 32;                     // largest mr * nr of any kernel

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Largest block <= max_block (a multiple of align) that splits n into equal-sized blocks, so the last
// block is not a sliver that runs at a fraction of the speed.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t align) {
  return round_up(ceil_div(n, ceil_div(n, max_block)), align);
}

// ---- Packing buffers: one pair per thread, allocated once and grown on demand ----

class AlignedBuffer {
 public:
  ~AlignedBuffer() { std::free(data_); }
  float* get(int64_t n) {
    if (n > cap_) {
      std::free(data_);
      cap_ = round_up(n, 1024);  // also keeps the byte size a multiple of the alignment
      data_ = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(cap_) * sizeof(float)));
      if (!data_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  int64_t cap_ = 0;
};

struct Workspace {
  AlignedBuffer a;  // the shared A block, owned by the thread that called sgemm
  AlignedBuffer b;  // this thread's B block
};
thread_local Workspace t_ws;

// ---- Kernel selection ----

// Plain C++ tile; 4 x 8 keeps the accumulators in the 16 SSE registers of baseline x86-64 and vectorizes
// on other targets too.
template <int MR, int NR>
void kernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = beta == 0.f ? acc[i][j] : acc[i][j] + beta * c[i * ldc + j];
}

const GemmKernel kPortable{"portable", 4, 8, kernel_portable<4, 8>, gemm_detail::pack_sliver<4>,
                           gemm_detail::pack_sliver<8>};

// Best kernel the CPU supports; LETHE_GEMM_KERNEL=portable|avx2|avx512 forces one (if supported).
const GemmKernel* select_kernel() {
  const GemmKernel* avx512 = gemm_detail::avx512_kernel();
  const GemmKernel* avx2 = gemm_detail::avx2_kernel();
  if (const char* want = std::getenv("LETHE_GEMM_KERNEL")) {
    if (!std::strcmp(want, "portable")) return &kPortable;
    if (!std::strcmp(want, "avx2") && avx2) return avx2;
    if (!std::strcmp(want, "avx512") && avx512) return avx512;
  }
  return avx512 ? avx512 : avx2 ? avx2 : &kPortable;
}

const GemmKernel& active_kernel() {
  static const GemmKernel* k = select_kernel();
  return *k;
}

// ---- One product ----

struct Product {
  MatView a, b;  // op(A): M x K, op(B): K x N
  int64_t M, N, K;
  float alpha, beta;
  float* c;
  int64_t ldc;
};

// beta == 0 writes zeros without reading C, so NaN garbage in C is discarded.
void scale_c(const Product& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* row = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) row[j] = g.beta == 0.f ? 0.f : g.beta * row[j];
  }
}

// Tiny products: packing would cost more than the arithmetic. Accumulates one row of C at a time so the
// inner loop runs along a row of op(B) (contiguous unless B is transposed).
void gemm_direct(const Product& g) {
  constexpr int64_t kCols = 256;
  float acc[kCols];
  for (int64_t i = 0; i < g.M; ++i) {
    for (int64_t j0 = 0; j0 < g.N; j0 += kCols) {
      const int64_t nj = std::min(kCols, g.N - j0);
      std::fill(acc, acc + nj, 0.f);
      for (int64_t p = 0; p < g.K; ++p) {
        const float aip = *g.a.at(i, p).p;
        const MatView brow = g.b.at(p, j0);
        if (brow.cs == 1) {
          for (int64_t j = 0; j < nj; ++j) acc[j] += aip * brow.p[j];
        } else {
          for (int64_t j = 0; j < nj; ++j) acc[j] += aip * brow.p[j * brow.cs];
        }
      }
      float* crow = g.c + i * g.ldc + j0;
      for (int64_t j = 0; j < nj; ++j)
        crow[j] = g.beta == 0.f ? g.alpha * acc[j] : g.alpha * acc[j] + g.beta * crow[j];
    }
  }
}

// Full tiles go straight to C; edge tiles are computed into a scratch tile (the packed slivers are
// zero-padded) and only the valid part is merged into C.
void run_tile(const GemmKernel& kr, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta,
              int64_t rows, int64_t cols) {
  if (rows == kr.mr && cols == kr.nr) {
    kr.kernel(kc, a, b, c, ldc, beta);
    return;
  }
  alignas(64) float tile[kMaxTile];
  kr.kernel(kc, a, b, tile, kr.nr, 0.f);
  for (int64_t i = 0; i < rows; ++i) {
    const float* t = tile + i * kr.nr;
    float* crow = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) crow[j] = beta == 0.f ? t[j] : t[j] + beta * crow[j];
  }
}

// State of one (kc slice, mc block) step, shared read-only by the threads working on it.
struct Block {
  const GemmKernel* kr;
  const Product* g;
  const float* apack;
  int64_t i0, mc;  // rows of op(A) / C in this block
  int64_t p0, kc;  // slice of K
  float beta;      // the caller's beta on the first slice, then 1 (accumulate)
};

void pack_a_slivers(const Block& blk, float* apack, int64_t s0, int64_t s1) {
  const int64_t mr = blk.kr->mr;
  for (int64_t s = s0; s < s1; ++s) {
    blk.kr->pack_a(blk.g->a.at(blk.i0 + s * mr, blk.p0), std::min(mr, blk.mc - s * mr), blk.kc, blk.g->alpha,
                   apack + s * mr * blk.kc);
  }
}

// A slivers [s0, s1) of the block times columns [j0, j1) of C.
void compute_task(const Block& blk, int64_t s0, int64_t s1, int64_t j0, int64_t j1) {
  const GemmKernel& kr = *blk.kr;
  const Product& g = *blk.g;
  const int64_t mr = kr.mr, nr = kr.nr, kc = blk.kc;
  const int64_t ncb = balanced_block(j1 - j0, kNc, nr);
  float* bpack = t_ws.b.get(ncb * kc);
  for (int64_t jb = j0; jb < j1; jb += ncb) {
    const int64_t nc = std::min(ncb, j1 - jb);
    for (int64_t q = 0; q * nr < nc; ++q)
      kr.pack_b(g.b.at(blk.p0, jb + q * nr).t(), std::min(nr, nc - q * nr), kc, 1.f, bpack + q * nr * kc);
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t i = s * mr, rows = std::min(mr, blk.mc - i);
      const float* asl = blk.apack + i * kc;
      float* crow = g.c + (blk.i0 + i) * g.ldc + jb;
      for (int64_t q = 0; q * nr < nc; ++q)
        run_tile(kr, kc, asl, bpack + q * nr * kc, crow + q * nr, g.ldc, blk.beta, rows,
                 std::min(nr, nc - q * nr));
    }
  }
}

// How the threads share a block: tm ranges of A slivers x tn ranges of B slivers. Splitting columns
// duplicates no packing, so it wins ties; rows are split when N is too narrow to keep every thread busy.
struct Split {
  int64_t tm, tn;
};

Split choose_split(int64_t a_slivers, int64_t b_slivers, int threads) {
  Split best{1, 1};
  int64_t best_cost = a_slivers * b_slivers + 1;
  for (int64_t tn = threads; tn >= 1; --tn) {
    if (threads % tn) continue;
    const int64_t tm = threads / tn;
    const int64_t cost = ceil_div(a_slivers, tm) * ceil_div(b_slivers, tn);
    if (cost < best_cost) best = {tm, tn}, best_cost = cost;
  }
  return best;
}

// Part `i` of [0, n) cut into `parts` near-equal contiguous ranges.
int64_t part_begin(int64_t n, int64_t parts, int64_t i) { return n * i / parts; }

template <class Fn>
void run_maybe_parallel(bool threaded, int64_t n, const Fn& fn) {
  if (threaded) {
    parallel_for(n, 1, fn);
  } else {
    fn(0, n);
  }
}

void gemm_blocked(const GemmKernel& kr, const Product& g, bool threaded) {
  const int threads = threaded ? pool_size() : 1;
  threaded = threads > 1;
  const int64_t kcb = balanced_block(g.K, kKc, 1);
  const int64_t mcb = balanced_block(g.M, kMc, kr.mr);
  float* apack = t_ws.a.get(mcb * kcb);
  const int64_t b_slivers = ceil_div(g.N, kr.nr);
  for (int64_t p0 = 0; p0 < g.K; p0 += kcb) {
    for (int64_t i0 = 0; i0 < g.M; i0 += mcb) {
      const Block blk{&kr, &g, apack, i0, std::min(mcb, g.M - i0), p0, std::min(kcb, g.K - p0),
                      p0 == 0 ? g.beta : 1.f};
      const int64_t a_slivers = ceil_div(blk.mc, kr.mr);
      run_maybe_parallel(threaded, a_slivers, [&](int64_t s0, int64_t s1) { pack_a_slivers(blk, apack, s0, s1); });
      const Split sp = choose_split(a_slivers, b_slivers, threads);
      run_maybe_parallel(threaded, sp.tm * sp.tn, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t im = t / sp.tn, in = t % sp.tn;
          const int64_t j0 = part_begin(b_slivers, sp.tn, in) * kr.nr;
          const int64_t j1 = std::min(g.N, part_begin(b_slivers, sp.tn, in + 1) * kr.nr);
          compute_task(blk, part_begin(a_slivers, sp.tm, im), part_begin(a_slivers, sp.tm, im + 1), j0, j1);
        }
      });
    }
  }
}

void gemm_one(const Product& g, bool threaded) {
  const int64_t flops = g.M * g.N * g.K;
  if (g.K == 0 || g.alpha == 0.f) {
    scale_c(g);
  } else if (flops <= kDirectFlops) {
    gemm_direct(g);
  } else {
    gemm_blocked(active_kernel(), g, threaded && flops >= kThreadFlops);
  }
}

}  // namespace

void sgemm_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t strideA,
                   const float* B, int64_t ldb, int64_t strideB,
                   float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  K = std::max<int64_t>(K, 0);
  // A shared op(B) over a batch of row blocks stacked contiguously (activations @ weights) is one taller
  // product, which packs B once and threads better.
  if (batch > 1 && strideB == 0 && !transA && strideA == M * lda && strideC == M * ldc) {
    M *= batch;
    batch = 1;
  }
  const MatView a = transA ? MatView{A, 1, lda} : MatView{A, lda, 1};
  const MatView b = transB ? MatView{B, 1, ldb} : MatView{B, ldb, 1};
  auto product = [&](int64_t i, bool threaded) {
    const Product g{{a.p + i * strideA, a.rs, a.cs}, {b.p + i * strideB, b.rs, b.cs}, M, N, K, alpha, beta,
                    C + i * strideC, ldc};
    gemm_one(g, threaded);
  };
  if (batch > 1 && M * N * K < kBatchSerialFlops) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) product(i, false);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) product(i, true);
  }
}

const char* gemm_kernel_name() { return active_kernel().name; }

}  // namespace lethe
