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
#include <system_error>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <pthread.h>
#endif
#if defined(__linux__)
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
bool spin_until(bool spin, Done done) {
    if (!spin) return done();
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
// CPUs a cgroup quota allows: cgroup v2 "cpu.max" ("max 100000" or "200000 100000") of this process's
// cgroup and each of its ancestors (the smallest wins), else v1 cfs quota/period; 0 when unlimited.
int cgroup_cpu_limit() {
    auto cpus = [](long long quota, long long period) {
        return quota > 0 && period > 0 ? int((quota + period - 1) / period) : 0;
    };
    std::string path;  // "0::/user.slice/x.service" -> "/user.slice/x.service"
    std::ifstream self("/proc/self/cgroup");
    for (std::string line; std::getline(self, line);)
        if (line.rfind("0::", 0) == 0) path = line.substr(3);
    int limit = 0;
    for (;;) {
        std::ifstream v2("/sys/fs/cgroup" + path + "/cpu.max");
        std::string q;
        long long period = 0;
        if (v2 >> q >> period && q != "max") {
            const int n = cpus(std::atoll(q.c_str()), period);
            if (n > 0 && (limit == 0 || n < limit)) limit = n;
        }
        if (path.empty() || path == "/") break;
        path = path.substr(0, path.rfind('/'));
    }
    if (limit > 0) return limit;
    long long quota = -1, period = 0;
    std::ifstream qf("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), pf("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    return (qf >> quota) && (pf >> period) ? cpus(quota, period) : 0;
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
        if (run.owns_lock() && threads_ > 1 && n > 1 && workers_.empty()) start_workers();
        if (!run.owns_lock() || workers_.empty() || n <= 1) {  // busy or serial: the same tasks, in order
            for (int64_t i = 0; i < n; ++i) task(i);
            return;
        }
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
        if (!spin_until(spin_, [this] { return busy_.load(std::memory_order_acquire) == 0; })) {
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
        new (&workers_) std::vector<std::thread>();  // the old buffer is leaked on purpose: those threads are gone
        task_ = nullptr;
        busy_.store(0);
        stop_.store(false);
    }

private:
    void drain(const std::function<void(int64_t)>& task) {
        for (int64_t i; (i = next_.fetch_add(1)) < total_;) task(i);
    }

    // Starts threads_ - 1 workers; if the OS refuses a thread, none are kept and calls run serially.
    void start_workers() {
        stop_.store(false);
        spin_ = threads_ <= machine_threads();  // spinning on an oversubscribed machine only steals CPU
        try {
            // Each worker starts from the generation before the first job, however late the OS schedules it.
            for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, g = generation_.load()] { worker(g); });
        } catch (const std::system_error&) {
            stop_workers();
        }
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
        const DefaultFpMode fp_mode;
        for (;;) {
            if (!spin_until(spin_, woken)) {
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
    bool spin_ = true;  // set before the workers start
};

// Never destroyed: workers may still be parked at interpreter exit.
Pool& pool() {
    static Pool* p = [] {
        Pool* created = new Pool(default_num_threads());
#if !defined(_WIN32)
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
