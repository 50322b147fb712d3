#include "threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace fastbce {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

// Spins (up to kSpin) until done() holds; false if it never did. Waking a sleeping thread costs tens of
// microseconds, so workers and the caller poll briefly first: back-to-back calls then never sleep.
constexpr std::chrono::microseconds kSpin{100};
template <class Done>
bool spin_until(Done done) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (done()) return true;
            cpu_relax();
        }
        if (std::chrono::steady_clock::now() > until) return done();
    }
}

#if defined(__linux__)
// cgroup v2 "cpu.max" ("max 100000" or "200000 100000") or v1 cfs quota/period; 0 when unlimited.
int cgroup_cpu_limit() {
    long long quota = -1, period = 0;
    std::ifstream v2("/sys/fs/cgroup/cpu.max");
    std::string q;
    if (v2 >> q >> period) {
        if (q == "max") return 0;
        quota = std::atoll(q.c_str());
    } else {
        std::ifstream qf("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), pf("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
        if (!(qf >> quota) || !(pf >> period)) return 0;
    }
    if (quota <= 0 || period <= 0) return 0;
    return int((quota + period - 1) / period);
}
#endif

int machine_threads() {
    int n = 0;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
    const int limit = cgroup_cpu_limit();
    if (limit > 0 && (n == 0 || limit < n)) n = limit;
#endif
    if (n <= 0) n = int(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

class Pool {
public:
    explicit Pool(int threads) : threads_(threads) {}

    int threads() const { return threads_.load(); }

    void resize(int n) {
        std::lock_guard<std::mutex> run(run_mutex_);
        stop_workers();
        threads_ = n;
    }

    void run(int64_t n, const std::function<void(int64_t)>& task) {
        std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
        if (!run.owns_lock() || threads_ <= 1 || n <= 1) {  // busy or serial: the same tasks, in order
            for (int64_t i = 0; i < n; ++i) task(i);
            return;
        }
        if (workers_.empty()) start_workers();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            task_ = &task;
            total_ = n;
            next_.store(0);
            busy_.store(int(workers_.size()));
            generation_.fetch_add(1, std::memory_order_release);  // publishes task_ to spinning workers
        }
        wake_.notify_all();
        drain(task);
        if (!spin_until([this] { return busy_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [this] { return busy_.load() == 0; });
        }
        task_ = nullptr;
    }

    // After fork() only the forking thread exists: forget the parent's workers without touching them.
    void forget_workers_after_fork() {
        new (&run_mutex_) std::mutex();
        new (&mutex_) std::mutex();
        new (&wake_) std::condition_variable();
        new (&done_) std::condition_variable();
        new std::vector<std::thread>(std::move(workers_));  // leaked on purpose: the threads are gone
        workers_.clear();
        task_ = nullptr;
        busy_.store(0);
        stop_.store(false);
    }

private:
    void drain(const std::function<void(int64_t)>& task) {
        for (int64_t i; (i = next_.fetch_add(1)) < total_;) task(i);
    }

    void start_workers() {
        stop_.store(false);
        // Each worker starts from the generation before the first job, however late the OS schedules it.
        for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, g = generation_.load()] { worker(g); });
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_.store(true);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
        stop_.store(false);
    }

    void worker(uint64_t seen) {
        auto woken = [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; };
        for (;;) {
            if (!spin_until(woken)) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, woken);
            }
            if (stop_.load()) return;
            seen = generation_.load(std::memory_order_acquire);
            drain(*task_);
            if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(mutex_);  // the caller checks busy_ under it: no lost wake-up
                done_.notify_one();
            }
        }
    }

    std::atomic<int> threads_;
    std::mutex run_mutex_;  // one parallel job at a time; other callers run serially
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    const std::function<void(int64_t)>* task_ = nullptr;
    std::atomic<int64_t> next_{0};
    int64_t total_ = 0;
    std::atomic<int> busy_{0};
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
};

// Never destroyed: workers may still be parked at interpreter exit.
Pool& pool() {
    static Pool* p = [] {
        Pool* created = new Pool(default_num_threads());
#if defined(__linux__)
        pthread_atfork(nullptr, nullptr, [] { pool().forget_workers_after_fork(); });
#endif
        return created;
    }();
    return *p;
}

}  // namespace

int default_num_threads() {
    if (const char* env = std::getenv("FASTBCE_NUM_THREADS"); env && *env) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (*end != '\0' || n < 1 || n > 4096)
            throw std::invalid_argument(std::string("FASTBCE_NUM_THREADS='") + env +
                                        "': expected a whole number of threads from 1 to 4096");
        return int(n);
    }
    return machine_threads();
}

void parallel_for(int64_t n, const std::function<void(int64_t)>& task) { pool().run(n, task); }
int get_num_threads() { return pool().threads(); }
void set_num_threads(int n) {
    if (n < 1 || n > 4096) throw std::invalid_argument("set_num_threads: n must be from 1 to 4096, got " + std::to_string(n));
    pool().resize(n);
}

}  // namespace fastbce
