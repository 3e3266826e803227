// Packed, cache-blocked SGEMM in the BLIS/GotoBLAS style.
//
// Loop nest for one product C = alpha * op(A) @ op(B) + beta * C (op = optional transpose):
//   for each mc-row block of op(A) (usually all of M), one parallel region; each thread owns a range of
//   columns (or of A slivers when N is narrow) and runs:
//     for each kc-deep slice of K:
//       for each nc-column block of its range: pack it into nr-column slivers           [L2, per thread]
//         for each group of A slivers: pack it if no thread has yet (alpha folded in)    [L3, shared]
//           for each A sliver (kept in L1), for each B sliver: micro-kernel on an mr x nr tile of C
// Transposes only change the strides the packing routines read with; the kernels never see them.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "gemm_internal.h"
#include "thread_pool.h"

namespace lethe {
namespace {

using gemm_detail::GemmKernel;
using gemm_detail::MatView;
using gemm_detail::Product;

// ---- Tuning (Zen 4: 32 KiB L1d, 1 MiB L2 per core, shared L3) ----
constexpr int64_t kKc = 512;    // depth of a slice: a 12 x kc A sliver (24 KiB) stays in L1
constexpr int64_t kNc = 256;    // B block per thread: kc x nc floats (512 KiB) stays in L2
constexpr int64_t kMc = 2048;   // rows of the A block shared by the threads, streamed from L3
constexpr int64_t kMaxPackedA = int64_t{1} << 22;  // floats (16 MiB) in the packed A block (all of K)
constexpr int64_t kGroupSlivers = 4;  // A slivers packed per claim: ~2 us of packing, a few claims per thread
constexpr int64_t kThreadFlops = 48 * 48 * 48;        // M*N*K below: one thread (dispatch costs ~1 us)
constexpr int64_t kBatchSerialFlops = 256 * 256 * 256;  // see sgemm_batched

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

void direct_portable(const Product& g, int64_t i0, int64_t rows, int64_t j0, int64_t j1, float* scratch) {
  gemm_detail::direct_tile(g, i0, rows, j0, j1, scratch);
}

const GemmKernel kPortable{"portable", 4, 8, kernel_portable<4, 8>, gemm_detail::pack_sliver<4>,
                           gemm_detail::pack_sliver<8>, direct_portable};

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

// bf16 products use the AVX512-BF16 kernel unless the CPU lacks it or LETHE_GEMM_KERNEL names an f32 kernel;
// then the f32 kernel runs on rounded operands.
const GemmKernel& bf16_kernel() {
  static const GemmKernel* k = [] {
    const GemmKernel* hw = gemm_detail::avx512_bf16_kernel();
    const char* want = std::getenv("LETHE_GEMM_KERNEL");
    const bool forced_f32 = want && *want && std::strcmp(want, "avx512-bf16") != 0;
    return hw && !forced_f32 ? hw : &active_kernel();
  }();
  return *k;
}

const GemmKernel& kernel_for(const Product& g) { return g.bf16 ? bf16_kernel() : active_kernel(); }

// After an f32 kernel's packing, for bf16 products: the packed operands rounded in place.
void round_packed(const GemmKernel& kr, const Product& g, float* p, int64_t n) {
  if (!g.bf16 || kr.bf16_pairs) return;
  for (int64_t i = 0; i < n; ++i) p[i] = gemm_detail::round_bf16(p[i]);
}

// ---- One product ----

// beta == 0 writes zeros without reading C, so NaN garbage in C is discarded.
void scale_c(const Product& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* row = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) row[j] = g.beta == 0.f ? 0.f : g.beta * row[j];
  }
}

// The unpacked path, threaded over blocks of kDirectRows rows x kDirectCols columns of C.
void gemm_direct(const GemmKernel& kr, const Product& g, bool threaded) {
  using gemm_detail::kDirectCols;
  using gemm_detail::kDirectRows;
  const int64_t row_blocks = ceil_div(g.M, kDirectRows), col_blocks = ceil_div(g.N, kDirectCols);
  auto blocks = [&](int64_t t0, int64_t t1) {
    float* scratch = t_ws.b.get(kDirectRows * g.K);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = t / col_blocks * kDirectRows, j0 = t % col_blocks * kDirectCols;
      kr.direct(g, i0, std::min<int64_t>(kDirectRows, g.M - i0), j0, std::min(g.N, j0 + kDirectCols), scratch);
    }
  };
  if (threaded) {
    parallel_for(row_blocks * col_blocks, 1, blocks);
  } else {
    blocks(0, row_blocks * col_blocks);
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
  alignas(64) float tile[gemm_detail::kMaxTile];
  kr.kernel(kc, a, b, tile, kr.nr, 0.f);
  for (int64_t i = 0; i < rows; ++i) {
    const float* t = tile + i * kr.nr;
    float* crow = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) crow[j] = beta == 0.f ? t[j] : t[j] + beta * crow[j];
  }
}

