"""Registry of contenders: fastbce and every peer a user would otherwise pick.

Each contender is optional: ``load()`` raises when its package is missing and the bench goes on
without it. ``prepare(case, data)`` converts the NumPy inputs into the contender's own objects
(tensors, device arrays, compiled functions) *outside* the timing and returns a zero-argument
callable that computes the Keras result for the case (``mean``: the weighted
sum-over-batch-size scalar; ``none``: the per-sample vector), or None if unsupported.
``to_numpy`` turns what the callable returned into NumPy for the correctness check.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable

import numpy as np

from bench.cases import EPS, Case, Data

Fn = Callable[[], object]


class Contender:
    name = ""
    is_fastbce = False

    def load(self) -> None:
        """Import the package(s); raise ImportError (or anything) when unavailable."""

    def versions(self) -> dict[str, str]:
        return {}

    def prepare(self, case: Case, data: Data) -> Fn | None:
        raise NotImplementedError

    def to_numpy(self, out) -> np.ndarray:
        return np.asarray(out)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Silence what native libraries print on fd 2 while importing (TensorFlow's absl banner)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# --------------------------------------------------------------------------- fastbce
class FastBCE(Contender):
    name = "fastbce"
    is_fastbce = True

    def load(self) -> None:
        import fastbce

        self.mod = fastbce

    def versions(self) -> dict[str, str]:
        m = self.mod
        info = {"fastbce": getattr(m, "__version__", "?")}
        for attr in ("isa", "get_num_threads", "available_isas"):
            if hasattr(m, attr):
                info[f"fastbce.{attr}"] = str(getattr(m, attr)())
        return info

    def prepare(self, case: Case, data: Data) -> Fn:
        loss = self.mod.BinaryCrossentropy(
            from_logits=case.from_logits,
            reduction="none" if case.reduction == "none" else "sum_over_batch_size",
        )
        yt, yp, w = data.y_true, data.y_pred, data.weight
        if w is None:
            return lambda: loss(yt, yp)
        return lambda: loss(yt, yp, sample_weight=w)


# --------------------------------------------------------------------------- NumPy
def numpy_keras_bce(y_true, y_pred, weight, from_logits: bool, reduction: str):
    """The tf.keras formula written in NumPy, in the input's dtype."""
    dt = y_pred.dtype.type
    if from_logits:
        loss = np.maximum(y_pred, 0) - y_pred * y_true + np.log1p(np.exp(-np.abs(y_pred)))
    else:
        eps = dt(EPS)
        p = np.clip(y_pred, eps, dt(1) - eps)
        loss = -(y_true * np.log(p + eps) + (1 - y_true) * np.log(1 - p + eps))
    per_sample = loss.mean(axis=-1)
    if weight is not None:
        per_sample = per_sample * weight
    if reduction == "none":
        return per_sample
    return per_sample.sum() / dt(per_sample.size)


class NumPyPeer(Contender):
    name = "numpy"

    def versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def prepare(self, case: Case, data: Data) -> Fn:
        args = (data.y_true, data.y_pred, data.weight, case.from_logits, case.reduction)
        return lambda: numpy_keras_bce(*args)


