"""The single home of fastbce's input rules: dtypes, shapes, axis, sample weights.

The compiled core (``fastbce._core``) only ever sees C-contiguous float32/float64
buffers laid out as ``(outer, reduced, inner)``; everything else is decided here,
once, with NumPy:

dtypes
    * Python lists and scalars become float32 (as ``tf.convert_to_tensor`` does), so
      ``bce([0., 0., 1., 1.], [1., 1., 1., 0.])`` gives the seed's ``11.522857``.
    * The compute dtype follows ``y_pred``: float64 -> float64; float32 -> float32;
      float16 (and ml_dtypes' bfloat16) -> computed in float32; integer and boolean
      ``y_pred`` -> float32 (tf_keras raises a TypeError for integer ``y_pred``; any
      array NumPy accepts is accepted here); ``np.longdouble`` -> float64.
    * The result dtype is the compute dtype, except float16 inputs give float16
      results, like tf_keras (whose values for float16 come from float16 arithmetic;
      ours are the float32 values rounded to float16, i.e. more accurate).
    * ``y_true`` (any real float, integer or boolean dtype) is cast to the compute
      dtype, as tf_keras casts it to ``y_pred``'s dtype. ``sample_weight`` likewise.
    * complex, object, string, bytes, datetime/timedelta and structured dtypes are a
      ``TypeError`` naming the dtype; ``None`` as ``y_true`` or ``y_pred`` is a ``TypeError`` saying so.

shapes (tf_keras's rules for tensors)
    * If the ranks of ``y_true`` and ``y_pred`` differ by one and the longer one ends
      in 1, that axis is squeezed (``y_true [B]`` with ``y_pred [B, 1]`` -> both ``[B]``).
      NumPy inputs get the same treatment (tf_keras silently broadcasts them to
      ``[B, B]``). Any other mismatch is a ``ValueError`` naming both shapes (for a
      ``y_pred`` of two columns, scikit-learn's ``predict_proba``, it suggests ``y_pred[:, 1]``).
    * 1-D inputs are one sample (the per-sample loss has shape ``()``), as in tf_keras: a
      ``[n]`` sample weight on them is a ``ValueError`` that says to reshape to ``(n, 1)``.
    * ``axis`` must index the (squeezed) inputs, else ``ValueError``; rank-0 inputs
      have no axis to average over and are a ``ValueError`` too.
    * The per-sample loss has the inputs' shape without ``axis``.

sample_weight
    * a scalar (or any one-element weight that broadcasts) scales every sample;
    * a 1-D weight whose length is the per-sample loss's first (batch) dimension
      rescales each sample, for ANY rank (the documented Keras behaviour; tf_keras
      aligns it with the last axis for rank >= 3 losses, or fails);
    * otherwise tf_keras's rule: a weight of one rank more than the loss loses a
      trailing 1, one of one rank less gains one, and the result must broadcast to
      the per-sample loss's shape (NumPy rules), else ``ValueError`` naming both shapes.

Reductions: the float64 sum of the weighted per-sample losses, then ``_core.reduce``
(``cpp/loss_spec.h``: the one place a reduction is applied, by both paths). A
zero-length ``axis`` gives NaN per sample, as the mean of nothing does in tf_keras.

Paths
    *fast*: ``y_true`` and ``y_pred`` C-contiguous with the same float32/float64 dtype
    and no weight broadcasting -> one core call, no copies.
    *chunked*: anything else is processed in blocks of whole outer rows (or, for very
    long rows, pieces of rows) converted into reused contiguous buffers of at most
    ``CHUNK`` elements, so the extra memory is O(CHUNK), never a full-size copy of the
    inputs. Callers' arrays are never written to.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._results import SCALAR_TYPES, LossArray, LossFloat32, LossFloat64, LossResult
from ._spec import LossSpec, ReductionMode

_Array = npt.NDArray[Any]
_DType = np.dtype[Any]
_Shape = Tuple[int, ...]
#: a prepared sample weight: (kind, value, weight as given), see _prepare_weight
_Weight = Tuple[str, Any, _Array]
#: a block of a C-order index space: leading integers, then a slice (see c_blocks)
_Block = Tuple[Union[int, slice], ...]

#: elements per converted block on the chunked path (tests shrink it to exercise it)
CHUNK = 1 << 18
#: elements per task of the core (cpp/kernel/tuning.h, kTaskElements): the bfloat16 path's buffer size
_TASK_ELEMENTS = 1 << 15

_ndarray = np.ndarray
# NumPy's flag bits: C_CONTIGUOUS | ALIGNED -- what the core requires of a buffer
_CA = 0x1 | 0x100
_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_bce = _core.bce
_fast_call = _core.fast_call
_reduce = _core.reduce
_NONE = ReductionMode.NONE
_MEAN_WITH_SAMPLE_WEIGHT = ReductionMode.MEAN_WITH_SAMPLE_WEIGHT
_empty = np.empty
_core.set_result_types(LossFloat32, LossFloat64, LossArray)  # what the fast path returns


# --------------------------------------------------------------------------- entry
def compute(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> LossResult:
    """The loss ``spec`` describes, of ``y_pred`` against ``y_true``.

    Returns a ``LossFloat*`` scalar for the reducing modes (and for a 0-d ``none``
    result), else a ``LossArray``.
    """
    # Fast path, decided in C++ without temporaries: exact ndarrays of one native float32/float64
    # dtype and shape, C-contiguous and aligned, no empty axis, axis -1, and no weight, a Python float
    # or a [batch] weight of the same dtype (anything else returns None: the general path).
    if spec.any_dtype_fast or (spec.axis == -1 and _fast_dtype(y_pred, spec.dtype)):
        result = _fast_call(y_true, y_pred, sample_weight, spec)
        if result is not None:
            return result
    return _general(y_true, y_pred, sample_weight, spec)


def _fast_dtype(y_pred: object, dtype: Optional[_DType]) -> bool:
    """True when a forced compute dtype changes nothing for ``y_pred``."""
    return dtype is not None and type(y_pred) is np.ndarray and y_pred.dtype == dtype and dtype != _F16


# --------------------------------------------------------------------------- dtypes
def _is_plain_python(x: object) -> bool:
    """True for Python scalars and (nested) lists/tuples: tf converts these to float32."""
    return isinstance(x, (list, tuple, float, int, bool, numbers.Real)) and not isinstance(
        x, (np.ndarray, np.generic)
    )


def _to_array(x: object, name: str) -> _Array:
    """``x`` as an ndarray (a view when it already is one), Python floats as float32."""
    if type(x) is np.ndarray:
        return x
    if x is None:  # NumPy would make it an object array: say what it is instead
        raise TypeError(f"{name} is None: expected an array of real numbers (anything numpy.asarray takes)")
    plain = _is_plain_python(x)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name} could not be converted to an array: {e}") from None
    if plain and arr.dtype.kind == "f":
        # tf.convert_to_tensor makes float32 tensors from Python floats
        arr = arr.astype(_F32)
    return arr


def _check_real(arr: _Array, name: str) -> None:
    dt = arr.dtype
    if dt.kind in "fiub" and dt.fields is None:
        return
    if dt.name == "bfloat16":  # ml_dtypes (e.g. from a tf.bfloat16 tensor)
        return
    raise TypeError(
        f"{name} has unsupported dtype {dt!s}: expected real floating point, integer or boolean values"
    )


def _compute_dtype(dt: _DType, forced: Optional[_DType] = None) -> Tuple[_DType, _DType]:
    """(compute dtype, result dtype) for ``y_pred``'s dtype (already checked real), or for the
    spec's forced dtype."""
    if forced is not None:
        dt = forced
    if dt.kind == "f":
        if dt.itemsize == 4:
            return _F32, _F32
        if dt.itemsize == 2:
            return _F32, _F16
        return _F64, _F64  # float64 (any byte order) and longdouble
    if dt.name == "bfloat16":
        return _F32, dt  # widened to float32 in the kernels; the result in bfloat16, as float16 gives float16
    return _F32, _F32  # int, uint, bool


