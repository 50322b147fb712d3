"""A float64 NumPy reference of the tf.keras binary cross-entropy, written for the tests.

Deliberately independent of ``fastbce`` (no imports from it): it follows
``tf_keras/src/losses.py::binary_crossentropy`` and ``backend.binary_crossentropy``
step by step:

* ``y_true`` is cast to the input dtype ``dtype``; label smoothing
  ``y * (1 - ls) + 0.5 * ls`` is done in that dtype (tf converts ``ls`` to it);
* probabilities: ``p`` is clipped to ``[eps, 1 - eps]`` **in the input dtype**
  (``eps = dtype(1e-7)``), ``p + eps`` and ``1 - p + eps`` are also formed in the
  input dtype (tf does both in the tensor's dtype: this is what makes the seed
  example 11.522857 and not 11.5897), and from there on everything is float64:
  ``-(y * log(p + eps) + (1 - y) * log(1 - p + eps))``;
* logits: ``max(x, 0) - x * y + log1p(exp(-|x|))`` in float64, with the
  mathematical limits for ``x = ±inf`` (fastbce's documented semantics; tf gives NaN);
* ``pos_weight`` (torch's ``BCEWithLogitsLoss`` semantics, fastbce's extension): ``w``
  (cast to the dtype, broadcast along the last axis) multiplies the positive term:
  ``-(w y log(p + eps) + (1 - y) log(1 - p + eps))``; logits
  ``(1 - y) softplus(x) + w y softplus(-x)``, with the limits at ``x = ±inf``;
* the mean over ``axis`` (NaN for an empty axis), times the sample weight (given
  here already in a shape that broadcasts to the per-sample loss, cast to the dtype),
  then the reduction: ``none`` / ``sum`` / ``sum_over_batch_size`` (= ``auto`` =
  ``mean``, divided by the number of per-sample loss elements, 0.0 when there are
  none) / ``mean_with_sample_weight`` (divided by ``weight_sum``, Keras 3's sum of
  the weights as given; 0.0 when it is 0; not divided for a 0-d per-sample loss).
"""
import numpy as np


def _labels_and_predictions(y_true, y_pred, label_smoothing, dt):
    """(smoothed labels in float64, predictions) cast to ``dt``, the smoothing done in ``dt`` as tf does it."""
    y = np.asarray(y_true).astype(dt)
    p = np.asarray(y_pred).astype(dt)
    if label_smoothing:
        ls = dt.type(label_smoothing)
        with np.errstate(all="ignore"):
            y = (y * (dt.type(1) - ls) + dt.type(0.5) * ls).astype(dt)
    return y.astype(np.float64), p


def _clipped(p, dt):
    """``(p + eps, (1 - p) + eps)`` as float64, ``p`` clipped to ``[eps, 1 - eps]`` (NaN kept) and every step
    formed in ``dt``, as tf_keras does."""
    eps, one = dt.type(1e-7), dt.type(1)
    with np.errstate(all="ignore"):
        pc = np.where(np.isnan(p), p, np.clip(p, eps, one - eps)).astype(dt)
        return (pc + eps).astype(dt).astype(np.float64), ((one - pc).astype(dt) + eps).astype(dt).astype(np.float64)


def elementwise(y_true, y_pred, *, from_logits=False, label_smoothing=0.0, dtype=np.float32, pos_weight=None):
    """Per-element losses in float64 (no mean)."""
    dt = np.dtype(dtype)
    y64, p = _labels_and_predictions(y_true, y_pred, label_smoothing, dt)
    with np.errstate(all="ignore"):
        if pos_weight is not None:
            w = np.asarray(pos_weight).astype(dt).astype(np.float64)  # broadcast along the last axis
            x = p.astype(np.float64)
            if from_logits:
                soft = np.log1p(np.exp(-np.abs(x)))
                out = (1.0 - y64) * (np.maximum(x, 0.0) + soft) + w * y64 * (np.maximum(-x, 0.0) + soft)
                pos = np.where(1.0 - y64 == 0.0, 0.0, (1.0 - y64) * np.inf)
                neg = np.where(w * y64 == 0.0, 0.0, w * y64 * np.inf)
                out = np.where(x == np.inf, pos, out)
                out = np.where(x == -np.inf, neg, out)
                return np.where(np.isnan(x) | np.isnan(y64), np.nan, out)
            a, b = _clipped(p, dt)
            return -(w * y64 * np.log(a) + (1.0 - y64) * np.log(b))
        if from_logits:
            x = p.astype(np.float64)
            out = np.maximum(x, 0.0) - x * y64 + np.log1p(np.exp(-np.abs(x)))
            pos = np.where(y64 == 1.0, 0.0, (1.0 - y64) * np.inf)
            neg = np.where(y64 == 0.0, 0.0, y64 * np.inf)
            out = np.where(x == np.inf, pos, out)
            out = np.where(x == -np.inf, neg, out)
            out = np.where(np.isnan(x) | np.isnan(y64), np.nan, out)
            return out
        a, b = _clipped(p, dt)
        return -(y64 * np.log(a) + (1.0 - y64) * np.log(b))


def per_sample(y_true, y_pred, *, axis=-1, dtype=np.float32, **kw):
    """Mean of the element losses over ``axis`` (float64)."""
    e = elementwise(y_true, y_pred, dtype=dtype, **kw)
    with np.errstate(all="ignore"):
        if e.shape[axis] == 0:
            shape = list(e.shape)
            del shape[axis]
            return np.full(shape, np.nan)
        return e.mean(axis=axis)


