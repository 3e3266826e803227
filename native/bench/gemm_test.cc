// Checks lethe::sgemm_batched against a double-precision reference, and lethe::parallel_for's contract.
// Usage: gemm_test [threads]   (LETHE_GEMM_KERNEL=portable|avx2|avx512 picks the kernel)
// Every case also checks that nothing outside the M x N part of each C_b (row padding, batch gaps) changed.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <random>
#include <stdexcept>
#include <vector>

#include "../src/gemm.h"
#include "../src/thread_pool.h"

namespace {

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t batch = 1;
  bool bcast_a = false, bcast_b = false;
  int64_t pad = 0;     // extra floats per row (non-tight leading dimensions)
  bool tight = false;  // batch strides exactly M*ld (lets the stacked-rows fast path kick in)
};

std::mt19937 rng(1234);

float uniform() { return std::uniform_real_distribution<float>(-1.f, 1.f)(rng); }

// Strided operand: rows x cols with leading dimension ld, `batch` copies `stride` apart.
struct Operand {
  int64_t rows, cols, ld, stride;
  std::vector<float> data;
  Operand(int64_t r, int64_t c, int64_t pad, int64_t batch, bool bcast, bool tight)
      : rows(r), cols(c), ld(c + pad), stride(bcast ? 0 : r * (c + pad) + (tight ? 0 : 5)) {
    data.resize(static_cast<size_t>(std::max<int64_t>(1, stride * (batch - 1) + r * ld)));
    for (auto& x : data) x = uniform();
  }
  // Element (i, p) of op(X_b), where op transposes when `trans`.
  double at(int64_t b, bool trans, int64_t i, int64_t p) const {
    return trans ? data[b * stride + p * ld + i] : data[b * stride + i * ld + p];
  }
};

bool same_bits(float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; }

bool run_case(const Case& c) {
  const Operand A(c.ta ? c.K : c.M, c.ta ? c.M : c.K, c.pad, c.batch, c.bcast_a, c.tight);
  const Operand B(c.tb ? c.N : c.K, c.tb ? c.K : c.N, c.pad, c.batch, c.bcast_b, c.tight);
  const int64_t ldc = c.N + c.pad, strideC = c.M * ldc + (c.tight ? 0 : 3);
  std::vector<float> C(static_cast<size_t>(std::max<int64_t>(1, strideC * c.batch + 8)));
  for (auto& x : C) x = uniform();
  std::vector<char> inside(C.size(), 0);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) {
        const size_t idx = b * strideC + i * ldc + j;
        inside[idx] = 1;
        if (c.beta == 0.f) C[idx] = NAN;  // must be ignored
      }
  const std::vector<float> C0 = C;

  lethe::sgemm_batched(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data.data(), A.ld, A.stride, B.data.data(), B.ld,
                       B.stride, c.beta, C.data(), ldc, strideC, c.batch);

  double max_err = 0, max_ref = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) {
        double ref = 0;
        for (int64_t p = 0; p < c.K; ++p) ref += A.at(b, c.ta, i, p) * B.at(b, c.tb, p, j);
        const size_t idx = b * strideC + i * ldc + j;
        ref = c.alpha * ref + (c.beta == 0.f ? 0.0 : c.beta * static_cast<double>(C0[idx]));
        const double err = std::fabs(ref - C[idx]);
        max_err = std::isnan(err) ? INFINITY : std::max(max_err, err);
        max_ref = std::max(max_ref, std::fabs(ref));
      }
  int64_t clobbered = 0;
  for (size_t idx = 0; idx < C.size(); ++idx) clobbered += !inside[idx] && !same_bits(C[idx], C0[idx]);

  const double rel = max_err / std::max(max_ref, 1e-30);
  const bool ok = rel <= 1e-5 && clobbered == 0;
  if (!ok) {
    std::printf("FAIL ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g batch=%lld bcastA=%d bcastB=%d pad=%lld "
                "tight=%d: rel err %.3g, %lld elements outside C clobbered\n",
                c.ta, c.tb, (long long)c.M, (long long)c.N, (long long)c.K, c.alpha, c.beta, (long long)c.batch,
                c.bcast_a, c.bcast_b, (long long)c.pad, c.tight, rel, (long long)clobbered);
  }
  return ok;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const int64_t small[] = {0, 1, 7, 17, 63, 64, 65, 100};
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    // Every combination of small sizes: tiles smaller than, equal to and just past the micro-tile.
    for (int64_t M : small)
      for (int64_t N : small)
        for (int64_t K : small) cases.push_back({ta, tb, M, N, K, 1.f, 0.f, 1, false, false, (M + N + K) % 2 * 3});
    // alpha / beta variants on odd shapes, including skinny ones big enough to be threaded.
    const int64_t shapes[][3] = {{257, 257, 257}, {65, 100, 17}, {1, 257, 300}, {300, 1, 257}, {7, 1000, 13},
                                 {1000, 33, 520}, {2, 3, 4000}, {3, 300, 500}, {1000, 3, 200}, {4, 2000, 100},
                                 {1000, 5, 300}};
    const float ab[][2] = {{1.f, 0.f}, {0.5f, 1.f}, {-1.5f, 0.25f}, {0.f, 2.f}, {2.f, 0.f}};
    for (const auto& s : shapes)
      for (const auto& v : ab) cases.push_back({ta, tb, s[0], s[1], s[2], v[0], v[1], 1, false, false, 3});
    // Several K slices, several column blocks per thread, several row blocks.
    cases.push_back({ta, tb, 600, 700, 900, 1.f, 1.f});
    cases.push_back({ta, tb, 130, 1100, 800, 0.75f, 0.f, 1, false, false, 1});
    cases.push_back({ta, tb, 4500, 40, 50, 1.f, 0.5f});
    // Batches: independent, broadcast A or B, parallel over the batch (small) and serial (large).
    cases.push_back({ta, tb, 17, 65, 100, 1.f, 0.f, 3, false, false, 2});
    cases.push_back({ta, tb, 64, 64, 64, 1.f, 1.f, 5, true, false, 1});
    cases.push_back({ta, tb, 63, 7, 65, 0.5f, 0.f, 4, false, true, 0});
    cases.push_back({ta, tb, 300, 300, 300, 1.f, 0.25f, 2, false, true, 1});
    cases.push_back({ta, tb, 50, 70, 90, 1.f, 0.f, 4, false, true, 0, true});  // stacked-rows fast path
    cases.push_back({ta, tb, 5, 3, 0, 1.f, 0.5f, 2});                           // K == 0: C = beta * C
  }
  return cases;
}

