#include "bce.h"

#include <vector>

#include "dispatch.h"
#include "kernel/tuning.h"
#include "threads.h"

namespace fastbce {
namespace {

using tuning::kParallelElements;
using tuning::kTaskElements;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs task(0) .. task(tasks - 1), on the pool when the input is large enough, and returns their results
// in task order.
template <class Task>
std::vector<double> run_tasks(int64_t tasks, int64_t elements, Task task) {
    std::vector<double> partial(size_t(tasks), 0.0);
    auto run = [&](int64_t t) { partial[size_t(t)] = task(t); };
    if (tasks > 1 && elements >= kParallelElements) {
        parallel_for(tasks, run);
    } else {
        for (int64_t t = 0; t < tasks; ++t) run(t);
    }
    return partial;
}

// The results of run_tasks summed in task order.
template <class Task>
double sum_tasks(int64_t tasks, int64_t elements, Task task) {
    if (tasks == 1) return task(0);  // small calls: no allocation
    double total = 0.0;
    for (double x : run_tasks(tasks, elements, task)) total += x;
    return total;
}

// f(begin, end) over [0, n) cut into the fixed tasks of kTaskElements, summed in task order.
template <class F>
double sum_over_tasks(int64_t n, F f) {
    return sum_tasks(ceil_div(n, kTaskElements), n, [&](int64_t t) {
        const int64_t begin = t * kTaskElements;
        return f(begin, begin + kTaskElements < n ? begin + kTaskElements : n);
    });
}

}  // namespace

// The one partition of a problem into tasks, which fixes every sum's order (hence its bits) whatever the thread
// count: flat element ranges (reduced == 1), pieces of long rows (inner == 1, each row's pieces then combined in
// order), or whole outer indices. One task is walk.flat(begin, end), walk.piece(row, begin, end) (a row piece's
// unweighted loss sum) or walk.outer(begin, end); each returns the float64 sum of what it formed.
template <class T, class Flat, class Piece, class Outer>
double run_partition(const Problem<T>& p, Flat flat, Piece piece, Outer outer) {
    const DefaultFpMode fp_mode;  // the pool's workers run in it too
    const int64_t samples = p.outer * p.inner, elements = samples * p.reduced;
    if (samples == 0) return 0.0;
    if (p.reduced == 0) {  // the mean over an empty axis is 0/0, as in tf_keras
        double total = 0.0;
        for (int64_t s = 0; s < samples; ++s) {
            const T v = sample_value(p, 0.0, s);
            if (p.out) p.out[s] = v;
            total += double(v);
        }
        return total;
    }
    if (p.reduced == 1) return sum_over_tasks(elements, flat);
    if (p.inner == 1 && p.reduced >= kTaskElements) {  // long rows: pieces of rows, then each row in order
        const int64_t pieces = ceil_div(p.reduced, kTaskElements), tasks = p.outer * pieces;
        const std::vector<double> partial = run_tasks(tasks, elements, [&](int64_t t) {
            const int64_t row = t / pieces, begin = (t % pieces) * kTaskElements;
            return piece(row, begin, begin + kTaskElements < p.reduced ? begin + kTaskElements : p.reduced);
        });
        double total = 0.0;
        for (int64_t row = 0; row < p.outer; ++row) {
            double row_sum = 0.0;
            for (int64_t k = 0; k < pieces; ++k) row_sum += partial[size_t(row * pieces + k)];
            const T v = sample_value(p, row_sum, row);
            if (p.out) p.out[row] = v;
            total += double(v);
        }
        return total;
    }
    const int64_t row_elements = p.reduced * p.inner;  // elements under one outer index
    const int64_t per_task = row_elements >= kTaskElements ? 1 : kTaskElements / row_elements;
    return sum_tasks(ceil_div(p.outer, per_task), elements, [&](int64_t t) {
        const int64_t begin = t * per_task;
        return outer(begin, begin + per_task < p.outer ? begin + per_task : p.outer);
    });
}

// run_bce with a hook: each task runs on task_problem(e0, e1), the problem as seen by a task that covers
// elements [e0, e1) (run_bce: p itself; run_bce_bf16: p with those elements widened into a buffer).
template <class T, class TaskProblem>
double run_bce_with(const Problem<T>& p, TaskProblem task_problem) {
    const Kernels<T>& k = kernels_for<T>(active_table());
    const int64_t len = p.reduced, row_elements = p.reduced * p.inner;
    // Only the sum asked for, of rows with no weight, one weight or one per row: no per-row reduction.
    const bool summed_rows = !p.out && (!p.weight || p.weight_len == 1 || p.weight_repeat == 1);
    auto rows = p.inner > 1 ? k.strided : summed_rows ? k.rows_summed : k.rows;
    return run_partition(
        p, [&](int64_t b, int64_t e) { return k.flat(task_problem(b, e), b, e); },
        [&](int64_t row, int64_t b, int64_t e) { return k.row_piece(task_problem(row * len + b, row * len + e), row, b, e); },
        [&](int64_t b, int64_t e) { return rows(task_problem(b * row_elements, e * row_elements), b, e); });
}

template <class T>
double run_bce(const Problem<T>& p) {
    return run_bce_with(p, [&p](int64_t, int64_t) -> const Problem<T>& { return p; });
}

// Points at `buf` as if it held elements [e0, ...) of a whole buffer: elements e0 + i of the result are buf[i].
// Integer arithmetic: the pointer itself may lie outside buf (never dereferenced there).
inline const float* rebased(const float* buf, int64_t e0) {
    return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(buf) - uintptr_t(e0) * sizeof(float));
}