# --------------------------------------------------------------------------- shapes
def _squeeze_pair(y_true: _Array, y_pred: _Array, from_logits: bool = False) -> Tuple[_Array, _Array]:
    """tf_keras's squeeze for tensors; anything left mismatched is a ValueError."""
    ts, ps = y_true.shape, y_pred.shape
    if ts == ps:
        return y_true, y_pred
    diff = len(ps) - len(ts)
    if diff == 1 and ps[-1] == 1:
        y_pred = y_pred[..., 0]
    elif diff == -1 and ts[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have incompatible shapes: y_true {tuple(ts)} vs y_pred {tuple(ps)} "
            "(shapes must be equal, or differ only by a trailing axis of size 1)" + _two_class_hint(ts, ps, from_logits)
        )
    return y_true, y_pred


def _two_class_hint(ts: _Shape, ps: _Shape, from_logits: bool) -> str:
    """A hint when ``y_pred`` has two values per label: one per class, as scikit-learn's ``predict_proba``
    (or a two-logit classifier head) gives them."""
    labels = ts[:-1] if ts and ts[-1] == 1 and len(ts) == len(ps) else ts
    if len(ps) < 2 or ps[-1] != 2 or ps[:-1] != labels:
        return ""
    col = "[:, 1]" if len(ps) == 2 else "[..., 1]"
    if from_logits:
        return (f". y_pred has 2 values per label, one logit per class: for a softmax over the two, pass "
                f"y_pred{col} - y_pred{col.replace('1', '0')}, the one logit of class 1")
    return (f". y_pred has 2 values per label, one probability per class (as scikit-learn's predict_proba "
            f"gives): pass y_pred{col}, the probability of class 1")


