"""value_and_grad and grad_hess against the float64 reference (tests/reference.py), on every ISA level.

The gradient is TensorFlow's gradient of tf_keras's loss (tests/test_grad_tf_conformance.py checks that
against TensorFlow itself); here every option, layout and weight form is checked against the reference's
derivative, and the loss against __call__.
"""
import itertools

import numpy as np
import pytest

import fastbce
from fastbce import BinaryCrossentropy

import reference as ref

#: float32: a few ulps of the gradient's terms (soft labels can cancel them); float64: the same in float64
ULPS = 8


def assert_grad_close(got, want, terms, dtype):
    eps = np.finfo(dtype).eps
    got64 = np.asarray(got, np.float64)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got64), nan), "NaN where the reference has none, or the reverse"
    tol = ULPS * eps * (np.abs(want) + terms)
    err = np.abs(got64 - want)
    bad = ~nan & ~(err <= tol)
    assert not bad.any(), f"{bad.sum()} elements off: got {got64[bad][:3]}, want {want[bad][:3]}"


def make_inputs(rng, shape, from_logits, soft, dtype):
    y = (rng.random(shape) if soft else rng.integers(0, 2, shape)).astype(dtype)
    if from_logits:
        x = (rng.normal(size=shape) * 4).astype(dtype)
    else:
        x = rng.random(shape).astype(dtype)
        flat = x.reshape(-1)
        if flat.size > 8:  # the clip's edges: outside (gradient 0), on the bounds (passes), at 0 and 1
            eps = dtype(1e-7)
            flat[:8] = [0.0, 1.0, eps, dtype(1) - eps, eps / 2, dtype(1) - eps / 2, 1e-8, 0.5]
    return y, x


SHAPES = {
    "flat": ((257, 1), -1),  # [n, 1]: one element per sample
    "1-D": ((70,), -1),  # one sample
    "rows": ((33, 16), -1),  # multi-label rows
    "long rows": ((2, 40000), -1),  # rows split into pieces across tasks
    "strided": ((5, 7, 19), 1),  # mean over a middle axis
    "rank 3": ((4, 6, 9), -1),
}
WEIGHTS = ["none", "scalar", "batch", "per-sample"]
REDUCTIONS = ["auto", "sum", "none", "mean", "mean_with_sample_weight"]


def weight_for(kind, loss_shape, rng, dtype):
    if kind == "none" or (kind != "scalar" and not loss_shape):
        return None
    if kind == "scalar":
        return 0.75
    if kind == "batch":
        return rng.random(loss_shape[0]).astype(dtype) + 0.25
    return rng.random(loss_shape).astype(dtype)


@pytest.mark.parametrize("layout", list(SHAPES))
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grid_against_reference(each_isa, rng, layout, from_logits, dtype):
    shape, axis = SHAPES[layout]
    for soft, ls, pw, reduction, wkind in itertools.product(
        [False, True], [0.0, 0.1], [None, 2.5, "per-class"], REDUCTIONS, WEIGHTS
    ):
        if ls and not soft and pw == "per-class":
            continue  # keep the grid's size sane: smoothing is covered with the other pos weights
        y, x = make_inputs(rng, shape, from_logits, soft, dtype)
        pos_weight = (rng.random(shape[-1]) * 3 + 0.1) if pw == "per-class" else pw
        loss_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
        w = weight_for(wkind, loss_shape, rng, dtype)
        grad_out = None
        if reduction == "none" and loss_shape:
            grad_out = rng.normal(size=loss_shape)
        bce = BinaryCrossentropy(from_logits=from_logits, label_smoothing=ls, axis=axis, reduction=reduction,
                                 pos_weight=pos_weight)
        loss, g = bce.value_and_grad(y, x, w, grad_out=grad_out)
        assert g.shape == x.shape and g.dtype == x.dtype
        wsum = None if w is None else float(np.sum(np.asarray(w, dtype).astype(np.float64)))
        w_ref = w  # a [batch] weight scales whole samples: its axis first, then ones
        if w is not None and np.ndim(w) == 1:
            w_ref = np.reshape(w, np.shape(w) + (1,) * (len(loss_shape) - 1))
        want, terms = ref.grad(y, x, from_logits=from_logits, label_smoothing=ls, axis=axis, weight=w_ref,
                               reduction=reduction, dtype=dtype, pos_weight=pos_weight, weight_sum=wsum,
                               grad_out=grad_out)
        assert_grad_close(g, want, terms, dtype)
        # the loss is __call__'s (the same sums; a few ulps apart where __call__ takes another schedule)
        np.testing.assert_allclose(np.asarray(loss, np.float64), np.asarray(bce(y, x, w), np.float64),
                                   rtol=32 * np.finfo(dtype).eps, atol=0)


