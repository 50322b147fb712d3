// The interface between the ISA-independent driver (bce.cpp) and one compiled instruction-set level.
#pragma once
#include <cstdint>

#include "loss_spec.h"

namespace fastbce {

// One fused loss problem over C-contiguous buffers laid out as (outer, reduced, inner).
// Sample s = o * inner + i has the value v[s] = T(T(mean_r loss(o, r, i)) * w[s / weight_repeat]).
template <class T>
struct Problem {
    const T* y_true = nullptr;
    const T* y_pred = nullptr;
    const T* weight = nullptr;  // nullptr: every weight is 1
    int64_t weight_len = 1;     // 1: one weight for all samples
    int64_t weight_repeat = 1;  // consecutive samples sharing one weight (weight_len > 1)
    int64_t outer = 0, reduced = 0, inner = 0;
    LossSpec<T> spec;
    T* out = nullptr;  // nullptr: per-sample values are only summed
};

namespace {  // internal linkage: see kernel/access.h
// The one place a per-sample value is formed from its loss sum: the mean rounded to T, times the weight.
template <class T>
inline T sample_value(const Problem<T>& p, double loss_sum, int64_t sample) {
    const T w = !p.weight ? T(1) : p.weight_len == 1 ? p.weight[0] : p.weight[sample / p.weight_repeat];
    return T(T(loss_sum / double(p.reduced)) * w);
}
}  // namespace

// One fused loss-and-gradient problem: `loss`'s result as run_bce forms it (loss.out: the per-sample values),
// and grad[e] = T(d loss(e) / d y_pred(e) * factor[s]) for every element e, s its sample. factor is the
// sample's chain factor of the reduction (sample weight x reduction scale x cotangent / reduced), one value
// for all samples (factor_len 1) or one per sample.
template <class T>
struct GradProblem {
    Problem<T> loss;
    T* grad = nullptr;
    const T* factor = nullptr;
    int64_t factor_len = 1;
};

// Per-element first and second derivatives of the logits loss (gradient boosting): g[e] = d loss / dx * w,
// h[e] = d2 loss / dx2 * w, with w = weight[e] (weight_len n), weight[0] (1) or 1 (nullptr).
template <class T>
struct GradHessProblem {
    const T* y_true = nullptr;
    const T* x = nullptr;
    const T* weight = nullptr;
    int64_t weight_len = 1;
    LossSpec<T> spec;
    T* grad = nullptr;
    T* hess = nullptr;
};

// The schedules of one level (kernel/schedules.h). Each entry returns the float64 sum of the per-sample
// values it formed (and stores them in p.out). For flat problems the sum is formed differently with and
// without p.out (with it: after a head that aligns y_pred, so its last bits depend on that address; without
// it: float32 log terms as products), so the two agree to rounding, not bit for bit. Every sum is the same
// for any thread count; the ones callers use (those without p.out) are also the same at any address.
template <class T>
struct Kernels {
    // reduced == 1: samples are elements; elements [begin, end) of the flat buffers.
    double (*flat)(const Problem<T>& p, int64_t begin, int64_t end);
    // inner == 1: whole rows [begin, end).
    double (*rows)(const Problem<T>& p, int64_t begin, int64_t end);
    // inner == 1, p.out == nullptr, weight none, one, or one per row: the same sum, without per-row rounding.
    double (*rows_summed)(const Problem<T>& p, int64_t begin, int64_t end);
    // inner == 1: the UNWEIGHTED loss sum of elements [begin, end) of one row (pieces of long rows).
    double (*row_piece)(const Problem<T>& p, int64_t row, int64_t begin, int64_t end);
    // inner > 1: outer indices [begin, end), every inner position.
    double (*strided)(const Problem<T>& p, int64_t begin, int64_t end);

    // The same walks, for a GradProblem: each also stores the gradient of the elements it covers.
    double (*flat_grad)(const GradProblem<T>& g, int64_t begin, int64_t end);
    double (*rows_grad)(const GradProblem<T>& g, int64_t begin, int64_t end);
    double (*row_piece_grad)(const GradProblem<T>& g, int64_t row, int64_t begin, int64_t end);
    double (*strided_grad)(const GradProblem<T>& g, int64_t begin, int64_t end);
    // Elements [begin, end) of a GradHessProblem.
    void (*grad_hess)(const GradHessProblem<T>& g, int64_t begin, int64_t end);
    // out[i] = in[i] widened, in: bfloat16 bits (the high half of a float32; exact in float and double).
    void (*widen_bf16)(const uint16_t* in, T* out, int64_t n);
};

// Hooks for the tests and the benchmark, not used by the loss.
template <class T>
struct Probes {
    // Sum of a[i] + b[i] over [begin, end): the loss loops' loads and prefetches without a loss (the
    // benchmark's read-bandwidth roofline).
    double (*read_sum)(const T* a, const T* b, int64_t begin, int64_t end);
    void (*log)(const T* x, T* y, int64_t n);
    void (*log1p)(const T* x, T* y, int64_t n);
    void (*exp)(const T* x, T* y, int64_t n);
    // out[i] = a[i] + b[i] over [begin, end): two streams read, one written, as the gradient kernels (the
    // benchmark's three-stream roofline).
    void (*add_into)(const T* a, const T* b, T* out, int64_t begin, int64_t end);
};

struct KernelTable {
    const char* name;
    Kernels<float> f32;
    Kernels<double> f64;
    Probes<float> probes_f32;
    Probes<double> probes_f64;
};

template <class T>
inline const Kernels<T>& kernels_for(const KernelTable& t) {
    if constexpr (sizeof(T) == 4) return t.f32;
    else return t.f64;
}
template <class T>
inline const Probes<T>& probes_for(const KernelTable& t) {
    if constexpr (sizeof(T) == 4) return t.probes_f32;
    else return t.probes_f64;
}

// <name>_table() of each level in levels.def; defined in cpp/targets/<name>.cpp, which exists only where
// that level is compiled (dispatch.cpp refers to the compiled ones only).
#define FASTBCE_LEVEL(name, arch, check, flags, msvc_flags) const KernelTable& name##_table();
#include "levels.def"
#undef FASTBCE_LEVEL

}  // namespace fastbce
