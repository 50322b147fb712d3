"""Accuracy of the core's own vector log / log1p / exp (``_core.math``), on every ISA.

float32: EXHAUSTIVE over every float32 of the ranges the loss uses (in chunks of 4M
bit patterns, on all cores): ``log`` on [1e-7, 1.0000002] and [1, 2], ``log1p`` on
[0, 1], ``exp`` on [-104, -2^-30] (and every 97th float of [-2^-30, 0], where exp is
1 or its predecessor). The error is measured in float32 ULPs of the float64 NumPy
result ``ref``: ``|y - ref| / spacing(float32(ref))``, which is well defined for
subnormal results too (the spacing there is 2^-149). Bound: 2 ULP.

Cheap first pass: when the bit patterns of ``y`` and of ``float32(ref)`` (correctly
rounded) are at most 1 apart, the error is < 1.5 ULP; only the other elements are
measured exactly.

float64: 4M random samples per function (log-uniform over the bit patterns plus
uniform in value) over the same ranges, against ``np.longdouble`` references where
long double is wider than double (x86-64: 80-bit), else against NumPy's float64
functions, which are themselves within ~1 ULP; the bound is 2 ULP, plus 1 for that
reference error when long double is not wider.

The exhaustive sweeps are ``slow`` (they still run in CI); strided sweeps of the same
ranges run in the quick suite.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fastbce import _core

pytestmark = pytest.mark.usefixtures("each_isa")

CH = 1 << 22
MAX_ULP = 2.0
_ARANGE = np.arange(CH, dtype=np.uint32)
_local = threading.local()


def bits32(v):
    return int(np.array(v, np.float32).view(np.uint32))


def _buffers():
    b = getattr(_local, "b", None)
    if b is None:
        b = _local.b = (np.empty(CH, np.uint32), np.empty(CH), np.empty(CH), np.empty(CH, np.float32),
                        np.empty(CH, np.int32))
    return b


def _scan_chunk(func, ref_fn, start, stop, stride):
    bits, x64, ref, r32, d = _buffers()
    n = (stop - start + stride - 1) // stride
    np.multiply(_ARANGE[:n], np.uint32(stride), out=bits[:n])
    np.add(bits[:n], np.uint32(start), out=bits[:n])
    x = bits[:n].view(np.float32)
    y = _core.math(func, x) if isinstance(func, str) else func(x)
    assert y.dtype == np.float32 and y.shape == (n,)
    np.copyto(x64[:n], x)
    with np.errstate(all="ignore"):
        ref_fn(x64[:n], out=ref[:n])
        np.copyto(r32[:n], ref[:n], casting="unsafe")
    np.subtract(y.view(np.int32), r32[:n].view(np.int32), out=d[:n])
    far = np.flatnonzero((d[:n] < -1) | (d[:n] > 1))
    if far.size == 0:
        return (0.0, None)
    with np.errstate(all="ignore"):
        err = np.abs(y[far].astype(np.float64) - ref[far]) / np.abs(np.spacing(r32[far]).astype(np.float64))
    err = np.where(np.isnan(err), np.inf, err)
    i = int(np.argmax(err))
    j = far[i]
    return (float(err[i]), (float(x[j]), float(y[j]), float(ref[j])))


def scan_f32(func, ref_fn, lo_bits, hi_bits, stride=1):
    """Max ULP error of ``func`` over float32 bit patterns lo_bits, lo_bits+stride, ... < hi_bits."""
    step = CH * stride
    chunks = [(s, min(s + step, hi_bits)) for s in range(lo_bits, hi_bits, step)]
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(lambda c: _scan_chunk(func, ref_fn, c[0], c[1], stride), chunks))
    return max(results, key=lambda r: r[0])


LOG_LO, LOG_HI = bits32(1e-7), bits32(1.0000002) + 1
ONE, TWO = bits32(1.0), bits32(2.0) + 1
ZERO = 0
NEG_TINY, NEG_104 = bits32(-2.0 ** -30), bits32(-104.0) + 1  # negative floats: bits grow with |x|
NEG_ZERO = bits32(-0.0)

F32_CASES = {
    "log_unit": ("log", np.log, LOG_LO, LOG_HI),
    "log_1_2": ("log", np.log, ONE, TWO),
    "log1p_0_1": ("log1p", np.log1p, ZERO, ONE + 1),
    "exp_neg": ("exp", np.exp, NEG_TINY, NEG_104),
    "exp_tiny": ("exp", np.exp, NEG_ZERO, NEG_TINY),
}


@pytest.mark.parametrize("case", ["log_unit", "log_1_2", "log1p_0_1", "exp_neg", "exp_tiny"])
def test_f32_strided(case):
    func, ref, lo, hi = F32_CASES[case]
    err, where = scan_f32(func, ref, lo, hi, stride=997)
    assert err <= MAX_ULP, (func, err, where)


def _nudged_log(k):
    """float32 log moved k float32 ULPs up from the correctly rounded value (a known-bad 'kernel')."""
    def f(x):
        r = np.log(x.astype(np.float64)).astype(np.float32)
        return (r.view(np.int32) + np.int32(k)).view(np.float32)
    return f


def test_harness_measures_ulps():
    # the scan must see a 3-ULP error as > 2, and a 1-ULP one as within the bound
    err, where = scan_f32(_nudged_log(3), np.log, bits32(1.5), bits32(1.5) + 5000)
    assert 2.5 <= err <= 3.5, where
    err, _ = scan_f32(_nudged_log(1), np.log, bits32(1.5), bits32(1.5) + 5000)
    assert err <= 1.5
    err, _ = scan_f32(lambda x: np.full_like(x, np.nan), np.log, ONE, ONE + 10)
    assert err == np.inf


def test_f32_log_1_2_exhaustive():
    err, where = scan_f32("log", np.log, ONE, TWO)
    assert err <= MAX_ULP, where


@pytest.mark.slow
@pytest.mark.parametrize("case", ["log_unit", "log1p_0_1", "exp_neg"])
def test_f32_exhaustive(case):
    func, ref, lo, hi = F32_CASES[case]
    err, where = scan_f32(func, ref, lo, hi)
    assert err <= MAX_ULP, (func, err, where)


def test_f32_exp_near_zero_is_one():
    # every 97th float in [-2^-30, 0]: exp(x) rounds to 1 (or 1 - 2^-24 near -2^-25 and below)
    err, where = scan_f32("exp", np.exp, NEG_ZERO, NEG_TINY, stride=97)
    assert err <= 1.0, where
    x = np.array([0.0, -0.0, -1e-45, -2.0 ** -60, -2.0 ** -31], np.float32)
    np.testing.assert_array_equal(_core.math("exp", x), np.ones(5, np.float32))


# ----------------------------------------------------------------------------- special values
def _special(func, dtype, values):
    x = np.array(list(values), dtype)
    return _core.math(func, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_special_values(dtype):
    tiny = np.finfo(dtype).tiny
    sub = tiny / 4  # subnormal
    x = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -tiny, 1.0, sub, tiny, np.finfo(dtype).max]
    y = _special("log", dtype, x)
    assert y[0] == -np.inf and y[1] == -np.inf
    assert y[2] == np.inf
    assert np.isnan(y[3]) and np.isnan(y[4]) and np.isnan(y[5]) and np.isnan(y[6])
    assert y[7] == 0.0
    np.testing.assert_allclose(y[8:], np.log(np.array(x[8:], np.float64)), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log1p_special_values(dtype):
    tiny = np.finfo(dtype).tiny
    x = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.0, tiny / 4, 1e-30, -0.5]
    y = _special("log1p", dtype, x)
    assert y[0] == 0.0 and not np.signbit(y[0])
    assert y[1] == 0.0 and np.signbit(y[1])
    assert y[2] == np.inf
    assert np.isnan(y[3]) and np.isnan(y[4])
    assert y[5] == -np.inf
    assert np.isnan(y[6])
    assert y[7] == dtype(tiny / 4) and y[8] == dtype(1e-30)  # log1p(x) == x for tiny x
    np.testing.assert_allclose(y[9], np.log1p(-0.5), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_special_values(dtype):
    big = 89.0 if dtype == np.float32 else 710.0
    under = -104.0 if dtype == np.float32 else -746.0
    x = [0.0, -0.0, np.inf, -np.inf, np.nan, big, under, -1.0]
    y = _special("exp", dtype, x)
    assert y[0] == 1.0 and y[1] == 1.0
    assert y[2] == np.inf and y[3] == 0.0 and np.isnan(y[4])
    assert y[5] == np.inf  # overflow
    assert y[6] == 0.0  # underflow
    np.testing.assert_allclose(y[7], np.exp(-1.0), rtol=4 * np.finfo(dtype).eps)


def test_math_rejects_bad_input():
    with pytest.raises(ValueError, match="sin"):
        _core.math("sin", np.ones(4, np.float32))
    with pytest.raises(TypeError, match="float16"):
        _core.math("log", np.ones(4, np.float16))


# ----------------------------------------------------------------------------- float64
_LD_WIDER = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
F64_BOUND = MAX_ULP if _LD_WIDER else MAX_ULP + 1.0


def _f64_samples(lo, hi, n, seed):
    """n values in [lo, hi] (same sign): half log-uniform over bit patterns, half uniform in value."""
    rng = np.random.default_rng(seed)
    a, b = sorted(np.array([lo, hi], np.float64).view(np.int64))
    half = n // 2
    x1 = rng.integers(a, b + 1, size=half, dtype=np.int64).view(np.float64)
    x2 = rng.uniform(min(lo, hi), max(lo, hi), size=n - half)
    return np.concatenate([x1, x2])


@pytest.mark.parametrize("func,lo,hi", [("log", 1e-7, 1.0000002), ("log", 1.0, 2.0), ("log1p", 0.0, 1.0),
                                        ("exp", -104.0, -0.0), ("exp", -745.0, -104.0)])
def test_f64_random(func, lo, hi):
    x = _f64_samples(lo, hi, 1 << 22, seed=hash((func, lo)) & 0xFFFF)
    y = _core.math(func, x)
    assert y.dtype == np.float64
    with np.errstate(all="ignore"):
        if _LD_WIDER:
            ref = getattr(np, func)(x.astype(np.longdouble))
            r64 = ref.astype(np.float64)
            err = np.abs((y.astype(np.longdouble) - ref) / np.abs(np.spacing(r64)).astype(np.longdouble))
        else:  # pragma: no cover - platforms where long double is double
            ref = getattr(np, func)(x)
            err = np.abs(y - ref) / np.abs(np.spacing(ref))
    err = np.where(np.isnan(err), np.inf, err).astype(np.float64)
    i = int(np.argmax(err))
    assert err[i] <= F64_BOUND, (func, float(x[i]), float(y[i]), float(err[i]))