def normalize_axis(axis: int, ndim: int, shape: _Shape) -> int:
    if ndim == 0:
        raise ValueError(
            "binary crossentropy averages over `axis`, but y_true and y_pred are scalars (shape ()); "
            "pass arrays of rank >= 1"
        )
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for inputs of shape {tuple(shape)} (rank {ndim})")
    return axis + ndim if axis < 0 else axis


def _prepare_weight(sample_weight: object, loss_shape: _Shape, cdt: _DType, hint: str = "") -> _Weight:
    """Normalise ``sample_weight`` against the per-sample loss shape.

    ``hint`` ends the ``ValueError`` for a weight that does not fit.

    Returns ``(kind, value, given)``, ``given`` being the weight as the caller gave it after
    the rank rules (not broadcast: what ``mean_with_sample_weight`` divides by the sum of):
      ("one", 1-element contiguous cdt array)          -- scales everything
      ("prefix", (contiguous cdt array, k))             -- shape loss_shape[:k]: weight[s // repeat]
                                                          with repeat = prod(loss_shape[k:])
      ("bcast", view of shape loss_shape, any dtype)   -- general broadcast, chunked
    """
    plain = _is_plain_python(sample_weight)
    w = _to_array(sample_weight, "sample_weight")
    _check_real(w, "sample_weight")
    if plain and w.dtype.kind in "f":
        w = w.astype(_F32)
    orig = tuple(w.shape)
    lr = len(loss_shape)

    def bad() -> ValueError:
        return ValueError(
            f"sample_weight of shape {orig} is incompatible with the per-sample loss of shape "
            f"{tuple(loss_shape)}: expected a scalar, a 1-D weight of the batch size, or a shape that "
            "broadcasts to the per-sample loss (with one trailing axis of size 1 added or removed)" + hint
        )

    if w.ndim == 0:
        return "one", _buffer(w, cdt), w
    if w.ndim == 1 and lr >= 1 and w.shape[0] == loss_shape[0] and w.shape[0] != 1:
        # the documented per-sample (batch) weight, for any rank of the loss; a large one that would
        # need converting is read per chunk instead (O(chunk) memory)
        if w.size <= CHUNK or (w.dtype == cdt and w.flags.num & _CA == _CA):
            return "prefix", (_buffer(w, cdt), 1), w
        return "bcast", np.broadcast_to(w.reshape(w.shape + (1,) * (lr - 1)), tuple(loss_shape)), w
    if w.ndim - lr == 1:
        if w.shape[-1] != 1:
            raise bad()
        w = w[..., 0]
    elif lr - w.ndim == 1:
        w = w[..., None]
    if w.ndim > lr:
        raise bad()
    ws = (1,) * (lr - w.ndim) + w.shape
    for wd, ld in zip(ws, loss_shape):
        if wd != 1 and wd != ld:
            raise bad()
    if w.size == 1:
        return "one", _buffer(w, cdt), w
    w = w.reshape(ws)
    # weight[s // repeat] form: shape == loss_shape[:k] + (1,) * (lr - k)
    for k in range(lr, 0, -1):
        if ws[:k] == tuple(loss_shape[:k]) and all(d == 1 for d in ws[k:]):
            size = math.prod(ws[:k])
            if size <= CHUNK or (w.dtype == cdt and w.flags.num & _CA == _CA):
                return "prefix", (_buffer(w, cdt), k), w
            break
    return "bcast", np.broadcast_to(w, tuple(loss_shape)), w


def _weight_sum(w: _Array, cdt: _DType) -> float:
    """The float64 sum of the weight's values rounded to ``cdt``, in C order and O(CHUNK) memory, summed as
    the fast path sums them (``_core.weight_sum``), so both paths divide by the same bits."""
    if w.ndim == 0:
        return float(cdt.type(w))
    total = 0.0
    buf = _empty(min(w.size, CHUNK), cdt)
    for blk in c_blocks(w.shape, CHUNK):
        total = _core.weight_sum(_contig(w[blk], cdt, buf).reshape(-1), total)
    return total


def _buffer(w: _Array, cdt: _DType) -> _Array:
    """``w`` flattened into an aligned C-contiguous ``cdt`` array (no copy when it is one)."""
    return np.require(w, dtype=cdt, requirements=("C", "A")).reshape(-1)


