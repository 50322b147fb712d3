"""TensorFlow tensors: fastbce's loss as a differentiable ``tf.Tensor``.

``loss(y_true, y_pred, sample_weight, spec)`` returns a tensor whose value is fastbce's loss and whose
gradient with respect to ``y_pred`` is fastbce's fused gradient (``fastbce._grad.value_and_grad``), eagerly,
inside ``tf.function`` and under ``tf.GradientTape`` (first order). The loss and the gradient come from ONE
host call in the forward pass; the backward pass only multiplies the kept gradient by the cotangent (a
scalar for the reducing modes, one value per sample for ``none``), which is linear, so nothing is computed
twice (a per-sample cotangent on inputs of unknown rank is broadcast by a second host call). ``y_true`` and
``sample_weight`` get no gradient; eagerly, a ``y_pred`` no tape watches gets the loss alone.

dtypes follow fastbce: float64 -> float64, float16 -> float16, bfloat16 -> bfloat16, anything else -> float32;
float16 and bfloat16 are computed from a float32 copy and their gradient is kept in float32, so that scaling
it by a large cotangent (loss scaling) rounds once.

Eagerly the host call is a plain NumPy call (errors are fastbce's own ``ValueError`` / ``TypeError``);
in a graph it is a ``tf.numpy_function`` with static output shapes, and the shapes known at trace time are
checked by fastbce's rules when the graph is built. A ``numpy_function`` cannot be compiled by XLA, so
``tf.function(jit_compile=True)`` (and Keras 3's ``jit_compile=True``) cannot contain this loss.

Like tf_keras's ``backend.binary_crossentropy`` (and Keras 3's TensorFlow backend), a ``y_pred`` that is
the output of a sigmoid -- it carries ``_keras_logits`` (set by Keras's sigmoid activation), or, in a graph,
it is produced by a ``Sigmoid`` op -- is replaced by the sigmoid's input and computed as logits, so that
training a model with a sigmoid output follows the same numbers as Keras's own loss.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .. import _grad, _inputs
from .._spec import LossSpec, ReductionMode

tf: Any = importlib.import_module("tensorflow")

__all__ = ["loss"]

_NONE = ReductionMode.NONE


def loss(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Any:
    """The loss ``spec`` describes as a ``tf.Tensor`` differentiable with respect to ``y_pred``."""
    yp = _as_tensor(y_pred, "y_pred")
    yt = _as_tensor(y_true, "y_true")
    sw = None if sample_weight is None else _as_tensor(sample_weight, "sample_weight")
    yp, spec = _keras_logits(yp, spec)
    loss_shape = _static_loss_shape(yt.shape, yp.shape, sw, spec)  # checks the static shapes
    if spec.reduction_mode != _NONE:
        loss_shape = tf.TensorShape([])
    if spec.dtype is None and yp.dtype in (tf.float16, tf.bfloat16):
        # computed from a float32 copy: the kept gradient is float32, so scaling it by a large cotangent (loss
        # scaling) does not meet float16's underflow first; the loss has y_pred's dtype, as fastbce gives it
        op = _Op(yt, yp, sw, spec, loss_shape, yp.dtype, tf.float32)
    else:
        out_dtype = _inputs._compute_dtype(np.dtype(yp.dtype.as_numpy_dtype), spec.dtype)[1]
        op = _Op(yt, yp, sw, spec, loss_shape, tf.as_dtype(out_dtype), yp.dtype)
    if not yp.dtype.is_floating or tf.executing_eagerly() and not _recorded(yp):
        return op.loss_only()
    return op.differentiable()


# --------------------------------------------------------------------------- inputs
def _as_tensor(x: object, name: str) -> Any:
    if x is None:
        raise TypeError(f"{name} is None: expected a tensor or an array of real numbers")
    if isinstance(x, (tf.RaggedTensor, tf.SparseTensor)):
        raise TypeError(f"{name} is a {type(x).__name__}: fastbce takes dense tensors (use .to_tensor())")
    t: Any = x if tf.is_tensor(x) and not isinstance(x, tf.Variable) else tf.convert_to_tensor(x)
    dt = t.dtype
    if not (dt.is_floating or dt.is_integer or dt.is_bool):
        raise TypeError(f"{name} has unsupported dtype {dt.name}: expected real floating point, integer or "
                        "boolean values")
    return t


def _keras_logits(y_pred: Any, spec: LossSpec) -> Tuple[Any, LossSpec]:
    """tf_keras's (and Keras 3's) ``_get_logits`` for ``binary_crossentropy``: a sigmoid's output is computed
    from the sigmoid's input, as logits."""
    has_keras_logits = hasattr(y_pred, "_keras_logits")
    if has_keras_logits:
        logits = y_pred._keras_logits
    elif tf.is_symbolic_tensor(y_pred) and getattr(y_pred, "op", None) is not None and y_pred.op.type == "Sigmoid":
        logits = y_pred.op.inputs[0]
    else:
        return y_pred, spec
    if spec.from_logits:  # the same warning as tf_keras and Keras 3
        warnings.warn('"`binary_crossentropy` received `from_logits=True`, but the `output` argument was produced '
                      "by a Sigmoid activation and thus does not represent logits. Was this intended?",
                      stacklevel=4)
    return tf.convert_to_tensor(logits), spec.replace(from_logits=True)


