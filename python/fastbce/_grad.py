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

from . import _inputs
from ._results import LossResult
from ._spec import LossSpec, check_label_smoothing, check_pos_weight

__all__ = ["grad_hess", "value_and_grad"]

_Array = npt.NDArray[Any]
_EPS = 1e-7


def value_and_grad(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec,
                   grad_out: object = None) -> Tuple[LossResult, _Array]:
    """``(loss, d loss / d y_pred)`` for the loss ``spec`` describes (see the module's docstring).

    ``grad_out`` is the cotangent: a number for the reducing modes (the gradient of ``grad_out * loss``),
    an array that broadcasts to the per-sample loss for ``none`` (the gradient of ``sum(grad_out * loss)``;
    None: of the sum).
    """
    loss = _inputs.compute(y_true, y_pred, sample_weight, spec)
    prep = _inputs.prepare_grad(y_true, y_pred, sample_weight, spec, grad_out)
    grad = _element_grad(prep.y_true, prep.y_pred, spec)[0]
    grad *= prep.factor
    return loss, prep.finish_grad(grad)


def grad_hess(y_true: npt.ArrayLike, logits: npt.ArrayLike, sample_weight: Optional[npt.ArrayLike] = None,
              label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> Tuple[_Array, _Array]:
    """Per-element first and second derivatives of the logits loss with respect to ``logits``.

    The objective of gradient boosting (XGBoost's ``obj=``, LightGBM's ``objective=``): with the defaults
    ``grad = sigmoid(x) - y`` and ``hess = sigmoid(x) (1 - sigmoid(x))``, the derivatives of
    ``binary:logistic`` / ``objective="binary"``. ``label_smoothing`` and ``pos_weight`` (one value, or one
    per class of ``logits``'s last axis) as in ``BinaryCrossentropy``; ``sample_weight`` (broadcast to
    ``logits``'s shape) multiplies both. No reduction: both have ``logits``'s shape, and its dtype when that
    is float32 or float64 (float32 for anything else, float64 for Python floats is NOT used: lists give
    float32 as everywhere in fastbce).
    """
    spec = LossSpec.build(from_logits=True, label_smoothing=check_label_smoothing(label_smoothing),
                          pos_weight=check_pos_weight(pos_weight), reduction=None)
    yt, x, weight, out_dtype = _inputs.prepare_elementwise(y_true, logits, sample_weight, spec)
    grad, hess = _element_grad(yt, x, spec, hessian=True)
    assert hess is not None
    if weight is not None:
        grad *= weight
        hess *= weight
    return grad.astype(out_dtype, copy=False), hess.astype(out_dtype, copy=False)


def _element_grad(y: _Array, x: _Array, spec: LossSpec, hessian: bool = False) -> Tuple[_Array, Optional[_Array]]:
    """d loss / d x per element (and the second derivative for logits), in x's dtype.

    Interim NumPy form of the kernels' derivative."""
    dt = x.dtype
    one = dt.type(1)
    with np.errstate(all="ignore"):
        if spec.label_smoothing:
            ls = dt.type(spec.label_smoothing)
            y = y * (one - ls) + dt.type(0.5) * ls
        y = y.astype(dt, copy=False)
        w: Any = one
        if spec.pos_weight_buffers is not None:
            values = np.asarray(spec.pos_weight, dtype=dt)  # along the last axis (check_classes)
            w = values[0] if len(values) == 1 else values
        if spec.from_logits:
            e = np.exp(-np.abs(x))
            s = np.where(x >= 0, one / (one + e), e / (one + e))  # sigmoid(x)
            sn = np.where(x >= 0, e / (one + e), one / (one + e))  # sigmoid(-x)
            wy = w * y
            g = (one - y) * s - wy * sn
            h = ((one - y) + wy) * s * sn if hessian else None
            return np.asarray(g, dt), None if h is None else np.asarray(h, dt)
        eps = dt.type(_EPS)
        hi = one - eps
        p = np.clip(x, eps, hi)
        g = -(w * y) / (p + eps) + (one - y) / ((one - p) + eps)
        g = np.where((x < eps) | (x > hi), dt.type(0), g)
        return np.asarray(g, dt), None

