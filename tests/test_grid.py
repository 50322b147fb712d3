"""Every reduction x from_logits x label_smoothing x axis x sample-weight form x dtype,
on every ISA level, against the float64 reference (tests/reference.py)."""
import numpy as np
import pytest

import fastbce
from fastbce._results import LossArray

import reference

pytestmark = pytest.mark.usefixtures("each_isa")

SHAPE = (4, 3, 5)
REDUCTIONS = ["auto", "none", "sum", "sum_over_batch_size"]
# tolerance of the result vs the float64 reference, by result dtype
TOL = {
    np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
    np.dtype(np.float64): dict(rtol=1e-12, atol=1e-13),
    np.dtype(np.float16): dict(rtol=2e-3, atol=1e-3),
}


def _data(from_logits, seed=7, shape=SHAPE):
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < 0.5).astype(np.float64)
    y.flat[::7] = 0.3  # a few soft labels
    if from_logits:
        x = rng.normal(0.0, 4.0, shape)
        x.flat[1::11] = 15.0
        x.flat[2::13] = -15.0
    else:
        x = rng.random(shape)
        x.flat[::9] = 0.0  # exactly on / beyond the clip limits
        x.flat[1::10] = 1.0
        x.flat[2::17] = 1e-9
        x.flat[3::19] = 1.0 - 1e-9
    return y, x


def _weights(form, loss_shape, rng):
    """(sample_weight as passed, the same weight in a shape broadcasting to the loss)."""
    l0, l1 = loss_shape
    if form == "none":
        return None, None
    if form == "py_scalar":
        return 0.7, np.float32(0.7)
    if form == "np_0d":
        return np.array(1.3), np.array(1.3)
    if form == "batch":  # [B]: one weight per sample of the batch
        w = rng.random(l0) + 0.5
        return w, w[:, None]
    if form == "batch_list":  # a Python list is float32, as in TensorFlow
        w = rng.random(l0) + 0.5
        return w.tolist(), w.astype(np.float32)[:, None]
    if form == "full":
        w = rng.random(loss_shape)
        return w, w
    if form == "full_plus_trailing_1":  # one rank more, trailing 1 squeezed
        w = rng.random(loss_shape + (1,))
        return w, w[..., 0]
    if form == "row":  # broadcasts along the batch
        w = rng.random((1, l1))
        return w, w
    if form == "col":
        w = rng.random((l0, 1))
        return w, w
    if form == "int_full":
        w = rng.integers(0, 3, loss_shape)
        return w, w
    raise AssertionError(form)


WEIGHT_FORMS = ["none", "py_scalar", "np_0d", "batch", "batch_list", "full", "full_plus_trailing_1",
                "row", "col", "int_full"]
DTYPES = ["float32", "float64", "float16", "list"]


def _inputs_for(dtype, y, x):
    if dtype == "list":
        return y.astype(np.float32).tolist(), x.astype(np.float32).tolist(), np.float32, np.float32
    dt = np.dtype(dtype)
    compute = np.float64 if dt == np.float64 else np.float32
    return y.astype(dt), x.astype(dt), compute, dt


def check(result, expected, reduction, rdt, loss_shape):
    rdt = np.dtype(rdt)
    if reduction == "none":
        assert isinstance(result, LossArray)
        assert result.shape == loss_shape
    else:
        assert isinstance(result, np.floating) and np.ndim(result) == 0
    assert result.dtype == rdt
    np.testing.assert_allclose(np.asarray(result, np.float64), expected, **TOL[rdt])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_form", WEIGHT_FORMS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_grid(reduction, from_logits, label_smoothing, axis, weight_form, dtype):
    rng = np.random.default_rng(11)
    y, x = _data(from_logits)
    yt, yp, compute, rdt = _inputs_for(dtype, y, x)
    loss_shape = tuple(np.delete(np.array(SHAPE), axis))
    sw, w_ref = _weights(weight_form, loss_shape, rng)
    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                     axis=axis, reduction=reduction)
    got = bce(yt, yp, sample_weight=sw)
    # the reference sees the inputs as fastbce's rules say they are computed
    ry = np.asarray(yt, dtype=np.float32 if dtype == "list" else None)
    rp = np.asarray(yp, dtype=np.float32 if dtype == "list" else None)
    expected = reference.loss(ry, rp, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                              weight=w_ref, reduction=reduction, dtype=compute)
    check(got, expected, reduction, rdt, loss_shape)


@pytest.mark.parametrize("shape,axis", [((7,), -1), ((7,), 0), ((6, 5), -1), ((6, 5), 0), ((6, 5), -2),
                                        ((2, 3, 4, 5), -1), ((2, 3, 4, 5), 2), ((2, 3, 4, 5), -4),
                                        ((1, 1), -1), ((5, 1), -1), ((1, 9), 0)])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_shapes_and_axes(shape, axis, from_logits, dtype, reduction):
    y, x = _data(from_logits, seed=3, shape=shape)
    yt, yp = y.astype(dtype), x.astype(dtype)
    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, axis=axis, reduction=reduction)
    got = bce(yt, yp)
    expected = reference.loss(yt, yp, from_logits=from_logits, axis=axis, reduction=reduction, dtype=dtype)
    loss_shape = tuple(np.delete(np.array(shape), axis))
    if reduction == "none" and loss_shape == ():
        # a 0-d per-sample loss comes back as a NumPy scalar, as tf's .numpy() does
        assert isinstance(got, np.floating) and got.dtype == dtype
        np.testing.assert_allclose(float(got), expected, **TOL[np.dtype(dtype)])
    else:
        check(got, expected, reduction, dtype, loss_shape)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_functional_and_call_are_unweighted_per_sample(from_logits, label_smoothing, axis):
    y, x = _data(from_logits, seed=5)
    yt, yp = y.astype(np.float32), x.astype(np.float32)
    expected = reference.per_sample(yt, yp, axis=axis, from_logits=from_logits, label_smoothing=label_smoothing)
    got = fastbce.binary_crossentropy(yt, yp, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
    check(got, expected, "none", np.float32, expected.shape)
    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                                     reduction="sum")
    got = bce.call(yt, yp)
    check(got, expected, "none", np.float32, expected.shape)
