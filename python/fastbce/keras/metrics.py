"""fastbce's loss as a Keras 3 metric: ``fastbce.keras.metrics.BinaryCrossentropy``, as
``keras.metrics.BinaryCrossentropy`` (the weighted mean over every sample seen)::

    import fastbce.keras
    model.compile("sgd", loss=fastbce.keras.BinaryCrossentropy(),
                  metrics=[fastbce.keras.metrics.BinaryCrossentropy()])

Every Keras 3 backend; registered as serializable under the package ``"fastbce"``.
"""
import importlib
from typing import Any

from .._frameworks._keras_metric import metric_class

__all__ = ["BinaryCrossentropy"]

BinaryCrossentropy: Any = metric_class(importlib.import_module("keras"), __name__)
