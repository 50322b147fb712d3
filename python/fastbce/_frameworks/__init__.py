"""Tensors of other frameworks: found by their type's module, handled by ``fastbce._frameworks.<name>``.

Each framework module is imported only when one of its tensors arrives, so none of TensorFlow, torch or JAX
is ever a requirement. A framework module provides

    loss(y_true, y_pred, sample_weight, spec) -> a tensor of that framework

whose value is fastbce's loss and whose gradient with respect to ``y_pred`` is fastbce's fused gradient
(``fastbce._grad``), so the result can be differentiated by the framework's own autodiff.

A loss object that Keras calls as a plain loss function (``model.compile(loss=fastbce.BinaryCrossentropy())``)
gets the spec ``_keras_wrapper.spec_for_caller`` gives: its per-sample losses when Keras weights and reduces
them itself.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Optional, TypeVar

from .._spec import ReductionMode
from ._keras_wrapper import spec_for_caller

#: the first component of a tensor type's ``__module__`` -> the module here that handles it
_ROOTS = {"tensorflow": "tensorflow", "tf_keras": "tensorflow", "torch": "torch", "jax": "jax", "jaxlib": "jax",
          "dask": "dask"}
#: type -> framework name (None: not a framework tensor), filled on first sight of each type
_BY_TYPE: Dict[type, Optional[str]] = {}


def _of_type(tp: type) -> Optional[str]:
    try:
        return _BY_TYPE[tp]
    except KeyError:
        name = _ROOTS.get(str(getattr(tp, "__module__", "")).partition(".")[0])
        _BY_TYPE[tp] = name
        return name


_F = TypeVar("_F", bound=Callable[..., Any])


def _run_as_is_in_graphs(fn: _F) -> _F:
    """Mark ``fn`` as ``tf.autograph.experimental.do_not_convert`` marks a function (without importing
    TensorFlow): a ``tf.function`` that calls it runs it as it is instead of converting its source."""
    fn.autograph_info__ = frozenset()  # type: ignore[attr-defined]
    return fn


@_run_as_is_in_graphs
def detect(*values: object) -> Optional[str]:
    """The framework of the first value that is one of its tensors, or None."""
    for v in values:
        name = _of_type(type(v))
        if name is not None:
            return name
    return None


@_run_as_is_in_graphs
def loss(framework: str, y_true: object, y_pred: object, sample_weight: object, spec: Any) -> Any:
    """The loss ``spec`` describes as a differentiable tensor of ``framework``."""
    if sample_weight is None and spec.reduction_mode != ReductionMode.NONE:
        # a Keras LossFunctionWrapper may be calling: it weights and reduces per sample (_keras_wrapper)
        spec = spec_for_caller(spec, y_pred)
    module = importlib.import_module(f"{__name__}.{framework}")
    return module.loss(y_true, y_pred, sample_weight, spec)