// One mc-row block of C over all of K, shared by the threads working on it. Its A slivers are packed on
// demand, a group at a time, by whichever thread needs a group first (the others wait only while a group is
// being packed), so one fork-join covers the whole block and packing overlaps with compute.
struct Block {
  const GemmKernel* kr;
  const Product* g;
  int64_t i0, mc;      // rows of op(A) / C
  int64_t kcb;         // depth of a K slice (the last one may be shorter)
  int64_t slivers;     // mr-row A slivers in the block
  int64_t groups;      // ceil(slivers / kGroupSlivers)
  float* apack;        // slice s starts at apack + s * slivers * mr * kcb
  std::atomic<uint8_t>* state;  // per (slice, group): kUnpacked -> kPacking -> kReady
};

enum : uint8_t { kUnpacked, kPacking, kReady };

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int64_t slice_depth(const Block& blk, int64_t slice) { return std::min(blk.kcb, blk.g->K - slice * blk.kcb); }

float* a_sliver(const Block& blk, int64_t slice, int64_t s) {
  return blk.apack + (slice * blk.slivers * blk.kcb + s * slice_depth(blk, slice)) * blk.kr->mr;
}

void ensure_packed(const Block& blk, int64_t slice, int64_t grp) {
  std::atomic<uint8_t>& st = blk.state[slice * blk.groups + grp];
  if (st.load(std::memory_order_acquire) == kReady) return;
  uint8_t expected = kUnpacked;
  if (st.compare_exchange_strong(expected, kPacking, std::memory_order_acquire)) {
    const int64_t mr = blk.kr->mr, kc = slice_depth(blk, slice);
    const int64_t s1 = std::min(blk.slivers, (grp + 1) * kGroupSlivers);
    for (int64_t s = grp * kGroupSlivers; s < s1; ++s) {
      blk.kr->pack_a(blk.g->a.at(blk.i0 + s * mr, slice * blk.kcb), std::min(mr, blk.mc - s * mr), kc,
                     blk.g->alpha, a_sliver(blk, slice, s));
      round_packed(*blk.kr, *blk.g, a_sliver(blk, slice, s), mr * kc);
    }
    st.store(kReady, std::memory_order_release);
    return;
  }
  while (st.load(std::memory_order_acquire) != kReady) spin_pause();
}