def loss(y_true, y_pred, *, from_logits=False, label_smoothing=0.0, axis=-1, weight=None,
         reduction="auto", dtype=np.float32, pos_weight=None, weight_sum=None):
    """The reduced loss (float64 scalar, or float64 array for ``none``).

    ``weight`` must already broadcast to the per-sample loss shape; ``weight_sum`` is
    ``mean_with_sample_weight``'s divisor (the sum of the weights as the caller gave them).
    """
    v = per_sample(y_true, y_pred, axis=axis, dtype=dtype, from_logits=from_logits,
                   label_smoothing=label_smoothing, pos_weight=pos_weight)
    # inf * 0 (an infinite loss or weight times a zero) and inf + -inf (weights of both signs) are NaN, as in tf
    with np.errstate(invalid="ignore"):
        if weight is not None:
            w = np.asarray(weight).astype(dtype).astype(np.float64)
            assert np.broadcast_shapes(w.shape, v.shape) == v.shape, (w.shape, v.shape)
            v = v * w
        if reduction == "none":
            return v
        total = float(np.sum(v, dtype=np.float64))
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        if v.ndim == 0:
            return total
        return total / weight_sum if weight_sum else 0.0
    assert reduction in ("auto", "sum_over_batch_size", "mean", "mean_with_sample_weight")
    return total / v.size if v.size else 0.0


def element_grad(y_true, y_pred, *, from_logits=False, label_smoothing=0.0, dtype=np.float32, pos_weight=None,
                 hessian=False):
    """d loss / d y_pred per element in float64, as TensorFlow differentiates the formula above, and the
    magnitude of its terms (for tolerances where they cancel); with ``hessian`` (logits only) also the second
    derivative.

    * probabilities: ``-w y / (p + eps) + (1 - y) / ((1 - p) + eps)`` with ``p + eps`` and ``(1 - p) + eps``
      formed as in ``elementwise``; 0 where ``y_pred`` lies outside ``[eps, 1 - eps]`` (``tf.clip_by_value``'s
      gradient, which passes at the bounds themselves); NaN stays NaN;
    * logits: ``(1 - y) s(x) - w y s(-x)``, ``s`` the sigmoid (``1 - y`` at ``+inf``, ``-w y`` at ``-inf``);
      second derivative ``((1 - y) + w y) s(x) s(-x)``.
    """
    dt = np.dtype(dtype)
    y64, p = _labels_and_predictions(y_true, y_pred, label_smoothing, dt)
    with np.errstate(all="ignore"):
        w = 1.0 if pos_weight is None else np.asarray(pos_weight).astype(dt).astype(np.float64)
        if from_logits:
            x = p.astype(np.float64)
            ex = np.exp(-np.abs(x))
            s = np.where(x >= 0, 1.0 / (1.0 + ex), ex / (1.0 + ex))
            sn = np.where(x >= 0, ex / (1.0 + ex), 1.0 / (1.0 + ex))
            d = (1.0 - y64) * s - w * y64 * sn
            terms = np.abs(1.0 - y64) + np.abs(w * y64)
            if hessian:
                return d, terms, ((1.0 - y64) + w * y64) * s * sn
            return d, terms
        eps, one = dt.type(1e-7), dt.type(1)
        a, b = _clipped(p, dt)
        d = -w * y64 / a + (1.0 - y64) / b
        clipped = (p < eps) | (p > one - eps)
        d = np.where(clipped, 0.0, d)
        return d, np.where(clipped, 0.0, np.abs(w * y64 / a) + np.abs((1.0 - y64) / b))


def grad(y_true, y_pred, *, from_logits=False, label_smoothing=0.0, axis=-1, weight=None, reduction="auto",
         dtype=np.float32, pos_weight=None, weight_sum=None, grad_out=None):
    """(d loss / d y_pred, magnitude of its terms) in float64 for ``loss``'s arguments: each element's
    derivative times the chain of the reduction (1 / length of ``axis``, the sample weight, the reduction's
    scale, the cotangent ``grad_out``: a number, or for ``none`` an array broadcasting to the per-sample loss)."""
    d, terms = element_grad(y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing, dtype=dtype,
                            pos_weight=pos_weight)
    n = d.shape[axis]
    loss_shape = d.shape[:axis % d.ndim] + d.shape[axis % d.ndim + 1:]
    samples = int(np.prod(loss_shape))
    factor = np.ones(loss_shape) if weight is None else np.broadcast_to(
        np.asarray(weight).astype(dtype).astype(np.float64), loss_shape)
    if grad_out is not None:
        factor = factor * np.asarray(grad_out, np.float64)
    if reduction == "mean_with_sample_weight" and weight is not None:
        if len(loss_shape):  # a 0-d per-sample loss is not divided (Keras 3)
            factor = factor * (0.0 if not weight_sum else 1.0 / weight_sum)
    elif reduction in ("auto", "sum_over_batch_size", "mean", "mean_with_sample_weight"):
        factor = factor / samples
    factor = np.expand_dims(np.asarray(factor, np.float64) / n, axis % d.ndim)
    with np.errstate(invalid="ignore"):
        return d * factor, terms * np.abs(factor)
