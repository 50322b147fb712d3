"""Type stubs for the compiled core ``fastbce._core`` (cpp/module.cpp).

The core sees only C-contiguous float32/float64 buffers; every shape, dtype and
broadcasting policy is decided in Python (``fastbce._inputs``) before a call. The
loss options come in one ``LossSpec`` (``fastbce._spec``), read through its ``core``
tuple (``cpp/loss_spec_py.h``).
"""
from typing import Any, List, Optional, Type, Union

import numpy as np
import numpy.typing as npt

from ._results import LossArray, LossFloat32, LossFloat64
from ._spec import LossSpec, ReductionMode

def bce(
    y_true: npt.NDArray[np.floating[Any]],
    y_pred: npt.NDArray[np.floating[Any]],
    weight: Optional[npt.NDArray[np.floating[Any]]],
    out: Optional[npt.NDArray[np.floating[Any]]],
    outer: int,
    reduced: int,
    inner: int,
    weight_repeat: int,
    spec: LossSpec,
) -> float:
    """Fused binary cross-entropy over an ``(outer, reduced, inner)`` C-contiguous layout.

    ``y_true`` and ``y_pred`` share one dtype (float32 or float64) and hold
    ``outer * reduced * inner`` elements. The loss ``spec`` describes (``from_logits``,
    ``label_smoothing``, ``pos_weight``; its reduction is not applied here) is averaged
    over the middle (``reduced``) axis, giving ``outer * inner`` per-sample values ``v[s]``
    (``s = o * inner + i``), each multiplied by its weight and rounded to the dtype:
    ``v[s] = dtype(dtype(mean_s) * w[s // weight_repeat])``. ``weight`` is None
    (all ones), a 1-element array (one weight for every sample) or an array of
    ``outer * inner / weight_repeat`` elements in the same dtype. When ``out`` is given
    (same dtype, ``outer * inner`` elements) it receives ``v``. Returns ``sum(v)``
    accumulated in float64 in a fixed order (bitwise identical for any thread count).
    Runs without the GIL.
    """

def bce_bf16(
    y_true: npt.NDArray[Any],
    y_pred: npt.NDArray[np.uint16],
    weight: Optional[npt.NDArray[np.float32]],
    out: Optional[npt.NDArray[np.float32]],
    outer: int,
    reduced: int,
    inner: int,
    weight_repeat: int,
    spec: LossSpec,
) -> float:
    """``bce`` in float32 with ``y_pred`` given as bfloat16 bits (uint16) and ``y_true`` as bfloat16 bits or
    float32: each task widens its elements into a per-thread buffer, so the result is bit for bit that of the
    widened float32 inputs without a full-size copy. ``inner > 1`` needs ``reduced * inner <= 32768``."""

def value_grad(
    y_true: npt.NDArray[np.floating[Any]],
    y_pred: npt.NDArray[np.floating[Any]],
    weight: Optional[npt.NDArray[np.floating[Any]]],
    factor: npt.NDArray[np.floating[Any]],
    grad: npt.NDArray[np.floating[Any]],
    out: Optional[npt.NDArray[np.floating[Any]]],
    outer: int,
    reduced: int,
    inner: int,
    spec: LossSpec,
) -> float:
    """``bce`` (``weight``: None, one value or one per sample) fused with the gradient: every element's
    d loss / d y_pred times its sample's ``factor`` (one value, or one per sample: the reduction's chain,
    see ``fastbce._inputs.GradInputs``) is stored to ``grad`` (y_pred's size and dtype, writeable).
    Returns ``bce``'s total; same tasks and threads, without the GIL."""

def grad_hess(
    y_true: npt.NDArray[np.floating[Any]],
    x: npt.NDArray[np.floating[Any]],
    weight: Optional[npt.NDArray[np.floating[Any]]],
    grad: npt.NDArray[np.floating[Any]],
    hess: npt.NDArray[np.floating[Any]],
    spec: LossSpec,
) -> None:
    """Per element of the logits loss ``spec`` describes: first and second derivative times the weight
    (None, one value, or one per element), stored to ``grad`` and ``hess``. Without the GIL."""

def add_into(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], out: npt.NDArray[np.float32]) -> None:
    """``out = a + b`` with the kernels' tasks and threads: the benchmark's three-stream roofline (two
    arrays read, one written, as a gradient)."""

def fast_call(
    y_true: object, y_pred: object, sample_weight: object, spec: LossSpec
) -> Union[LossFloat32, LossFloat64, LossArray, None]:
    """The common call in one step: exact ndarrays of one native float32/float64 dtype and one shape,
    C-contiguous and aligned, rank >= 1 with no zero-length axis, loss over the last axis; ``sample_weight``
    None, a Python float (rounded to float32 first, as tf converts it) or an exact C-contiguous ndarray of
    the same dtype and shape ``[B]`` (B = the inputs' first dimension, B > 1, rank >= 2); pos weights that
    fit the inputs' last axis. Applies ``spec``'s reduction (``_core.reduce``) and returns the finished
    result (the types given to :func:`set_result_types`), or None when the inputs need the general path."""

def reduce(
    mode: Union[ReductionMode, int], total: float, samples: int, weight_sum: float, scalar_loss: bool
) -> float:
    """Apply reduction ``mode`` (``ReductionMode``: 0 none .. 3 mean_with_sample_weight) to ``total``, the
    float64 sum of the weighted per-sample losses: the one place a reduction is applied (``cpp/loss_spec.h``).
    ``samples`` is the number of per-sample losses, ``weight_sum`` the sum of the sample weights as given
    (``mean_with_sample_weight``'s divisor), ``scalar_loss`` whether the per-sample loss is one value (1-D
    inputs). ``ValueError`` for a mode outside 0..3."""

def weight_sum(w: npt.NDArray[np.floating[Any]], start: float = 0.0) -> float:
    """``start`` plus the float64 sum of a contiguous float32/float64 array, summed as the fast path sums a
    ``[batch]`` weight (so both paths divide ``mean_with_sample_weight`` by the same bits)."""

def set_result_types(f32: Type[LossFloat32], f64: Type[LossFloat64], array: Type[LossArray]) -> None:
    """Register the result types (``LossFloat32``, ``LossFloat64``, ``LossArray``) ``fast_call`` returns."""

def math(func: str, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    """Apply the active kernel's vector ``"log"``, ``"log1p"`` or ``"exp"`` to a contiguous float32/float64 array."""

def read_sum(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Sum of ``a + b`` over two contiguous float32 arrays of one size, with the loss's tasks, threads and loads
    but no loss: the benchmark's read-bandwidth roofline (``bench/roofline.py``)."""

def isa() -> str:
    """The active instruction-set level: ``"scalar"``, ``"avx2"``, ``"avx512"`` or ``"neon"``."""

def available_isas() -> List[str]:
    """The levels compiled into this build that this CPU and OS can run, best first."""

def known_isas() -> List[str]:
    """Every level name there is (``cpp/levels.def``), whether or not this build or CPU has it."""

def set_isa(name: str) -> None:
    """Switch the active level (tests only; users set ``FASTBCE_ISA`` before import)."""

def set_num_threads(n: int) -> None:
    """Set the size of the thread pool (1 to 4096; ``ValueError`` otherwise)."""

def get_num_threads() -> int:
    """The size of the thread pool (default: the CPUs this process may use, or ``FASTBCE_NUM_THREADS``)."""
