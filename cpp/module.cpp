// pybind11 bindings only: argument checks, then the core without the GIL. Shapes, dtypes and broadcasting
// are decided in python/fastbce/_inputs.py; this layer only refuses what would be unsafe to run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "bce.h"
#include "dispatch.h"
#include "kernel/tuning.h"
#include "loss_spec_py.h"
#include "threads.h"

namespace py = pybind11;
using fastbce::LossSpec;
using fastbce::Problem;
using fastbce::Reduction;

namespace {

constexpr int kSafeFlags = py::array::c_style | py::detail::npy_api::NPY_ARRAY_ALIGNED_;

// Native byte order ('=' native, '|' not applicable, or the explicit character of this machine's order).
bool native_order(const py::handle& arr) {
    const char order = py::detail::array_descriptor_proxy(py::detail::array_proxy(arr.ptr())->descr)->byteorder;
    const uint16_t probe = 1;
    const bool little = *reinterpret_cast<const unsigned char*>(&probe) == 1;
    return order == '=' || order == '|' || order == (little ? '<' : '>');
}

bool has_flags(const py::array& a, int flags) {
    return (py::detail::array_proxy(a.ptr())->flags & flags) == flags;
}

// A C-contiguous, aligned array of dtype `num` (and writeable when asked).
void require_buffer(const py::array& a, const char* what, int num, bool writeable = false) {
    if (a.dtype().num() != num)
        throw py::type_error(std::string(what) + ": expected dtype " + py::str(py::dtype(num)).cast<std::string>() +
                             ", got " + py::str(a.dtype()).cast<std::string>());
    if (!has_flags(a, kSafeFlags | (writeable ? py::detail::npy_api::NPY_ARRAY_WRITEABLE_ : 0)) || !native_order(a))
        throw std::invalid_argument(std::string(what) + ": expected an aligned C-contiguous" +
                                    (writeable ? " writeable" : "") + " array in native byte order");
}

int64_t checked_mul(int64_t a, int64_t b) {
    if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a))
        throw std::invalid_argument("outer/reduced/inner must be non-negative and their product must fit in int64");
    return a * b;
}

// The arrays a Problem points into, kept referenced while the GIL is released.
struct HeldArrays {
    py::array weight, out, grad, factor;
};

// A Problem over the caller's buffers, every argument checked.
// y_true / y_pred of another dtype (bfloat16 bits: run_bce_bf16) when true_num / pred_num say so; their
// pointers are then the caller's to replace.
template <class T>
Problem<T> make_problem(const py::array& y_true, const py::array& y_pred, const py::object& weight,
                        const py::object& out, int64_t outer, int64_t reduced, int64_t inner, int64_t weight_repeat,
                        const py::handle& spec, HeldArrays& held, int true_num = -1, int pred_num = -1) {
    const int num = py::dtype::of<T>().num();
    require_buffer(y_pred, "y_pred", pred_num < 0 ? num : pred_num);
    require_buffer(y_true, "y_true", true_num < 0 ? num : true_num);
    const int64_t samples = checked_mul(outer, inner), elements = checked_mul(samples, reduced);
    if (y_true.size() != elements || y_pred.size() != elements)
        throw std::invalid_argument("y_true has " + std::to_string(y_true.size()) + " and y_pred " +
                                    std::to_string(y_pred.size()) + " elements; outer*reduced*inner is " +
                                    std::to_string(elements));
    Problem<T> p;
    p.y_true = static_cast<const T*>(y_true.data());
    p.y_pred = static_cast<const T*>(y_pred.data());
    p.outer = outer, p.reduced = reduced, p.inner = inner;
    const auto loss_spec = fastbce::spec_from_python<T>(spec);
    if (!loss_spec) throw std::invalid_argument("spec: does not apply to these inputs");
    p.spec = *loss_spec;
    if (!weight.is_none()) {
        if (!py::isinstance<py::array>(weight)) throw py::type_error("weight: expected None or a numpy array");
        held.weight = py::reinterpret_borrow<py::array>(weight);
        require_buffer(held.weight, "weight", num);
        if (weight_repeat < 1) throw std::invalid_argument("weight_repeat must be >= 1");
        const int64_t len = held.weight.size();
        if (len != 1 && (samples % weight_repeat != 0 || len != samples / weight_repeat))
            throw std::invalid_argument("weight has " + std::to_string(len) + " elements; expected 1 or " +
                                        std::to_string(samples) + "/" + std::to_string(weight_repeat));
        p.weight = static_cast<const T*>(held.weight.data());
        p.weight_len = len;
        p.weight_repeat = weight_repeat;
    }
    if (!out.is_none()) {
        if (!py::isinstance<py::array>(out)) throw py::type_error("out: expected None or a numpy array");
        held.out = py::reinterpret_borrow<py::array>(out);
        require_buffer(held.out, "out", num, true);
        if (held.out.size() != samples)
            throw std::invalid_argument("out has " + std::to_string(held.out.size()) + " elements; expected " +
                                        std::to_string(samples));
        p.out = static_cast<T*>(held.out.mutable_data());
    }
    return p;
}

