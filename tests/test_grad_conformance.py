"""fastbce's gradient vs TensorFlow's (``tf.GradientTape`` over tf_keras's loss, ``tf.constant`` inputs) and,
for ``pos_weight``, vs torch autograd of ``binary_cross_entropy_with_logits``, on every ISA level.

Runs where TensorFlow + tf_keras (and torch, for its part) are installed; skips otherwise (the frameworks CI
step fails on a skip). Tolerance: 1e-6 (float32) or 1e-12 (float64) relative to the gradient plus the
magnitude of its terms: with soft labels the two terms of a derivative can cancel, and then both sides carry
the rounding of the terms, whatever the order of operations. Left out on purpose (documented differences of
the loss): +-inf logits (tf gives NaN) and [batch] weights on rank >= 3 losses (tf aligns them with the last
axis).
"""
import itertools
import os

import numpy as np
import pytest

import reference as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf_keras = pytest.importorskip("tf_keras")
tf = pytest.importorskip("tensorflow")

import fastbce  # noqa: E402

pytestmark = pytest.mark.usefixtures("each_isa")

LAYOUTS = {"[n, 1]": ((64, 1), -1), "[n, 3]": ((20, 3), -1), "rank 3": ((4, 3, 5), -1), "axis 1": ((4, 6, 5), 1)}


def _inputs(shape, from_logits, soft, dtype, seed):
    rng = np.random.default_rng(seed)
    y = rng.random(shape) if soft else (rng.random(shape) < 0.5).astype(np.float64)
    if from_logits:
        x = rng.normal(0, 4, shape)
    else:
        x = rng.random(shape)
        eps = np.asarray(1e-7, dtype)
        x.flat[:6] = [0.0, 1.0, eps, 1 - eps, 0.5, 1e-9]  # clipped, on the clip's bounds, inside
    return y.astype(dtype), x.astype(dtype)


def _weight(kind, loss_shape, dtype, seed):
    rng = np.random.default_rng(seed + 1)
    if kind == "scalar":
        return np.asarray(0.7, dtype)
    if kind == "batch":
        return (rng.random(loss_shape[0]) + 0.2).astype(dtype)
    if kind == "per-sample":
        return (rng.random(loss_shape) + 0.2).astype(dtype)
    return None


def _tf_grad(kwargs, y, x, sw, cotangent):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf_keras.losses.BinaryCrossentropy(**kwargs)(tf.constant(y), xt,
                                                             sample_weight=None if sw is None else tf.constant(sw))
        if cotangent is not None:
            loss = tf.reduce_sum(loss * tf.constant(cotangent))
    return tape.gradient(loss, xt).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("from_logits", [False, True])
def test_gradient_equals_tensorflow(layout, from_logits, dtype):
    shape, axis = LAYOUTS[layout]
    loss_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for seed, (soft, ls, reduction, wkind) in enumerate(itertools.product(
            [False, True], [0.0, 0.2], ["auto", "sum", "sum_over_batch_size", "none"],
            ["none", "scalar", "batch", "per-sample"])):
        if wkind == "batch" and len(loss_shape) > 1:
            continue  # tf_keras aligns a [batch] weight with the loss's last axis there (documented difference)
        y, x = _inputs(shape, from_logits, soft, dtype, seed)
        sw = _weight(wkind, loss_shape, dtype, seed)
        cotangent = np.random.default_rng(seed).normal(size=loss_shape).astype(dtype) if reduction == "none" else None
        kwargs = dict(from_logits=from_logits, label_smoothing=ls, axis=axis, reduction=reduction)
        want = _tf_grad(kwargs, y, x, sw, cotangent)
        loss, got = fastbce.BinaryCrossentropy(**kwargs).value_and_grad(y, x, sw, grad_out=cotangent)
        assert got.dtype == want.dtype and got.shape == want.shape
        _, terms = ref.grad(y, x, from_logits=from_logits, label_smoothing=ls, axis=axis,
                            weight=None if sw is None else (sw[:, None] if wkind == "batch" and len(loss_shape) > 1
                                                            else sw),
                            reduction=reduction, dtype=dtype, grad_out=cotangent)
        err = np.abs(got.astype(np.float64) - want)
        tol = rtol * (np.abs(want) + terms)
        assert (err <= tol).all(), (soft, ls, reduction, wkind, got[err > tol][:4], want[err > tol][:4])


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "none"])
@pytest.mark.parametrize("shape", [(50, 1), (30, 4)])
def test_pos_weight_gradient_equals_torch(shape, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    y = (rng.random(shape) < 0.4).astype(np.float32)
    x = rng.normal(0, 3, shape).astype(np.float32)
    pos_weight = (rng.random(shape[-1]) * 3 + 0.2).astype(np.float32)
    sw = (rng.random(shape[0]) + 0.1).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    # torch weighs elements: a [n, 1] weight is fastbce's per-sample weight; its "mean" divides by elements
    per_element = torch.nn.functional.binary_cross_entropy_with_logits(
        xt, torch.tensor(y), weight=torch.tensor(sw[:, None]), pos_weight=torch.tensor(pos_weight), reduction="none")
    if reduction == "none":
        cotangent = rng.normal(size=shape[0]).astype(np.float32)
        (per_element.mean(dim=1) * torch.tensor(cotangent)).sum().backward()
    else:
        cotangent = None
        (per_element.sum() if reduction == "sum" and shape[1] == 1 else
         per_element.mean(dim=1).sum() if reduction == "sum" else per_element.mean()).backward()
    _, got = fastbce.BinaryCrossentropy(from_logits=True, pos_weight=pos_weight, reduction=reduction).value_and_grad(
        y, x, sw, grad_out=cotangent)
    np.testing.assert_allclose(got, xt.grad.numpy(), rtol=2e-6, atol=1e-7 * np.abs(xt.grad.numpy()).max())
