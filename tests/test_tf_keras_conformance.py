"""fastbce vs tf_keras 2.x with ``tf.constant`` inputs, on every ISA level.

Runs only where tf_keras and TensorFlow are installed (skips otherwise). Covers the
documented behaviours: reductions, logits, label smoothing, axis, sample-weight forms
(including [B] weights on rank-2 losses), the trailing-1 squeeze, float32/float64,
empty batches and configs both ways. Left out on purpose (documented differences):
±inf logits (tf gives NaN), [B] weights on rank >= 3 losses (tf aligns them with the
last axis), NumPy-input broadcasting and error types.
"""
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf_keras = pytest.importorskip("tf_keras")
tf = pytest.importorskip("tensorflow")

import fastbce  # noqa: E402

pytestmark = pytest.mark.usefixtures("each_isa")

REDUCTIONS = ["auto", "none", "sum", "sum_over_batch_size"]


def _tf_value(t):
    return np.asarray(t.numpy())


def _compare(kwargs, y, x, sw=None, dtype=np.float32, squeeze_pred=False):
    yt = tf.constant(y, dtype=dtype)
    yp = tf.constant(x, dtype=dtype)
    tsw = None if sw is None else tf.constant(sw, dtype=dtype)
    expected = _tf_value(tf_keras.losses.BinaryCrossentropy(**kwargs)(yt, yp, sample_weight=tsw))
    got = fastbce.BinaryCrossentropy(**kwargs)(np.asarray(y, dtype), np.asarray(x, dtype),
                                               sample_weight=None if sw is None else np.asarray(sw, dtype))
    got = np.asarray(got)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-13)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def _data(shape, from_logits, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < 0.5).astype(np.float64)
    if from_logits:
        x = rng.normal(0, 4, shape)
    else:
        x = rng.random(shape)
        x.flat[::5] = 0.0
        x.flat[1::7] = 1.0
    return y, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reductions_logits_smoothing_axis(reduction, from_logits, label_smoothing, axis, dtype):
    y, x = _data((4, 3, 5), from_logits, seed=1)
    _compare(dict(reduction=reduction, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis),
             y, x, dtype=dtype)


@pytest.mark.parametrize("form", ["scalar", "batch_on_rank2", "full", "full_plus_1", "row", "col", "batch_rank1"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_weight_forms(form, reduction, dtype):
    rng = np.random.default_rng(2)
    shape = (4, 3, 5)  # per-sample loss [4, 3]
    if form == "batch_rank1":
        shape = (6, 5)  # per-sample loss [6]
    y, x = _data(shape, False, seed=3)
    sw = {
        "scalar": 0.7,
        "batch_on_rank2": rng.random(4),  # [B] on a [B, T] loss: tf expands to [B, 1]
        "full": rng.random((4, 3)),
        "full_plus_1": rng.random((4, 3, 1)),
        "row": rng.random((1, 3)),
        "col": rng.random((4, 1)),
        "batch_rank1": rng.random(6),
    }[form]
    _compare(dict(reduction=reduction), y, x, sw=sw, dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_squeeze_of_a_trailing_one(reduction):
    y, x = _data((6,), False, seed=4)
    _compare(dict(reduction=reduction), y, x[:, None])
    _compare(dict(reduction=reduction), y[:, None], x)
    y, x = _data((3, 4), True, seed=5)
    _compare(dict(reduction=reduction, from_logits=True), y, x[..., None])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(reduction, dtype):
    _compare(dict(reduction=reduction), np.zeros((0, 3)), np.zeros((0, 3)), dtype=dtype)
    _compare(dict(reduction=reduction), np.zeros((0, 3)), np.zeros((0, 3)), sw=np.zeros((0,)), dtype=dtype)


def test_seed_and_docstring_examples():
    cases = [
        (dict(), [0., 0., 1., 1.], [1., 1., 1., 0.], None),
        (dict(from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], None),
        (dict(from_logits=True), [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], None),
        (dict(from_logits=True), [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], [0.8, 0.2]),
        (dict(from_logits=True, reduction="sum"), [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], None),
        (dict(from_logits=True, reduction="none"), [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], None),
    ]
    for kwargs, y, x, sw in cases:
        # Python lists straight into both (tf converts them to float32 tensors)
        expected = _tf_value(tf_keras.losses.BinaryCrossentropy(**kwargs)(y, x, sample_weight=sw))
        got = np.asarray(fastbce.BinaryCrossentropy(**kwargs)(y, x, sample_weight=sw))
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_functional():
    y, x = _data((5, 7), False, seed=6)
    expected = tf_keras.losses.binary_crossentropy(tf.constant(y, tf.float32), tf.constant(x, tf.float32),
                                                   label_smoothing=0.1, axis=0).numpy()
    got = fastbce.binary_crossentropy(y.astype(np.float32), x.astype(np.float32), label_smoothing=0.1, axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_float16_output_dtype_matches():
    y = tf.constant([[0., 1., 1.]], tf.float16)
    x = tf.constant([[0.3, 0.6, 0.8]], tf.float16)
    expected = tf_keras.losses.BinaryCrossentropy()(y, x).numpy()
    got = fastbce.BinaryCrossentropy()(y.numpy(), x.numpy())
    assert got.dtype == expected.dtype == np.float16
    np.testing.assert_allclose(float(got), float(expected), rtol=2e-3)  # tf computes in float16


@pytest.mark.parametrize("kwargs", [dict(), dict(from_logits=True, label_smoothing=0.2, axis=0,
                                                 reduction="sum", name="x")])
def test_configs_both_ways(kwargs):
    tf_loss = tf_keras.losses.BinaryCrossentropy(**kwargs)
    ours = fastbce.BinaryCrossentropy(**kwargs)
    assert ours.get_config() == tf_loss.get_config()
    from_tf = fastbce.BinaryCrossentropy.from_config(tf_loss.get_config())
    assert from_tf.get_config() == tf_loss.get_config()
    to_tf = tf_keras.losses.BinaryCrossentropy.from_config(ours.get_config())
    assert to_tf.get_config() == ours.get_config()
    y, x = _data((3, 4), kwargs.get("from_logits", False), seed=7)
    a = np.asarray(from_tf(y.astype(np.float32), x.astype(np.float32)))
    b = to_tf(tf.constant(y, tf.float32), tf.constant(x, tf.float32)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_tensors_are_accepted_directly():
    # anything numpy.asarray accepts, e.g. eager tensors
    y, x = _data((4, 3), False, seed=8)
    yt, yp = tf.constant(y, tf.float32), tf.constant(x, tf.float32)
    expected = tf_keras.losses.BinaryCrossentropy()(yt, yp).numpy()
    np.testing.assert_allclose(float(fastbce.BinaryCrossentropy()(yt, yp)), float(expected), rtol=1e-5)