template <class T>
double bce_typed(const py::array& y_true, const py::array& y_pred, const py::object& weight, const py::object& out,
                 int64_t outer, int64_t reduced, int64_t inner, int64_t weight_repeat, const py::handle& spec) {
    HeldArrays held;
    const Problem<T> p = make_problem<T>(y_true, y_pred, weight, out, outer, reduced, inner, weight_repeat, spec, held);
    fastbce::active_table();  // an invalid FASTBCE_ISA raises here, with the GIL held
    py::gil_scoped_release release;
    return fastbce::run_bce(p);
}

// bce with y_pred as bfloat16 bits (uint16) and y_true as bfloat16 bits or float32; everything else float32.
double bce_bf16(const py::array& y_true, const py::array& y_pred, const py::object& weight, const py::object& out,
                int64_t outer, int64_t reduced, int64_t inner, int64_t weight_repeat, const py::object& spec) {
    const int u16 = py::dtype::of<uint16_t>().num(), f32 = py::dtype::of<float>().num();
    const bool true16 = y_true.dtype().num() == u16;
    HeldArrays held;
    Problem<float> p = make_problem<float>(y_true, y_pred, weight, out, outer, reduced, inner, weight_repeat, spec,
                                           held, true16 ? u16 : f32, u16);
    if (inner > 1 && checked_mul(reduced, inner) > fastbce::tuning::kTaskElements)
        throw std::invalid_argument("bce_bf16: reduced * inner must be <= kTaskElements when inner > 1");
    const auto* yt16 = true16 ? static_cast<const uint16_t*>(y_true.data()) : nullptr;
    const auto* yp16 = static_cast<const uint16_t*>(y_pred.data());
    if (true16) p.y_true = nullptr;
    p.y_pred = nullptr;
    fastbce::active_table();
    py::gil_scoped_release release;
    return fastbce::run_bce_bf16(p, yt16, yp16);
}

template <class T>
double value_grad_typed(const py::array& y_true, const py::array& y_pred, const py::object& weight,
                        const py::array& factor, const py::array& grad, const py::object& out, int64_t outer,
                        int64_t reduced, int64_t inner, const py::handle& spec) {
    HeldArrays held;
    fastbce::GradProblem<T> g;
    g.loss = make_problem<T>(y_true, y_pred, weight, out, outer, reduced, inner, 1, spec, held);
    const int num = y_pred.dtype().num();
    held.grad = grad, held.factor = factor;
    require_buffer(grad, "grad", num, true);
    require_buffer(factor, "factor", num);
    if (grad.size() != y_pred.size())
        throw std::invalid_argument("grad has " + std::to_string(grad.size()) + " elements; y_pred " +
                                    std::to_string(y_pred.size()));
    const int64_t samples = outer * inner;
    if (factor.size() != 1 && factor.size() != samples)
        throw std::invalid_argument("factor has " + std::to_string(factor.size()) + " elements; expected 1 or " +
                                    std::to_string(samples));
    g.grad = static_cast<T*>(held.grad.mutable_data());
    g.factor = static_cast<const T*>(factor.data());
    g.factor_len = factor.size();
    fastbce::active_table();
    py::gil_scoped_release release;
    return fastbce::run_value_grad(g);
}

