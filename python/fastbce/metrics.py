"""Streaming metrics: ``fastbce.metrics.BinaryCrossentropy``, tf_keras's metric of the same name.

tf_keras's ``tf.keras.metrics.BinaryCrossentropy`` is the running weighted mean of the per-sample losses
(``binary_crossentropy`` with reduction ``none``, mean over the last axis): each ``update_state`` adds
``sum(w * loss)`` to a total and ``sum(w)`` (the weights broadcast to the per-sample losses; their number
without weights) to a count, and ``result()`` is ``total / count`` (0 when the count is 0). Here the state
is two float64 numbers, so the result after any split of the data into batches equals one update over all
of it to float64 rounding (tf_keras keeps float32 variables), and partial states from other processes
combine with ``merge_state``.

>>> m = fastbce.metrics.BinaryCrossentropy()
>>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
>>> m.result().numpy()
np.float32(0.81492424)
>>> m.update_state([[1.0]], [[0.9]], sample_weight=[2.0])
>>> print(f"{m.result():.6f}")
0.460142
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Dict, Optional, SupportsFloat, Tuple, Type, TypeVar

import numpy as np
import numpy.typing as npt

from . import _inputs
from ._results import SCALAR_TYPES, LossFloat32, LossFloat64
from ._spec import DTypeArg, LossSpec, check_dtype

__all__ = ["BinaryCrossentropy"]

_M = TypeVar("_M", bound="BinaryCrossentropy")


class BinaryCrossentropy:
    """Computes the binary cross-entropy metric between the labels and predictions (a streaming mean).

    The same arguments, semantics and config as `tf.keras.metrics.BinaryCrossentropy` (tf_keras 2.x); the
    inputs are cast to the metric's `dtype` (float32 by default) as tf_keras does.

    Args:
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result: 'float32' (default) or 'float64'.
        from_logits: (Optional) Whether output is expected to be a logits tensor. By default, we consider
            that output encodes a probability distribution.
        label_smoothing: (Optional) Float in [0, 1]. When > 0, label values are smoothed, meaning the
            confidence on label values are relaxed. e.g. `label_smoothing=0.2` means that we will use a
            value of `0.1` for label `0` and `0.9` for label `1`.
    """

    __slots__ = ("name", "_spec", "_total", "_count")

    def __init__(self, name: str = "binary_crossentropy", dtype: Optional[DTypeArg] = None,
                 from_logits: bool = False, label_smoothing: SupportsFloat = 0.0) -> None:
        forced = check_dtype(dtype)
        if forced is not None and forced.name == "float16":
            raise ValueError("dtype float16 is not supported for the metric's state: use 'float32' or 'float64'")
        self.name = name
        self._spec = LossSpec.build(from_logits=from_logits, label_smoothing=label_smoothing, reduction="sum",
                                    dtype=forced if forced is not None else np.dtype(np.float32))
        self._total = 0.0
        self._count = 0.0

    # -- tf_keras's metric API -------------------------------------------------------------------------
    def update_state(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike,
                     sample_weight: Optional[npt.ArrayLike] = None) -> None:
        """Accumulates the weighted per-sample losses of a batch (shapes and weights as for the loss).

        A batch that raises (bad shapes or dtypes) leaves the state unchanged."""
        total, count = _inputs.metric_totals(y_true, y_pred, sample_weight, self._spec)
        self._total += total
        self._count += count

    def result(self) -> LossFloat32 | LossFloat64:
        """The weighted mean so far (0 before any update, as tf_keras's `divide_no_nan`), in `dtype`."""
        value = self._total / self._count if self._count != 0.0 else 0.0
        return SCALAR_TYPES[self.dtype_](value)  # type: ignore[return-value]  # float32 or float64 only

    def reset_state(self) -> None:
        """Forgets every update."""
        self._total = 0.0
        self._count = 0.0

    def merge_state(self, others: Iterable[BinaryCrossentropy]) -> None:
        """Adds the states of other instances of the same metric (partial results of other processes or
        batches), in the order given: the result is then that of one metric that saw all their updates."""
        for other in others:
            if not isinstance(other, BinaryCrossentropy) or other._spec != self._spec:
                raise ValueError(f"merge_state: {other!r} is not a BinaryCrossentropy metric with the same options "
                                 f"as {self!r}")
            self._total += other._total
            self._count += other._count

    # -- state, as plain numbers (for processes that exchange partial results) ---------------------------
    @property
    def state(self) -> Tuple[float, float]:
        """`(total, count)`: the float64 sum of the weighted per-sample losses and of the weights."""
        return self._total, self._count

    @classmethod
    def from_state(cls: Type[_M], state: Tuple[float, float], **config: Any) -> _M:
        """A metric built from `config` whose state is `state` (see `state`)."""
        metric = cls(**config)
        metric._total, metric._count = float(state[0]), float(state[1])
        return metric

    @property
    def dtype_(self) -> np.dtype[Any]:
        assert self._spec.dtype is not None
        return self._spec.dtype

    @property
    def dtype(self) -> str:
        """The metric's dtype name ('float32' or 'float64')."""
        return self.dtype_.name

    @property
    def from_logits(self) -> bool:
        return self._spec.from_logits

    @property
    def label_smoothing(self) -> float:
        return self._spec.label_smoothing

    # -- config ------------------------------------------------------------------------------------------
    def get_config(self) -> Dict[str, Any]:
        """The config, with tf_keras's keys.

        >>> fastbce.metrics.BinaryCrossentropy().get_config()
        {'name': 'binary_crossentropy', 'dtype': 'float32', 'from_logits': False, 'label_smoothing': 0.0}
        """
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}

    @classmethod
    def from_config(cls: Type[_M], config: Mapping[str, Any]) -> _M:
        """A metric from `get_config()`'s output (tf_keras's configs too)."""
        return cls(**dict(config))

    def __call__(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike,
                 sample_weight: Optional[npt.ArrayLike] = None) -> LossFloat32 | LossFloat64:
        """`update_state`, then `result()` (as calling a Keras metric does)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, dtype={self.dtype!r}, from_logits={self.from_logits}, "
                f"label_smoothing={self.label_smoothing})")
