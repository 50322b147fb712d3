// The LossSpec read from its Python form (python/fastbce/_spec.py, LossSpec): the bindings' one place for it.
// Baseline translation unit only (module.cpp): no kernel code includes pybind11.
#pragma once
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
// (float) and reduction_mode (int).
template <class T>
std::optional<LossSpec<T>> spec_from_python(pybind11::handle spec, [[maybe_unused]] int64_t last_dim = -1) {
    LossSpec<T> s;
    s.from_logits = spec.attr("from_logits").cast<bool>();
    s.label_smoothing = T(spec.attr("label_smoothing").cast<double>());
    s.reduction = reduction_from_python(spec.attr("reduction_mode"));
    return s;
}

}  // namespace fastbce
