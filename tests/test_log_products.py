"""The summed path of float32 inputs: log terms as float64 products (LogProduct in cpp/bce_kernel.h).

It runs for reductions over at least 1024 elements (a [n, 1] batch with mean or sum, or long rows) and must
give the float64 reference's value for every kind of term: losses far below float32's epsilon (confident
logits), factors at the clip that would underflow a product without renormalisation, mixed hard and soft
labels, infinite logits, NaN anywhere. Every case on every ISA level.
"""
import numpy as np
import pytest

import fastbce

import reference

N = 100_003  # several tasks, and a tail


def _check(y, x, *, from_logits, rtol=3e-7, axis=-1, reduction="sum_over_batch_size", dtype=np.float32):
    y = np.asarray(y, dtype)
    x = np.asarray(x, dtype)
    got = fastbce.BinaryCrossentropy(from_logits=from_logits, axis=axis, reduction=reduction)(y, x)
    want = reference.loss(y, x, from_logits=from_logits, axis=axis, reduction=reduction, dtype=dtype)
    np.testing.assert_allclose(np.float64(got), want, rtol=rtol, atol=0)
    return got


@pytest.mark.parametrize("magnitude", [17.0, 40.0, 80.0])  # results stay float32-normal
def test_confident_logits_keep_their_tiny_losses(each_isa, magnitude):
    # log1p(exp(-|x|)) far below 2^-24, and nothing else: a factor 1 + e would round it to zero.
    y = (np.arange(N) % 2).astype(np.float32)
    x = np.where(y == 1, magnitude, -magnitude)
    got = _check(y[:, None], x[:, None], from_logits=True)
    assert got > 0


def test_logits_across_the_series_threshold(each_isa):
    # e = exp(-|x|) from 2^-10 to 2^-30: both sides of the 2^-20 switch between product and series
    y = np.ones(N, np.float32)
    x = np.linspace(10 * np.log(2), 30 * np.log(2), N)
    _check(y[:, None], x[:, None], from_logits=True)
    _check(y[:, None], -x[:, None] + 0.5, from_logits=True)


@pytest.mark.parametrize("p, label", [(0.0, 1.0), (1.0, 0.0), (1e-8, 1.0), (1 - 1e-8, 0.0),
                                      (1.0, 1.0), (0.0, 0.0), (1 - 2e-7, 1.0), (0.5, 1.0)])
def test_constant_probabilities(each_isa, p, label):
    # q = 2e-7 a hundred thousand times: the product is 10^-670000, kept by renormalising; q = 1: exactly 0
    y = np.full((N, 1), label)
    x = np.full((N, 1), p)
    got = _check(y, x, from_logits=False)
    if (p, label) in [(1.0, 1.0), (0.0, 0.0)]:
        assert got == 0


def test_random_probabilities_sum(each_isa, rng):
    y = (rng.random((N, 1)) < 0.5)
    x = rng.random((N, 1)) ** 8  # many near the low clip
    _check(y, x, from_logits=False, reduction="sum")


@pytest.mark.parametrize("soft_every", [1, 17, 1000, N + 1])
def test_mixed_hard_and_soft_labels(each_isa, rng, soft_every):
    y = (rng.random(N) < 0.5).astype(np.float64)
    y[::soft_every] = rng.random(y[::soft_every].size)
    x = rng.random(N)
    _check(y[:, None], x[:, None], from_logits=False)
    _check(y[:, None], rng.standard_normal(N)[:, None] * 5, from_logits=True)


def test_infinite_logits_in_a_long_batch(each_isa, rng):
    y = (rng.random(N) < 0.5).astype(np.float32)
    x = rng.standard_normal(N) * 3
    x[::97] = np.where(y[::97] == 1, np.inf, -np.inf)
    _check(y[:, None], x[:, None], from_logits=True)
    x[5] = np.inf if y[5] == 0 else -np.inf  # a wrong infinite prediction: the loss is inf
    assert fastbce.BinaryCrossentropy(from_logits=True)(y[:, None], x[:, None].astype(np.float32)) == np.inf


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("where", [0, 31, 1024, 50_000, N - 1])
@pytest.mark.parametrize("which", ["y_true", "y_pred"])
def test_nan_anywhere_gives_nan(each_isa, rng, from_logits, where, which):
    y = (rng.random(N) < 0.5).astype(np.float32)
    x = (rng.standard_normal(N) * 3 if from_logits else rng.random(N)).astype(np.float32)
    (y if which == "y_true" else x)[where] = np.nan
    assert np.isnan(fastbce.BinaryCrossentropy(from_logits=from_logits)(y[:, None], x[:, None]))
    assert np.isnan(fastbce.BinaryCrossentropy(from_logits=from_logits)(y, x))  # one long row


@pytest.mark.parametrize("length", [1023, 1024, 1025, 5000, 70_000])
@pytest.mark.parametrize("from_logits", [False, True])
def test_rows_on_both_sides_of_the_product_threshold(each_isa, rng, length, from_logits):
    rows = 3
    y = (rng.random((rows, length)) < 0.5)
    x = rng.standard_normal((rows, length)) * 4 if from_logits else rng.random((rows, length))
    _check(y, x, from_logits=from_logits, reduction="none")


def test_float64_keeps_full_precision_for_tiny_losses(each_isa):
    # float64 losses near 1e-15 (p just below the upper clip): float64 input keeps one log per element
    y = np.ones((N, 1))
    x = np.full((N, 1), 1 - 1e-7) - np.linspace(1e-15, 1e-13, N)[:, None]
    _check(y, x, from_logits=False, dtype=np.float64, rtol=1e-12)
    z = np.full((N, 1), 36.0)
    _check(y, z, from_logits=True, dtype=np.float64, rtol=1e-13)