// The loss (as bce) and its gradient with respect to y_pred, stored to grad (y_pred's size and dtype), each
// element's derivative times its sample's factor.
double value_grad(const py::array& y_true, const py::array& y_pred, const py::object& weight, const py::array& factor,
                  const py::array& grad, const py::object& out, int64_t outer, int64_t reduced, int64_t inner,
                  const py::object& spec) {
    const int num = y_pred.dtype().num();
    if (num == py::dtype::of<float>().num())
        return value_grad_typed<float>(y_true, y_pred, weight, factor, grad, out, outer, reduced, inner, spec);
    if (num == py::dtype::of<double>().num())
        return value_grad_typed<double>(y_true, y_pred, weight, factor, grad, out, outer, reduced, inner, spec);
    throw py::type_error("y_pred: expected dtype float32 or float64, got " + py::str(y_pred.dtype()).cast<std::string>());
}

template <class T>
void grad_hess_typed(const py::array& y_true, const py::array& x, const py::object& weight, const py::array& grad,
                     const py::array& hess, const py::handle& spec) {
    const int num = x.dtype().num();
    for (auto [a, what] : {std::pair<const py::array*, const char*>{&x, "x"}, {&y_true, "y_true"}})
        require_buffer(*a, what, num);
    require_buffer(grad, "grad", num, true);
    require_buffer(hess, "hess", num, true);
    const int64_t n = x.size();
    if (y_true.size() != n || grad.size() != n || hess.size() != n)
        throw std::invalid_argument("y_true, x, grad and hess must have the same number of elements");
    fastbce::GradHessProblem<T> g;
    g.y_true = static_cast<const T*>(y_true.data());
    g.x = static_cast<const T*>(x.data());
    py::array grad_arr = grad, hess_arr = hess;  // mutable_data() is not const
    g.grad = static_cast<T*>(grad_arr.mutable_data());
    g.hess = static_cast<T*>(hess_arr.mutable_data());
    const auto loss_spec = fastbce::spec_from_python<T>(spec);
    if (!loss_spec || !loss_spec->from_logits) throw std::invalid_argument("grad_hess: the spec must be of logits");
    g.spec = *loss_spec;
    py::array w_arr;
    if (!weight.is_none()) {
        w_arr = py::reinterpret_borrow<py::array>(weight);
        require_buffer(w_arr, "weight", num);
        if (w_arr.size() != 1 && w_arr.size() != n)
            throw std::invalid_argument("weight: expected 1 or " + std::to_string(n) + " elements");
        g.weight = static_cast<const T*>(w_arr.data());
        g.weight_len = w_arr.size();
    }
    fastbce::active_table();
    py::gil_scoped_release release;
    fastbce::run_grad_hess(g, n);
}

// First and second derivatives of the logits loss per element, times the weight (gradient boosting).
void grad_hess(const py::array& y_true, const py::array& x, const py::object& weight, const py::array& grad,
               const py::array& hess, const py::object& spec) {
    const int num = x.dtype().num();
    if (num == py::dtype::of<float>().num()) return grad_hess_typed<float>(y_true, x, weight, grad, hess, spec);
    if (num == py::dtype::of<double>().num()) return grad_hess_typed<double>(y_true, x, weight, grad, hess, spec);
    throw py::type_error("x: expected dtype float32 or float64, got " + py::str(x.dtype()).cast<std::string>());
}