# --------------------------------------------------------------------------- general path
class _Layout:
    """The input rules every general-path call starts with, applied once: ``y_true`` / ``y_pred`` as arrays
    (real dtypes checked, the trailing-1 squeeze done), the compute and result dtypes, the pos weights checked
    against y_pred's classes, and the ``(outer, reduced, inner)`` layout of ``axis``."""

    __slots__ = ("y_true", "y_pred", "t_shape", "p_shape", "p_dtype", "cdt", "rdt", "axis", "loss_shape", "reduced",
                 "outer", "inner", "nsamples")

    def __init__(self, y_true: object, y_pred: object, spec: LossSpec) -> None:
        yp = _to_array(y_pred, "y_pred")
        _check_real(yp, "y_pred")
        yt = _to_array(y_true, "y_true")
        _check_real(yt, "y_true")
        self.cdt, self.rdt = _compute_dtype(yp.dtype, spec.dtype)
        if spec.pos_weight is not None and yp.ndim:
            spec.check_classes(yp.shape[-1], yp.shape)  # one per class of y_pred's last axis, as given
        self.t_shape, self.p_shape, self.p_dtype = yt.shape, yp.shape, yp.dtype
        self.y_true, self.y_pred = _squeeze_pair(yt, yp, spec.from_logits)
        shape = self.y_pred.shape
        a = self.axis = normalize_axis(spec.axis, len(shape), shape)
        self.loss_shape: _Shape = shape[:a] + shape[a + 1 :]
        self.reduced = shape[a]
        self.outer = math.prod(shape[:a])
        self.inner = math.prod(shape[a + 1 :])
        self.nsamples = self.outer * self.inner

    def weight_hint(self) -> str:
        """How a sample weight's ``ValueError`` ends: why 1-D inputs take no per-sample weight."""
        return _one_sample_hint(self.t_shape, self.p_shape, self.reduced) if not self.loss_shape else ""