// One thread's share of a block: A slivers [s0, s1) x columns [j0, j1) of C, over all of K. It walks its
// sliver groups starting at `rotation` so threads sharing the same slivers begin with different groups.
void compute_task(const Block& blk, int64_t s0, int64_t s1, int64_t j0, int64_t j1, int64_t rotation) {
  if (s0 >= s1 || j0 >= j1) return;
  const GemmKernel& kr = *blk.kr;
  const Product& g = *blk.g;
  const int64_t mr = kr.mr, nr = kr.nr;
  const int64_t ncb = balanced_block(j1 - j0, kNc, nr);
  float* bpack = t_ws.b.get(ncb * blk.kcb);
  const int64_t g0 = s0 / kGroupSlivers, ngroups = ceil_div(s1, kGroupSlivers) - g0;
  for (int64_t slice = 0; slice * blk.kcb < g.K; ++slice) {
    const int64_t p0 = slice * blk.kcb, kc = slice_depth(blk, slice);
    // Later slices accumulate; a bias is C's starting value, written into each tile just before its first slice.
    const float beta = slice == 0 && !g.bias ? g.beta : 1.f;
    for (int64_t jb = j0; jb < j1; jb += ncb) {
      const int64_t nc = std::min(ncb, j1 - jb);
      for (int64_t q = 0; q * nr < nc; ++q) {
        kr.pack_b(g.b.at(p0, jb + q * nr).t(), std::min(nr, nc - q * nr), kc, 1.f, bpack + q * nr * kc);
        round_packed(kr, g, bpack + q * nr * kc, nr * kc);
      }
      for (int64_t n = 0; n < ngroups; ++n) {
        const int64_t grp = g0 + (n + rotation) % ngroups;
        ensure_packed(blk, slice, grp);
        const int64_t sb = std::max(s0, grp * kGroupSlivers), se = std::min(s1, (grp + 1) * kGroupSlivers);
        for (int64_t s = sb; s < se; ++s) {
          const int64_t i = s * mr;
          float* crow = g.c + (blk.i0 + i) * g.ldc + jb;
          for (int64_t q = 0; q * nr < nc; ++q) {
            const int64_t rows = std::min(mr, blk.mc - i), cols = std::min(nr, nc - q * nr);
            if (slice == 0 && g.bias) {
              for (int64_t r = 0; r < rows; ++r)
                std::memcpy(crow + r * g.ldc + q * nr, g.bias + jb + q * nr, static_cast<size_t>(cols) * sizeof(float));
            }
            run_tile(kr, kc, a_sliver(blk, slice, s), bpack + q * nr * kc, crow + q * nr, g.ldc, beta, rows, cols);
          }
        }
      }
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
  // More parts than slivers would only leave threads without work.
  return {std::min(best.tm, a_slivers), std::min(best.tn, b_slivers)};
}

// Part `i` of [0, n) cut into `parts` near-equal contiguous ranges.
int64_t part_begin(int64_t n, int64_t parts, int64_t i) { return n * i / parts; }

void gemm_blocked(const GemmKernel& kr, const Product& g, bool threaded) {
  const int threads = threaded ? pool_size() : 1;
  // bf16 pairs take half the bytes per k, so a slice can be twice as deep for the same cache footprint, and an
  // even depth keeps every slice but the last free of a zero-padded pair.
  const int64_t kcb = kr.bf16_pairs ? balanced_block(g.K, 2 * kKc, 2) : balanced_block(g.K, kKc, 1);
  // The packed A block holds all of K, so cap its rows to bound the buffer.
  const int64_t mcb = balanced_block(g.M, std::max<int64_t>(kr.mr, std::min(kMc, kMaxPackedA / g.K)), kr.mr);
  const int64_t max_slivers = mcb / kr.mr;
  float* apack = t_ws.a.get(mcb * g.K);
  const int64_t slices = ceil_div(g.K, kcb);
  std::vector<std::atomic<uint8_t>> state(slices * ceil_div(max_slivers, kGroupSlivers));
  const int64_t b_slivers = ceil_div(g.N, kr.nr);
  for (int64_t i0 = 0; i0 < g.M; i0 += mcb) {
    const int64_t mc = std::min(mcb, g.M - i0), slivers = ceil_div(mc, kr.mr);
    const Block blk{&kr, &g, i0, mc, kcb, slivers, ceil_div(slivers, kGroupSlivers), apack, state.data()};
    for (auto& st : state) st.store(kUnpacked, std::memory_order_relaxed);
    const Split sp = choose_split(slivers, b_slivers, threads);
    auto task = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t im = t / sp.tn, in = t % sp.tn;
        const int64_t s0 = part_begin(slivers, sp.tm, im), s1 = part_begin(slivers, sp.tm, im + 1);
        const int64_t j0 = part_begin(b_slivers, sp.tn, in) * kr.nr;
        const int64_t j1 = std::min(g.N, part_begin(b_slivers, sp.tn, in + 1) * kr.nr);
        compute_task(blk, s0, s1, j0, j1, ceil_div(s1 - s0, kGroupSlivers) * in / sp.tn);
      }
    };
    if (threads > 1) {
      parallel_for(sp.tm * sp.tn, 1, task);
    } else {
      task(0, 1);
    }
  }
}

// With only a few rows (GEMV-like), or a few columns of a transposed B (each a contiguous dot product),
// the micro-tile would be mostly padding and packing B would cost as much as the arithmetic.
bool prefer_direct(const Product& g) {
  return g.M <= gemm_detail::kDirectRows || (g.b.rs == 1 && g.N <= gemm_detail::kDirectRows);
}

// C's rows set to the bias, and the product that then adds to them (the paths that do not write the bias per tile).
Product with_bias_in_c(const Product& g) {
  for (int64_t i = 0; i < g.M; ++i) std::memcpy(g.c + i * g.ldc, g.bias, static_cast<size_t>(g.N) * sizeof(float));
  Product p = g;
  p.beta = 1.f;
  p.bias = nullptr;
  return p;
}

void gemm_one(const Product& given, bool threaded) {
  const GemmKernel& kr = kernel_for(given);
  const bool blocked = !(given.K == 0 || given.alpha == 0.f || prefer_direct(given));
  const Product g = given.bias && !blocked ? with_bias_in_c(given) : given;
  threaded = threaded && g.M * g.N * g.K >= kThreadFlops;
  if (g.K == 0 || g.alpha == 0.f) {
    scale_c(g);
  } else if (prefer_direct(g)) {
    gemm_direct(kr, g, threaded);
  } else {
    gemm_blocked(kr, g, threaded);
  }
}

}  // namespace

void sgemm_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t strideA,
                   const float* B, int64_t ldb, int64_t strideB,
                   float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch, const float* bias,
                   bool bf16) {
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
                    C + i * strideC, ldc, bias, bf16};
    gemm_one(g, threaded);
  };
  // Threads take whole products when each is too small to split, or when there are enough of them to
  // balance; otherwise the products run one after another, each split over the threads.
  const int64_t flops = M * N * K;
  if (batch > 1 && (flops < kThreadFlops || (flops < kBatchSerialFlops && batch >= 2 * pool_size()))) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) product(i, false);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) product(i, true);
  }
}

const char* gemm_kernel_name() { return active_kernel().name; }

const char* gemm_bf16_kernel_name() { return bf16_kernel().name; }

}  // namespace lethe
