"""fastbce's loss as a tf_keras 2.x metric: ``fastbce.tf_keras.metrics.BinaryCrossentropy``, as
``tf_keras.metrics.BinaryCrossentropy`` (the weighted mean over every sample seen)::

    import fastbce.tf_keras
    model.compile("sgd", loss=fastbce.tf_keras.BinaryCrossentropy(),
                  metrics=[fastbce.tf_keras.metrics.BinaryCrossentropy()])

Registered as serializable under the package ``"fastbce"``.
"""
import importlib
from typing import Any

from .._frameworks._keras_metric import metric_class

__all__ = ["BinaryCrossentropy"]

_tf: Any = importlib.import_module("tensorflow")
# plain Python over the tensors' host call: tf_keras would run the loss object through AutoGraph
BinaryCrossentropy: Any = metric_class(importlib.import_module("tf_keras"), __name__,
                                       lambda fn: _tf.autograph.experimental.do_not_convert(fn.__call__))
