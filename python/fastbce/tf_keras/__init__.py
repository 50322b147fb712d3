"""fastbce's loss as a tf_keras 2.x ``Loss``: ``fastbce.tf_keras.BinaryCrossentropy``::

    import fastbce.tf_keras
    model.compile("sgd", loss=fastbce.tf_keras.BinaryCrossentropy())

Importing this module imports tf_keras (and TensorFlow); importing ``fastbce`` does not.
The class is registered as serializable under the package ``"fastbce"``, so models compiled with it
survive ``model.save`` and ``tf_keras.models.load_model`` (with this module imported).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Dict, Optional, SupportsFloat, SupportsIndex, Type, TypeVar

from .. import losses as _losses
from .._frameworks._keras_options import LossOptions
from .._spec import DTypeArg, PosWeightArg, Reduction

tf: Any = importlib.import_module("tensorflow")
_tf_keras: Any = importlib.import_module("tf_keras")

__all__ = ["BinaryCrossentropy", "metrics"]

_B = TypeVar("_B", bound="BinaryCrossentropy")


@_tf_keras.saving.register_keras_serializable(package="fastbce")
class BinaryCrossentropy(LossOptions, _tf_keras.losses.Loss):  # type: ignore[misc]  # tf_keras is untyped
    """``tf_keras.losses.BinaryCrossentropy`` computed by fastbce, for ``compile`` / ``fit`` / ``evaluate``.

    The arguments are those of ``fastbce.BinaryCrossentropy`` (``pos_weight`` and ``dtype`` included);
    ``reduction`` is one of tf_keras's (``"auto"``, ``"none"``, ``"sum"``, ``"sum_over_batch_size"``).
    ``call`` returns fastbce's per-sample losses as a tensor (value and gradient from fastbce's fused
    kernels), and tf_keras's ``Loss.__call__`` applies the sample weights, the mask and the reduction, as
    for its own class, so ``fit`` with ``sample_weight`` or ``class_weight`` follows the same numbers.
    As in tf_keras, the output of a sigmoid is computed from its logits.

    The config has the keys of ``fastbce.BinaryCrossentropy.get_config()`` (tf_keras's, plus ``dtype`` and
    ``pos_weight`` when set).
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: SupportsFloat = 0.0,
        axis: SupportsIndex = -1,
        reduction: Optional[str] = Reduction.AUTO,
        name: str = "binary_crossentropy",
        dtype: Optional[DTypeArg] = None,
        pos_weight: Optional[PosWeightArg] = None,
    ) -> None:
        self._fastbce = _losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                                   axis=axis, reduction=Reduction.NONE, name=name, dtype=dtype,
                                                   pos_weight=pos_weight)
        super().__init__(reduction=Reduction.NONE if reduction is None else reduction, name=name)

    @tf.autograph.experimental.do_not_convert  # type: ignore[untyped-decorator]  # plain Python: run it as it is
    def call(self, y_true: Any, y_pred: Any) -> Any:
        """The per-sample losses (shape of the inputs without ``axis``), a tensor differentiable in ``y_pred``."""
        return self._fastbce(y_true, y_pred)

    def get_config(self) -> Dict[str, Any]:
        config = self._fastbce.get_config()
        config["reduction"] = self.reduction
        return config

    @classmethod
    def from_config(cls: Type[_B], config: Mapping[str, Any]) -> _B:
        """Instantiates the loss from its config, or from a config of ``fastbce.BinaryCrossentropy`` or of
        tf_keras's ``BinaryCrossentropy`` (the ``fn`` entry, when present, must name ``binary_crossentropy``)."""
        config = dict(config)
        fn = config.pop("fn", None)
        if fn is not None and fn != "binary_crossentropy":
            raise ValueError(f"config is for loss function {fn!r}, not 'binary_crossentropy'")
        return cls(**config)

from . import metrics  # noqa: E402  # fastbce.tf_keras.metrics.BinaryCrossentropy: the metric form