def test_seed_example_gradient():
    """The seed's example: every prediction is clipped (0 or 1), so TensorFlow's gradient is 0 everywhere."""
    loss, g = BinaryCrossentropy().value_and_grad([0., 0., 1., 1.], [1., 1., 1., 0.])
    assert float(loss) == float(BinaryCrossentropy()([0., 0., 1., 1.], [1., 1., 1., 0.]))
    assert g.dtype == np.float32 and np.array_equal(g, np.zeros(4, np.float32))


def test_logits_limits_and_nan(each_isa):
    y = np.array([[0.], [1.], [0.], [1.], [0.5], [1.], [np.nan]], np.float32)
    x = np.array([[np.inf], [np.inf], [-np.inf], [-np.inf], [np.inf], [np.nan], [0.]], np.float32)
    _, g = BinaryCrossentropy(from_logits=True, reduction="sum").value_and_grad(y, x)
    np.testing.assert_array_equal(g[:5, 0], [1.0, 0.0, 0.0, -1.0, 0.5])  # 1 - y at +inf, -y at -inf
    assert np.isnan(g[5, 0]) and np.isnan(g[6, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_logits_moderate_groups_same_bits(each_isa, rng, dtype, smoothing):
    """Groups of logits whose |x| are all <= 13 take a shorter kernel path (no clamp, no limits at +-inf, no
    small-exp correction); a group with one larger |x| takes the general path. Every element's loss and
    gradient must have the same bits either way: here each element is computed once in moderate groups and
    once next to a large logit (every other element; a group is at least two elements on every level)."""
    n = 4096
    x = rng.uniform(-13.0, 13.0, (n, 1)).astype(dtype)
    x[:8, 0] = [13.0, -13.0, 0.0, -0.0, 1e-30, -12.999, 13.0, 6.5]
    y = (rng.random((n, 1)) < 0.5).astype(dtype)
    mixed = x.copy()
    mixed[::2] = np.array([20.0, -40.0, np.inf, -np.inf], dtype)[np.arange(n // 2) % 4, None]
    bce = BinaryCrossentropy(from_logits=True, label_smoothing=smoothing, reduction="none")
    for get in (lambda xs: bce(y, xs), lambda xs: bce.value_and_grad(y, xs)[1]):
        alone, beside = np.asarray(get(x)), np.asarray(get(mixed))
        assert alone.reshape(n)[1::2].tobytes() == beside.reshape(n)[1::2].tobytes()
    # The summed path (products of 1 + exp(-|x|)) agrees with the per-element losses it skips.
    total = float(BinaryCrossentropy(from_logits=True, label_smoothing=smoothing, reduction="sum")(y, x))
    want = ref.elementwise(y, x, from_logits=True, label_smoothing=smoothing, dtype=dtype).sum()
    assert total == pytest.approx(want, rel=1e-6)


def test_probabilities_nan_in_nan_out(each_isa):
    y = np.array([[1.], [0.], [np.nan]], np.float32)
    x = np.array([[np.nan], [0.5], [0.5]], np.float32)
    loss, g = BinaryCrossentropy(reduction="none").value_and_grad(y, x)
    assert np.isnan(g[0, 0]) and np.isnan(g[2, 0])
    np.testing.assert_allclose(g[1, 0], 1 / (0.5 + 1e-7), rtol=1e-7)  # (1 - y) / ((1 - p) + eps)
    assert np.isnan(loss[0]) and np.isnan(loss[2]) and not np.isnan(loss[1])


def test_logistic_regression_trains(rng):
    """A NumPy user trains a logistic regression with value_and_grad (the chain rule by hand)."""
    n, d = 2000, 5
    true_w = rng.normal(size=d)
    features = rng.normal(size=(n, d))
    labels = (rng.random(n) < 1 / (1 + np.exp(-features @ true_w))).astype(np.float64)[:, None]
    w = np.zeros((d, 1))
    bce = BinaryCrossentropy(from_logits=True)
    losses = []
    for _ in range(300):
        loss, g = bce.value_and_grad(labels, features @ w)
        w -= 1.0 * features.T @ g
        losses.append(float(loss))
    assert losses[-1] < 0.75 * losses[0]
    # gradient descent converges to the maximum-likelihood fit: the mean gradient vanishes there
    _, g = bce.value_and_grad(labels, features @ w)
    assert np.abs(features.T @ g).max() < 1e-3
    assert np.corrcoef(w[:, 0], true_w)[0, 1] > 0.95


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.float64])
def test_grad_dtype_follows_y_pred(dtype):
    x = np.array([[0.25], [0.75]]).astype(dtype) if dtype != np.int32 else np.array([[0], [1]], dtype)
    _, g = BinaryCrossentropy().value_and_grad([[0.], [1.]], x)
    assert g.dtype == (np.float32 if dtype == np.int32 else dtype) and g.shape == (2, 1)


def test_squeezed_labels_keep_y_pred_shape(rng):
    y = rng.integers(0, 2, 50).astype(np.float32)
    x = rng.random((50, 1)).astype(np.float32)
    loss, g = BinaryCrossentropy().value_and_grad(y, x)
    _, g2 = BinaryCrossentropy().value_and_grad(y[:, None], x)
    assert g.shape == (50, 1)
    np.testing.assert_array_equal(g, g2)


def test_strided_and_converted_inputs_equal_contiguous(each_isa, rng):
    y = rng.integers(0, 2, (40, 12)).astype(np.float64)
    x = rng.random((40, 12))
    bce = BinaryCrossentropy()
    want_loss, want = bce.value_and_grad(y.astype(np.float32), x.astype(np.float32))
    loss, got = bce.value_and_grad(y.astype(np.float32)[::1], np.asfortranarray(x.astype(np.float32)))
    np.testing.assert_array_equal(got, want)
    assert float(loss) == float(want_loss)


def test_grad_out_errors():
    bce = BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"grad_out of shape \(3,\).*one number"):
        bce.value_and_grad([[0.], [1.]], [[0.5], [0.5]], grad_out=[1., 2., 3.])
    with pytest.raises(ValueError, match=r"grad_out of shape \(3,\) does not broadcast.*\(2,\)"):
        BinaryCrossentropy(reduction="none").value_and_grad([[0.], [1.]], [[0.5], [0.5]], grad_out=[1., 2., 3.])
    with pytest.raises(ValueError, match="incompatible shapes"):
        bce.value_and_grad([0., 1., 1.], [[0.5], [0.5]])


def test_empty_inputs():
    loss, g = BinaryCrossentropy().value_and_grad(np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32))
    assert float(loss) == 0.0 and g.shape == (0, 1)
    loss, g = BinaryCrossentropy(reduction="none").value_and_grad(np.zeros((3, 0)), np.zeros((3, 0)))
    assert np.isnan(loss).all() and g.shape == (3, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_hess_against_reference(each_isa, rng, dtype):
    shape = (1000, 3)
    for soft, ls, pw, wkind in itertools.product([False, True], [0.0, 0.2], [None, 3.0, "per-class"],
                                                 ["none", "scalar", "per-element", "per-row"]):
        y = (rng.random(shape) if soft else rng.integers(0, 2, shape)).astype(dtype)
        x = (rng.normal(size=shape) * 5).astype(dtype)
        x.reshape(-1)[:4] = [np.inf, -np.inf, 0.0, 40.0]
        pos_weight = rng.random(3) + 0.5 if pw == "per-class" else pw
        w = {"none": None, "scalar": 0.5, "per-element": rng.random(shape).astype(dtype),
             "per-row": rng.random((shape[0], 1)).astype(dtype)}[wkind]
        g, h = fastbce.grad_hess(y, x, w, label_smoothing=ls, pos_weight=pos_weight)
        assert g.dtype == dtype and h.dtype == dtype and g.shape == shape
        dg, terms, dh = ref.element_grad(y, x, from_logits=True, label_smoothing=ls, dtype=dtype,
                                         pos_weight=pos_weight, hessian=True)
        ww = 1.0 if w is None else np.asarray(w, dtype).astype(np.float64)
        assert_grad_close(g, dg * ww, terms * np.abs(ww), dtype)
        assert_grad_close(h, dh * ww, np.abs(dh * ww), dtype)


def test_grad_hess_defaults_are_logistic_derivatives(rng):
    """With the defaults: sigmoid(x) - y and sigmoid(x) (1 - sigmoid(x)), binary:logistic's derivatives."""
    y = rng.integers(0, 2, 500).astype(np.float64)
    x = rng.normal(size=500) * 3
    g, h = fastbce.grad_hess(y, x)
    s, sn = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x))  # sigmoid(x) and 1 - sigmoid(x), each without cancellation
    np.testing.assert_allclose(g, s - y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, s * sn, rtol=1e-12)


