// The LossSpec read from its Python form (python/fastbce/_spec.py, LossSpec): the bindings' one place for it.
// Baseline translation unit only (module.cpp): no kernel code includes pybind11.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "loss_spec.h"

namespace fastbce {

inline Reduction reduction_from_python(pybind11::handle mode) {
    const int r = mode.cast<int>();
    if (r < int(Reduction::None) || r > int(Reduction::MeanWithSampleWeight))
        throw std::invalid_argument("reduction mode " + std::to_string(r) + " is not one of 0..3");
    return Reduction(r);
}

// The spec for inputs whose last axis has `last_dim` elements (-1: the caller checked the spec against the
// inputs' shape), or nothing when it does not apply to them as given (the fast path then leaves the call to
// the general path, which explains why). `spec` has the attributes from_logits (bool), label_smoothing
// (float), reduction_mode (int) and pos_weight_buffers (None, or (period, float32 array, float64 array):
// the arrays of LossSpec::pos_weight, C-contiguous, period + kPosWeightLanes values each).
template <class T>
std::optional<LossSpec<T>> spec_from_python(pybind11::handle spec, int64_t last_dim = -1) {
    LossSpec<T> s;
    s.from_logits = spec.attr("from_logits").cast<bool>();
    s.label_smoothing = T(spec.attr("label_smoothing").cast<double>());
    s.reduction = reduction_from_python(spec.attr("reduction_mode"));
    const pybind11::object pw = spec.attr("pos_weight_buffers");
    if (!pw.is_none()) {
        const auto buffers = pw.cast<pybind11::tuple>();
        const int64_t period = buffers[0].cast<int64_t>();
        // One weight per class of the last axis: it must have as many as the inputs have classes.
        if (period > 1 && last_dim >= 0 && period != last_dim) return std::nullopt;
        const auto arr = buffers[sizeof(T) == 4 ? 1 : 2].cast<pybind11::array_t<T, pybind11::array::c_style>>();
        if (arr.ptr() != buffers[sizeof(T) == 4 ? 1 : 2].ptr() || period < 1 || arr.size() < period + kPosWeightLanes)
            throw std::invalid_argument("pos_weight_buffers: expected period >= 1 and C-contiguous float32/float64 arrays of period + 64 values");
        s.pos_weight = arr.data();  // owned by the spec object, which the caller keeps alive
        s.pos_weight_period = period;
    }
    return s;
}

}  // namespace fastbce
