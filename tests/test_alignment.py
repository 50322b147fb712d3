"""Where an array lies in memory never changes a result bit.

The per-element (``reduction="none"``) path peels a head so its main loop reads aligned vectors; the summed
paths do not peel. Either way the same values at any offset give the same bits, on every ISA level.
"""
import numpy as np
import pytest

import fastbce

N = 5003


def _at(values, offset):
    """A copy of ``values`` starting ``offset`` elements past a 64-byte boundary."""
    values = np.ascontiguousarray(values)
    step = values.itemsize
    buf = np.empty(values.size + 64 // step + offset, values.dtype)
    start = (-buf.ctypes.data) % 64 // step + offset
    out = buf[start:start + values.size].reshape(values.shape)
    out[...] = values
    assert (out.ctypes.data - offset * step) % 64 == 0
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum_over_batch_size"])
def test_results_do_not_depend_on_addresses(each_isa, rng, dtype, from_logits, weighted, reduction):
    y = (rng.random((N, 1)) < 0.5).astype(dtype)
    y[::7] = rng.random(y[::7].shape)  # some soft labels
    x = (rng.standard_normal((N, 1)) * 4 if from_logits else rng.random((N, 1))).astype(dtype)
    w = rng.random(N).astype(dtype) if weighted else None
    loss = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction=reduction)
    want = np.asarray(loss(y, x, sample_weight=w))
    for y_off, x_off in [(1, 1), (3, 3), (2, 5), (0, 7), (15, 15)]:
        got = np.asarray(loss(_at(y, y_off), _at(x, x_off), sample_weight=None if w is None else _at(w, y_off)))
        assert got.tobytes() == want.tobytes(), (y_off, x_off)