// The benchmark's three-stream roofline: out = a + b over float32 arrays of one size (see run_add_into).
void add_into(const py::array& a, const py::array& b, const py::array& out) {
    const int num = py::dtype::of<float>().num();
    require_buffer(a, "a", num);
    require_buffer(b, "b", num);
    require_buffer(out, "out", num, true);
    if (a.size() != b.size() || out.size() != a.size())
        throw std::invalid_argument("add_into: a, b and out must have the same size");
    const float* pa = static_cast<const float*>(a.data());
    const float* pb = static_cast<const float*>(b.data());
    py::array out_arr = out;  // mutable_data() is not const
    float* po = static_cast<float*>(out_arr.mutable_data());
    const int64_t n = a.size();
    py::gil_scoped_release release;
    fastbce::run_add_into<float>(pa, pb, po, n);
}

double bce(const py::array& y_true, const py::array& y_pred, const py::object& weight, const py::object& out,
           int64_t outer, int64_t reduced, int64_t inner, int64_t weight_repeat, const py::object& spec) {
    const int num = y_pred.dtype().num();
    if (num == py::dtype::of<float>().num())
        return bce_typed<float>(y_true, y_pred, weight, out, outer, reduced, inner, weight_repeat, spec);
    if (num == py::dtype::of<double>().num())
        return bce_typed<double>(y_true, y_pred, weight, out, outer, reduced, inner, weight_repeat, spec);
    throw py::type_error("y_pred: expected dtype float32 or float64, got " + py::str(y_pred.dtype()).cast<std::string>());
}

template <class T>
py::array math_typed(const std::string& func, const py::array& x) {
    require_buffer(x, "x", x.dtype().num());
    const auto& k = fastbce::probes_for<T>(fastbce::active_table());
    auto f = func == "log" ? k.log : func == "log1p" ? k.log1p : func == "exp" ? k.exp : nullptr;
    if (!f) throw std::invalid_argument("math: unknown function '" + func + "' (log, log1p, exp)");
    py::array_t<T> y(x.size());
    const T* src = static_cast<const T*>(x.data());
    T* dst = y.mutable_data();
    const int64_t n = x.size();
    {
        py::gil_scoped_release release;
        f(src, dst, n);
    }
    return y;
}

py::array math(const std::string& func, const py::array& x) {
    const int num = x.dtype().num();
    if (num == py::dtype::of<float>().num()) return math_typed<float>(func, x);
    if (num == py::dtype::of<double>().num()) return math_typed<double>(func, x);
    throw py::type_error("math: expected float32 or float64, got " + py::str(x.dtype()).cast<std::string>());
}

// The benchmark's read roofline: sum of a + b over two float32 arrays of one size (see run_read_sum).
double read_sum(const py::array& a, const py::array& b) {
    const int num = py::dtype::of<float>().num();
    require_buffer(a, "a", num);
    require_buffer(b, "b", num);
    if (a.size() != b.size())
        throw std::invalid_argument("read_sum: a has " + std::to_string(a.size()) + " and b " +
                                    std::to_string(b.size()) + " elements");
    const float* pa = static_cast<const float*>(a.data());
    const float* pb = static_cast<const float*>(b.data());
    const int64_t n = a.size();
    py::gil_scoped_release release;
    return fastbce::run_read_sum<float>(pa, pb, n);
}

// A NumPy float scalar's layout (numpy/arrayscalars.h: PyFloatScalarObject, PyDoubleScalarObject).
template <class T>
struct ScalarObject {
    PyObject_HEAD
    T obval;
};

// A result scalar type (LossFloat32 / LossFloat64: subclasses of np.float32 / np.float64 that add no field),
// and whether its instances can be made directly: allocated and their value stored, as NumPy itself makes
// instances of scalar subclasses. Calling the type costs 0.35 us, a third of a small call.
template <class T>
struct ScalarType {
    py::object type;
    bool direct = false;

