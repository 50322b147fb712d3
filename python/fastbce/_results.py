"""Result types: plain NumPy values that also answer ``.numpy()``.

tf.keras losses return tensors, and user code written against them calls
``loss.numpy()``. fastbce returns NumPy values instead, so that a result *is* what
a NumPy user expects (``isinstance(loss, np.float32)``, arithmetic, ``float()``,
``print`` and ``repr`` all behave exactly like NumPy), plus a ``numpy()`` method
returning the exact NumPy object, so the seed's snippet runs unchanged:

>>> import fastbce
>>> loss = fastbce.BinaryCrossentropy()([0., 0., 1., 1.], [1., 1., 1., 0.])
>>> print('Loss: ', loss.numpy())
Loss:  11.522857

* reducing modes return an instance of :class:`LossFloat32` (or ``LossFloat16`` /
  ``LossFloat64``), a subclass of ``np.float32`` (``np.float16`` / ``np.float64``);
  arithmetic on it gives plain NumPy scalars;
* ``reduction="none"`` returns a :class:`LossArray`, an ``np.ndarray`` subclass whose
  ``repr`` is NumPy's; ufuncs and reductions on it give plain ndarrays / scalars.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Type, Union

import numpy as np
import numpy.typing as npt

__all__ = ["LossArray", "LossFloat16", "LossFloat32", "LossFloat64", "LossResult", "SCALAR_TYPES"]

if TYPE_CHECKING:
    # what type checkers see LossArray derive from: an ndarray of floats, of any shape
    _FloatArray = np.ndarray[Any, np.dtype[np.floating[Any]]]
else:
    _FloatArray = np.ndarray


class LossFloat16(np.float16):
    """A ``np.float16`` loss value that also answers ``.numpy()`` like a tf tensor."""

    __slots__ = ()

    def numpy(self) -> np.float16:
        """The value as a plain ``np.float16``."""
        return np.float16(self)

    def __repr__(self) -> str:
        return repr(np.float16(self))


class LossFloat32(np.float32):
    """A ``np.float32`` loss value that also answers ``.numpy()`` like a tf tensor."""

    __slots__ = ()

    def numpy(self) -> np.float32:
        """The value as a plain ``np.float32``."""
        return np.float32(self)

    def __repr__(self) -> str:
        return repr(np.float32(self))


class LossFloat64(np.float64):
    """A ``np.float64`` loss value that also answers ``.numpy()`` like a tf tensor."""

    __slots__ = ()

    def numpy(self) -> np.float64:
        """The value as a plain ``np.float64``."""
        return np.float64(self)

    def __repr__(self) -> str:
        return repr(np.float64(self))


class LossArray(_FloatArray):
    """An ``np.ndarray`` of per-sample losses that also answers ``.numpy()``.

    Its ``repr`` is NumPy's (``array([...], dtype=float32)``), and arithmetic,
    ufuncs and reductions on it return plain ``np.ndarray`` objects / NumPy scalars,
    so the subclass never spreads into user code.
    """

    def numpy(self) -> npt.NDArray[np.floating[Any]]:
        """The values as a plain ``np.ndarray`` (a view, no copy)."""
        return self.view(np.ndarray)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __array_wrap__(  # a scalar for return_scalar, as NumPy's own
        self, arr: npt.NDArray[Any], context: Optional[Tuple[Any, ...]] = None, return_scalar: bool = False
    ) -> Any:
        arr = arr.view(np.ndarray)
        return arr[()] if return_scalar else arr


#: What a loss returns: a scalar for the reducing modes (float16 inputs give ``LossFloat16``), per-sample
#: losses (``LossArray``) for ``reduction="none"`` -- a scalar too when they are one value (1-D inputs).
#: Every member answers ``.numpy()`` and ``float()``.
LossResult = Union[LossFloat32, LossFloat64, LossFloat16, LossArray]


#: dtype of a result -> scalar type for it
SCALAR_TYPES: Dict[np.dtype[Any], Type[Union[LossFloat16, LossFloat32, LossFloat64]]] = {
    np.dtype(np.float16): LossFloat16,
    np.dtype(np.float32): LossFloat32,
    np.dtype(np.float64): LossFloat64,
}
