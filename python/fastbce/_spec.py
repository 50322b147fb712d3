"""The loss spec: every option of the loss, validated once, in one place.

``LossSpec`` describes one binary cross-entropy: ``from_logits``, ``label_smoothing``,
``pos_weight``, ``axis``, ``reduction`` and the compute ``dtype``. The Keras surface (``losses.py``)
builds it; ``_inputs`` reads the input-shape options from it; the compiled core reads
the per-element options from it (``cpp/loss_spec_py.h``: the tuple ``core`` of
``from_logits``, ``label_smoothing``, ``reduction_mode`` and ``pos_weight_buffers``) and specialises its
kernels on them. A new option is a field here, a rule in ``LossSpec.build`` and a
term in the C++ element loss (``cpp/kernel/element_loss.h``).
"""
from __future__ import annotations

import enum
import operator
from collections.abc import Mapping, Sequence
from typing import (
    Any,
    ClassVar,
    Dict,
    Final,
    Literal,
    Optional,
    SupportsFloat,
    SupportsIndex,
    Tuple,
    Type,
    Union,
)

import numpy as np
import numpy.typing as npt

__all__ = ["DTypeArg", "LossSpec", "PosWeightArg", "Reduction", "ReductionArg", "ReductionMode", "ReductionName"]

#: The reduction names, as type checkers see them (``Reduction.SUM`` and the rest are these literals).
ReductionName = Literal["auto", "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight"]
#: What a ``reduction`` argument takes: a name, or ``None`` (Keras 3's spelling of ``"none"``).
ReductionArg = Optional[ReductionName]
#: What a ``pos_weight`` argument takes (besides ``None``): a number, or one number per class.
PosWeightArg = Union[SupportsFloat, Sequence[SupportsFloat], "npt.NDArray[Any]"]
#: The names a ``dtype`` argument takes (a ``mixed_`` policy computes in its dtype).
DTypeName = Literal["float16", "float32", "float64", "mixed_float16", "mixed_float32", "mixed_float64"]
#: What a ``dtype`` argument takes (besides ``None``): a name, a NumPy float dtype or type, or a serialised
#: Keras 3 dtype policy (``{"class_name": "DTypePolicy", "config": {"name": "float32"}}``).
DTypeArg = Union[DTypeName, "np.dtype[Any]", Type[np.floating[Any]], Type[float], Mapping[str, Any]]


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

    # Final: type checkers see each as its literal (``Reduction.SUM`` is ``Literal["sum"]``), a ``ReductionName``.
    AUTO: Final = "auto"
    NONE: Final = "none"
    SUM: Final = "sum"
    SUM_OVER_BATCH_SIZE: Final = "sum_over_batch_size"
    MEAN: Final = "mean"
    MEAN_WITH_SAMPLE_WEIGHT: Final = "mean_with_sample_weight"

    @classmethod
    def all(cls) -> Tuple[ReductionName, ...]:
        """All valid reduction names (``None`` is also accepted, as ``"none"``)."""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE, cls.MEAN, cls.MEAN_WITH_SAMPLE_WEIGHT)

    @classmethod
    def validate(cls, key: object) -> None:
        """Raise ``ValueError`` unless ``key`` is ``None`` or one of :meth:`all` (tf_keras's message)."""
        if key is not None and (not isinstance(key, str) or key not in cls.all()):
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


_MODES: Dict[Optional[str], ReductionMode] = {
    None: ReductionMode.NONE,
    Reduction.NONE: ReductionMode.NONE,
    Reduction.SUM: ReductionMode.SUM,
    Reduction.AUTO: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.SUM_OVER_BATCH_SIZE: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.MEAN: ReductionMode.SUM_OVER_BATCH_SIZE,
    Reduction.MEAN_WITH_SAMPLE_WEIGHT: ReductionMode.MEAN_WITH_SAMPLE_WEIGHT,
}

#: each valid name, as its literal (a ``str`` subclass given as a reduction becomes the plain name)
_NAMES: Dict[str, ReductionName] = {name: name for name in Reduction.all()}

# Compute dtypes a spec may force (Keras 3's `dtype` argument); float16 is computed in float32.
_DTYPES: Dict[str, np.dtype[Any]] = {
    "float16": np.dtype(np.float16), "float32": np.dtype(np.float32), "float64": np.dtype(np.float64)
}


def check_from_logits(from_logits: object) -> bool:
    if isinstance(from_logits, (bool, np.bool_)):
        return bool(from_logits)
    raise TypeError(f"from_logits must be True or False, got {from_logits!r}")


