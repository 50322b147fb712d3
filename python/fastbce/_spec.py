"""The loss spec: every option of the loss, validated once, in one place.

``LossSpec`` describes one binary cross-entropy: ``from_logits``, ``label_smoothing``,
``axis``, ``reduction`` and the compute ``dtype``. The Keras surface (``losses.py``)
builds it; ``_inputs`` reads the input-shape options from it; the compiled core reads
the per-element options from it (``cpp/loss_spec_py.h``: the attributes
``from_logits``, ``label_smoothing`` and ``reduction_mode``) and specialises its
kernels on them. A new option is a field here, a rule in ``LossSpec.build`` and a
term in the C++ element loss (``cpp/kernel/element_loss.h``).
"""
from __future__ import annotations

import enum
import operator

import numpy as np

__all__ = ["LossSpec", "Reduction", "ReductionMode"]


class ReductionMode(enum.IntEnum):
    """The reductions the core applies (``cpp/loss_spec.h``, ``enum class Reduction``)."""

    NONE = 0
    SUM = 1
    SUM_OVER_BATCH_SIZE = 2
    MEAN_WITH_SAMPLE_WEIGHT = 3


class Reduction:
    """Types of loss reduction: tf_keras's four names and Keras 3's.

    * ``AUTO`` (``"auto"``): the same as ``SUM_OVER_BATCH_SIZE``.
    * ``NONE`` (``"none"``, or ``None`` as Keras 3 writes it): no additional
      reduction; the per-sample losses (shape of the inputs without ``axis``)
      are returned, weighted.
    * ``SUM`` (``"sum"``): scalar sum of the weighted per-sample losses.
    * ``SUM_OVER_BATCH_SIZE`` (``"sum_over_batch_size"``) and Keras 3's ``MEAN``
      (``"mean"``): ``SUM`` divided by the number of per-sample loss elements (not
      by the sum of the weights); 0.0 for an empty batch.
    * ``MEAN_WITH_SAMPLE_WEIGHT`` (``"mean_with_sample_weight"``, Keras 3): ``SUM``
      divided by the sum of the sample weights as given (a scalar weight ``w``
      divides by ``w``, a ``[batch]`` weight by its sum), 0.0 when they sum to 0
      (Keras 3's ``divide_no_nan``); without weights the same as ``MEAN``. As in
      Keras 3, a per-sample loss that is a single value (1-D inputs) is not divided.

    The plain strings are accepted wherever a ``Reduction`` is.

    >>> Reduction.all()
    ('auto', 'none', 'sum', 'sum_over_batch_size', 'mean', 'mean_with_sample_weight')
    >>> Reduction.validate("average")
    Traceback (most recent call last):
    ...
    ValueError: Invalid Reduction Key: average. Expected keys are "('auto', 'none', 'sum', 'sum_over_batch_size', 'mean', 'mean_with_sample_weight')"
    """

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
    MEAN = "mean"
    MEAN_WITH_SAMPLE_WEIGHT = "mean_with_sample_weight"

    @classmethod
    def all(cls):
        """All valid reduction names (``None`` is also accepted, as ``"none"``)."""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE, cls.MEAN, cls.MEAN_WITH_SAMPLE_WEIGHT)

    @classmethod
    def validate(cls, key):
        """Raise ``ValueError`` unless ``key`` is ``None`` or one of :meth:`all` (tf_keras's message)."""
        if key is not None and (not isinstance(key, str) or key not in cls.all()):
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


_MODES = {
    None: ReductionMode.NONE,
    Reduction.NONE: ReductionMode.NONE,
    Reduction.SUM: ReductionMode.SUM,
    Reduction.AUTO: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.SUM_OVER_BATCH_SIZE: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.MEAN: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.MEAN_WITH_SAMPLE_WEIGHT: ReductionMode.MEAN_WITH_SAMPLE_WEIGHT,
}

# Compute dtypes a spec may force (Keras 3's `dtype` argument); float16 is computed in float32.
_DTYPES = {"float16": np.dtype(np.float16), "float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}


def check_from_logits(from_logits) -> bool:
    if isinstance(from_logits, (bool, np.bool_)):
        return bool(from_logits)
    raise TypeError(f"from_logits must be True or False, got {from_logits!r}")


def check_label_smoothing(label_smoothing) -> float:
    if isinstance(label_smoothing, (str, bytes)):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    try:
        ls = float(label_smoothing)
    except (TypeError, ValueError):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}") from None
    if not 0.0 <= ls <= 1.0:  # also rejects NaN
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


def check_axis(axis) -> int:
    if isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None


def check_dtype(dtype):
    """None, or the forced compute dtype: a name, a NumPy dtype, or a Keras 3 dtype-policy config."""
    if dtype is None:
        return None
    name = dtype
    if isinstance(dtype, dict):  # a serialised keras.DTypePolicy: {"class_name": ..., "config": {"name": ...}}
        name = dtype.get("config", {}).get("name")
    elif not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    if isinstance(name, str) and name.startswith("mixed_"):
        name = name[len("mixed_"):]  # a mixed policy computes in its first dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype must be None, 'float16', 'float32' or 'float64' (or a Keras dtype policy of one), "
                         f"got {dtype!r}")
    return _DTYPES[name]


class LossSpec:
    """One binary cross-entropy, validated (use :meth:`build`). Immutable."""

    __slots__ = ("from_logits", "label_smoothing", "axis", "reduction", "reduction_mode", "dtype")

    def __init__(self, from_logits, label_smoothing, axis, reduction, reduction_mode, dtype):
        set_ = object.__setattr__
        set_(self, "from_logits", from_logits)
        set_(self, "label_smoothing", label_smoothing)
        set_(self, "axis", axis)
        set_(self, "reduction", reduction)  # the name as given (None stays None, for configs)
        set_(self, "reduction_mode", reduction_mode)
        set_(self, "dtype", dtype)

    def __setattr__(self, name, value):
        raise AttributeError("LossSpec is immutable; use replace()")

    @classmethod
    def build(cls, *, from_logits=False, label_smoothing=0.0, axis=-1, reduction=Reduction.AUTO, dtype=None):
        """Validate every option (``TypeError`` / ``ValueError`` naming the value) and build the spec."""
        Reduction.validate(reduction)
        return cls(
            check_from_logits(from_logits),
            check_label_smoothing(label_smoothing),
            check_axis(axis),
            None if reduction is None else str(reduction),
            _MODES[None if reduction is None else str(reduction)],
            check_dtype(dtype),
        )

    def replace(self, **changes) -> LossSpec:
        """A spec with some options changed (validated again)."""
        options = {k: getattr(self, k) for k in ("from_logits", "label_smoothing", "axis", "reduction", "dtype")}
        options.update(changes)
        return LossSpec.build(**options)

    def __eq__(self, other):
        return isinstance(other, LossSpec) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"LossSpec(from_logits={self.from_logits}, label_smoothing={self.label_smoothing}, axis={self.axis}, "
                f"reduction={self.reduction!r}, dtype={None if self.dtype is None else self.dtype.name!r})")
