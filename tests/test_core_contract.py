"""The compiled core refuses what would be unsafe to run, and the general path keeps big weights chunked."""
import tracemalloc

import numpy as np
import pytest

import fastbce
from fastbce import _core

import reference

SPEC = fastbce.BinaryCrossentropy().spec


def _pair(n=4):
    return np.zeros(n, np.float32), np.full(n, 0.25, np.float32)


@pytest.mark.parametrize("bad", [[1.0], 2.0, (1.0,), "w"])
def test_core_rejects_non_array_weight_and_out(bad):
    y, p = _pair()
    with pytest.raises(TypeError, match="weight: expected None or a numpy array"):
        _core.bce(y, p, bad, None, 1, 4, 1, 1, SPEC)
    with pytest.raises(TypeError, match="out: expected None or a numpy array"):
        _core.bce(y, p, None, bad, 1, 4, 1, 1, SPEC)


def test_core_rejects_byte_swapped_buffers():
    y, p = _pair()
    swapped = p.astype(">f4")
    with pytest.raises(ValueError, match="y_pred: .*native byte order"):
        _core.bce(y, swapped, None, None, 1, 4, 1, 1, SPEC)
    with pytest.raises(ValueError, match="x: .*native byte order"):
        _core.math("log", swapped)


def test_public_api_converts_byte_swapped_inputs():
    y, p = _pair()
    expected = reference.loss(y, p, reduction="sum_over_batch_size")
    got = fastbce.BinaryCrossentropy()(y.astype(">f4"), p.astype(">f4"))
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_large_batch_weight_needing_conversion_is_read_per_chunk():
    n = 20_000_000
    y = np.broadcast_to(np.float32(1.0), (n, 1))
    p = np.broadcast_to(np.float32(0.75), (n, 1))
    w = np.broadcast_to(np.float64(2.0), (n,))  # [batch] weight of another dtype, zero-stride
    tracemalloc.start()
    try:
        got = fastbce.BinaryCrossentropy(reduction="sum")(y, p, sample_weight=w)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_sample = reference.loss(np.ones((1, 1), np.float32), np.full((1, 1), 0.75, np.float32), reduction="none")
    np.testing.assert_allclose(float(got), 2.0 * float(per_sample[0]) * n, rtol=1e-6)
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MB: the weight was copied whole"


@pytest.mark.parametrize("n", [0, 1, 17, 1000, (1 << 18) + 5])  # the last: several tasks on the pool
def test_read_sum_is_the_sum_of_both_inputs(each_isa, rng, n):
    # the benchmark's read roofline reads exactly the two arrays, every element once
    a = rng.random(n).astype(np.float32)
    b = rng.random(n).astype(np.float32)
    want = float(np.sum(a, dtype=np.float64) + np.sum(b, dtype=np.float64))
    assert _core.read_sum(a, b) == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_read_sum_rejects_what_it_cannot_read():
    a = np.ones(8, np.float32)
    with pytest.raises(TypeError, match="a: expected dtype float32, got float64"):
        _core.read_sum(a.astype(np.float64), a)
    with pytest.raises(ValueError, match="b: expected an aligned C-contiguous"):
        _core.read_sum(a, np.ones(16, np.float32)[::2])
    with pytest.raises(ValueError, match="a has 8 and b 7 elements"):
        _core.read_sum(a, a[:7])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_results_are_the_general_paths(dtype):
    # The fast path makes its result scalars itself (cpp/module.cpp ScalarType): same type, value and bits as
    # the general path's (a Fortran-ordered copy takes that one), and a float32 sum that overflows warns as
    # NumPy's cast does there.
    rng = np.random.default_rng(3)
    y = (rng.random((6, 3)) < 0.5).astype(dtype)
    p = rng.random((6, 3)).astype(dtype)
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight"):
        bce = fastbce.BinaryCrossentropy(reduction=reduction)
        fast, general = bce(y, p), bce(np.asfortranarray(y), np.asfortranarray(p))
        assert type(fast) is type(general) and type(fast).__name__ == f"Loss{np.dtype(dtype).name.title()}"
        assert fast.tobytes() == general.tobytes() and fast.numpy() == general.numpy()
    # every loss 3e38 (a logit of 3e38, label 0): the float64 sum fits, its float32 rounding does not
    big, zero = np.full((4, 2), 3e38, dtype), np.zeros((4, 2), dtype)
    strided = (zero[:, :1], big[:, :1])  # not contiguous: the general path
    bce = fastbce.BinaryCrossentropy(from_logits=True, reduction="sum")
    if dtype is np.float32:
        with pytest.warns(RuntimeWarning, match="overflow"):
            fast = bce(np.ascontiguousarray(strided[0]), np.ascontiguousarray(strided[1]))
        with pytest.warns(RuntimeWarning, match="overflow"):
            general = bce(*strided)
    else:
        fast, general = bce(np.ascontiguousarray(strided[0]), np.ascontiguousarray(strided[1])), bce(*strided)
    assert fast.tobytes() == general.tobytes()
    assert np.isinf(fast) == (dtype is np.float32)
