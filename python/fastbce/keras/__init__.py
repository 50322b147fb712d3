"""fastbce's loss as a Keras 3 ``Loss``: ``fastbce.keras.BinaryCrossentropy``::

    import fastbce.keras
    model.compile("sgd", loss=fastbce.keras.BinaryCrossentropy())

For every Keras 3 backend: TensorFlow, JAX and torch tensors each have their fastbce module
(``fastbce._frameworks``). Importing this module imports Keras; importing ``fastbce`` does not.
The class is registered as serializable under the package ``"fastbce"``, so models compiled with it
survive ``model.save`` and ``keras.saving.load_model`` (with this module imported).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Dict, Optional, SupportsFloat, SupportsIndex, Type, TypeVar

from .. import losses as _losses
from .._frameworks._keras_options import LossOptions
from .._spec import PosWeightArg, Reduction

_keras: Any = importlib.import_module("keras")

__all__ = ["BinaryCrossentropy", "metrics"]

_B = TypeVar("_B", bound="BinaryCrossentropy")


@_keras.saving.register_keras_serializable(package="fastbce")
class BinaryCrossentropy(LossOptions, _keras.losses.Loss):  # type: ignore[misc]  # Keras is untyped
    """``keras.losses.BinaryCrossentropy`` computed by fastbce, for ``compile`` / ``fit`` / ``evaluate``.

    The arguments are those of ``fastbce.BinaryCrossentropy`` (``pos_weight`` included); ``reduction`` is
    one of Keras 3's (``"sum_over_batch_size"``, the default, ``"sum"``, ``"mean"``,
    ``"mean_with_sample_weight"``, ``"none"`` or None), and tf_keras's ``"auto"`` is read as
    ``"sum_over_batch_size"`` so tf_keras configs load; ``dtype`` is Keras's (the inputs are converted to
    it, default ``keras.backend.floatx()``). ``call`` returns fastbce's per-sample losses as a tensor of the
    backend (value and gradient from fastbce's fused kernels), and Keras's ``Loss.__call__`` applies the
    sample weights, the mask and the reduction, as for its own class.

    The loss is tf_keras's formula, which Keras 3's own class is not: for probabilities Keras 3 computes
    ``log(p)`` where tf_keras computes ``log(p + 1e-7)`` (see the README); logits, and the output of a
    sigmoid (computed from its logits on the TensorFlow backend by both), are the same formula.

    The config has the keys of ``fastbce.BinaryCrossentropy.get_config()`` (plus ``dtype`` and
    ``pos_weight`` when set).
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: SupportsFloat = 0.0,
        axis: SupportsIndex = -1,
        reduction: Optional[str] = Reduction.SUM_OVER_BATCH_SIZE,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        pos_weight: Optional[PosWeightArg] = None,
    ) -> None:
        # dtype: Keras converts the inputs to it before call(), and fastbce follows y_pred's dtype
        self._fastbce = _losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                                   axis=axis, reduction=Reduction.NONE, name=name,
                                                   pos_weight=pos_weight)
        if reduction == Reduction.AUTO:
            reduction = Reduction.SUM_OVER_BATCH_SIZE
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._dtype_arg = dtype

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """The per-sample losses (shape of the inputs without ``axis``), a backend tensor differentiable in
        ``y_pred``."""
        return self._fastbce(y_true, y_pred)

    def get_config(self) -> Dict[str, Any]:
        config = self._fastbce.get_config()
        config["reduction"] = self.reduction
        if self._dtype_arg is not None:
            config["dtype"] = _keras.saving.serialize_keras_object(self._dtype_arg)
        return config

    @classmethod
    def from_config(cls: Type[_B], config: Mapping[str, Any]) -> _B:
        """Instantiates the loss from its config, or from a config of ``fastbce.BinaryCrossentropy``, of
        tf_keras's or of Keras 3's ``BinaryCrossentropy`` (the ``fn`` entry, when present, must name
        ``binary_crossentropy``)."""
        config = dict(config)
        fn = config.pop("fn", None)
        if fn is not None and fn != "binary_crossentropy":
            raise ValueError(f"config is for loss function {fn!r}, not 'binary_crossentropy'")
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = _keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

from . import metrics  # noqa: E402  # fastbce.keras.metrics.BinaryCrossentropy: the metric form