    explicit ScalarType(py::object t) : type(std::move(t)) {
        auto* tp = reinterpret_cast<PyTypeObject*>(type.ptr());
        // the layout is checked, not assumed: same size as the NumPy base, and values read back as stored
        direct = tp->tp_base && tp->tp_basicsize == tp->tp_base->tp_basicsize && tp->tp_itemsize == 0 &&
                 tp->tp_basicsize == Py_ssize_t(sizeof(ScalarObject<T>));
        for (double v : {1.5, -0.1, 3e-30}) {
            if (!direct) break;
            const py::object made = type(v);
            direct = Py_TYPE(made.ptr()) == tp && reinterpret_cast<ScalarObject<T>*>(made.ptr())->obval == T(v);
        }
    }
    // An instance holding v rounded to T (as the type's constructor rounds a Python float). A finite v that
    // overflows T goes through the type, which gives inf with NumPy's overflow warning (or error), as the
    // general path's result does.
    py::object operator()(double v) const {
        if (!direct || (std::isfinite(v) && std::fabs(v) >= double(std::numeric_limits<T>::max()))) return type(v);
        auto* tp = reinterpret_cast<PyTypeObject*>(type.ptr());
        PyObject* made = tp->tp_alloc(tp, 0);
        if (!made) throw py::error_already_set();
        reinterpret_cast<ScalarObject<T>*>(made)->obval = T(v);
        return py::reinterpret_steal<py::object>(made);
    }
};

// The result types fast_call builds.
struct ResultTypes {
    ScalarType<float> f32;   // LossFloat32 (python/fastbce/_results.py)
    ScalarType<double> f64;  // LossFloat64
    py::object array;        // LossArray
};
ResultTypes* g_results = nullptr;  // set once at import, never freed (outlives interpreter teardown order)

void set_result_types(py::object f32, py::object f64, py::object array) {
    if (!g_results)
        g_results = new ResultTypes{ScalarType<float>(std::move(f32)), ScalarType<double>(std::move(f64)),
                                    std::move(array)};
}

// Weight forms the fast path takes: none, an exact Python float (tf converts it to float32 first), or an
// exact ndarray of the inputs' dtype with one weight per batch entry (shape [B], B = inputs' first dim > 1).
struct FastWeight {
    bool ok = true;
    double scalar = 1.0;
    const void* data = nullptr;  // per-batch weights
    int64_t len = 0;
};

FastWeight fast_weight(py::handle w, int num, const py::detail::PyArray_Proxy* inputs) {
    FastWeight fw;
    if (w.is_none()) return fw;
    if (PyFloat_CheckExact(w.ptr())) {
        fw.scalar = double(float(PyFloat_AS_DOUBLE(w.ptr())));
        fw.len = 1;
        return fw;
    }
    auto& api = py::detail::npy_api::get();
    fw.ok = false;
    if (Py_TYPE(w.ptr()) != reinterpret_cast<PyTypeObject*>(api.PyArray_Type_)) return fw;
    auto* a = py::detail::array_proxy(w.ptr());
    auto* d = py::detail::array_descriptor_proxy(a->descr);
    if (d->type_num != num || !native_order(w) || (a->flags & kSafeFlags) != kSafeFlags || a->nd != 1 ||
        inputs->nd < 2 || a->dimensions[0] != inputs->dimensions[0] || a->dimensions[0] < 2)
        return fw;
    fw.ok = true;
    fw.data = a->data;
    fw.len = a->dimensions[0];
    return fw;
}

// The sum of the weights as the caller gave them (MeanWithSampleWeight's divisor), rounded to T first.
template <class T>
double weight_sum(const FastWeight& w, int64_t samples) {
    if (w.data) return fastbce::weight_sum(static_cast<const T*>(w.data), w.len);
    return w.len == 1 ? double(T(w.scalar)) : double(samples);
}

