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
