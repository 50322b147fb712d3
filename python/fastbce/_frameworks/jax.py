"""JAX arrays: fastbce's loss as a JAX value, differentiable by ``jax.grad`` and usable inside ``jax.jit``.

A ``jax.custom_vjp`` function around ``jax.pure_callback``: fastbce computes on the host, so the call works on
concrete arrays and on tracers (``jit``, ``grad``, ``vmap``) alike. Without differentiation one callback
computes the loss. Under ``jax.grad`` / ``jax.value_and_grad`` / ``jax.vjp`` the forward pass is one callback
computing the loss and the gradient together (``fastbce._grad.value_and_grad``); the VJP multiplies that kept
gradient by the cotangent (a number, or one per sample for ``reduction="none"``), which is what ``grad_out``
would do, without a second host call.

dtypes follow fastbce: float64 -> float64 (with ``jax_enable_x64``), float16 -> float16, bfloat16 -> bfloat16
computed in float32 (the loss widened in the kernels; the gradient from a float32 copy on the host), anything else
-> float32; a forced ``dtype="float64"`` gives float32 when JAX's float64 is disabled. The gradient of a float16 or
bfloat16 ``y_pred`` is computed and kept in float32 and rounded to the input's dtype after the cotangent is
applied.

``y_true`` and ``sample_weight`` (JAX arrays, NumPy arrays or numbers) are constants of the loss: their
cotangents are zero (``jax.grad`` with respect to them gives zeros, not their derivatives). Under
``jax.vmap`` the callback receives the whole batch and evaluates each member with its own fastbce call.
Shape, dtype and option errors are raised while tracing, as fastbce raises them.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import _inputs
from .._grad import value_and_grad
from .._spec import _OPTIONS, LossSpec
from ._shapes import cotangent_shape, result_shape_dtype

jax: Any = importlib.import_module("jax")
jnp: Any = importlib.import_module("jax.numpy")

_F32 = np.dtype(np.float32)
_HALF = (np.dtype(np.float16), np.dtype(jnp.bfloat16))
#: the custom_vjp functions built so far, per (spec options, y_pred dtype); bounded, as specs are user-made
_FUNCTIONS: Dict[Tuple[Any, ...], Any] = {}
_MAX_FUNCTIONS = 256


def _as_jax(value: object, name: str) -> Any:
    """A JAX array (or tracer) as it is; anything else by fastbce's rules (lists of floats are float32)."""
    if isinstance(value, jax.Array):
        return value
    arr = _inputs._to_array(value, name)
    _inputs._check_real(arr, name)
    return jnp.asarray(arr)


def _per_member(fn: Callable[..., Tuple[np.ndarray[Any, Any], ...]], ndims: Sequence[int],
                outs: Sequence[Any]) -> Callable[..., Tuple[np.ndarray[Any, Any], ...]]:
    """``fn`` for ``pure_callback(vmap_method="expand_dims")``: arrays with more dimensions than ``ndims`` carry
    vmap's batch dimensions in front (1 where an argument is not batched); each member of the batch is
    evaluated on its own, as the loss has no batch dimension of its own to spare."""
    def host(*arrays: np.ndarray[Any, Any]) -> Tuple[np.ndarray[Any, Any], ...]:
        lead = np.broadcast_shapes(*(a.shape[:a.ndim - n] for a, n in zip(arrays, ndims)))
        if not lead:
            return fn(*arrays)
        full = [np.broadcast_to(a, lead + a.shape[a.ndim - n:]) for a, n in zip(arrays, ndims)]
        results = tuple(np.empty(lead + o.shape, o.dtype) for o in outs)
        for idx in np.ndindex(*lead):
            for out, value in zip(results, fn(*(a[idx] for a in full))):
                out[idx] = value
        return results
    return host