def check_label_smoothing(label_smoothing: object) -> float:
    if isinstance(label_smoothing, (str, bytes)):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    try:
        ls = float(label_smoothing)  # type: ignore[arg-type]  # anything float() takes; a TypeError otherwise
    except (TypeError, ValueError):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}") from None
    if not 0.0 <= ls <= 1.0:  # also rejects NaN
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


def check_axis(axis: object) -> int:
    if isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    try:
        return operator.index(axis)  # type: ignore[arg-type]  # anything with __index__; a TypeError otherwise
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None


#: values the pos-weight buffers hold past their period (cpp/loss_spec.h, kPosWeightLanes)
_POS_WEIGHT_LANES = 64


#: the pos-weight buffers the core reads: (period, float32 values, float64 values), the values repeating with
#: the period for ``period + _POS_WEIGHT_LANES`` entries
PosWeightBuffers = Tuple[int, "npt.NDArray[np.float32]", "npt.NDArray[np.float64]"]


def check_pos_weight(pos_weight: object) -> Optional[Tuple[float, ...]]:
    """None, or the pos weights as a tuple of floats (one value, or one per class of the last axis)."""
    if pos_weight is None:
        return None
    if isinstance(pos_weight, (str, bytes)):
        raise TypeError(f"pos_weight must be a number or a 1-D array of numbers, got {pos_weight!r}")
    try:
        arr = np.asarray(pos_weight)
    except (TypeError, ValueError) as e:
        raise TypeError(f"pos_weight must be a number or a 1-D array of numbers: {e}") from None
    if arr.dtype.kind not in "fiub" or arr.dtype.fields is not None:
        raise TypeError(f"pos_weight has unsupported dtype {arr.dtype!s}: expected real numbers")
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"pos_weight must be a scalar or a non-empty 1-D array (one weight per class of "
                         f"y_pred's last axis), got shape {arr.shape}")
    values = tuple(float(v) for v in arr.reshape(-1).astype(np.float64))
    if not all(np.isfinite(values)):
        raise ValueError(f"pos_weight must be finite, got {values[0] if len(values) == 1 else values!r}")
    return values


def _pos_weight_buffers(values: Optional[Tuple[float, ...]], keep_ones: bool = False) -> Optional[PosWeightBuffers]:
    """(period, float32 array, float64 array) for the core, or None when every weight is 1 (no pos weight:
    the same bits as without one) unless ``keep_ones``."""
    if values is None or (not keep_ones and all(v == 1.0 for v in values)):
        return None
    period = len(values)
    lanes = np.resize(np.asarray(values, np.float64), period + _POS_WEIGHT_LANES)  # repeats with the period
    return period, lanes.astype(np.float32), lanes


def check_dtype(dtype: object) -> Optional[np.dtype[Any]]:
    """None, or the forced compute dtype: a name, a NumPy dtype, or a Keras 3 dtype-policy config."""
    if dtype is None:
        return None
    name: object = dtype
    if isinstance(dtype, dict):  # a serialised keras.DTypePolicy: {"class_name": ..., "config": {"name": ...}}
        config: Any = dtype.get("config", {})  # pyright: ignore[reportUnknownMemberType]
        name = config.get("name")
    elif not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name  # type: ignore[call-overload]  # a TypeError for what is no dtype
        except TypeError:
            name = None
    if isinstance(name, str) and name.startswith("mixed_"):
        name = name[len("mixed_"):]  # a mixed policy computes in its first dtype
    if not isinstance(name, str) or name not in _DTYPES:
        raise ValueError(f"dtype must be None, 'float16', 'float32' or 'float64' (or a Keras dtype policy of one), "
                         f"got {dtype!r}")
    return _DTYPES[name]


#: the options a spec is built from (build's keywords); the other attributes are derived from them
_OPTIONS = ("from_logits", "label_smoothing", "pos_weight", "axis", "reduction", "dtype")