// Every index of [0, n) visited exactly once, in at most pool_size() chunks of at least `grain` items
// (n <= grain: one inline call; n == 0: none).
bool pool_covers(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int> calls{0}, short_chunks{0};
  lethe::parallel_for(n, grain, [&](int64_t b, int64_t e) {
    calls++;
    if (e - b < grain && !(b == 0 && e == n)) short_chunks++;
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits)
    if (h != 1) return false;
  const bool calls_ok = n == 0 ? calls == 0 : n <= grain ? calls == 1 : calls >= 1 && calls <= lethe::pool_size();
  return short_chunks == 0 && calls_ok;
}

// A nested parallel_for runs inline on the calling task: one call covering everything.
bool pool_nests_inline() {
  std::atomic<int> inner_calls{0}, bad{0};
  lethe::parallel_for(64, 1, [&](int64_t, int64_t) {
    lethe::parallel_for(1000, 1, [&](int64_t b, int64_t e) {
      inner_calls++;
      if (b != 0 || e != 1000) bad++;
    });
  });
  return bad == 0 && inner_calls >= 1;
}

bool pool_rethrows() {
  try {
    lethe::parallel_for(1000, 1, [](int64_t b, int64_t) {
      if (b > 0 || lethe::pool_size() == 1) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    return true;
  }
  return false;
}

int pool_failures(int threads) {
  int failed = 0;
  for (int64_t n : {0, 1, 2, 3, 7, 100, 10007})
    for (int64_t grain : {1, 2, 5, 64, 20000}) failed += !pool_covers(n, grain);
  failed += !pool_nests_inline();
  failed += !pool_rethrows();
  lethe::pool_init(threads + 1);  // resize up and back
  failed += !pool_covers(1000, 1) || lethe::pool_size() != threads + 1;
  lethe::pool_init(threads);
  failed += !pool_covers(1000, 1) || lethe::pool_size() != threads;
  if (failed) std::printf("FAIL: %d thread pool checks\n", failed);
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  lethe::pool_init(threads);
  int passed = 0, failed = 0;
  (pool_failures(threads) ? failed : passed)++;
  for (const Case& c : all_cases()) (run_case(c) ? passed : failed)++;
  std::printf("kernel=%s threads=%d\n%d passed, %d failed\n", lethe::gemm_kernel_name(), lethe::pool_size(), passed,
              failed);
  return failed ? 1 : 0;
}
