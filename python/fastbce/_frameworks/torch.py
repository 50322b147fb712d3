"""torch tensors: fastbce's loss as a torch tensor, differentiable by torch's autograd.

The loss and its gradient are computed by fastbce on the CPU, from zero-copy NumPy views of the tensors
(``tensor.detach().numpy()``; a non-contiguous tensor is a strided view, which fastbce reads as it is).
When ``y_pred`` requires grad (and grad mode is on), one host call computes the loss and the gradient
(``fastbce._grad.value_and_grad``); the gradient is kept for ``backward``, which scales it by the upstream
gradient when that is not 1. Under ``torch.no_grad()`` / ``torch.inference_mode()`` only the loss is computed.

dtypes follow fastbce: float64 -> float64, float16 -> float16, anything else -> float32, and bfloat16 ->
bfloat16, computed in float32: the loss reads the tensor's memory as ml_dtypes' bfloat16 (no copy; the kernels
widen it), the gradient path from a float32 copy (also without ml_dtypes installed). With a
gradient, float16 is also computed from a float32 copy so that the kept gradient is float32 and scaling it
by a large upstream gradient (loss scaling) cannot meet float16's underflow first.

Only ``y_pred`` gets a gradient; ``y_true`` and ``sample_weight`` (torch tensors, NumPy arrays or numbers)
are constants of the loss. Tensors on another device (cuda, mps, meta, ...) are a ``ValueError``.
"""
from __future__ import annotations

import importlib
from typing import Any, Optional, Tuple

import numpy as np

from .. import _inputs
from .._grad import value_and_grad
from .._spec import LossSpec, ReductionMode
from ._shapes import cotangent_shape

torch: Any = importlib.import_module("torch")
# what torch.autograd.function.once_differentiable wraps gradients in: differentiating the result raises
_DelayedError: Any = torch._C._functions.DelayedError
_NO_SECOND_ORDER = ("fastbce's loss is differentiable once: its gradient has no derivative in torch (a second "
                    "derivative, e.g. backward(create_graph=True) followed by a backward through the gradient, is "
                    "not supported)")

_HALF = (torch.float16, torch.bfloat16)


def _host(value: object, name: str, float32: bool = False) -> Any:
    """A NumPy view of a CPU tensor (bfloat16, or anything with ``float32``, as a float32 copy); other values as
    they are."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.device.type != "cpu":
        raise ValueError(f"{name} is a torch tensor on device '{value.device}': fastbce computes on the CPU, so "
                         f"move the tensors there first ({name}.cpu()); the loss then comes back on the CPU")
    if value.layout != torch.strided:
        raise TypeError(f"{name} is a torch tensor with layout {value.layout}: fastbce reads dense (strided) "
                        f"tensors; convert it with {name}.to_dense()")
    t = value.detach().resolve_conj().resolve_neg()
    if t.dtype == torch.bfloat16 and not float32:
        bfloat16 = _ml_bfloat16()
        if bfloat16 is not None:  # the same memory as ml_dtypes' bfloat16: the kernels widen it, no copy
            return t.view(torch.int16).numpy().view(bfloat16)
    if float32 or t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy()


def _ml_bfloat16() -> Optional[Any]:
    """ml_dtypes' bfloat16 (NumPy's bfloat16, which fastbce's kernels read), or None where it is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    return ml_dtypes.bfloat16


def _from_numpy(arr: Any) -> Any:
    """``torch.from_numpy`` of a fastbce result (shared memory; a read-only one is copied, which torch would
    otherwise warn about, as its tensors are writable)."""
    arr = np.asarray(arr)
    arr = arr if arr.flags.writeable else arr.copy()
    if arr.dtype.name == "bfloat16":  # ml_dtypes' bfloat16 has torch's bit layout, which from_numpy does not know
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(arr)


def _tensor(value: object, dtype: Optional[Any]) -> Any:
    """A fastbce result (NumPy scalar or array) as a CPU tensor, converted to ``dtype`` when given."""
    out = _from_numpy(value)
    return out if dtype is None or out.dtype == dtype else out.to(dtype)


def _half_result(y_pred: Any, spec: LossSpec) -> Optional[Any]:
    """float16 / bfloat16 when the result must be that and is computed in float32 here, else None."""
    return y_pred.dtype if y_pred.dtype in _HALF and spec.dtype is None else None


class FastbceBinaryCrossentropy(torch.autograd.Function):  # type: ignore[misc]  # torch is untyped here
    """fastbce's loss of ``y_pred`` (its ``grad_fn`` is ``FastbceBinaryCrossentropyBackward``); ``backward`` scales
    the gradient kept by ``forward``."""

    @staticmethod
    def forward(ctx: Any, y_pred: Any, y_true: object, sample_weight: object, spec: LossSpec) -> Any:
        half = _half_result(y_pred, spec)
        value, grad = value_and_grad(y_true, _host(y_pred, "y_pred", float32=y_pred.dtype in _HALF),
                                     sample_weight, spec)
        out = _tensor(value, half)
        ctx.save_for_backward(_from_numpy(grad))
        ctx.pred_dtype = y_pred.dtype
        ctx.cotangent_shape = None
        if spec.reduction_mode == ReductionMode.NONE and out.ndim:
            ctx.cotangent_shape = cotangent_shape(tuple(y_pred.shape), tuple(out.shape), spec.axis)
        return out

    @staticmethod
    def backward(ctx: Any, upstream: Any) -> Tuple[Any, None, None, None]:
        create_graph = torch.is_grad_enabled()  # backward(create_graph=True) runs in grad mode
        (grad,) = ctx.saved_tensors
        with torch.no_grad():
            # the gradient was computed for an upstream of 1 (the sum, for "none"); 1 needs no pass over it
            if not bool((upstream == 1).all()):
                up = upstream.to(grad.dtype)
                grad = grad * (up if ctx.cotangent_shape is None else up.reshape(ctx.cotangent_shape))
            grad = grad.to(ctx.pred_dtype)
        if create_graph:
            # the gradient depends on y_pred through the kept host result, which autograd cannot see: anything
            # differentiated through it (a Hessian product, a gradient penalty) raises instead of missing terms
            # (its input must require grad for the result to have a grad_fn, as once_differentiable does it)
            grad = _DelayedError(_NO_SECOND_ORDER, 1)(grad.detach().requires_grad_())
        return grad, None, None, None


def loss(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Any:
    """The loss ``spec`` describes as a CPU torch tensor, differentiable with respect to ``y_pred``."""
    y_true = _host(y_true, "y_true")
    sample_weight = _host(sample_weight, "sample_weight")
    if not isinstance(y_pred, torch.Tensor):  # labels or weights were the tensors: nothing to differentiate
        return _tensor(_inputs.compute(y_true, y_pred, sample_weight, spec), None)
    if y_pred.requires_grad and torch.is_grad_enabled():
        return FastbceBinaryCrossentropy.apply(y_pred, y_true, sample_weight, spec)
    return _tensor(_inputs.compute(y_true, _host(y_pred, "y_pred"), sample_weight, spec), _half_result(y_pred, spec))
