"""fastbce's shape and dtype rules applied to shapes alone, for the framework adapters.

JAX needs a result's shape and dtype while tracing, before any value exists, and both adapters scale a kept
gradient by a per-sample cotangent. The rules themselves stay in ``fastbce._inputs``; these functions run them
on zero-stride placeholder arrays (no data is read or allocated beyond a weight-sized conversion).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .. import _inputs
from .._spec import LossSpec, ReductionMode

_Shape = Tuple[int, ...]


def _placeholder(shape: _Shape, dtype: Any) -> Any:
    return np.broadcast_to(np.zeros((), dtype), shape)


def result_shape_dtype(t_shape: _Shape, t_dtype: Any, p_shape: _Shape, p_dtype: Any, w_shape: Optional[_Shape],
                       w_dtype: Any, spec: LossSpec) -> Tuple[_Shape, np.dtype[Any]]:
    """``(shape, dtype)`` of the loss fastbce returns for inputs of these shapes and NumPy dtypes.

    Raises the ``TypeError`` / ``ValueError`` fastbce raises for them (dtypes, shapes, axis, pos weights,
    sample-weight shape), so a bad call fails where it is made, not inside a callback."""
    yt, yp = _placeholder(t_shape, t_dtype), _placeholder(p_shape, p_dtype)
    _inputs._check_real(yp, "y_pred")
    _inputs._check_real(yt, "y_true")
    cdt, rdt = _inputs._compute_dtype(yp.dtype, spec.dtype)
    if spec.pos_weight is not None and yp.ndim:
        spec.check_classes(yp.shape[-1], yp.shape)
    _, sq = _inputs._squeeze_pair(yt, yp, spec.from_logits)
    a = _inputs.normalize_axis(spec.axis, sq.ndim, sq.shape)
    loss_shape = sq.shape[:a] + sq.shape[a + 1:]
    if w_shape is not None:
        hint = _inputs._one_sample_hint(t_shape, p_shape, sq.shape[a]) if not loss_shape else ""
        _inputs._prepare_weight(_placeholder(w_shape, w_dtype), loss_shape, cdt, hint)
    return (loss_shape if spec.reduction_mode == ReductionMode.NONE else ()), rdt


def cotangent_shape(p_shape: _Shape, loss_shape: _Shape, axis: int) -> _Shape:
    """The shape that makes a per-sample cotangent (``reduction="none"``, shape ``loss_shape``) broadcast against
    ``y_pred`` (shape ``p_shape``): a 1 at the reduced ``axis``, and a trailing 1 where ``y_pred``'s trailing
    axis of size 1 was squeezed (the per-sample loss then has one rank less than it otherwise would)."""
    squeezed = len(loss_shape) == len(p_shape) - 2
    ndim = len(p_shape) - squeezed
    a = axis + ndim if axis < 0 else axis
    return tuple(loss_shape[:a]) + (1,) + tuple(loss_shape[a:]) + (1,) * squeezed
