"""fastbce: a fast, Keras-exact ``BinaryCrossentropy`` for NumPy arrays.

>>> import fastbce
>>> bce = fastbce.BinaryCrossentropy()
>>> loss = bce([0., 0., 1., 1.], [1., 1., 1., 0.])
>>> print('Loss: ', loss.numpy())
Loss:  11.522857

The loss kernels are C++ with SIMD (scalar, AVX2+FMA, AVX-512, NEON), picked at
first use from the CPU; ``FASTBCE_ISA=scalar|avx2|avx512|neon`` (set before import)
forces a level. ``isa()`` reports the active level, ``available_isas()`` those this
CPU runs; ``set_num_threads`` / ``get_num_threads`` control the thread pool.

TensorFlow, torch and JAX tensors give tensors of their framework, differentiable with respect to
``y_pred``. For Keras's ``compile``: ``fastbce.tf_keras.BinaryCrossentropy`` (tf_keras 2.x) and
``fastbce.keras.BinaryCrossentropy`` (Keras 3), imported with their Keras on first use.

For annotations: a loss returns a ``LossResult`` (``LossFloat32 | LossFloat64 |
LossFloat16 | LossArray``); ``reduction`` takes a ``ReductionName`` (or ``None``).

``grad_hess`` gives per-element derivatives of the logits loss; ``fastbce.gbdt`` turns them into
XGBoost and LightGBM objectives.
"""
import importlib
from typing import Any

from . import gbdt, metrics
from ._core import available_isas, get_num_threads, isa, set_num_threads
from ._grad import grad_hess
from ._results import LossArray, LossFloat16, LossFloat32, LossFloat64, LossResult
from ._spec import ReductionName
from .losses import BinaryCrossentropy, Reduction, binary_crossentropy


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "0+unknown"
    try:
        return version("fastbce")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


__version__ = _version()
del _version


def __getattr__(name: str) -> Any:
    # fastbce.keras / fastbce.tf_keras (the Keras Loss classes) import their Keras: only on first use
    if name in ("keras", "tf_keras"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "BinaryCrossentropy",
    "LossArray",
    "LossFloat16",
    "LossFloat32",
    "LossFloat64",
    "LossResult",
    "Reduction",
    "ReductionName",
    "__version__",
    "available_isas",
    "binary_crossentropy",
    "gbdt",
    "get_num_threads",
    "metrics",
    "grad_hess",
    "isa",
    "set_num_threads",
]
