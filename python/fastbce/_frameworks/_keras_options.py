"""The loss options of fastbce's Keras classes (the Loss classes of ``fastbce.keras`` / ``fastbce.tf_keras`` and
their metric classes), read-only as on Keras's own classes, from the fastbce loss object each computes with."""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple, Union

if TYPE_CHECKING:
    from ..losses import BinaryCrossentropy

__all__ = ["LossOptions"]


class LossOptions:
    """``from_logits``, ``label_smoothing``, ``axis`` and ``pos_weight`` of ``self._fastbce``."""

    _fastbce: BinaryCrossentropy

    @property
    def from_logits(self) -> bool:
        return self._fastbce.from_logits

    @property
    def label_smoothing(self) -> float:
        return self._fastbce.label_smoothing

    @property
    def axis(self) -> int:
        return self._fastbce.axis

    @property
    def pos_weight(self) -> Union[float, Tuple[float, ...], None]:
        return self._fastbce.pos_weight