double run_bce_bf16(const Problem<float>& p, const uint16_t* y_true16, const uint16_t* y_pred16) {
    const Kernels<float>& k = kernels_for<float>(active_table());
    return run_bce_with(p, [&](int64_t e0, int64_t e1) {
        // One buffer per thread, reused: at most 2 x kTaskElements floats (the caller keeps tasks that small).
        thread_local std::vector<float> buf;
        const int64_t n = e1 - e0;
        if (buf.size() < size_t(2 * n)) buf.resize(size_t(2 * n));
        Problem<float> q = p;
        if (y_pred16) k.widen_bf16(y_pred16 + e0, buf.data(), n), q.y_pred = rebased(buf.data(), e0);
        if (y_true16) k.widen_bf16(y_true16 + e0, buf.data() + n, n), q.y_true = rebased(buf.data() + n, e0);
        return q;
    });
}

// run_bce's partition with a GradProblem: the same tasks, each also storing its elements' gradient.
template <class T>
double run_value_grad(const GradProblem<T>& g) {
    const Kernels<T>& k = kernels_for<T>(active_table());
    auto outer = g.loss.inner > 1 ? k.strided_grad : k.rows_grad;
    return run_partition(
        g.loss, [&](int64_t b, int64_t e) { return k.flat_grad(g, b, e); },
        [&](int64_t row, int64_t b, int64_t e) { return k.row_piece_grad(g, row, b, e); },
        [&](int64_t b, int64_t e) { return outer(g, b, e); });
}

template <class T>
void run_grad_hess(const GradHessProblem<T>& g, int64_t n) {
    const DefaultFpMode fp_mode;
    const Kernels<T>& k = kernels_for<T>(active_table());
    sum_over_tasks(n, [&](int64_t begin, int64_t end) { return k.grad_hess(g, begin, end), 0.0; });
}

template <class T>
void run_add_into(const T* a, const T* b, T* out, int64_t n) {
    const DefaultFpMode fp_mode;
    const Probes<T>& k = probes_for<T>(active_table());
    sum_over_tasks(n, [&](int64_t begin, int64_t end) { return k.add_into(a, b, out, begin, end), 0.0; });
}

template <class T>
double run_read_sum(const T* a, const T* b, int64_t n) {
    const DefaultFpMode fp_mode;
    const Probes<T>& k = probes_for<T>(active_table());
    return sum_over_tasks(n, [&](int64_t begin, int64_t end) { return k.read_sum(a, b, begin, end); });
}

template double run_bce<float>(const Problem<float>&);
template double run_read_sum<float>(const float*, const float*, int64_t);
template double run_bce<double>(const Problem<double>&);
template double run_value_grad<float>(const GradProblem<float>&);
template double run_value_grad<double>(const GradProblem<double>&);
template void run_grad_hess<float>(const GradHessProblem<float>&, int64_t);
template void run_grad_hess<double>(const GradHessProblem<double>&, int64_t);
template void run_add_into<float>(const float*, const float*, float*, int64_t);

}  // namespace fastbce
