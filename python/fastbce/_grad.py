"""The loss with its gradient: ``value_and_grad`` and the gradient-boosting ``grad_hess``.

The gradient is that of tf_keras's formula as TensorFlow differentiates it (``GradientTape`` over
``tf.keras.losses.BinaryCrossentropy`` with tensor inputs):

probabilities
    ``p = clip(x, eps, 1 - eps)``; ``d loss / d x = -w y / (p + eps) + (1 - y) / ((1 - p) + eps)``
    where ``eps <= x <= 1 - eps`` and 0 where ``x`` is clipped (TensorFlow's ``clip_by_value`` passes
    the gradient at the bounds themselves); NaN stays NaN.
logits
    ``d loss / d x = (1 - y) sigmoid(x) - w y sigmoid(-x)`` (``sigmoid(x) - y`` without a pos weight),
    the limits ``1 - y`` at ``+inf`` and ``-w y`` at ``-inf``; the second derivative (``grad_hess``) is
    ``((1 - y) + w y) sigmoid(x) sigmoid(-x)``.

``y`` is the smoothed label and ``w`` the pos weight of the element's class. Each element's derivative
is then multiplied by the chain of the reduction: ``1 / n`` of the mean over ``axis`` (``n`` its length),
the sample weight, and the reduction's own factor (1 for ``sum`` and ``none``, ``1 / samples`` for
``sum_over_batch_size``, ``1 / sum(sample_weight)`` for ``mean_with_sample_weight``, 0 where that sum
is 0), times the cotangent ``grad_out``.

The shape, dtype and weight rules are those of the loss (``fastbce._inputs``); the gradient has
``y_pred``'s shape, and its dtype when that is a float dtype (float32 otherwise).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

from . import _core, _inputs
from ._results import LossResult
from ._spec import LossSpec, check_label_smoothing, check_pos_weight

__all__ = ["grad_hess", "value_and_grad"]

_Array = npt.NDArray[Any]
_EPS = 1e-7


def value_and_grad(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec,
                   grad_out: object = None, out: Optional[_Array] = None) -> Tuple[LossResult, _Array]:
    """``(loss, d loss / d y_pred)`` for the loss ``spec`` describes (see the module's docstring), in one pass
    of the fused kernels (``_core.value_grad``).

    ``grad_out`` is the cotangent: a number for the reducing modes (the gradient of ``grad_out * loss``),
    an array that broadcasts to the per-sample loss for ``none`` (the gradient of ``sum(grad_out * loss)``;
    None: of the sum). ``out``: an array of the gradient's shape and dtype to write it to (and return), as
    NumPy's ``out=``: a training loop that reuses it saves the allocation (and the page faults of a fresh
    one) per step.
    """
    g = _inputs.prepare_grad(y_true, y_pred, sample_weight, spec, grad_out)
    outer, reduced, inner = g.layout
    direct = out is not None and _writes_directly(out, g)
    grad = out.reshape(g.y_pred.shape) if direct else np.empty(g.y_pred.shape, g.y_pred.dtype)  # type: ignore[union-attr]
    if outer * inner == 0 or reduced == 0:  # no elements: the loss's own rules, an empty gradient
        loss = _inputs.degenerate(g.loss_shape, outer * inner, g.result)
    else:
        factor = g.factor if g.factor.size == 1 else g.factor.reshape(-1)
        total = _core.value_grad(g.y_true, g.y_pred, g.weight, factor, grad, g.out, outer, reduced, inner, spec)
        loss = g.result.finish(total, g.out)
    if out is None:
        return loss, g.finish_grad(grad)
    if not direct:
        np.copyto(out, g.finish_grad(grad), casting="same_kind")
    return loss, out


def _writes_directly(out: object, g: _inputs.GradInputs) -> bool:
    """Whether the kernels can write the gradient into ``out`` (else ``TypeError`` / ``ValueError`` when it does
    not fit): an ndarray of the gradient's shape, writeable; directly when also of the compute dtype,
    C-contiguous and aligned."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != tuple(g.grad_shape) or out.dtype != g.grad_dtype:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}; the gradient has shape "
                         f"{tuple(g.grad_shape)} and dtype {g.grad_dtype}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    return bool(out.dtype == g.y_pred.dtype and out.flags.c_contiguous and out.flags.aligned)


def grad_hess(y_true: npt.ArrayLike, logits: npt.ArrayLike, sample_weight: Optional[npt.ArrayLike] = None,
              label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> Tuple[_Array, _Array]:
    """Per-element first and second derivatives of the logits loss with respect to ``logits``.

    The objective of gradient boosting (XGBoost's ``obj=``, LightGBM's ``objective=``): with the defaults
    ``grad = sigmoid(x) - y`` and ``hess = sigmoid(x) (1 - sigmoid(x))``, the derivatives of
    ``binary:logistic`` / ``objective="binary"``. ``label_smoothing`` and ``pos_weight`` (one value, or one
    per class of ``logits``'s last axis) as in ``BinaryCrossentropy``; ``sample_weight`` (broadcast to
    ``logits``'s shape; a ``[n]`` weight also fits ``[n, 1]`` logits) multiplies both. No reduction: both have
    ``logits``'s shape, in the compute dtype (float64 for float64 logits, else float32).

    >>> g, h = fastbce.grad_hess([0., 1.], [0., 0.])
    >>> g, h
    (array([ 0.5, -0.5], dtype=float32), array([0.25, 0.25], dtype=float32))
    """
    spec = LossSpec.build(from_logits=True, label_smoothing=check_label_smoothing(label_smoothing),
                          pos_weight=check_pos_weight(pos_weight), reduction=None)
    yt, x, weight, dtype = _inputs.prepare_elementwise(y_true, logits, sample_weight, spec)
    grad = np.empty(x.shape, dtype)
    hess = np.empty(x.shape, dtype)
    if x.size:
        _core.grad_hess(yt, x, weight, grad, hess, spec)
    return grad, hess
