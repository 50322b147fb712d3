"""Rows of every length class the rows path distinguishes, on every ISA level, against the float64 reference:
short rows (several per vector, buffered), rows of up to 8 vectors (one vector per row, then N rows' sums at
once), longer rows (a running sum per row) and long rows (products from 1024 float32 elements); each with
tails, several row batches, hard and soft labels, weights, reductions none and mean."""
import numpy as np
import pytest

import fastbce

import reference

LENGTHS = [2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 200, 1023, 1024, 1500]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_match_the_reference(each_isa, rng, length, from_logits, dtype):
    rows = max(3, 3000 // length) + 1  # more than one batch of 512 rows for the short ones
    y = (rng.random((rows, length)) < 0.5).astype(np.float64)
    y[1::3, ::5] = rng.random(y[1::3, ::5].shape)  # soft labels in every third row
    x = rng.standard_normal((rows, length)) * 4 if from_logits else rng.random((rows, length))
    w = rng.random(rows) + 0.5
    # float32: the element formula in float32 (as tf_keras) cancels in max(x, 0) - x*y for soft labels
    tol = dict(rtol=2e-6, atol=0) if dtype == np.float32 else dict(rtol=1e-13, atol=0)
    for reduction in ["none", "sum_over_batch_size"]:
        for weight in [None, w]:
            loss = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction=reduction)
            got = loss(y.astype(dtype), x.astype(dtype), sample_weight=None if weight is None else weight.astype(dtype))
            want = reference.loss(y, x, from_logits=from_logits, reduction=reduction, dtype=dtype, weight=weight)
            np.testing.assert_allclose(np.asarray(got, np.float64), want, **tol)


@pytest.mark.parametrize("length", [2, 5, 16, 17, 64, 200])
def test_summed_rows_agree_with_the_per_sample_values(each_isa, rng, length):
    # sum/mean of rows are summed without per-row reductions (rows_summed); the per-sample values (none)
    # are formed per row: both are the same loss, to float32 rounding, with every weight form
    rows = 3000 // length + 3
    y = (rng.random((rows, length)) < 0.5).astype(np.float32)
    x = rng.random((rows, length)).astype(np.float32)
    for weight in [None, np.float32(1.5), (rng.random(rows) + 0.5).astype(np.float32)]:
        per_sample = fastbce.BinaryCrossentropy(reduction="none")(y, x, sample_weight=weight)
        total = fastbce.BinaryCrossentropy(reduction="sum")(y, x, sample_weight=weight)
        assert float(total) == pytest.approx(float(np.sum(per_sample, dtype=np.float64)), rel=1e-6)


def test_summed_rows_keep_the_per_sample_meaning_of_infinite_weights(each_isa):
    # inf * (a row whose mean is positive but which holds a zero loss) is inf, not inf * 0 = NaN per element
    y = np.array([[1.0, 0.0, 1.0, 0.0]] * 8, np.float32)
    x = np.array([[1.0, 0.0, 0.5, 0.5]] * 8, np.float32)  # losses 0, 0 (clipped exactly), log 2, log 2
    w = np.ones(8, np.float32)
    w[3] = np.inf
    assert float(fastbce.BinaryCrossentropy(reduction="sum")(y, x, sample_weight=w)) == np.inf
    assert float(fastbce.BinaryCrossentropy(reduction="sum")(y, x, sample_weight=float("inf"))) == np.inf
    zero_row = np.array([[1.0, 0.0]] * 8, np.float32), np.array([[1.0, 0.0]] * 8, np.float32)
    assert np.isnan(float(fastbce.BinaryCrossentropy(reduction="sum")(*zero_row, sample_weight=w)))  # inf * 0