def _general(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> LossResult:
    total, result, out, _ = _general_total(y_true, y_pred, sample_weight, spec)
    return result.finish(total, out)


def totals(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Tuple[float, _Result]:
    """For callers that sum a loss over chunks (``fastbce eval``): the kernels' float64 total of the weighted
    per-sample losses, and how a total becomes the loss (its ``nsamples``, ``weight_sum`` and ``finish``)."""
    total, result, _, _ = _general_total(y_true, y_pred, sample_weight, spec)
    return total, result


def metric_totals(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Tuple[float, float]:
    """A streaming mean's update (tf_keras's ``Mean`` metric over the per-sample losses): the float64 sum of
    the weighted per-sample losses, and the float64 sum of the weights broadcast to the per-sample loss (the
    number of per-sample losses without weights). ``spec``'s reduction is not used.

    The total is summed from the per-sample values in float64 (NumPy's pairwise sum), not by the kernels'
    float trees, so that it does not depend on how the data is split into updates beyond float64 rounding."""
    _, _, out, count = _general_total(y_true, y_pred, sample_weight, spec.replace(reduction=None), True)
    assert out is not None  # reduction none fills the per-sample values
    return float(np.sum(out, dtype=np.float64)), count


def _general_total(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec,
                   want_count: bool = False) -> Tuple[float, _Result, Optional[_Array], float]:
    """The general path up to the float64 total: ``(total, how it becomes the result, the per-sample values for
    none, the sum of the broadcast weights when ``want_count``, else 0)``."""
    lay = _Layout(y_true, y_pred, spec)
    yt, yp, a, cdt, rdt = lay.y_true, lay.y_pred, lay.axis, lay.cdt, lay.rdt
    loss_shape, reduced, outer, inner, nsamples = lay.loss_shape, lay.reduced, lay.outer, lay.inner, lay.nsamples
    mode = spec.reduction_mode

    weight = None
    weight_sum = float(nsamples)
    count = float(nsamples)
    if sample_weight is not None:
        weight = _prepare_weight(sample_weight, loss_shape, cdt, lay.weight_hint())
        if mode == _MEAN_WITH_SAMPLE_WEIGHT:
            weight_sum = _weight_sum(weight[2], cdt)
        if want_count:
            count = _broadcast_weight_sum(weight, loss_shape, cdt)
    result = _Result(mode, nsamples, weight_sum, len(loss_shape) == 0, cdt, rdt)

    if nsamples == 0 or reduced == 0:
        if nsamples == 0:
            return 0.0, result, _empty(loss_shape, cdt), count
        # mean over a zero-length axis is NaN (as tf.reduce_mean gives); NaN * w is NaN
        return float("nan"), result, np.full(loss_shape, np.nan, dtype=cdt), count

    out = _empty(loss_shape, cdt) if mode == _NONE else None

    direct = (
        yp.dtype == cdt
        and yt.dtype == cdt
        and yp.flags.num & _CA == _CA
        and yt.flags.num & _CA == _CA
        and (weight is None or weight[0] != "bcast")
    )
    if not direct and _widens_in_kernels(yt, yp, cdt, inner, reduced, weight):
        warr, rep = _direct_weight(weight, loss_shape)
        yt16 = yt.view(np.uint16) if yt.dtype == yp.dtype else yt
        total = _core.bce_bf16(yt16, yp.view(np.uint16), warr, out, outer, reduced, inner, rep, spec)
        return total, result, out, count
    if direct:
        warr, rep = _direct_weight(weight, loss_shape)
        total = _bce(yt, yp, warr, out, outer, reduced, inner, rep, spec)
    else:
        if weight is not None and weight[0] == "prefix":
            warr, k = weight[1]
            wshape = tuple(loss_shape[:k]) + (1,) * (len(loss_shape) - k)
            weight = ("bcast", np.broadcast_to(warr.reshape(wshape), tuple(loss_shape)), weight[2])
        total = _chunked(yt, yp, a, cdt, weight, out, spec)
    return total, result, out, count


def _widens_in_kernels(yt: _Array, yp: _Array, cdt: _DType, inner: int, reduced: int,
                       weight: Optional[_Weight]) -> bool:
    """bfloat16 ``y_pred`` (and ``y_true`` bfloat16 or of the compute dtype), C-contiguous and aligned: the
    kernels widen each task's elements into a small buffer (``_core.bce_bf16``), no full-size copy. Strided
    layouts whose tasks would be large take the chunked path."""
    return (
        yp.dtype.name == "bfloat16"
        and cdt == _F32
        and (yt.dtype == yp.dtype or yt.dtype == cdt)
        and yp.flags.num & _CA == _CA
        and yt.flags.num & _CA == _CA
        and (inner == 1 or reduced * inner <= _TASK_ELEMENTS)
        and (weight is None or weight[0] != "bcast")
    )


def _direct_weight(weight: Optional[_Weight], loss_shape: _Shape) -> Tuple[Optional[_Array], int]:
    """A "one" or "prefix" weight as the core takes it: (array or None, weight_repeat)."""
    if weight is None:
        return None, 1
    if weight[0] == "one":
        return weight[1], 1
    warr, k = weight[1]
    return warr, math.prod(loss_shape[k:])


def _broadcast_weight_sum(weight: _Weight, loss_shape: _Shape, cdt: _DType) -> float:
    """The float64 sum of a prepared weight broadcast to the per-sample loss (a ``Mean`` metric's count)."""
    kind, value, _ = weight
    nsamples = math.prod(loss_shape)
    if kind == "one":
        return float(value[0]) * nsamples
    if kind == "prefix":
        arr, k = value
        return float(np.sum(arr, dtype=np.float64)) * math.prod(loss_shape[k:])
    return float(np.sum(value.astype(cdt, copy=False) if value.dtype != cdt else value, dtype=np.float64))


def _one_sample_hint(t_shape: _Shape, p_shape: _Shape, n: int) -> str:
    """Why a loss of shape () takes no per-sample weight: 1-D inputs are one sample (tf_keras's rule)."""
    squeezed = " (after squeezing the trailing axis of size 1)" if t_shape != p_shape else ""
    return (f". y_true {tuple(t_shape)} and y_pred {tuple(p_shape)} are 1-D{squeezed}, and 1-D inputs are one "
            f"sample of {n} outputs, as in tf_keras, so the loss is their mean, one value; for one prediction per "
            f"sample, reshape both to ({n}, 1), e.g. y[:, None]")


class _Result:
    """How a call's float64 total (or its per-sample values) becomes the returned value."""

    __slots__ = ("mode", "nsamples", "weight_sum", "scalar_loss", "cdt", "rdt")

    def __init__(self, mode: ReductionMode, nsamples: int, weight_sum: float, scalar_loss: bool, cdt: _DType,
                 rdt: _DType) -> None:
        self.mode, self.nsamples, self.weight_sum = mode, nsamples, weight_sum
        self.scalar_loss, self.cdt, self.rdt = scalar_loss, cdt, rdt

    def finish(self, total: float, out: Optional[_Array]) -> LossResult:
        if self.mode == _NONE:
            assert out is not None  # NONE always fills an output
            if self.rdt is not self.cdt:
                out = out.astype(self.rdt)
            if out.ndim == 0:
                return self._scalar(out[()])
            return out.view(LossArray)
        return self._scalar(_reduce(self.mode, total, self.nsamples, self.weight_sum, self.scalar_loss))

    def _scalar(self, value: Any) -> LossResult:
        scalar_type = SCALAR_TYPES.get(self.rdt)
        if scalar_type is None:  # bfloat16, whose scalar type NumPy cannot subclass: a 0-d LossArray
            return np.asarray(value, self.rdt).view(LossArray)
        return scalar_type(value)


def degenerate(loss_shape: _Shape, nsamples: int, result: _Result) -> LossResult:
    """Empty batch (no samples: 0.0 / empty array) or empty ``axis`` (NaN per sample)."""
    if nsamples == 0:
        return result.finish(0.0, _empty(loss_shape, result.cdt))
    # mean over a zero-length axis is NaN (as tf.reduce_mean gives); NaN * w is NaN
    return result.finish(float("nan"), np.full(loss_shape, np.nan, dtype=result.cdt))


# --------------------------------------------------------------------------- chunking
def c_blocks(dims: _Shape, limit: int) -> Iterator[_Block]:
    """Partition the C-order index space of ``dims`` into basic-index blocks.

    Yields tuples ``prefix_ints + (slice,)`` (or ``()`` for no dims) selecting at most
    ``max(limit, 1)`` elements each, in C order, so that a block of a C-contiguous
    array is itself C-contiguous.
    """
    n = len(dims)
    if n == 0:
        yield ()
        return
    limit = max(1, limit)
    sp = [1] * n  # sp[p] = prod(dims[p+1:])
    for p in range(n - 2, -1, -1):
        sp[p] = sp[p + 1] * dims[p + 1]
    p = 0
    while sp[p] > limit:
        p += 1
    k = max(1, limit // sp[p])
    dp = dims[p]
    for prefix in np.ndindex(*dims[:p]):
        for j in range(0, dp, k):
            yield prefix + (slice(j, min(j + k, dp)),)


def _contig(view: _Array, dt: _DType, buf: _Array) -> _Array:
    """``view`` as an aligned C-contiguous ``dt`` array: itself when it already is one, else
    converted into the front of the reusable buffer ``buf``."""
    if view.dtype == dt and view.flags.num & _CA == _CA:
        return view
    dst = buf[: view.size].reshape(view.shape)
    np.copyto(dst, view, casting="unsafe")
    return dst


def _chunked(yt: _Array, yp: _Array, a: int, cdt: _DType, weight: Optional[_Weight], out: Optional[_Array],
             spec: LossSpec) -> float:
    """Blocked evaluation with O(CHUNK) extra memory. Returns the float64 sum of the
    weighted per-sample losses; fills ``out`` (shape = loss shape) when given."""
    shape = yp.shape
    lead, reduced, trail = shape[:a], shape[a], shape[a + 1 :]
    inner = math.prod(trail)
    row = reduced * inner
    limit = max(1, CHUNK)
    nbuf = min(yp.size, max(limit, 1))
    buf_t = _empty(nbuf, cdt)
    buf_p = _empty(nbuf, cdt)
    wkind = None if weight is None else weight[0]
    wone = weight[1] if weight is not None and wkind == "one" else None
    wfull = weight[1] if weight is not None and wkind == "bcast" else None
    # conversion buffers of the weights and the per-sample outputs (empty when there are none)
    wbuf = _empty(max(1, nbuf // max(1, reduced)) if wfull is not None else 0, cdt)
    obuf = _empty(max(1, nbuf // max(1, reduced)) if out is not None else 0, cdt)
    total = 0.0

    if row <= limit:
        # blocks of whole outer rows
        for blk in c_blocks(lead, limit // row):
            tb = _contig(yt[blk], cdt, buf_t)
            pb = _contig(yp[blk], cdt, buf_p)
            nrows = pb.size // row
            ns = nrows * inner
            wb = wone
            if wfull is not None:
                wb = _contig(wfull[blk], cdt, wbuf)
            ob = obuf[:ns]
            total += _bce(tb, pb, wb, ob if out is not None else None, nrows, reduced, inner, 1, spec)
            if out is not None:
                out[blk] = ob.reshape(out[blk].shape)
        return total

    # rows longer than the chunk: one outer row at a time. Blocks no longer start at a class boundary
    # of the last axis, so each gets the pos weights of the classes it holds (LossSpec.pos_weight_window).
    last = len(shape) - 1
    for idx in np.ndindex(*lead):
        trow, prow = yt[idx], yp[idx]  # shape (reduced,) + trail
        if reduced <= limit:
            # pieces of the inner positions, each with its whole reduced axis
            for tb_ in c_blocks(trail, limit // reduced):
                sel = (slice(None),) + tb_
                tb = _contig(trow[sel], cdt, buf_t)
                pb = _contig(prow[sel], cdt, buf_p)
                ns = pb.size // reduced
                block_spec = spec
                if a != last and len(tb_) == len(trail) and isinstance(tb_[-1], slice):
                    # the block slices the last axis itself: element e has the class start + e % ns
                    block_spec = spec.pos_weight_window(tb_[-1].start, tb_[-1].stop)
                wb = wone
                if wfull is not None:
                    wb = _contig(wfull[idx + tb_], cdt, wbuf)
                ob = obuf[:ns]
                total += _bce(tb, pb, wb, ob if out is not None else None, 1, reduced, ns, 1, block_spec)
                if out is not None:
                    dst = out[idx + tb_]
                    dst[...] = ob.reshape(dst.shape)
        else:
            # the reduced axis alone exceeds the chunk: partial means, one inner
            # position at a time, accumulated in float64
            pieces = range(0, reduced, limit)
            for tb_ in c_blocks(trail, 1):
                acc = 0.0
                for r0 in pieces:
                    r1 = min(r0 + limit, reduced)
                    sel = (slice(r0, r1),) + tb_
                    tb = _contig(trow[sel], cdt, buf_t)
                    pb = _contig(prow[sel], cdt, buf_p)
                    # the piece as r1 - r0 one-element samples: the float64 sum of its element losses,
                    # whose classes are r0 .. r1 - 1 (axis is the last) or the inner position's one
                    if a == last:
                        piece_spec = spec.pos_weight_window(r0, r1)
                    else:
                        c = tb_[-1] if isinstance(tb_[-1], int) else tb_[-1].start
                        piece_spec = spec.pos_weight_window(c, c + 1)
                    acc += _bce(tb, pb, None, None, r1 - r0, 1, 1, 1, piece_spec)
                with np.errstate(all="ignore"):  # NaN in, NaN out, quietly, as the kernels do
                    mean = cdt.type(acc / reduced)
                    if wone is not None:
                        v = cdt.type(mean * wone[0])
                    elif wfull is not None:
                        v = cdt.type(mean * cdt.type(wfull[idx + tb_].reshape(-1)[0]))
                    else:
                        v = mean
                total += float(v)
                if out is not None:
                    out[idx + tb_] = v
    return total


# --------------------------------------------------------------------------- gradients
class GradInputs:
    """A gradient call prepared by the loss's rules (``prepare_grad``) for ``_core.value_grad``: ``y_true`` /
    ``y_pred`` as aligned C-contiguous compute-dtype arrays laid out ``(outer, reduced, inner)``; ``weight`` the
    per-sample weights (None, one value, or one per sample); ``factor`` each sample's chain factor of the
    reduction (sample weight x reduction scale x cotangent / length of ``axis``: one value, or one per sample);
    ``out`` the per-sample buffer for ``none``; ``result`` how the total becomes the loss."""

    __slots__ = ("y_true", "y_pred", "weight", "factor", "out", "layout", "result", "loss_shape", "grad_shape",
                 "grad_dtype")

    def __init__(self, y_true: _Array, y_pred: _Array, weight: Optional[_Array], factor: _Array,
                 out: Optional[_Array], layout: Tuple[int, int, int], result: _Result, loss_shape: _Shape,
                 grad_shape: _Shape, grad_dtype: _DType) -> None:
        self.y_true, self.y_pred, self.weight, self.factor, self.out = y_true, y_pred, weight, factor, out
        self.layout, self.result, self.loss_shape = layout, result, loss_shape
        self.grad_shape, self.grad_dtype = grad_shape, grad_dtype

    def finish_grad(self, grad: _Array) -> _Array:
        """The gradient in ``y_pred``'s shape and dtype."""
        return grad.reshape(self.grad_shape).astype(self.grad_dtype, copy=False)


def _grad_dtype(dt: _DType, cdt: _DType) -> _DType:
    """The gradient's dtype: y_pred's, when it is a float dtype (bfloat16 included), else the compute dtype."""
    return dt if dt.kind == "f" or dt.name == "bfloat16" else cdt


def prepare_grad(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec,
                 grad_out: object) -> GradInputs:
    """The loss's input rules (dtypes, squeeze, axis, sample weights) for a gradient; see ``GradInputs``.

    The inputs are converted to contiguous compute-dtype arrays when they are not (the gradient is a full-size
    array anyway); per-sample weights and factors are materialised (one value per sample)."""
    lay = _Layout(y_true, y_pred, spec)
    yt, yp, cdt, rdt = lay.y_true, lay.y_pred, lay.cdt, lay.rdt
    loss_shape, reduced, outer, inner, nsamples = lay.loss_shape, lay.reduced, lay.outer, lay.inner, lay.nsamples
    grad_dtype = _grad_dtype(lay.p_dtype, cdt)
    p_shape = lay.p_shape
    mode = spec.reduction_mode

    weight: Any = None  # float64 per-sample view (or number) for the factor
    weight_buf: Optional[_Array] = None  # what the kernel reads
    weight_sum = float(nsamples)
    if sample_weight is not None:
        kind, value, given = _prepare_weight(sample_weight, loss_shape, cdt, lay.weight_hint())
        if kind == "one":
            weight_buf = value
            weight = float(value[0])
        else:
            if kind == "prefix":
                arr, k = value
                value = arr.reshape(tuple(loss_shape[:k]) + (1,) * (len(loss_shape) - k))
            view = np.broadcast_to(value, loss_shape)
            weight_buf = _buffer(view, cdt)
            weight = weight_buf.reshape(loss_shape)
        if mode == _MEAN_WITH_SAMPLE_WEIGHT:
            weight_sum = _weight_sum(given, cdt)

    scalar_loss = len(loss_shape) == 0
    if mode == ReductionMode.SUM_OVER_BATCH_SIZE:
        scale = 1.0 / nsamples if nsamples else 0.0
    elif mode == _MEAN_WITH_SAMPLE_WEIGHT and not scalar_loss:
        scale = 0.0 if weight_sum == 0.0 else 1.0 / weight_sum
    else:
        scale = 1.0
    cotangent = _cotangent(grad_out, loss_shape, mode)
    with np.errstate(all="ignore"):  # inf / NaN weights give inf / NaN gradients, quietly
        factor = np.multiply(1.0 if weight is None else weight, cotangent, dtype=np.float64) * (scale / max(reduced, 1))
    factor = _buffer(np.asarray(factor), cdt)  # one value, or one per sample in C order

    result = _Result(mode, nsamples, weight_sum, scalar_loss, cdt, rdt)
    out = _empty(loss_shape, cdt) if mode == _NONE else None
    return GradInputs(_buffer(yt, cdt), _buffer(yp, cdt), weight_buf, factor, out, (outer, reduced, inner), result,
                      loss_shape, p_shape, grad_dtype)


def _cotangent(grad_out: object, loss_shape: _Shape, mode: ReductionMode) -> Any:
    """``grad_out`` as a float64 number (reducing modes) or an array broadcast to the per-sample loss
    (``none``); 1 when None."""
    if grad_out is None:
        return 1.0
    g = _to_array(grad_out, "grad_out")
    _check_real(g, "grad_out")
    if mode != _NONE or not loss_shape:
        if g.size != 1:
            raise ValueError(f"grad_out of shape {g.shape}: the loss is a scalar, so its cotangent is one number")
        return float(g.reshape(-1)[0])
    try:
        return np.broadcast_to(g.astype(np.float64, copy=False), loss_shape)
    except ValueError:
        raise ValueError(f"grad_out of shape {g.shape} does not broadcast to the per-sample loss of shape "
                         f"{tuple(loss_shape)}") from None


def prepare_elementwise(y_true: object, y_pred: object, sample_weight: object,
                        spec: LossSpec) -> Tuple[_Array, _Array, Optional[_Array], _DType]:
    """``(y_true, y_pred, weight, out dtype)`` for per-element derivatives (``grad_hess``): the loss's dtype and
    squeeze rules, ``y_pred``'s shape kept; the weight broadcast to it (a ``[n]`` weight of ``[n, 1]``
    predictions fits too), else ``ValueError`` naming both shapes."""
    yp = _to_array(y_pred, "y_pred")
    _check_real(yp, "y_pred")
    yt = _to_array(y_true, "y_true")
    _check_real(yt, "y_true")
    cdt, _ = _compute_dtype(yp.dtype, spec.dtype)
    if spec.pos_weight is not None and yp.ndim:
        spec.check_classes(yp.shape[-1], yp.shape)
    p_shape = yp.shape
    yt, sq = _squeeze_pair(yt, yp, spec.from_logits)
    yt = yt.reshape(p_shape) if sq.shape != p_shape else yt
    weight = None
    if sample_weight is not None:
        w = _to_array(sample_weight, "sample_weight")
        _check_real(w, "sample_weight")
        if w.ndim == 1 and len(p_shape) == 2 and p_shape[1] == 1 and w.shape[0] == p_shape[0]:
            w = w[:, None]
        try:
            view = np.broadcast_to(w, p_shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {w.shape} does not broadcast to y_pred's shape "
                             f"{tuple(p_shape)}") from None
        weight = _buffer(w, cdt) if w.size == 1 else _buffer(view, cdt)
    return np.require(yt, cdt, ("C", "A")), np.require(yp, cdt, ("C", "A")), weight, cdt