# --------------------------------------------------------------------------- tf_keras
class _TFBase(Contender):
    def load(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _native_stderr_silenced():
            import tensorflow as tf
            import tf_keras

        tf.get_logger().setLevel("ERROR")  # retracing warnings: every (case, size) is a new function
        self.tf, self.keras = tf, tf_keras

    def versions(self) -> dict[str, str]:
        return {"tensorflow": self.tf.__version__, "tf_keras": self.keras.__version__}

    def _loss_fn(self, case: Case, data: Data):
        tf = self.tf
        loss = self.keras.losses.BinaryCrossentropy(
            from_logits=case.from_logits,
            reduction="none" if case.reduction == "none" else "sum_over_batch_size",
        )
        args = [tf.constant(data.y_true), tf.constant(data.y_pred)]
        if data.weight is not None:
            args.append(tf.constant(data.weight))
            return (lambda yt, yp, w: loss(yt, yp, sample_weight=w)), args
        return (lambda yt, yp: loss(yt, yp)), args

    def to_numpy(self, out) -> np.ndarray:
        return out.numpy()


class TFEager(_TFBase):
    name = "tf-eager"

    def prepare(self, case: Case, data: Data) -> Fn:
        fn, args = self._loss_fn(case, data)
        return lambda: fn(*args)


class TFFunction(_TFBase):
    name = "tf-function"

    def prepare(self, case: Case, data: Data) -> Fn:
        fn, args = self._loss_fn(case, data)
        compiled = self.tf.function(fn)
        return lambda: compiled(*args)


# --------------------------------------------------------------------------- torch
class TorchPeer(Contender):
    name = "torch"

    def load(self) -> None:
        import torch
        import torch.nn.functional as F

        self.torch, self.F = torch, F

    def versions(self) -> dict[str, str]:
        return {"torch": self.torch.__version__, "torch.num_threads": str(self.torch.get_num_threads())}

    def prepare(self, case: Case, data: Data) -> Fn:
        torch, F = self.torch, self.F
        yt = torch.from_numpy(data.y_true)
        yp = torch.from_numpy(data.y_pred)
        w = None if data.weight is None else torch.from_numpy(data.weight)
        bce = F.binary_cross_entropy_with_logits if case.from_logits else F.binary_cross_entropy
        if case.reduction == "mean":
            # mean over all elements of w[i] * l[i, j] == Keras' sum-over-batch-size of the
            # per-sample means for equal-width rows.
            w2 = None if w is None else w[:, None]
            if w2 is None:
                return lambda: bce(yp, yt)
            return lambda: bce(yp, yt, weight=w2)
        if w is None:
            return lambda: bce(yp, yt, reduction="none").mean(-1)
        return lambda: bce(yp, yt, reduction="none").mean(-1) * w

    def to_numpy(self, out) -> np.ndarray:
        return out.numpy()


# --------------------------------------------------------------------------- jax / optax
class JaxPeer(Contender):
    name = "jax"

    def load(self) -> None:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp
        import optax

        jax.config.update("jax_enable_x64", True)  # for the float64 cases; float32 stays float32
        self.jax, self.jnp, self.optax = jax, jnp, optax

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {"jax": self.jax.__version__, "jaxlib": jaxlib.__version__, "optax": self.optax.__version__}

    def prepare(self, case: Case, data: Data) -> Fn:
        jax, jnp, optax = self.jax, self.jnp, self.optax
        from_logits, reduction = case.from_logits, case.reduction

        def loss(yt, yp, w):
            if from_logits:
                elem = optax.sigmoid_binary_cross_entropy(yp, yt)
            else:
                p = jnp.clip(yp, EPS, 1 - EPS)  # weakly typed constants: stay in the input dtype
                elem = -(yt * jnp.log(p + EPS) + (1 - yt) * jnp.log(1 - p + EPS))
            per_sample = elem.mean(axis=-1)
            if w is not None:
                per_sample = per_sample * w
            return per_sample if reduction == "none" else per_sample.sum() / per_sample.size

        compiled = jax.jit(loss)
        yt, yp = jax.device_put(data.y_true), jax.device_put(data.y_pred)
        w = None if data.weight is None else jax.device_put(data.weight)
        return lambda: compiled(yt, yp, w).block_until_ready()


# --------------------------------------------------------------------------- numba
class NumbaPeer(Contender):
    name = "numba"

    def load(self) -> None:
        import numba

        self.numba = numba
        self._kernels: dict[bool, tuple] = {}

    def versions(self) -> dict[str, str]:
        return {"numba": self.numba.__version__, "numba.threads": str(self.numba.get_num_threads())}

    def _build(self, from_logits: bool):
        if from_logits in self._kernels:
            return self._kernels[from_logits]
        nb = self.numba

        if from_logits:
            @nb.njit(inline="always")
            def elem(y, x, eps, one):
                return max(x, 0) - x * y + np.log1p(np.exp(-abs(x)))
        else:
            @nb.njit(inline="always")
            def elem(y, p, eps, one):
                q = min(max(p, eps), one - eps)
                return -(y * np.log(q + eps) + (one - y) * np.log(one - q + eps))

        @nb.njit(parallel=True)
        def per_sample(yt, yp, w, has_w, eps, one, out):
            rows, width = yp.shape
            for i in nb.prange(rows):
                s = 0.0
                for j in range(width):
                    s += elem(yt[i, j], yp[i, j], eps, one)
                v = s / width
                out[i] = v * w[i] if has_w else v
            return out

        @nb.njit(parallel=True)
        def mean(yt, yp, w, has_w, eps, one):
            rows, width = yp.shape
            total = 0.0
            for i in nb.prange(rows):
                s = 0.0
                for j in range(width):
                    s += elem(yt[i, j], yp[i, j], eps, one)
                v = s / width
                total += v * w[i] if has_w else v
            return total / rows

        self._kernels[from_logits] = (per_sample, mean)
        return self._kernels[from_logits]

    def prepare(self, case: Case, data: Data) -> Fn:
        per_sample, mean = self._build(case.from_logits)
        dt = case.np_dtype.type
        eps, one = dt(EPS), dt(1)
        yt, yp = data.y_true, data.y_pred
        has_w = data.weight is not None
        w = data.weight if has_w else np.ones(1, dtype=case.dtype)
        if case.reduction == "mean":
            return lambda: mean(yt, yp, w, has_w, eps, one)
        out = np.empty(yp.shape[0], dtype=case.dtype)  # preallocated, like a careful numba user
        return lambda: per_sample(yt, yp, w, has_w, eps, one, out)


# --------------------------------------------------------------------------- registry
REGISTRY: dict[str, type[Contender]] = {
    c.name: c for c in (FastBCE, NumPyPeer, TFEager, TFFunction, TorchPeer, JaxPeer, NumbaPeer)
}


def select(spec: str, extra: dict | None = None) -> list[str]:
    """'all' or a comma list of names of REGISTRY or of ``extra`` (another registry, e.g. the gradient
    contenders); unknown names are an error."""
    known = list(dict.fromkeys([*REGISTRY, *(extra or {})]))
    names = known if spec.strip() in ("", "all") else [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown contender(s) {unknown}; known: {', '.join(known)}")
    return names


def load(names: list[str]) -> tuple[list[Contender], dict[str, str]]:
    """Instantiate and import the named contenders; return (loaded, {name: why skipped})."""
    loaded, skipped = [], {}
    for name in names:
        c = REGISTRY[name]()
        try:
            c.load()
        except Exception as e:  # noqa: BLE001 - any import failure means "not installed here"
            skipped[name] = f"{type(e).__name__}: {e}".splitlines()[0][:160]
            continue
        loaded.append(c)
    return loaded, skipped