def _build(spec: LossSpec, p_dtype: np.dtype[Any]) -> Any:
    """The custom_vjp function ``(y_pred, y_true, weight) -> loss`` for ``spec`` and a ``y_pred`` of ``p_dtype``."""
    half = p_dtype in _HALF
    floating = bool(jnp.issubdtype(p_dtype, jnp.floating))  # integer y_pred has no cotangent (float0)
    grad_dtype = jax.dtypes.canonicalize_dtype(p_dtype if floating and not half else _F32)

    def shapes(y_pred: Any, y_true: Any, weight: Optional[Any]) -> Tuple[Any, Any, Any, Sequence[int]]:
        """(arrays for the callback, loss's ShapeDtypeStruct, its NumPy dtype, their ranks), checked."""
        shape, rdt = result_shape_dtype(
            tuple(y_true.shape), np.dtype(y_true.dtype), tuple(y_pred.shape), p_dtype,
            None if weight is None else tuple(weight.shape), None if weight is None else np.dtype(weight.dtype),
            spec)
        if half and spec.dtype is None:
            rdt = p_dtype  # float16 as fastbce gives it; bfloat16 kept too (fastbce's NumPy result is float32)
        rdt = jax.dtypes.canonicalize_dtype(rdt)
        args = (y_pred, y_true) if weight is None else (y_pred, y_true, weight)
        return args, jax.ShapeDtypeStruct(shape, rdt), rdt, [a.ndim for a in args]

    def host_loss(rdt: Any) -> Callable[..., Tuple[np.ndarray[Any, Any], ...]]:
        def run(yp: Any, yt: Any, w: Any = None) -> Tuple[np.ndarray[Any, Any], ...]:
            return (np.asarray(_inputs.compute(yt, yp, w, spec), rdt),)
        return run

    def host_value_and_grad(rdt: Any) -> Callable[..., Tuple[np.ndarray[Any, Any], ...]]:
        def run(yp: Any, yt: Any, w: Any = None) -> Tuple[np.ndarray[Any, Any], ...]:
            value, grad = value_and_grad(yt, yp.astype(_F32) if half else yp, w, spec)
            return np.asarray(value, rdt), np.asarray(grad, grad_dtype)
        return run

    @jax.custom_vjp  # type: ignore[untyped-decorator]
    def fn(y_pred: Any, y_true: Any, weight: Optional[Any]) -> Any:
        args, out, rdt, ndims = shapes(y_pred, y_true, weight)
        (value,) = jax.pure_callback(_per_member(host_loss(rdt), ndims, [out]), (out,), *args,
                                     vmap_method="expand_dims")
        return value

    def fwd(y_pred: Any, y_true: Any, weight: Optional[Any]) -> Tuple[Any, Tuple[Any]]:
        args, out, rdt, ndims = shapes(y_pred, y_true, weight)
        grad_out = jax.ShapeDtypeStruct(y_pred.shape, grad_dtype)
        value, grad = jax.pure_callback(_per_member(host_value_and_grad(rdt), ndims, [out, grad_out]),
                                        (out, grad_out), *args, vmap_method="expand_dims")
        return value, (grad,)

    def bwd(res: Tuple[Any], cotangent: Any) -> Tuple[Any, None, None]:
        (grad,) = res
        if not floating:
            return None, None, None
        ct = cotangent.astype(grad.dtype)
        if ct.ndim:  # reduction "none": one cotangent per sample
            ct = ct.reshape(cotangent_shape(tuple(grad.shape), tuple(ct.shape), spec.axis))
        return (grad * ct).astype(p_dtype), None, None

    fn.defvjp(fwd, bwd)
    return fn


def loss(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Any:
    """The loss ``spec`` describes as a JAX array (a tracer inside transformations), differentiable with
    respect to ``y_pred``."""
    yp = _as_jax(y_pred, "y_pred")
    yt = _as_jax(y_true, "y_true")
    weight = None if sample_weight is None else _as_jax(sample_weight, "sample_weight")
    p_dtype = np.dtype(yp.dtype)
    key = (tuple(getattr(spec, k) for k in _OPTIONS), p_dtype)
    fn = _FUNCTIONS.get(key)
    if fn is None:
        if len(_FUNCTIONS) >= _MAX_FUNCTIONS:
            _FUNCTIONS.clear()
        fn = _FUNCTIONS[key] = _build(spec, p_dtype)
    return fn(yp, yt, weight)
