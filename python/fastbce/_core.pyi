"""Type stubs for the compiled core ``fastbce._core`` (cpp/module.cpp).

The core sees only C-contiguous float32/float64 buffers; every shape, dtype and
broadcasting policy is decided in Python (``fastbce._inputs``) before a call.
"""
from typing import Optional

import numpy as np
import numpy.typing as npt

def bce(
    y_true: npt.NDArray[np.floating],
    y_pred: npt.NDArray[np.floating],
    weight: Optional[npt.NDArray[np.floating]],
    out: Optional[npt.NDArray[np.floating]],
    outer: int,
    reduced: int,
    inner: int,
    weight_repeat: int,
    from_logits: bool,
    label_smoothing: float,
) -> float:
    """Fused binary cross-entropy over an ``(outer, reduced, inner)`` C-contiguous layout.

    ``y_true`` and ``y_pred`` share one dtype (float32 or float64) and hold
    ``outer * reduced * inner`` elements. The loss is averaged over the middle
    (``reduced``) axis, giving ``outer * inner`` per-sample values ``v[s]``
    (``s = o * inner + i``), each multiplied by its weight and rounded to the dtype:
    ``v[s] = dtype(dtype(mean_s) * w[s // weight_repeat])``. ``weight`` is None
    (all ones), a 1-element array (one weight for every sample) or an array of
    ``outer * inner / weight_repeat`` elements in the same dtype. When ``out`` is given
    (same dtype, ``outer * inner`` elements) it receives ``v``. Returns ``sum(v)``
    accumulated in float64 in a fixed order (bitwise identical for any thread count).
    Runs without the GIL.
    """

def math(func: str, x: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Apply the active kernel's vector ``"log"``, ``"log1p"`` or ``"exp"`` to a contiguous float32/float64 array."""

def read_sum(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Sum of ``a + b`` over two contiguous float32 arrays of one size, with the loss's tasks, threads and loads
    but no loss: the benchmark's read-bandwidth roofline (``bench/roofline.py``)."""

def isa() -> str:
    """The active instruction-set level: ``"scalar"``, ``"avx2"``, ``"avx512"`` or ``"neon"``."""

def available_isas() -> list[str]:
    """The levels compiled into this build that this CPU and OS can run, best first."""

def set_isa(name: str) -> None:
    """Switch the active level (tests only; users set ``FASTBCE_ISA`` before import)."""

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

def fast_call(
    y_true: object, y_pred: object, sample_weight: object, mode: int, from_logits: bool, label_smoothing: float
) -> Optional[object]:
    """The common call in one step: exact ndarrays of one native float32/float64 dtype and one shape,
    C-contiguous and aligned, rank >= 1 with no zero-length axis, loss over the last axis; ``sample_weight``
    None, a Python float (rounded to float32 first, as tf converts it) or an exact C-contiguous ndarray of
    the same dtype and shape ``[B]`` (B = the inputs' first dimension, B > 1, rank >= 2).
    ``mode``: 0 none, 1 sum, 2 sum over batch size. Returns the finished result (the types given to
    :func:`set_result_types`), or None when the inputs need the general path."""

def set_result_types(f32: type, f64: type, array: type) -> None:
    """Register the result types (``LossFloat32``, ``LossFloat64``, ``LossArray``) ``fast_call`` returns."""