def test_grad_hess_weight_shapes(rng):
    x = rng.normal(size=(6, 1)).astype(np.float32)
    y = rng.integers(0, 2, (6, 1)).astype(np.float32)
    w = rng.random(6).astype(np.float32)
    g, h = fastbce.grad_hess(y, x, w)
    g1, h1 = fastbce.grad_hess(y, x)
    np.testing.assert_allclose(g, g1 * w[:, None], rtol=1e-6)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\) does not broadcast.*\(6, 1\)"):
        fastbce.grad_hess(y, x, w[:5])


def test_out_receives_the_gradient(rng):
    y = rng.integers(0, 2, (100, 3)).astype(np.float32)
    x = rng.random((100, 3)).astype(np.float32)
    bce = BinaryCrossentropy()
    want_loss, want = bce.value_and_grad(y, x)
    buf = np.full_like(x, np.nan)
    loss, got = bce.value_and_grad(y, x, out=buf)
    assert got is buf and float(loss) == float(want_loss)
    np.testing.assert_array_equal(buf, want)
    strided = np.full((100, 6), np.nan, np.float32)[:, ::2]  # not contiguous: written through a copy
    _, got = bce.value_and_grad(y, x, out=strided)
    assert got is strided
    np.testing.assert_array_equal(strided, want)
    half = np.empty((100, 3), np.float16)
    _, got = bce.value_and_grad(y, x.astype(np.float16), out=half)
    np.testing.assert_array_equal(half, bce.value_and_grad(y, x.astype(np.float16))[1])
    with pytest.raises(ValueError, match=r"out has shape \(3, 100\) and dtype float32; the gradient has shape "
                                         r"\(100, 3\)"):
        bce.value_and_grad(y, x, out=np.empty((3, 100), np.float32))
    with pytest.raises(ValueError, match="dtype float64"):
        bce.value_and_grad(y, x, out=np.empty((100, 3)))
    with pytest.raises(TypeError, match="numpy array"):
        bce.value_and_grad(y, x, out=[0.0] * 300)