template <class T>
double fast_run(const py::detail::PyArray_Proxy* t, const py::detail::PyArray_Proxy* p, const FastWeight& w,
                int64_t outer, const LossSpec<T>& spec, void* out) {
    const T scalar_weight = T(w.scalar);
    Problem<T> pr;
    pr.y_true = reinterpret_cast<const T*>(t->data);
    pr.y_pred = reinterpret_cast<const T*>(p->data);
    pr.outer = outer, pr.reduced = p->dimensions[p->nd - 1], pr.inner = 1;
    pr.spec = spec;
    pr.out = static_cast<T*>(out);
    if (w.data) {
        pr.weight = static_cast<const T*>(w.data);
        pr.weight_len = w.len;
        pr.weight_repeat = outer / w.len;
    } else if (w.len == 1) {
        pr.weight = &scalar_weight;
        pr.weight_len = 1;
    }
    // Releasing and retaking the GIL costs about what the loss of a few thousand elements does: only inputs
    // large enough for other Python threads to gain from it let it go.
    constexpr int64_t kReleaseGilMin = 1 << 14;
    std::optional<py::gil_scoped_release> release;
    if (outer * pr.reduced >= kReleaseGilMin) release.emplace();
    return fastbce::run_bce(pr);
}

// The common call, decided without NumPy temporaries: exact ndarrays of one native float dtype and one
// shape, C-contiguous and aligned, rank >= 1, no empty axis, loss over the last axis, a FastWeight.
// Returns the finished result (Python's result types), or None to send the call down the general path.
py::object fast_call(py::handle y_true, py::handle y_pred, py::handle sample_weight, py::handle spec) {
    auto& api = py::detail::npy_api::get();
    PyTypeObject* ndarray = reinterpret_cast<PyTypeObject*>(api.PyArray_Type_);
    if (!g_results || Py_TYPE(y_true.ptr()) != ndarray || Py_TYPE(y_pred.ptr()) != ndarray) return py::none();
    auto* t = py::detail::array_proxy(y_true.ptr());
    auto* p = py::detail::array_proxy(y_pred.ptr());
    auto* descr = py::detail::array_descriptor_proxy(p->descr);
    const int num = descr->type_num;
    constexpr int f32 = py::detail::npy_api::NPY_FLOAT_, f64 = py::detail::npy_api::NPY_DOUBLE_;
    if ((num != f32 && num != f64) || py::detail::array_descriptor_proxy(t->descr)->type_num != num ||
        !native_order(y_pred) || !native_order(y_true))
        return py::none();
    if ((t->flags & kSafeFlags) != kSafeFlags || (p->flags & kSafeFlags) != kSafeFlags || p->nd < 1 || t->nd != p->nd)
        return py::none();
    int64_t outer = 1;
    for (int d = 0; d < p->nd; ++d) {
        if (t->dimensions[d] != p->dimensions[d] || p->dimensions[d] == 0) return py::none();
        if (d + 1 < p->nd) outer *= p->dimensions[d];
    }
    const FastWeight weight = fast_weight(sample_weight, num, p);
    if (!weight.ok) return py::none();
    const bool single = num == f32;
    const int64_t last_dim = p->dimensions[p->nd - 1];
    std::optional<LossSpec<float>> spec32;
    std::optional<LossSpec<double>> spec64;
    if (single) spec32 = fastbce::spec_from_python<float>(spec, last_dim);
    else spec64 = fastbce::spec_from_python<double>(spec, last_dim);
    if (!spec32 && !spec64) return py::none();
    auto run = [&](void* out) {
        return single ? fast_run<float>(t, p, weight, outer, *spec32, out)
                      : fast_run<double>(t, p, weight, outer, *spec64, out);
    };
    auto scalar = [single](double v) { return single ? g_results->f32(v) : g_results->f64(v); };
    const Reduction reduction = single ? spec32->reduction : spec64->reduction;
    if (reduction != Reduction::None) {
        const double wsum = single ? weight_sum<float>(weight, outer) : weight_sum<double>(weight, outer);
        return scalar(fastbce::reduce(reduction, run(nullptr), outer, wsum, p->nd == 1));
    }
    // none: per-sample losses, shape = inputs' shape without the last axis, as a LossArray
    Py_INCREF(p->descr);  // PyArray_NewFromDescr steals it
    py::object out = py::reinterpret_steal<py::object>(api.PyArray_NewFromDescr_(
        reinterpret_cast<PyTypeObject*>(g_results->array.ptr()), p->descr, p->nd - 1, p->dimensions, nullptr,
        nullptr, 0, nullptr));
    if (!out) throw py::error_already_set();
    run(py::detail::array_proxy(out.ptr())->data);
    if (p->nd == 1) return scalar(out.attr("item")().cast<double>());  // 0-d: a scalar, as tf's .numpy() gives
    return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastbce compiled core: fused binary cross-entropy kernels with runtime SIMD dispatch";
    fastbce::active_table();  // pick the level at import: a bad FASTBCE_ISA is an import-time ValueError
    fastbce::get_num_threads();  // likewise a bad FASTBCE_NUM_THREADS
    m.def("bce", &bce, py::arg("y_true"), py::arg("y_pred"), py::arg("weight"), py::arg("out"), py::arg("outer"),
          py::arg("reduced"), py::arg("inner"), py::arg("weight_repeat"), py::arg("spec"));
    m.def("bce_bf16", &bce_bf16, py::arg("y_true"), py::arg("y_pred"), py::arg("weight"), py::arg("out"),
          py::arg("outer"), py::arg("reduced"), py::arg("inner"), py::arg("weight_repeat"), py::arg("spec"));
    m.def("value_grad", &value_grad, py::arg("y_true"), py::arg("y_pred"), py::arg("weight"), py::arg("factor"),
          py::arg("grad"), py::arg("out"), py::arg("outer"), py::arg("reduced"), py::arg("inner"), py::arg("spec"));
    m.def("grad_hess", &grad_hess, py::arg("y_true"), py::arg("x"), py::arg("weight"), py::arg("grad"),
          py::arg("hess"), py::arg("spec"));
    m.def("add_into", &add_into, py::arg("a"), py::arg("b"), py::arg("out"));
    m.def("fast_call", &fast_call, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight"), py::arg("spec"));
    m.def(
        "reduce",
        [](py::handle mode, double total, int64_t samples, double weight_sum, bool scalar_loss) {
            return fastbce::reduce(fastbce::reduction_from_python(mode), total, samples, weight_sum, scalar_loss);
        },
        py::arg("mode"), py::arg("total"), py::arg("samples"), py::arg("weight_sum"), py::arg("scalar_loss"));
    m.def("set_result_types", &set_result_types, py::arg("f32"), py::arg("f64"), py::arg("array"));
    m.def("math", &math, py::arg("func"), py::arg("x"));
    m.def("read_sum", &read_sum, py::arg("a"), py::arg("b"));
    m.def("isa", [] { return std::string(fastbce::active_table().name); });
    m.def("available_isas", &fastbce::available_isas);
    m.def("known_isas", &fastbce::known_isas);
    m.def(
        "weight_sum",
        [](const py::array& w, double start) {
            const int num = w.dtype().num();
            require_buffer(w, "w", num);
            if (num == py::dtype::of<float>().num()) return fastbce::weight_sum(static_cast<const float*>(w.data()), w.size(), start);
            if (num == py::dtype::of<double>().num()) return fastbce::weight_sum(static_cast<const double*>(w.data()), w.size(), start);
            throw py::type_error("w: expected float32 or float64, got " + py::str(w.dtype()).cast<std::string>());
        },
        py::arg("w"), py::arg("start") = 0.0);
    m.def("set_isa", &fastbce::set_isa, py::arg("name"));
    m.def("set_num_threads", &fastbce::set_num_threads, py::arg("n"));
    m.def("get_num_threads", &fastbce::get_num_threads);
}
