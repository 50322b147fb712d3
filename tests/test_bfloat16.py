"""bfloat16 inputs (ml_dtypes' NumPy dtype): computed in float32, widened in the kernels task by task (no
full-size copy), the result in bfloat16 as float16 inputs give float16 -- on every ISA level."""
import itertools
import tracemalloc

import numpy as np
import pytest

import fastbce
from fastbce import _core

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)

pytestmark = pytest.mark.usefixtures("each_isa")

LAYOUTS = {"[n, 1]": ((100_003, 1), -1), "rows": ((5_001, 16), -1), "long rows": ((3, 70_001), -1),
           "strided": ((40, 7, 9), 1), "1-D": ((1000,), -1)}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("from_logits", [False, True])
def test_equals_float32_of_the_widened_values(rng, layout, from_logits):
    shape, axis = LAYOUTS[layout]
    for reduction, weight, labels in itertools.product(["auto", "sum", "none", "mean_with_sample_weight"],
                                                       ["none", "batch"], [BF16, np.float32]):
        if weight == "batch" and len(shape) == 1:
            continue
        y = rng.integers(0, 2, shape).astype(labels)
        x = (rng.normal(size=shape) * 3 if from_logits else rng.random(shape)).astype(BF16)
        w = None if weight == "none" else rng.random(shape[0]).astype(np.float32)
        bce = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction=reduction, axis=axis)
        got = bce(y, x, w)
        want = bce(y.astype(np.float32), x.astype(np.float32), w)  # the widened values, in float32
        assert np.asarray(got).dtype == BF16
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want).astype(BF16))
        assert got.numpy().dtype == BF16  # answers .numpy() like every result


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_core_sums_are_bitwise_those_of_float32(rng, layout):
    """Before the final rounding to bfloat16: the kernels' float64 total equals the float32 path's bit for bit."""
    shape, axis = LAYOUTS[layout]
    if axis != -1:
        shape = (shape[0], shape[1] * shape[2])
    outer, reduced = int(np.prod(shape[:-1])), shape[-1]
    y = rng.integers(0, 2, shape).astype(BF16)
    x = rng.random(shape).astype(BF16)
    spec = fastbce.BinaryCrossentropy().spec
    for yt16 in (y.view(np.uint16), y.astype(np.float32)):
        out16, out32 = np.empty(outer, np.float32), np.empty(outer, np.float32)
        t16 = _core.bce_bf16(yt16, x.view(np.uint16), None, None, outer, reduced, 1, 1, spec)
        t32 = _core.bce(y.astype(np.float32), x.astype(np.float32), None, None, outer, reduced, 1, 1, spec)
        assert t16 == t32
        _core.bce_bf16(yt16, x.view(np.uint16), None, out16, outer, reduced, 1, 1, spec)
        _core.bce(y.astype(np.float32), x.astype(np.float32), None, out32, outer, reduced, 1, 1, spec)
        np.testing.assert_array_equal(out16, out32)


def test_no_full_size_copy(rng):
    """A 4M-element bfloat16 call allocates no input-sized NumPy buffer (8 MB of bfloat16, 16 MB as float32)."""
    y = rng.integers(0, 2, (1 << 22, 1)).astype(BF16)
    x = rng.random((1 << 22, 1)).astype(BF16)
    bce = fastbce.BinaryCrossentropy()
    bce(y, x)  # warm-up: thread pool, per-thread buffers
    tracemalloc.start()
    try:
        bce(y, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024, peak


def test_strided_bfloat16_takes_the_chunked_path(rng):
    """Non-contiguous bfloat16 (and layouts whose tasks would be large) are converted block by block."""
    x = rng.random((64, 10)).astype(BF16)[:, ::2]
    y = rng.integers(0, 2, (64, 5)).astype(np.float32)
    got = fastbce.BinaryCrossentropy()(y, x)
    want = fastbce.BinaryCrossentropy()(y, x.astype(np.float32))
    assert np.asarray(got).dtype == BF16
    assert np.asarray(got) == np.asarray(want).astype(BF16)