class LossSpec:
    """One binary cross-entropy, validated (use :meth:`build`). Immutable."""

    __slots__ = ("from_logits", "label_smoothing", "pos_weight", "pos_weight_buffers", "axis", "reduction",
                 "reduction_mode", "dtype", "core", "any_dtype_fast")

    from_logits: bool
    label_smoothing: float
    pos_weight: Optional[Tuple[float, ...]]
    pos_weight_buffers: Optional[PosWeightBuffers]
    axis: int
    reduction: ReductionArg
    reduction_mode: ReductionMode
    dtype: Optional[np.dtype[Any]]
    core: Tuple[bool, float, int, Optional[PosWeightBuffers]]
    #: the loss over the last axis in the inputs' own dtype: the compiled fast path may take any call
    #: (``_core.fast_call`` checks the inputs)
    any_dtype_fast: bool

    def __init__(self, from_logits: bool, label_smoothing: float, pos_weight: Optional[Tuple[float, ...]], axis: int,
                 reduction: ReductionArg, reduction_mode: ReductionMode, dtype: Optional[np.dtype[Any]],
                 keep_unit_pos_weight: bool = False) -> None:
        set_ = object.__setattr__
        set_(self, "from_logits", from_logits)
        set_(self, "label_smoothing", label_smoothing)
        set_(self, "pos_weight", pos_weight)  # None or a tuple of floats, as given (for configs)
        set_(self, "pos_weight_buffers", _pos_weight_buffers(pos_weight, keep_unit_pos_weight))
        set_(self, "axis", axis)
        set_(self, "reduction", reduction)  # the name as given (None stays None, for configs)
        set_(self, "reduction_mode", reduction_mode)
        set_(self, "dtype", dtype)
        # what the compiled core reads, in one tuple (cpp/loss_spec_py.h)
        set_(self, "core", (from_logits, label_smoothing, int(reduction_mode), self.pos_weight_buffers))
        set_(self, "any_dtype_fast", axis == -1 and dtype is None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("LossSpec is immutable; use replace()")

    @classmethod
    def build(cls, *, from_logits: bool = False, label_smoothing: SupportsFloat = 0.0,
              pos_weight: Optional[PosWeightArg] = None, axis: SupportsIndex = -1,
              reduction: ReductionArg = Reduction.AUTO, dtype: Optional[DTypeArg] = None) -> LossSpec:
        """Validate every option (``TypeError`` / ``ValueError`` naming the value) and build the spec.

        The annotations say what type checkers accept; the checks here hold whatever is passed at run time."""
        Reduction.validate(reduction)
        name = None if reduction is None else _NAMES[str(reduction)]
        return cls(
            check_from_logits(from_logits),
            check_label_smoothing(label_smoothing),
            check_pos_weight(pos_weight),
            check_axis(axis),
            name,
            _MODES[name],
            check_dtype(dtype),
        )

    def replace(self, **changes: Any) -> LossSpec:
        """A spec with some options changed (validated again)."""
        options = {k: getattr(self, k) for k in _OPTIONS}
        options.update(changes)
        return LossSpec.build(**options)

    def check_classes(self, classes: int, y_pred_shape: Tuple[int, ...]) -> None:
        """``ValueError`` unless the pos weights fit ``classes``, the length of y_pred's last axis."""
        pw = self.pos_weight
        if pw is not None and len(pw) != 1 and len(pw) != classes:
            raise ValueError(f"pos_weight has {len(pw)} values but y_pred of shape {tuple(y_pred_shape)} has "
                             f"{classes} classes on its last axis: give one pos weight per class, or one for all")

    def pos_weight_window(self, start: int, stop: int) -> LossSpec:
        """The spec for a block whose element e has the class ``start + e % (stop - start)`` (the chunked
        path's blocks): its pos weights are those of classes [start, stop)."""
        if self.pos_weight is None or self.pos_weight_buffers is None or self.pos_weight_buffers[0] == 1:
            return self
        if (start, stop) == (0, self.pos_weight_buffers[0]):
            return self
        # a window of weights that are all 1 keeps the pos-weight formula, as the rest of the call computes it
        return LossSpec(self.from_logits, self.label_smoothing, self.pos_weight[start:stop], self.axis, self.reduction,
                        self.reduction_mode, self.dtype, keep_unit_pos_weight=True)

    def __reduce__(self) -> Tuple[Any, Tuple[Tuple[Any, ...]]]:
        """Pickles as its options (built again on unpickling: a Dask worker, another process)."""
        return _rebuild, (tuple(getattr(self, k) for k in _OPTIONS),)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LossSpec) and all(getattr(self, k) == getattr(other, k) for k in _OPTIONS)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # unhashable, as it defines __eq__

    def __repr__(self) -> str:
        return (f"LossSpec(from_logits={self.from_logits}, label_smoothing={self.label_smoothing}, "
                f"pos_weight={self.pos_weight}, axis={self.axis}, "
                f"reduction={self.reduction!r}, dtype={None if self.dtype is None else self.dtype.name!r})")


def _rebuild(options: Tuple[Any, ...]) -> LossSpec:
    """A pickled LossSpec (``LossSpec.__reduce__``)."""
    return LossSpec.build(**dict(zip(_OPTIONS, options)))
