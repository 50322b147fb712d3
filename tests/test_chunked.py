"""The chunked path (strided inputs, mixed dtypes, broadcast weights) gives the same
values as the single-call path, in every branch, with O(chunk) extra memory."""
import tracemalloc

import numpy as np
import pytest

import fastbce
from fastbce import _inputs

import reference

pytestmark = pytest.mark.usefixtures("each_isa")

B = fastbce.BinaryCrossentropy

# (shape, axis): with CHUNK in {1, 7, 64} these reach every branch of _inputs._chunked:
# whole-row blocks, inner splits (row > CHUNK >= reduced) and partial means (reduced > CHUNK)
CASES = [((6, 5), -1), ((6, 5), 0), ((3, 50), -1), ((2, 5, 4), 1), ((2, 5, 4), 0), ((4, 3, 2, 3), 2),
         ((9,), -1), ((2, 70, 3), 1), ((1, 1), -1)]


def _make(shape, from_logits, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < 0.5)
    x = rng.normal(0, 3, shape) if from_logits else rng.random(shape)
    return y, x


def _strided(a):
    """A non-contiguous view with the same values (every other element of a doubled array)."""
    big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    big[..., 1::2] = -123.0 if a.dtype != bool else True
    v = big[..., ::2]
    assert not v.flags.c_contiguous or v.size <= 1
    return v


@pytest.mark.parametrize("reduction", ["none", "sum", "auto"])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("weight", ["none", "scalar", "batch", "full", "bcast_first"])
def test_chunked_matches_reference(small_chunk, shape, axis, from_logits, reduction, weight):
    y, x = _make(shape, from_logits, seed=len(shape) * 10 + axis)
    loss_shape = tuple(np.delete(np.array(shape), axis))
    rng = np.random.default_rng(5)
    sw = wref = None
    if weight == "scalar":
        sw, wref = 1.7, np.float32(1.7)  # a Python float weight is float32, as in tf
    elif weight == "batch" and loss_shape:
        sw = rng.random(loss_shape[0]) + 0.5
        wref = sw.reshape((-1,) + (1,) * (len(loss_shape) - 1))
    elif weight == "full" and loss_shape:
        sw = wref = rng.random(loss_shape)
    elif weight == "bcast_first" and len(loss_shape) >= 2:
        sw = wref = rng.random((1,) + loss_shape[1:])
    # int8 labels and strided float64 predictions computed in float64; strided float32 too
    for yt, yp, dt in ((y.astype(np.int8), _strided(x), np.float64),
                       (_strided(y), _strided(x.astype(np.float32)), np.float32),
                       (y.astype(np.float64), x.astype(np.float32), np.float32)):
        bce = B(from_logits=from_logits, axis=axis, reduction=reduction, label_smoothing=0.1)
        got = bce(yt, yp, sample_weight=sw)
        exp = reference.loss(yt, yp, from_logits=from_logits, axis=axis, reduction=reduction, dtype=dt,
                             weight=wref, label_smoothing=0.1)
        tol = dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-13)
        assert np.asarray(got).dtype == dt
        np.testing.assert_allclose(np.asarray(got, np.float64), exp, **tol)
        # the same as the contiguous single-call path
        same = bce(np.ascontiguousarray(yt, dt), np.ascontiguousarray(yp, dt),
                   sample_weight=None if sw is None else np.asarray(wref, dt))
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(same, np.float64),
                                   rtol=1e-6 if dt == np.float32 else 1e-14)


def test_c_blocks_partition_in_c_order():
    for dims in [(), (5,), (3, 4), (2, 3, 4), (4, 1, 3), (1, 1, 7)]:
        for limit in (1, 2, 3, 5, 12, 100):
            idx = np.arange(int(np.prod(dims))).reshape(dims)
            seen = []
            for blk in _inputs.c_blocks(dims, limit):
                part = idx[blk]
                assert part.size <= max(limit, 1) or part.size == 1
                assert part.flags.c_contiguous
                seen.extend(part.reshape(-1).tolist())
            assert seen == list(range(idx.size)), (dims, limit)


def test_peak_memory_is_chunk_sized():
    # 4M float64 strided predictions with int8 labels, computed in float64: a full-size
    # conversion would allocate >= 32 MB; the chunked path stays near 3 * CHUNK * 8 bytes
    n_rows, n_cols = 4096, 1024
    rng = np.random.default_rng(0)
    base = rng.random((n_rows, 2 * n_cols))
    yp = base[:, ::2]
    yt = (rng.random((n_rows, n_cols)) < 0.5).astype(np.int8)
    w = rng.random(n_rows)
    bce = B(reduction="sum")
    bce(yt[:2], yp[:2], sample_weight=w[:2])  # warm up
    tracemalloc.start()
    try:
        got = bce(yt, yp, sample_weight=w)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * _inputs.CHUNK * 8 + (1 << 20), peak
    exp = reference.loss(yt, yp, weight=w, reduction="sum", dtype=np.float64)
    np.testing.assert_allclose(float(got), exp, rtol=1e-12)
    # and the same check on the NONE output: only the output itself is extra
    tracemalloc.start()
    try:
        B(reduction="none")(yt, yp)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * _inputs.CHUNK * 8 + n_rows * 8 + (1 << 20), peak


def _unaligned(vals):
    """A C-contiguous but misaligned copy of ``vals`` (offset by one byte)."""
    vals = np.ascontiguousarray(vals)
    buf = np.zeros(vals.nbytes + 1, np.uint8)
    buf[1:] = vals.reshape(-1).view(np.uint8)
    out = np.frombuffer(buf.data, dtype=vals.dtype, count=vals.size, offset=1).reshape(vals.shape)
    assert not out.flags.aligned and out.flags.c_contiguous
    return out


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_misaligned_buffers(reduction, dtype):
    # the core requires aligned buffers; misaligned ones (e.g. np.frombuffer at an odd offset) are copied
    rng = np.random.default_rng(9)
    yt = (rng.random((64, 33)) < 0.5).astype(dtype)
    yp = rng.random((64, 33)).astype(dtype)
    w = rng.random(64).astype(dtype)
    bce = B(reduction=reduction)
    expected = bce(yt, yp, sample_weight=w)
    got = bce(_unaligned(yt), _unaligned(yp), sample_weight=_unaligned(w))
    np.testing.assert_array_equal(got, expected)
    got = bce(_unaligned(yt), yp, sample_weight=_unaligned(w[:1].reshape(())))
    np.testing.assert_array_equal(got, bce(yt, yp, sample_weight=w[0]))
    np.testing.assert_array_equal(fastbce.binary_crossentropy(yt, _unaligned(yp)),
                                  fastbce.binary_crossentropy(yt, yp))
