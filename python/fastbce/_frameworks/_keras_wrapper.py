"""A fastbce loss object given to Keras as a plain loss function: ``model.compile(loss=fastbce.BinaryCrossentropy())``.

tf_keras and Keras 3 wrap a callable that is not one of their ``Loss`` classes in ``LossFunctionWrapper``,
whose ``__call__(y_true, y_pred, sample_weight)`` calls ``fn(y_true, y_pred)`` and then weights and reduces
what ``fn`` returned (``sum_over_batch_size``) -- as for Keras's own ``BinaryCrossentropy``, which is a
``LossFunctionWrapper`` of the per-sample function. Our reduced scalar is right there only without
weights: Keras would multiply the batch's mean by the weights and average, i.e. scale it by the mean weight,
instead of weighting each sample.

So when fastbce's object is called by such a wrapper whose reduction is the object's own, it hands the
wrapper its per-sample losses, and Keras applies the sample / class weights, its mask and that reduction
exactly as for its own class. With another reduction our scalar is what Keras uses, which is right without
weights; with weights it is a ``ValueError`` naming the Keras ``Loss`` class to use instead.

The wrapper is found on the call stack: the ``__call__`` frame of a ``LossFunctionWrapper`` (of tf_keras or
Keras 3) whose ``fn`` is the object being called.
"""
from __future__ import annotations

import sys
from types import FrameType
from typing import Any, Optional

from .._spec import LossSpec, Reduction, ReductionMode

__all__ = ["spec_for_caller"]

#: frames searched: Keras's Loss.__call__ is 2 frames above the loss object in Keras 3 and about 15 in a
#: tf_keras graph (AutoGraph's frames in between); the rest is margin
_DEPTH = 48
_KERAS_ROOTS = {"keras": "fastbce.keras", "tf_keras": "fastbce.tf_keras"}


def spec_for_caller(spec: LossSpec, y_pred: object) -> LossSpec:
    """The spec the loss object of ``spec`` computes with for its caller: ``spec`` itself, or the per-sample
    spec (reduction ``none``) when a Keras ``LossFunctionWrapper`` with the same reduction is calling it.

    Raises ``ValueError`` when a wrapper with another reduction weights the result."""
    frame: Optional[FrameType] = sys._getframe(1)
    for _ in range(_DEPTH):
        if frame is None:
            break
        code = frame.f_code
        if code.co_name == "__call__" and code.co_varnames[:1] == ("self",) and "sample_weight" in code.co_varnames:
            owner = frame.f_locals.get("self")
            keras_module = _keras_wrapper_of(owner, spec)
            if keras_module is not None:
                return _spec_in_wrapper(spec, owner, frame.f_locals.get("sample_weight"), y_pred, keras_module)
        frame = frame.f_back
    return spec


def _keras_wrapper_of(owner: object, spec: LossSpec) -> Optional[str]:
    """The fastbce module of the Keras Loss classes when ``owner`` is a Keras ``LossFunctionWrapper`` around
    the object of ``spec``, else None."""
    cls = type(owner)
    fastbce_module = _KERAS_ROOTS.get(cls.__module__.partition(".")[0])
    if fastbce_module is None or not any(c.__name__ == "LossFunctionWrapper" for c in cls.__mro__):
        return None
    return fastbce_module if getattr(getattr(owner, "fn", None), "spec", None) is spec else None


def _spec_in_wrapper(spec: LossSpec, wrapper: Any, sample_weight: object, y_pred: object,
                     keras_module: str) -> LossSpec:
    wrapper_reduction: Any = getattr(wrapper, "reduction", Reduction.AUTO)
    try:
        same = LossSpec.build(reduction=wrapper_reduction).reduction_mode == spec.reduction_mode
    except (TypeError, ValueError):  # a reduction fastbce does not know
        same = False
    if same:
        return spec.replace(reduction=Reduction.NONE)
    if sample_weight is None and getattr(y_pred, "_keras_mask", None) is None:
        return spec
    mode = spec.reduction_mode
    raise ValueError(
        f"fastbce.BinaryCrossentropy(reduction={spec.reduction!r}) was given to Keras as a plain loss function, "
        f"whose result Keras weights by the sample weights (sample_weight, class_weight or a mask) and reduces with "
        f"{wrapper_reduction!r}: that would scale this loss's "
        f"{'sum' if mode == ReductionMode.SUM else 'reduced value'} by the weights instead of weighting each "
        f"sample. Use {keras_module}.BinaryCrossentropy (same arguments), a Keras Loss that Keras weights per "
        "sample, or this class with reduction='sum_over_batch_size'"
    )
