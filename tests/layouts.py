"""Hostile array layouts for the tests: the same (or, for zero-stride kinds, broadcast) values as a
given C-contiguous array, in every memory layout a caller can hand fastbce.

``make(values, kind, tmp_path)`` returns ``(view, owner)``: ``view`` is the array to pass, ``owner`` an
object whose ``snapshot()`` gives every byte the view can reach (the whole underlying allocation, or
the file of a memory map), so tests can check byte for byte that fastbce never wrote to it.
"""
import numpy as np

KINDS = ["c", "fortran", "strided", "negative", "readonly", "memmap", "memmap_misaligned", "bcast_lead",
         "bcast_last", "bcast_scalar", "misaligned"]


class Owner:
    def __init__(self, base=None, path=None):
        self.base, self.path = base, path

    def snapshot(self) -> bytes:
        if self.path is not None:
            with open(self.path, "rb") as f:
                return f.read()
        return self.base.tobytes()


def _fill_gaps(big, view):
    # make the bytes a wrong read would see distinctive (NaN for floats, max for ints, True for bool)
    if big.dtype.kind == "f":
        big[...] = np.nan
    elif big.dtype.kind in "iu":
        big[...] = np.iinfo(big.dtype).max
    else:
        big[...] = True


def make(values: np.ndarray, kind: str, tmp_path=None, name="a"):
    """``values`` (C-contiguous, rank >= 1) laid out as ``kind``."""
    v = np.ascontiguousarray(values)
    dt = v.dtype
    if kind == "c":
        out = v.copy()
        return out, Owner(out)
    if kind == "fortran":
        out = np.asfortranarray(v)
        return out, Owner(out)
    if kind == "strided":  # every axis strided: every other element of every axis, plus an offset
        big = np.empty(tuple(2 * d + 1 for d in v.shape), dt)
        _fill_gaps(big, None)
        sl = tuple(slice(1, None, 2) for _ in v.shape)
        big[sl] = v
        out = big[sl]
        assert out.size <= 1 or not out.flags.c_contiguous
        return out, Owner(big)
    if kind == "negative":  # negative strides on every axis
        base = np.ascontiguousarray(np.flip(v))
        out = np.flip(base)
        return out, Owner(base)
    if kind == "readonly":
        out = v.copy()
        out.flags.writeable = False
        return out, Owner(out)
    if kind in ("memmap", "memmap_misaligned"):
        offset = 0 if kind == "memmap" else 3
        path = tmp_path / f"{name}.{kind}.bin"
        with open(path, "wb") as f:
            f.write(b"\x7f" * offset)
            f.write(v.tobytes())
        out = np.memmap(path, dtype=dt, mode="r", offset=offset, shape=v.shape)
        if offset and dt.itemsize > 1:
            assert not out.flags.aligned
        return out, Owner(path=path)
    if kind == "bcast_lead":  # zero stride along the first axis (values of the first index everywhere)
        base = v[:1].copy()
        return np.broadcast_to(base, v.shape), Owner(base)
    if kind == "bcast_last":  # zero stride along the last axis
        base = v[..., :1].copy()
        return np.broadcast_to(base, v.shape), Owner(base)
    if kind == "bcast_scalar":  # zero stride along every axis
        base = v.reshape(-1)[:1].copy()
        return np.broadcast_to(base.reshape(()), v.shape), Owner(base)
    if kind == "misaligned":
        buf = np.zeros(v.nbytes + 1, np.uint8)
        buf[1:] = v.reshape(-1).view(np.uint8)
        out = np.frombuffer(buf.data, dtype=dt, count=v.size, offset=1).reshape(v.shape)
        return out, Owner(buf)
    raise ValueError(kind)
