// The persistent worker pool. Work is always cut into the same tasks whatever the thread count, and
// callers combine task results in task order, so results are bitwise identical for any number of threads.
#pragma once
#include <cstdint>
#include <functional>

namespace fastbce {

// Runs task(0) .. task(n - 1), on the pool when it is free and parallel, else on the calling thread.
void parallel_for(int64_t n, const std::function<void(int64_t)>& task);
int get_num_threads();
// n >= 1; waits for a running job, then resizes the pool lazily.
void set_num_threads(int n);
// Threads this process may use: affinity mask and cgroup CPU quota (FASTBCE_NUM_THREADS overrides).
int default_num_threads();

}  // namespace fastbce
