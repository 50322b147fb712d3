"""The Keras metric form of fastbce's loss, one class per Keras: ``fastbce.tf_keras.metrics.BinaryCrossentropy``
(tf_keras 2.x) and ``fastbce.keras.metrics.BinaryCrossentropy`` (Keras 3, every backend).

Both Kerases define ``metrics.BinaryCrossentropy`` as a ``MeanMetricWrapper`` of the per-sample loss: the
weighted mean over every sample seen (Keras's ``Mean`` state: a total and a count). Ours is that class around
fastbce's per-sample losses (a ``fastbce.BinaryCrossentropy`` with reduction ``"none"``, which returns a
tensor of the backend), so ``compile(metrics=[...])``, ``weighted_metrics``, ``evaluate`` and
``model.save`` / ``load_model`` behave as with Keras's class; the formula is tf_keras's (see the README).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, SupportsFloat

from .. import losses
from .._spec import PosWeightArg, Reduction
from ._keras_options import LossOptions

__all__ = ["metric_class"]


def metric_class(keras: Any, module: str, wrap_fn: Callable[[Any], Any] = lambda fn: fn) -> Any:
    """The metric class for the Keras module ``keras`` (``tf_keras`` or ``keras``), shown as defined in
    ``module`` and registered as serializable under the package ``"fastbce"``. ``wrap_fn`` wraps the
    per-sample loss for the metric's ``update_state`` (tf_keras runs it through AutoGraph otherwise)."""

    class BinaryCrossentropy(LossOptions, keras.metrics.MeanMetricWrapper):  # type: ignore[misc]  # Keras is untyped
        """``metrics.BinaryCrossentropy`` of Keras computed by fastbce: the mean binary cross-entropy over
        every sample seen (weighted by ``sample_weight``), with ``from_logits`` and ``label_smoothing`` as
        Keras's class, and ``pos_weight`` as ``fastbce.BinaryCrossentropy``. The config has Keras's keys
        (``name``, ``dtype``, ``from_logits``, ``label_smoothing``; ``pos_weight`` when set)."""

        def __init__(
            self,
            name: str = "binary_crossentropy",
            dtype: Any = None,
            from_logits: bool = False,
            label_smoothing: SupportsFloat = 0.0,
            pos_weight: Optional[PosWeightArg] = None,
        ) -> None:
            per_sample = losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                                   reduction=Reduction.NONE, name=name, pos_weight=pos_weight)
            super().__init__(wrap_fn(per_sample), name=name, dtype=dtype)
            self._fastbce = per_sample
            self._direction = "down"  # Keras 3: callbacks with mode="auto" minimise it, as Keras's own

        def get_config(self) -> Dict[str, Any]:
            config: Dict[str, Any] = {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                                      "label_smoothing": self.label_smoothing}
            if self.pos_weight is not None:
                config["pos_weight"] = self.pos_weight
            return config

        @classmethod
        def from_config(cls, config: Mapping[str, Any]) -> Any:
            """Instantiates the metric from its config or from a config of Keras's ``BinaryCrossentropy``
            metric."""
            return cls(**{k: v for k, v in config.items() if k != "fn"})

    BinaryCrossentropy.__module__ = module
    BinaryCrossentropy.__qualname__ = "BinaryCrossentropy"
    return keras.saving.register_keras_serializable(package="fastbce", name="BinaryCrossentropyMetric")(
        BinaryCrossentropy)
