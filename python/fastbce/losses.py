"""The Keras surface of fastbce: ``BinaryCrossentropy``, ``binary_crossentropy``, ``Reduction``.

Semantics follow ``tf.keras.losses.BinaryCrossentropy`` (tf_keras 2.x) for tensor
inputs; the input rules (dtypes, shapes, sample weights) are documented in
``fastbce._inputs``. Results are NumPy values that also answer ``.numpy()``
(see ``fastbce._results``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, Optional, SupportsFloat, SupportsIndex, Tuple, Type, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import _core, _frameworks, _inputs
from ._grad import value_and_grad as _value_and_grad
from ._results import LossResult
from ._spec import DTypeArg, LossSpec, PosWeightArg, Reduction, ReductionArg

__all__ = ["BinaryCrossentropy", "Reduction", "binary_crossentropy"]

_compute = _inputs.compute
_general = _inputs._general  # what compute() runs when the fast path declines
_fast_call = _core.fast_call
_ndarray = np.ndarray
_B = TypeVar("_B", bound="BinaryCrossentropy")


def binary_crossentropy(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    from_logits: bool = False,
    label_smoothing: SupportsFloat = 0.0,
    axis: SupportsIndex = -1,
    pos_weight: Optional[PosWeightArg] = None,
) -> LossResult:
    """Computes the binary crossentropy loss.

    Standalone usage:

    >>> y_true = [[0, 1], [0, 0]]
    >>> y_pred = [[0.6, 0.4], [0.4, 0.6]]
    >>> loss = fastbce.binary_crossentropy(y_true, y_pred)
    >>> assert loss.shape == (2,)
    >>> loss.numpy()
    array([0.9162905 , 0.71355796], dtype=float32)

    Args:
        y_true: Ground truth values. shape = `[batch_size, d0, .. dN]`.
            Integer and boolean labels are accepted; they are cast to the dtype
            of `y_pred`'s computation.
        y_pred: The predicted values. shape = `[batch_size, d0, .. dN]`.
            Lists and Python scalars are float32; float64 arrays are computed in
            float64; float16 arrays in float32 (returned as float16).
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in [0, 1]. If > `0` then smooth the labels by
            squeezing them towards 0.5 That is, using
            `1. - 0.5 * label_smoothing` for the target class and
            `0.5 * label_smoothing` for the non-target class.
        axis: The axis along which the mean is computed. Defaults to -1.
        pos_weight: Optional weight of the positive term `y * log(p)` (as
            torch's `BCEWithLogitsLoss`): a number, or one per class of
            `y_pred`'s last axis. Defaults to None (1).

    Returns:
        Binary crossentropy loss value. shape = `[batch_size, d0, .. dN-1]`:
        a `LossArray` (an `np.ndarray` answering `.numpy()`), or a NumPy
        scalar when that shape is `()`.

    Raises:
        TypeError: for complex, object, string and other non-real dtypes.
        ValueError: for incompatible shapes, `axis` out of range or
            `label_smoothing` outside [0, 1].
    """
    spec = LossSpec.build(from_logits=from_logits, label_smoothing=label_smoothing, pos_weight=pos_weight,
                          axis=axis, reduction=Reduction.NONE)
    if type(y_pred) is not _ndarray:
        framework = _frameworks.detect(y_pred, y_true)
        if framework is not None:
            return _frameworks.loss(framework, y_true, y_pred, None, spec)  # type: ignore[no-any-return]
    return _compute(y_true, y_pred, None, spec)


class BinaryCrossentropy:
    """Computes the cross-entropy loss between true labels and predicted labels.

    Use this cross-entropy loss for binary (0 or 1) classification applications.
    The loss function requires the following inputs:

    - `y_true` (true label): This is either 0 or 1.
    - `y_pred` (predicted value): This is the model's prediction, i.e, a single
        floating-point value which either represents a
        [logit](https://en.wikipedia.org/wiki/Logit), (i.e, value in [-inf, inf]
        when `from_logits=True`) or a probability (i.e, value in [0., 1.] when
        `from_logits=False`).

    In the snippet below, each of the four examples has only a single
    floating-pointing value, and both `y_pred` and `y_true` have the shape
    `[batch_size]`.

    Usage:

    >>> bce = fastbce.BinaryCrossentropy()
    >>> loss = bce([0., 0., 1., 1.], [1., 1., 1., 0.])
    >>> print('Loss: ', loss.numpy())
    Loss:  11.522857

    **Recommended Usage:** (set `from_logits=True`)

    >>> # Example 1: (batch_size = 1, number of samples = 4)
    >>> y_true = [0, 1, 0, 0]
    >>> y_pred = [-18.6, 0.51, 2.94, -12.8]
    >>> bce = fastbce.BinaryCrossentropy(from_logits=True)
    >>> bce(y_true, y_pred).numpy()
    np.float32(0.865458)

    >>> # Example 2: (batch_size = 2, number of samples = 4)
    >>> y_true = [[0, 1], [0, 0]]
    >>> y_pred = [[-18.6, 0.51], [2.94, -12.8]]
    >>> # Using default 'auto'/'sum_over_batch_size' reduction type.
    >>> bce = fastbce.BinaryCrossentropy(from_logits=True)
    >>> bce(y_true, y_pred).numpy()
    np.float32(0.865458)
    >>> # Using 'sample_weight' attribute
    >>> bce(y_true, y_pred, sample_weight=[0.8, 0.2]).numpy()
    np.float32(0.2436386)
    >>> # Using 'sum' reduction` type.
    >>> bce = fastbce.BinaryCrossentropy(from_logits=True,
    ...     reduction=fastbce.Reduction.SUM)
    >>> bce(y_true, y_pred).numpy()
    np.float32(1.730916)
    >>> # Using 'none' reduction type.
    >>> bce = fastbce.BinaryCrossentropy(from_logits=True,
    ...     reduction=fastbce.Reduction.NONE)
    >>> bce(y_true, y_pred).numpy()
    array([0.23515666, 1.4957594 ], dtype=float32)

    **Default Usage:** (set `from_logits=False`)

    >>> bce = fastbce.BinaryCrossentropy()  # OR ...('from_logits=False')
    >>> y_pred = [[0.6, 0.3], [0.2, 0.8]]   # probabilities instead of logits
    >>> bce(y_true, y_pred).numpy()
    np.float32(0.988211)

    Results are NumPy values: a `np.float32` / `np.float64` scalar (float16
    inputs give `np.float16`) for the reducing modes and an `np.ndarray` for
    `NONE`, which also answer `.numpy()`. Inputs are anything `numpy.asarray`
    accepts; lists and Python scalars are float32, as in TensorFlow.

    Where fastbce differs from tf_keras on purpose: ±inf logits give the
    mathematical limit (label 1 with +inf -> 0, label 0 with +inf -> inf) where
    tf_keras gives NaN; a 1-D `sample_weight` of the batch size weights each
    sample for any rank of the loss (tf_keras aligns it with the last axis for
    rank >= 3 losses); NumPy inputs are squeezed like tensors (no silent
    `[B, B]` broadcast); bad shapes and dtypes raise `ValueError` / `TypeError`
    rather than TensorFlow errors.

    Args:
        from_logits: Whether to interpret `y_pred` as a tensor of
            [logit](https://en.wikipedia.org/wiki/Logit) values. By default,
            we assume that `y_pred` contains probabilities (i.e., values in
            [0, 1]).
        label_smoothing: Float in [0, 1]. When 0, no smoothing occurs.
            When > 0, we compute the loss between the predicted labels and a
            smoothed version of the true labels, where the smoothing
            squeezes the labels towards 0.5.  Larger values of
            `label_smoothing` correspond to heavier smoothing.
        axis: The axis along which to compute crossentropy (the features
            axis).  Defaults to -1.
        reduction: Type of `fastbce.Reduction` (or its string value) to apply
            to loss. Default value is `AUTO`, which means
            `SUM_OVER_BATCH_SIZE`.
        name: Name for the instance. Defaults to 'binary_crossentropy'.
        dtype: The compute dtype (Keras 3's argument): None (default) follows
            `y_pred`'s dtype as tf_keras does; 'float32' or 'float64' casts the
            inputs to it; 'float16' computes in float32 and returns float16.
        pos_weight: Weight of the positive term `y * log(p)`, as in torch's
            `BCEWithLogitsLoss(pos_weight=...)`: a number, or a 1-D array with
            one weight per class of `y_pred`'s last axis. For probabilities
            the loss is `-(w*y*log(p + eps) + (1 - y)*log(1 - p + eps))`, for
            logits `(1 - y)*softplus(x) + w*y*softplus(-x)`. Defaults to None.

    Raises:
        ValueError: for an invalid `reduction` or `label_smoothing`.
    """

    __slots__ = ("_spec", "_call_spec", "_pos_weight_scalar", "name")

    _spec: LossSpec
    _call_spec: LossSpec
    _pos_weight_scalar: bool
    name: str

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: SupportsFloat = 0.0,
        axis: SupportsIndex = -1,
        reduction: ReductionArg = Reduction.AUTO,
        name: str = "binary_crossentropy",
        dtype: Optional[DTypeArg] = None,
        pos_weight: Optional[PosWeightArg] = None,
    ) -> None:
        self._set_spec(LossSpec.build(from_logits=from_logits, label_smoothing=label_smoothing,
                                      pos_weight=pos_weight, axis=axis, reduction=reduction, dtype=dtype))
        self._pos_weight_scalar = pos_weight is not None and getattr(pos_weight, "ndim", 0) == 0 and not isinstance(
            pos_weight, (list, tuple))
        self.name = name

    def _set_spec(self, spec: LossSpec) -> None:
        self._spec = spec
        self._call_spec = spec.replace(reduction=Reduction.NONE)  # call(): per-sample, unweighted

    # -- attributes (as tf_keras exposes them) ---------------------------------
    @property
    def spec(self) -> LossSpec:
        """The validated options of this loss (``fastbce._spec.LossSpec``)."""
        return self._spec

    @property
    def from_logits(self) -> bool:
        return self._spec.from_logits

    @property
    def label_smoothing(self) -> float:
        return self._spec.label_smoothing

    @property
    def axis(self) -> int:
        return self._spec.axis

    @property
    def pos_weight(self) -> Union[float, Tuple[float, ...], None]:
        """The weight of the positive term: None, a float, or a tuple of one float per class."""
        pw = self._spec.pos_weight
        return pw[0] if pw is not None and len(pw) == 1 and self._pos_weight_scalar else pw

    @property
    def reduction(self) -> ReductionArg:
        return self._spec.reduction

    @reduction.setter
    def reduction(self, value: ReductionArg) -> None:
        self._set_spec(self._spec.replace(reduction=value))

    @property
    def dtype(self) -> Optional[str]:
        """The forced compute dtype's name, or None (the dtype follows ``y_pred``)."""
        return None if self._spec.dtype is None else self._spec.dtype.name

    # -- computation -------------------------------------------------------------
    def __call__(
        self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike, sample_weight: Optional[npt.ArrayLike] = None
    ) -> LossResult:
        """Invokes the `BinaryCrossentropy` instance.

        Args:
            y_true: Ground truth values. shape = `[batch_size, d0, .. dN]`.
            y_pred: The predicted values. shape = `[batch_size, d0, .. dN]`.
            sample_weight: Optional `sample_weight` acts as a coefficient for
                the loss. If a scalar is provided, then the loss is simply
                scaled by the given value. If `sample_weight` is a tensor of
                size `[batch_size]`, then the total loss for each sample of the
                batch is rescaled by the corresponding element in the
                `sample_weight` vector (for any rank of the loss). If the shape
                of `sample_weight` is `[batch_size, d0, .. dN-1]` (or can be
                broadcasted to this shape), then each loss element of `y_pred`
                is scaled by the corresponding value of `sample_weight`. (Note
                on `dN-1`: all loss functions reduce by 1 dimension, usually
                axis=-1.)

        Returns:
            Weighted loss: if `reduction` is `NONE`, an array (`LossArray`) of
            shape `[batch_size, d0, .. dN-1]`; otherwise a NumPy scalar. Both
            answer `.numpy()`.

        Raises:
            ValueError: If the shape of `sample_weight` is invalid, the shapes of
                `y_true` and `y_pred` are incompatible or `axis` is out of range.
            TypeError: If an input has a non-real dtype (complex, object, str...)
                or `y_true` / `y_pred` is None.
        """
        spec = self._spec
        if type(y_pred) is _ndarray:
            if spec.any_dtype_fast:  # _compute's steps, taken here: a Python frame less on small calls
                result = _fast_call(y_true, y_pred, sample_weight, spec)
                return _general(y_true, y_pred, sample_weight, spec) if result is None else result
        else:  # tensors of TensorFlow, torch or JAX: a differentiable tensor
            framework = _frameworks.detect(y_pred, y_true, sample_weight)
            if framework is not None:
                return _frameworks.loss(framework, y_true, y_pred, sample_weight, spec)  # type: ignore[no-any-return]
        return _compute(y_true, y_pred, sample_weight, spec)

    def value_and_grad(
        self,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: Optional[npt.ArrayLike] = None,
        grad_out: Optional[npt.ArrayLike] = None,
        *,
        out: Optional[npt.NDArray[Any]] = None,
    ) -> Tuple[LossResult, npt.NDArray[Any]]:
        """The loss and its gradient with respect to `y_pred`, in one call.

        The gradient is TensorFlow's gradient of tf_keras's loss (`tf.GradientTape`
        with tensor inputs): 0 where a probability is clipped to [1e-7, 1 - 1e-7],
        `sigmoid(x) - y` for logits (with the limits at +-inf), through label
        smoothing, `pos_weight`, the sample weights and the reduction.

        >>> bce = fastbce.BinaryCrossentropy(from_logits=True)
        >>> loss, grad = bce.value_and_grad([[0.], [1.]], [[0.], [0.]])
        >>> grad
        array([[ 0.25],
               [-0.25]], dtype=float32)

        Args:
            y_true, y_pred, sample_weight: as for `__call__`.
            grad_out: The cotangent. For the reducing modes a number: the
                gradient of `grad_out * loss`. For `NONE`, an array that
                broadcasts to the per-sample loss: the gradient of
                `sum(grad_out * loss)`. None (default): 1 (for `NONE`, the
                gradient of the sum of the per-sample losses).
            out: Optional array to write the gradient to (NumPy's `out=`):
                `y_pred`'s shape and the gradient's dtype. A training loop
                that passes the same array every step saves an allocation.

        Returns:
            `(loss, grad)`: `loss` as `__call__` returns it, `grad` an ndarray
            with `y_pred`'s shape and dtype (float32 for integer `y_pred`).
        """
        if type(y_pred) is not _ndarray and _frameworks.detect(y_pred, y_true, sample_weight) == "dask":
            if out is not None:
                raise ValueError("out= is for NumPy gradients; with dask inputs the gradient is a lazy dask array")
            from ._frameworks import dask as lazy  # dask arrays: a lazy loss and gradient

            return lazy.value_and_grad(y_true, y_pred, sample_weight, self._spec, grad_out)
        return _value_and_grad(y_true, y_pred, sample_weight, self._spec, grad_out, out)

    def call(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> LossResult:
        """Per-sample losses, unweighted and unreduced.

        Args:
            y_true: Ground truth values. shape = `[batch_size, d0, .. dN]`.
            y_pred: The predicted values. shape = `[batch_size, d0, .. dN]`.

        Returns:
            Loss values per sample, shape `[batch_size, d0, .. dN-1]`.
        """
        if type(y_pred) is not _ndarray:
            framework = _frameworks.detect(y_pred, y_true)
            if framework is not None:
                return _frameworks.loss(framework, y_true, y_pred, None, self._call_spec)  # type: ignore[no-any-return]
        return _compute(y_true, y_pred, None, self._call_spec)

    # -- config ----------------------------------------------------------------
    def get_config(self) -> Dict[str, Any]:
        """Returns the config dictionary, with the same keys and values as tf_keras.

        >>> fastbce.BinaryCrossentropy().get_config()
        {'reduction': 'auto', 'name': 'binary_crossentropy', 'from_logits': False, 'label_smoothing': 0.0, 'axis': -1, 'fn': 'binary_crossentropy'}
        """
        config: Dict[str, Any] = {
            "reduction": self._spec.reduction,
            "name": self.name,
            "from_logits": self._spec.from_logits,
            "label_smoothing": self._spec.label_smoothing,
            "axis": self._spec.axis,
            "fn": "binary_crossentropy",
        }
        if self._spec.dtype is not None:  # Keras 3's key, only when set (tf_keras configs have none)
            config["dtype"] = self._spec.dtype.name
        pw = self.pos_weight
        if pw is not None:  # fastbce's own key, only when set
            config["pos_weight"] = list(pw) if isinstance(pw, tuple) else pw
        return config

    @classmethod
    def from_config(cls: Type[_B], config: Mapping[str, Any]) -> _B:
        """Instantiates a `BinaryCrossentropy` from its config (output of `get_config()`).

        Configs produced by tf_keras's `BinaryCrossentropy.get_config()` and by
        Keras 3's are accepted as they are (the `fn` entry, when present, must
        name `binary_crossentropy`; Keras 3's `dtype` may be a dtype-policy
        config).
        The dictionary passed in is not modified.
        """
        config = dict(config)
        fn = config.pop("fn", None)
        if fn is not None and fn != "binary_crossentropy":
            raise ValueError(f"config is for loss function {fn!r}, not 'binary_crossentropy'")
        return cls(**config)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(from_logits={self.from_logits}, label_smoothing={self.label_smoothing}, "
            f"axis={self.axis}, reduction={self.reduction!r}, name={self.name!r})"
        )

