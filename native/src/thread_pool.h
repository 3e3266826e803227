#pragma once
#include <cstdint>
#include <functional>

namespace lethe {

// Start the persistent pool once (idempotent; later calls with another n may resize). n >= 1 total workers
// counting the calling thread.
void pool_init(int nthreads);
int pool_size();

// Run fn(begin, end) over [0, n) split into contiguous chunks of at least `grain` items, spread over the pool
// threads plus the calling thread; returns when all chunks are done. If n <= grain or the pool has 1 thread,
// or if called from inside a pool task (nesting), it runs fn(0, n) inline on the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace lethe
