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
// the general path, which explains why). The Python spec's `core` attribute holds what the kernels need, as
// one tuple so a call reads one attribute: (from_logits: bool, label_smoothing: float, reduction_mode: int,
// pos_weight_buffers: None or (period, float32 array, float64 array), the arrays of LossSpec::pos_weight,
// C-contiguous, period + kPosWeightLanes values each).
template <class T>
std::optional<LossSpec<T>> spec_from_python(pybind11::handle spec, int64_t last_dim = -1) {
    static PyObject* const core_name = PyUnicode_InternFromString("core");  // leaked on purpose: lives forever
    const auto core = pybind11::reinterpret_steal<pybind11::object>(PyObject_GetAttr(spec.ptr(), core_name));
    if (!core) throw pybind11::error_already_set();
    if (!PyTuple_Check(core.ptr()) || PyTuple_GET_SIZE(core.ptr()) != 4)
        throw std::invalid_argument("spec.core: expected a tuple of 4 items");
    PyObject* const* item = &PyTuple_GET_ITEM(core.ptr(), 0);
    LossSpec<T> s;
    s.from_logits = pybind11::handle(item[0]).cast<bool>();
    s.label_smoothing = T(pybind11::handle(item[1]).cast<double>());
    s.reduction = reduction_from_python(item[2]);
    const pybind11::handle pw = item[3];
    if (!pw.is_none()) {
        const auto buffers = pybind11::reinterpret_borrow<pybind11::tuple>(pw);
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
