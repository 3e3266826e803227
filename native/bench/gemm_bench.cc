// GFLOP/s of lethe::sgemm_batched on the shapes below; torch_bench.py runs the same shapes through PyTorch
// and drives the comparison. Usage: gemm_bench [threads [shape names...]]. Prints "name gflops" lines.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../src/gemm.h"
#include "../src/thread_pool.h"

namespace {

struct Shape {
  const char* name;
  bool ta, tb;
  int64_t M, N, K, batch;
};

// Keep in sync with SHAPES in torch_bench.py.
const Shape kShapes[] = {
    {"nn_64", false, false, 64, 64, 64, 1},
    {"nn_128", false, false, 128, 128, 128, 1},
    {"nn_256", false, false, 256, 256, 256, 1},
    {"nn_512", false, false, 512, 512, 512, 1},
    {"nn_1024", false, false, 1024, 1024, 1024, 1},
    {"nn_2048", false, false, 2048, 2048, 2048, 1},
    {"tn_1024", true, false, 1024, 1024, 1024, 1},
    {"nt_1024", false, true, 1024, 1024, 1024, 1},
    {"fwd_4096x768x2304", false, false, 4096, 2304, 768, 1},      // X @ W
    {"dX_4096x2304x768", false, true, 4096, 768, 2304, 1},        // dY @ W^T
    {"dW_768x4096x2304", true, false, 768, 2304, 4096, 1},        // X^T @ dY
    {"attn_qk_48x128x64", false, true, 128, 128, 64, 48},         // Q @ K^T per head
    {"attn_pv_48x128x128", false, false, 128, 64, 128, 48},       // P @ V per head
    {"gemv_1x4096x4096", false, false, 1, 4096, 4096, 1},        // x @ W
    {"gemv_t_1x4096x4096", false, true, 1, 4096, 4096, 1},       // x @ W^T
    {"matvec_4096x1x4096", false, false, 4096, 1, 4096, 1},      // W @ x
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double bench(const Shape& s) {
  const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  std::vector<float> A(s.M * s.K * s.batch), B(s.K * s.N * s.batch), C(s.M * s.N * s.batch);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
  auto run = [&] {
    lethe::sgemm_batched(s.ta, s.tb, s.M, s.N, s.K, 1.f, A.data(), lda, s.M * s.K, B.data(), ldb, s.K * s.N, 0.f,
                         C.data(), s.N, s.M * s.N, s.batch);
  };
  for (int i = 0; i < 3; ++i) run();  // warm caches, pool and packing buffers
  double best = 1e30, total = 0;
  for (int rep = 0; rep < 10 || (total < 1.0 && rep < 10000); ++rep) {
    const auto t = std::chrono::steady_clock::now();
    run();
    const double dt = seconds_since(t);
    best = std::min(best, dt);
    total += dt;
  }
  return 2.0 * s.M * s.N * s.K * s.batch / best / 1e9;
}

bool selected(const Shape& s, int argc, char** argv) {
  if (argc <= 2) return true;
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], s.name)) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  lethe::pool_init(argc > 1 ? std::atoi(argv[1]) : 2);
  std::fprintf(stderr, "kernel=%s threads=%d\n", lethe::gemm_kernel_name(), lethe::pool_size());
  for (const Shape& s : kShapes)
    if (selected(s, argc, argv)) std::printf("%s %.1f\n", s.name, bench(s));
}
