"""The Keras surface of fastbce: ``BinaryCrossentropy``, ``binary_crossentropy``, ``Reduction``.

Semantics follow ``tf.keras.losses.BinaryCrossentropy`` (tf_keras 2.x) for tensor
inputs; the input rules (dtypes, shapes, sample weights) are documented in
``fastbce._inputs``. Results are NumPy values that also answer ``.numpy()``
(see ``fastbce._results``).
"""
from __future__ import annotations

import operator

from . import _inputs

__all__ = ["BinaryCrossentropy", "Reduction", "binary_crossentropy"]

_compute = _inputs.compute


class Reduction:
    """Types of loss reduction (the values of ``tf.keras.losses.Reduction``).

    * ``AUTO`` (``"auto"``): the same as ``SUM_OVER_BATCH_SIZE``.
    * ``NONE`` (``"none"``): no additional reduction; the per-sample losses
      (shape of the inputs without ``axis``) are returned, weighted.
    * ``SUM`` (``"sum"``): scalar sum of the weighted per-sample losses.
    * ``SUM_OVER_BATCH_SIZE`` (``"sum_over_batch_size"``): ``SUM`` divided by the
      number of per-sample loss elements (not by the sum of the weights); 0.0 for
      an empty batch.

    The plain strings are accepted wherever a ``Reduction`` is.

    >>> Reduction.all()
    ('auto', 'none', 'sum', 'sum_over_batch_size')
    >>> Reduction.validate("mean")
    Traceback (most recent call last):
    ...
    ValueError: Invalid Reduction Key: mean. Expected keys are "('auto', 'none', 'sum', 'sum_over_batch_size')"
    """

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        """All valid reduction values."""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key):
        """Raise ``ValueError`` unless ``key`` is one of :meth:`all` (same message as tf_keras)."""
        if not isinstance(key, str) or key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


_MODES = {
    Reduction.AUTO: _inputs.MEAN,
    Reduction.SUM_OVER_BATCH_SIZE: _inputs.MEAN,
    Reduction.SUM: _inputs.SUM,
    Reduction.NONE: _inputs.NONE,
}


def _check_label_smoothing(label_smoothing) -> float:
    if isinstance(label_smoothing, (str, bytes)):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    try:
        ls = float(label_smoothing)
    except (TypeError, ValueError):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}") from None
    if not 0.0 <= ls <= 1.0:  # also rejects NaN
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


def _check_axis(axis) -> int:
    if isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
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

    Returns:
        Binary crossentropy loss value. shape = `[batch_size, d0, .. dN-1]`:
        a `LossArray` (an `np.ndarray` answering `.numpy()`), or a NumPy
        scalar when that shape is `()`.

    Raises:
        TypeError: for complex, object, string and other non-real dtypes.
        ValueError: for incompatible shapes, `axis` out of range or
            `label_smoothing` outside [0, 1].
    """
    ls = _check_label_smoothing(label_smoothing)
    return _compute(y_true, y_pred, None, bool(from_logits), ls, _check_axis(axis), _inputs.NONE)


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

    Raises:
        ValueError: for an invalid `reduction` or `label_smoothing`.
    """

    __slots__ = ("_from_logits", "_label_smoothing", "_axis", "_reduction", "_mode", "name")

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=Reduction.AUTO,
        name="binary_crossentropy",
    ):
        Reduction.validate(reduction)
        self._label_smoothing = _check_label_smoothing(label_smoothing)
        self._axis = _check_axis(axis)
        self._from_logits = bool(from_logits)
        self._reduction = str(reduction)
        self._mode = _MODES[self._reduction]
        self.name = name

    # -- attributes (as tf_keras exposes them) ---------------------------------
    @property
    def from_logits(self) -> bool:
        return self._from_logits

    @property
    def label_smoothing(self) -> float:
        return self._label_smoothing

    @property
    def axis(self) -> int:
        return self._axis

    @property
    def reduction(self) -> str:
        return self._reduction

    @reduction.setter
    def reduction(self, value) -> None:
        Reduction.validate(value)
        self._reduction = str(value)
        self._mode = _MODES[self._reduction]

    # -- computation -------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
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
            TypeError: If an input has a non-real dtype (complex, object, str...).
        """
        return _compute(
            y_true, y_pred, sample_weight, self._from_logits, self._label_smoothing, self._axis, self._mode
        )

    def call(self, y_true, y_pred):
        """Per-sample losses, unweighted and unreduced.

        Args:
            y_true: Ground truth values. shape = `[batch_size, d0, .. dN]`.
            y_pred: The predicted values. shape = `[batch_size, d0, .. dN]`.

        Returns:
            Loss values per sample, shape `[batch_size, d0, .. dN-1]`.
        """
        return _compute(y_true, y_pred, None, self._from_logits, self._label_smoothing, self._axis, _inputs.NONE)

    # -- config ----------------------------------------------------------------
    def get_config(self) -> dict:
        """Returns the config dictionary, with the same keys and values as tf_keras.

        >>> fastbce.BinaryCrossentropy().get_config()
        {'reduction': 'auto', 'name': 'binary_crossentropy', 'from_logits': False, 'label_smoothing': 0.0, 'axis': -1, 'fn': 'binary_crossentropy'}
        """
        return {
            "reduction": self._reduction,
            "name": self.name,
            "from_logits": self._from_logits,
            "label_smoothing": self._label_smoothing,
            "axis": self._axis,
            "fn": "binary_crossentropy",
        }

    @classmethod
    def from_config(cls, config: dict) -> "BinaryCrossentropy":
        """Instantiates a `BinaryCrossentropy` from its config (output of `get_config()`).

        Configs produced by tf_keras's `BinaryCrossentropy.get_config()` are
        accepted as they are (the `fn` entry must name `binary_crossentropy`).
        The dictionary passed in is not modified.
        """
        config = dict(config)
        fn = config.pop("fn", None)
        if fn is not None and fn != "binary_crossentropy":
            raise ValueError(f"config is for loss function {fn!r}, not 'binary_crossentropy'")
        return cls(**config)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(from_logits={self._from_logits}, label_smoothing={self._label_smoothing}, "
            f"axis={self._axis}, reduction={self._reduction!r}, name={self.name!r})"
        )

