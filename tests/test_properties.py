"""Property test: random shapes, axes, layouts, dtypes, weight forms and chunk sizes
against the float64 reference."""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import fastbce  # noqa: E402
from fastbce import _inputs  # noqa: E402

import reference  # noqa: E402


@st.composite
def problems(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=rank, max_size=rank)))
    if draw(st.booleans()):  # mostly non-empty
        shape = tuple(max(1, d) for d in shape)
    axis = draw(st.integers(-rank, rank - 1))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "reversed"]))
    pred_dtype = draw(st.sampled_from([np.float32, np.float64]))
    label_dtype = draw(st.sampled_from([np.float32, np.float64, np.int8, np.bool_]))
    from_logits = draw(st.booleans())
    ls = draw(st.sampled_from([0.0, 0.1, 1.0]))
    reduction = draw(st.sampled_from(["auto", "none", "sum", "sum_over_batch_size"]))
    wform = draw(st.sampled_from(["none", "scalar", "batch", "full", "bcast"]))
    chunk = draw(st.sampled_from([1, 3, 16, 1 << 18]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return shape, axis, layout, pred_dtype, label_dtype, from_logits, ls, reduction, wform, chunk, seed


def _layout(a, layout):
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.repeat(a, 2, axis=-1)
        return big[..., ::2]
    if layout == "reversed":
        return np.flip(a.copy(), axis=0).copy()[::-1] if a.ndim else a
    return a


@settings(max_examples=300, deadline=None, database=None)
@given(problems())
def test_random_problems_match_reference(p):
    shape, axis, layout, pred_dtype, label_dtype, from_logits, ls, reduction, wform, chunk, seed = p
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, shape) if from_logits else rng.random(shape)
    y = rng.random(shape) < 0.5
    yp = _layout(x.astype(pred_dtype), layout)
    yt = _layout(y.astype(label_dtype), layout)
    loss_shape = tuple(np.delete(np.array(shape, dtype=int), axis))
    sw = wref = None
    if wform == "scalar":
        sw = wref = np.float64(rng.random() + 0.5)
    elif wform == "batch" and loss_shape and loss_shape[0] > 1:
        sw = rng.random(loss_shape[0])
        wref = sw.reshape((-1,) + (1,) * (len(loss_shape) - 1))
    elif wform == "full" and loss_shape:
        sw = wref = rng.random(loss_shape)
    elif wform == "bcast" and len(loss_shape) >= 2:
        sw = wref = rng.random((1,) + loss_shape[1:])
    old = _inputs.CHUNK
    _inputs.CHUNK = chunk
    try:
        got = fastbce.BinaryCrossentropy(from_logits=from_logits, label_smoothing=ls, axis=axis,
                                         reduction=reduction)(yt, yp, sample_weight=sw)
    finally:
        _inputs.CHUNK = old
    exp = reference.loss(yt, yp, from_logits=from_logits, label_smoothing=ls, axis=axis, weight=wref,
                         reduction=reduction, dtype=pred_dtype)
    got = np.asarray(got)
    assert got.dtype == pred_dtype
    assert got.shape == np.shape(exp)
    tol = dict(rtol=1e-5, atol=1e-6) if pred_dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.astype(np.float64), exp, **tol)
