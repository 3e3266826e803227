#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace lethe {
namespace {

using Fn = std::function<void(int64_t, int64_t)>;
using Clock = std::chrono::steady_clock;

// Workers spin this long after a job before sleeping: back-to-back small ops then skip the futex wake-up
// (tens of microseconds), while an idle pool stops burning CPU almost at once.
constexpr auto kSpinBudget = std::chrono::microseconds(200);

// True on pool workers while they run a chunk and on a caller while it runs its own share: a nested
// parallel_for then runs inline instead of dead-locking on the busy pool.
thread_local bool t_in_task = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The ticket packs (generation << 32 | chunk count << 16 | next unclaimed chunk). Claiming a chunk is one CAS
// on it, which also proves the job is still the one published with that generation: a worker that woke late
// can never run a chunk of a job that already finished, nor read the fields of the next one half-written.
constexpr uint64_t kIdxMask = 0xffff;
constexpr int kMaxThreads = 0xffff;

inline uint32_t ticket_gen(uint64_t t) { return static_cast<uint32_t>(t >> 32); }
inline unsigned ticket_chunks(uint64_t t) { return static_cast<unsigned>((t >> 16) & kIdxMask); }
inline unsigned ticket_next(uint64_t t) { return static_cast<unsigned>(t & kIdxMask); }

class Pool {
 public:
  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int nthreads) {
    std::lock_guard<std::mutex> dispatch(dispatch_mu_);
    nthreads = std::clamp(nthreads, 1, kMaxThreads);
    if (nthreads == size()) return;
    stop_workers();
    const uint32_t gen = ticket_gen(ticket_.load());
    for (int i = 1; i < nthreads; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
    size_.store(nthreads, std::memory_order_relaxed);
  }

  // Returns false (having done nothing) when another thread owns the pool; the caller then runs inline.
  bool try_run(int64_t n, int nchunks, const Fn& fn) {
    std::unique_lock<std::mutex> dispatch(dispatch_mu_, std::try_to_lock);
    if (!dispatch.owns_lock()) return false;
    publish(n, nchunks, fn);
    t_in_task = true;
    claim_and_run();
    t_in_task = false;
    wait_done(nchunks);
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return true;
  }

 private:
  void publish(int64_t n, int nchunks, const Fn& fn) {
    fn_.store(&fn, std::memory_order_relaxed);
    n_.store(n, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ticket_gen(ticket_.load(std::memory_order_relaxed)) + 1u;
    // seq_cst store/load pair with the sleeper's increment-then-check: either we see it asleep and notify,
    // or it sees the new generation before waiting.
    ticket_.store(gen << 32 | static_cast<uint64_t>(nchunks) << 16);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      sleep_cv_.notify_all();
    }
  }

  void claim_and_run() {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    while (ticket_next(t) < ticket_chunks(t)) {
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        continue;
      }
      run_chunk(ticket_next(t), ticket_chunks(t));
      done_.fetch_add(1, std::memory_order_release);
      t = ticket_.load(std::memory_order_acquire);
    }
  }

  void run_chunk(unsigned idx, unsigned nchunks) {
    const int64_t n = n_.load(std::memory_order_relaxed);
    const int64_t begin = n * idx / nchunks, end = n * (idx + 1) / nchunks;
    try {
      (*fn_.load(std::memory_order_relaxed))(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  // The other threads are busy on their chunks, so the caller spins; it yields once the wait gets long in
  // case a worker was descheduled (oversubscribed machine).
  void wait_done(int nchunks) {
    const auto start = Clock::now();
    for (unsigned spins = 0; done_.load(std::memory_order_acquire) < nchunks; ++spins) {
      cpu_relax();
      if ((spins & 63) == 0 && Clock::now() - start > kSpinBudget) std::this_thread::yield();
    }
  }

  void worker_loop(uint32_t seen) {
    t_in_task = true;
    while (wait_for_job(seen)) {
      seen = ticket_gen(ticket_.load(std::memory_order_acquire));
      claim_and_run();
    }
  }

  bool has_news(uint32_t seen) const {
    return ticket_gen(ticket_.load(std::memory_order_acquire)) != seen || stop_.load(std::memory_order_relaxed);
  }

  // Returns false when the pool is stopping.
  bool wait_for_job(uint32_t seen) {
    const auto start = Clock::now();
    for (unsigned spins = 0; !has_news(seen); ++spins) {
      cpu_relax();
      if ((spins & 31) == 0 && Clock::now() - start > kSpinBudget) {
        std::unique_lock<std::mutex> lock(sleep_mu_);
        sleepers_.fetch_add(1);
        sleep_cv_.wait(lock, [&] { return ticket_gen(ticket_.load()) != seen || stop_.load(); });
        sleepers_.fetch_sub(1);
        break;
      }
    }
    return !stop_.load();
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      stop_.store(true);
      sleep_cv_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
    size_.store(1, std::memory_order_relaxed);
    stop_.store(false);
  }

  std::atomic<uint64_t> ticket_{0};
  std::atomic<const Fn*> fn_{nullptr};
  std::atomic<int64_t> n_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> size_{1};  // readable without the dispatch lock
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::mutex error_mu_;
  std::exception_ptr error_;
  std::mutex dispatch_mu_;  // one external caller at a time; a concurrent one runs inline
  std::vector<std::thread> workers_;
};

// Never destroyed: joining workers from a static destructor at process exit (or addon unload) can deadlock,
// and the OS reclaims the threads anyway.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void pool_init(int nthreads) { pool().resize(nthreads); }

int pool_size() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t nchunks = std::min<int64_t>(pool_size(), n / grain);
  if (nchunks <= 1 || t_in_task || !pool().try_run(n, static_cast<int>(nchunks), fn)) fn(0, n);
}

}  // namespace lethe