def _static_loss_shape(t_shape: Any, p_shape: Any, sample_weight: Any, spec: LossSpec) -> Any:
    """The per-sample loss's static shape by fastbce's rules (``fastbce._inputs``); a ``ValueError`` naming the
    shapes when the static shapes already break them. Unknown where the rules depend on a dimension only
    known at run time (then the host call checks)."""
    if t_shape.rank is None or p_shape.rank is None:
        return tf.TensorShape(None)
    t, p = t_shape.as_list(), p_shape.as_list()
    if spec.pos_weight is not None and p and p[-1] is not None:
        spec.check_classes(p[-1], tuple(p_shape))
    if len(p) == len(t) + 1 and p[-1] is None or len(t) == len(p) + 1 and t[-1] is None:
        return tf.TensorShape(None)  # squeezed or not is decided by the run-time length of that axis
    if len(p) == len(t) + 1 and p[-1] == 1:
        p = p[:-1]
    elif len(t) == len(p) + 1 and t[-1] == 1:
        t = t[:-1]
    if len(t) != len(p) or any(a is not None and b is not None and a != b for a, b in zip(t, p)):
        raise ValueError(f"y_true and y_pred have incompatible shapes: y_true {_shape_str(t_shape)} vs y_pred "
                         f"{_shape_str(p_shape)} (shapes must be equal, or differ only by a trailing axis of size 1)")
    a = _inputs.normalize_axis(spec.axis, len(p), tuple(p_shape))
    loss_shape = p[:a] + p[a + 1:]
    if sample_weight is not None and None not in loss_shape and sample_weight.shape.is_fully_defined():
        # the weight rules on zero-stride stand-ins: nothing of the size of the inputs is made
        proxy = np.broadcast_to(np.float32(0), tuple(sample_weight.shape.as_list()))
        _inputs._prepare_weight(proxy, tuple(loss_shape), np.dtype(np.float32))
    return tf.TensorShape(loss_shape)


def _shape_str(shape: Any) -> str:
    return "<unknown>" if shape.rank is None else str(tuple(shape.as_list()))


