// The persistent worker pool. Work is always cut into the same tasks whatever the thread count, and
// callers combine task results in task order, so results are bitwise identical for any number of threads.
#pragma once
#include <cstdint>
#include <functional>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <xmmintrin.h>  // MXCSR (SSE, part of the x86-64 baseline)
#endif

namespace fastbce {

// Every task runs in the default floating-point mode (no flush-to-zero / denormals-are-zero), whatever
// the calling thread set: results must not depend on which thread ran a task, nor on a caller's mode.
class DefaultFpMode {
public:
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    DefaultFpMode() : saved_(_mm_getcsr()), change_((saved_ & kControl) != kDefault) {
        if (change_) _mm_setcsr(kDefault);
    }
    ~DefaultFpMode() {
        if (change_) _mm_setcsr(saved_);
    }

private:
    static constexpr unsigned kControl = ~0x3Fu;  // everything but the sticky exception flags
    static constexpr unsigned kDefault = 0x1F80;  // all exceptions masked, round to nearest, no FTZ/DAZ
    unsigned saved_;
    bool change_;
#elif defined(__aarch64__)
    DefaultFpMode() {
        __asm__ volatile("mrs %0, fpcr" : "=r"(saved_));
        if (saved_ != 0) __asm__ volatile("msr fpcr, %0" : : "r"(uint64_t(0)));
    }
    ~DefaultFpMode() {
        if (saved_ != 0) __asm__ volatile("msr fpcr, %0" : : "r"(saved_));
    }

private:
    uint64_t saved_;
#endif
};

// Runs task(0) .. task(n - 1), on the pool when it is free and parallel, else on the calling thread.
void parallel_for(int64_t n, const std::function<void(int64_t)>& task);
int get_num_threads();
// n >= 1; waits for a running job, then resizes the pool lazily.
void set_num_threads(int n);
// Threads this process may use: affinity mask and cgroup CPU quota (FASTBCE_NUM_THREADS overrides).
int default_num_threads();

}  // namespace fastbce
