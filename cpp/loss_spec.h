// The loss, described once. The Python surface builds it (python/fastbce/_spec.py), the bindings read it
// (loss_spec_py.h), and the kernels are specialised on its compile-time part (Mode): adding an option means
// editing this file, the element loss (kernel/element_loss.h), the Python spec and the tests -- never the
// schedules, the dispatch or the bindings.
#pragma once
#include <cstdint>
#include <type_traits>

namespace fastbce {

// How the per-sample values become the result (the values of python/fastbce/_spec.py's ReductionMode).
enum class Reduction : int32_t {
    None = 0,                  // the per-sample values themselves
    Sum = 1,                   // their sum
    SumOverBatchSize = 2,      // the sum over the number of per-sample values (tf_keras "auto", Keras 3 "mean")
    MeanWithSampleWeight = 3,  // the sum over the sum of the sample weights (Keras 3); 0 when that is 0
};

// The per-element options, in the compute dtype T.
template <class T>
struct LossSpec {
    bool from_logits = false;
    T label_smoothing = T(0);  // labels become y * (1 - ls) + 0.5 * ls (in T, as tf_keras)
    // Multiplies the positive term y log(p) (torch's BCEWithLogitsLoss pos_weight). nullptr: 1. Else element e
    // of the buffers has the weight pos_weight[e % pos_weight_period], and the array holds
    // pos_weight_period + kPosWeightLanes values repeating with that period, so a vector of lanes e, e + 1, ...
    // loads from pos_weight + e % pos_weight_period.
    const T* pos_weight = nullptr;
    int64_t pos_weight_period = 1;
    Reduction reduction = Reduction::SumOverBatchSize;
};

// Values past the period the pos_weight array holds: at least the widest vector's lanes (AVX-512 float32).
constexpr int64_t kPosWeightLanes = 64;

// The compile-time part of a spec: every hot loop is instantiated once per mode.
template <bool Logits, bool Smooth, bool PosWeight>
struct Mode {
    static constexpr bool logits = Logits;         // y_pred holds logits
    static constexpr bool smooth = Smooth;         // label_smoothing != 0
    static constexpr bool pos_weight = PosWeight;  // pos_weight != nullptr
};

// f(Mode<...>{}) for the spec's mode.
template <class T, class F>
double with_mode(const LossSpec<T>& s, F&& f) {
    const bool smooth = s.label_smoothing != T(0);
    auto with_pos_weight = [&](auto logits, auto smooth_) {
        constexpr bool L = decltype(logits)::value, S = decltype(smooth_)::value;
        return s.pos_weight ? f(Mode<L, S, true>{}) : f(Mode<L, S, false>{});
    };
    using yes = std::true_type;
    using no = std::false_type;
    if (s.from_logits) return smooth ? with_pos_weight(yes{}, yes{}) : with_pos_weight(yes{}, no{});
    return smooth ? with_pos_weight(no{}, yes{}) : with_pos_weight(no{}, no{});
}

// The reduced result from the float64 sum of the per-sample values: the one place a reduction is applied
// (the bindings' fast path and python/fastbce/_inputs.py both call it). `samples` is the number of
// per-sample values, `weight_sum` the sum of the sample weights as given (1 per sample without weights),
// `scalar_loss` true when the per-sample loss is a single value (1-D inputs), which Keras 3 leaves unreduced.
// MeanWithSampleWeight's divisor: start + the weights, one at a time in float64 (both paths sum this way, so
// their results agree bit for bit).
template <class T>
double weight_sum(const T* w, int64_t n, double start = 0.0) {
    for (int64_t i = 0; i < n; ++i) start += double(w[i]);
    return start;
}

inline double reduce(Reduction r, double total, int64_t samples, double weight_sum, bool scalar_loss) {
    switch (r) {
        case Reduction::None:
        case Reduction::Sum:
            return total;
        case Reduction::SumOverBatchSize:
            return samples ? total / double(samples) : 0.0;
        case Reduction::MeanWithSampleWeight:
            if (scalar_loss) return total;
            return weight_sum == 0.0 ? 0.0 : total / weight_sum;  // Keras 3's divide_no_nan
    }
    return total;
}

}  // namespace fastbce
