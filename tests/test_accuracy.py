"""Accumulation accuracy: sums of many losses stay within 1e-7 relative of a float64 sum of the same losses.

The per-element float32 losses are taken from reduction="none" with shape [n, 1] (one element per sample), then
summed exactly with math.fsum; every reducing layout must agree with that to 1e-7 relative, for random inputs and
for constant ones (where a float accumulator's rounding errors all point the same way).
"""
import math

import numpy as np
import pytest

import fastbce

N = (1 << 22) + 13  # odd: every tail length path runs


def _inputs(kind, from_logits):
    rng = np.random.default_rng(7)
    if kind == "constant":
        y = np.zeros(N, np.float32)
        x = np.full(N, 0.0 if from_logits else 0.5, np.float32)
    else:
        y = (rng.random(N) < 0.5).astype(np.float32)
        x = (rng.standard_normal(N) * 3).astype(np.float32) if from_logits else rng.random(N).astype(np.float32)
    return y, x


@pytest.mark.parametrize("kind", ["random", "constant"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_long_sums_match_float64(each_isa, kind, from_logits):
    y, x = _inputs(kind, from_logits)
    per_element = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction="none")(y[:, None], x[:, None])
    exact = math.fsum(np.asarray(per_element, dtype=np.float64))

    flat = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction="sum")(y[:, None], x[:, None])
    assert abs(float(flat) - exact) <= 1e-7 * exact

    # one long row: the mean over 2^22 elements, rounded once to float32
    row_mean = fastbce.BinaryCrossentropy(from_logits=from_logits)(y, x)
    assert abs(float(row_mean) - exact / N) <= 1e-7 * exact / N

    # rows of 16 (the mean of each row rounded to float32, then summed)
    n16 = N - N % 16
    rows = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction="sum")(
        y[:n16].reshape(-1, 16), x[:n16].reshape(-1, 16))
    exact16 = math.fsum(np.asarray(per_element[:n16], dtype=np.float64)) / 16
    assert abs(float(rows) - exact16) <= 1e-7 * exact16