# --------------------------------------------------------------------------- the op
class _Op:
    """One loss of ``y_pred`` (eagerly: NumPy calls; in a graph: ``tf.numpy_function``). ``host_dtype`` is the
    dtype fastbce reads ``y_pred`` in and the kept gradient's."""

    def __init__(self, yt: Any, yp: Any, sw: Any, spec: LossSpec, loss_shape: Any, out_dtype: Any,
                 host_dtype: Any) -> None:
        self.yt, self.yp, self.sw, self.spec, self.loss_shape = yt, yp, sw, spec, loss_shape
        self.out_dtype, self.host_dtype = out_dtype, host_dtype

    def _call_host(self, fn: Callable[..., Any], y_pred: Any, extra: List[Any], out: List[Any], name: str) -> Any:
        """``fn(y_true, y_pred, *extra, sample_weight)`` on host arrays, as tensors of the dtypes ``out``."""
        inputs = [self.yt, y_pred] + extra + ([] if self.sw is None else [self.sw])
        if tf.executing_eagerly():
            results = fn(*(t.numpy() for t in inputs))
            return [tf.constant(r) for r in results]
        return tf.numpy_function(fn, inputs, out, stateful=False, name=name)

    def _host_args(self, args: Tuple[Any, ...], extra: int) -> Tuple[Any, Any, Tuple[Any, ...], Any]:
        """The host function's arguments as ``(y_true, y_pred, extra, sample_weight or None)``."""
        return args[0], args[1], args[2:2 + extra], args[2 + extra] if self.sw is not None else None

    def loss_only(self) -> Any:
        spec, out_np = self.spec, self.out_dtype.as_numpy_dtype

        def host(*args: Any) -> List[Any]:
            y_true, y_pred, _, w = self._host_args(args, 0)
            return [np.asarray(_inputs.compute(y_true, y_pred, w, spec), dtype=out_np)]

        y_pred = self.yp if not self.yp.dtype.is_floating else tf.cast(self.yp, self.host_dtype)
        (value,) = self._call_host(host, y_pred, [], [self.out_dtype], "fastbce_loss")
        value.set_shape(self.loss_shape)
        return value

    def differentiable(self) -> Any:
        spec, out_np, grad_np = self.spec, self.out_dtype.as_numpy_dtype, self.host_dtype.as_numpy_dtype

        def host(*args: Any) -> List[Any]:
            y_true, y_pred, _, w = self._host_args(args, 0)
            value, grad = _grad.value_and_grad(y_true, y_pred, w, spec)
            return [np.asarray(value, dtype=out_np), np.asarray(grad, dtype=grad_np)]

        @tf.custom_gradient  # type: ignore[untyped-decorator]
        def op(x: Any) -> Tuple[Any, Callable[[Any], Any]]:
            value, grad = self._call_host(host, tf.cast(x, self.host_dtype), [], [self.out_dtype, self.host_dtype],
                                          "fastbce_loss_and_grad")
            value.set_shape(self.loss_shape)
            grad.set_shape(x.shape)
            return value, lambda upstream: tf.cast(self._scaled(grad, tf.cast(upstream, grad.dtype)), x.dtype)

        return op(self.yp)

    def _scaled(self, grad: Any, upstream: Any) -> Any:
        """The kept gradient (of the loss; for ``none``, of the sum of the per-sample losses) times the
        cotangent: linear, so no second host call, except for a per-sample cotangent whose broadcast the
        static shapes cannot tell (then the host broadcasts it)."""
        if self.spec.reduction_mode != _NONE:
            return grad * upstream
        cotangent = _per_sample_cotangent(upstream, self.yt.shape, self.yp.shape, self.spec.axis)
        if cotangent is not None:
            return grad * cotangent
        spec, grad_np = self.spec, self.host_dtype.as_numpy_dtype

        def host(*args: Any) -> List[Any]:
            y_true, y_pred, (g,), w = self._host_args(args, 1)
            return [np.asarray(_grad.value_and_grad(y_true, y_pred, w, spec, grad_out=g)[1], dtype=grad_np)]

        (grad,) = self._call_host(host, tf.cast(self.yp, self.host_dtype), [upstream], [self.host_dtype],
                                  "fastbce_grad")
        grad.set_shape(self.yp.shape)
        return grad


def _per_sample_cotangent(upstream: Any, t_shape: Any, p_shape: Any, axis: int) -> Optional[Any]:
    """The per-sample cotangent (shaped as the per-sample loss) reshaped to broadcast against ``y_pred``:
    a 1 inserted at ``axis`` and, when ``y_pred`` was squeezed, at its last axis. None when the static
    shapes cannot tell."""
    if t_shape.rank is None or p_shape.rank is None:
        return None
    rt, rp = t_shape.rank, p_shape.rank
    squeezed = rp == rt + 1
    if squeezed and p_shape[-1] != 1 or rt == rp + 1 and t_shape[-1] is None:
        return None
    rank = rp - 1 if squeezed else rp
    a = axis + rank if axis < 0 else axis
    c = tf.expand_dims(upstream, a)
    return tf.expand_dims(c, -1) if squeezed else c


def _recorded(t: Any) -> bool:
    """Whether a ``GradientTape`` watches ``t`` (no gradient is computed for a value nobody differentiates)."""
    try:
        record = importlib.import_module("tensorflow.python.eager.record")
        return bool(record.should_record_backprop([t]))
    except (ImportError, AttributeError):  # a TensorFlow without this internal: keep the gradient
        return True

