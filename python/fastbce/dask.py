"""fastbce on dask arrays and dataframe columns: the gradient and the metric (``import fastbce.dask``; needs dask).

The loss needs nothing from here: ``fastbce.BinaryCrossentropy()(y_true, y_pred, sample_weight)``, ``.call``
and ``fastbce.binary_crossentropy`` take dask arrays, dataframes and series as they are and return lazy dask
arrays (see ``fastbce._frameworks.dask`` for the layout, the fixed-order sums and the memory per task). The
methods below return NumPy values when given NumPy inputs, so their lazy forms live here:

* ``value_and_grad(loss, y_true, y_pred, sample_weight=None, grad_out=None)``: the lazy loss and a lazy
  gradient, as ``loss.value_and_grad`` computes them;
* ``metric_totals(metric, y_true, y_pred, sample_weight=None)``: a metric's update as two lazy float64
  numbers;
* ``update_state(metric, y_true, y_pred, sample_weight=None)``: computes those two numbers (on the cluster:
  only they come back) and adds them to the metric's state.

A metric's state is two float64 numbers kept on the client (``state``, ``merge_state``, ``from_state``), and
a batch that raises leaves it unchanged, so ``update_state`` computes when it is called rather than keeping
a graph in the metric: bad partitions fail at the update that brought them, and ``result()`` stays a
number. To fold many dask batches into one computation, take ``metric_totals`` of each, ``dask.compute``
them together and merge the sums (see ``metric_totals``).
"""
from __future__ import annotations

import importlib
from typing import Any, Optional, Tuple

from . import metrics as _metrics
from ._frameworks import dask as _lazy
from ._spec import LossSpec
from .losses import BinaryCrossentropy

__all__ = ["metric_totals", "update_state", "value_and_grad"]

_dask: Any = importlib.import_module("dask")


def value_and_grad(loss: BinaryCrossentropy, y_true: Any, y_pred: Any, sample_weight: Optional[Any] = None,
                   grad_out: Optional[Any] = None) -> Tuple[Any, Any]:
    """The loss and its gradient with respect to ``y_pred``, as lazy dask arrays.

    The values of ``loss.value_and_grad`` (TensorFlow's gradient of tf_keras's loss, through smoothing,
    ``pos_weight``, the sample weights and the reduction, whose scale uses the global sample count or weight
    sum), computed block by block: each task runs the fused kernel on one block of whole samples.

    >>> import dask.array as da
    >>> bce = fastbce.BinaryCrossentropy(from_logits=True)
    >>> y = da.from_array(np.array([[0.], [1.], [1.], [0.]], np.float32), chunks=2)
    >>> x = da.zeros((4, 1), dtype=np.float32, chunks=2)
    >>> loss, grad = fastbce.dask.value_and_grad(bce, y, x)
    >>> loss.compute(), grad.compute()[:, 0]
    (np.float32(0.6931472), array([ 0.125, -0.125, -0.125,  0.125], dtype=float32))

    Args:
        loss: a ``fastbce.BinaryCrossentropy``; its options and reduction apply.
        y_true, y_pred, sample_weight: dask arrays, dataframes or series (or NumPy values, cut to ``y_pred``'s
            blocks), as for the loss.
        grad_out: the cotangent, as for ``loss.value_and_grad``: a number (or a size-1 array) for the reducing
            modes, an array that broadcasts to the per-sample loss for ``none``; it may be a dask array.

    Returns:
        ``(loss, grad)``: the loss as a dask array (0-d for the reducing modes and one-sample inputs), and the
        gradient as a dask array with ``y_pred``'s shape, dtype (float32 for integer ``y_pred``) and chunks.
    """
    if not isinstance(loss, BinaryCrossentropy):
        raise TypeError(f"loss must be a fastbce.BinaryCrossentropy, got {type(loss).__name__}")
    return _lazy.value_and_grad(y_true, y_pred, sample_weight, loss.spec, grad_out)


def _metric_spec(metric: _metrics.BinaryCrossentropy) -> LossSpec:
    if not isinstance(metric, _metrics.BinaryCrossentropy):
        raise TypeError(f"metric must be a fastbce.metrics.BinaryCrossentropy, got {type(metric).__name__}")
    # the metric's own spec: its options, inputs cast to its dtype
    return LossSpec.build(from_logits=metric.from_logits, label_smoothing=metric.label_smoothing, reduction="sum",
                          dtype=metric.dtype_)


def metric_totals(metric: _metrics.BinaryCrossentropy, y_true: Any, y_pred: Any,
                  sample_weight: Optional[Any] = None) -> Tuple[Any, Any]:
    """A metric's update from dask inputs, lazily: two 0-d float64 dask arrays, the sum of the weighted
    per-sample losses and the sum of the weights broadcast to them (their number without weights).

    The metric is not changed. Many batches in one computation:

    >>> import dask
    >>> import dask.array as da
    >>> m = fastbce.metrics.BinaryCrossentropy()
    >>> y = da.from_array(np.array([[0.], [1.], [1.], [0.]], np.float32), chunks=2)
    >>> p = da.from_array(np.array([[0.1], [0.8], [0.6], [0.3]], np.float32), chunks=2)
    >>> batches = [(y, p), (y[:2], p[:2])]
    >>> sums = dask.compute(*[fastbce.dask.metric_totals(m, *b) for b in batches])
    >>> m.merge_state([type(m).from_state(s, **m.get_config()) for s in sums])
    >>> print(f"{m.result():.6f}")
    0.254085
    """
    return _lazy.metric_totals(y_true, y_pred, sample_weight, _metric_spec(metric))


def update_state(metric: _metrics.BinaryCrossentropy, y_true: Any, y_pred: Any,
                 sample_weight: Optional[Any] = None) -> None:
    """``metric.update_state`` for dask inputs: computes the update's two float64 sums (``metric_totals``)
    on the current scheduler and adds them to the metric's state. A batch that raises (bad shapes, dtypes, or
    partitions that do not match) leaves the state unchanged.

    >>> import dask.array as da
    >>> m = fastbce.metrics.BinaryCrossentropy()
    >>> y = da.from_array(np.array([[0.], [1.], [1.], [0.]], np.float32), chunks=2)
    >>> p = da.from_array(np.array([[0.1], [0.8], [0.6], [0.3]], np.float32), chunks=2)
    >>> fastbce.dask.update_state(m, y, p)
    >>> print(f"{m.result():.6f}")
    0.299001
    """
    total, count = _dask.compute(*metric_totals(metric, y_true, y_pred, sample_weight))
    metric.merge_state([type(metric).from_state((float(total), float(count)), **metric.get_config())])
