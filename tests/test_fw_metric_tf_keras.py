"""fastbce.metrics.BinaryCrossentropy vs tf_keras.metrics.BinaryCrossentropy over sequences of batches (tensor
inputs), with and without sample weights. Skips without tf_keras (the frameworks CI step fails on a skip)."""
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf_keras = pytest.importorskip("tf_keras")
tf = pytest.importorskip("tensorflow")

from fastbce.metrics import BinaryCrossentropy  # noqa: E402

# 1-D batches are one sample each: only a scalar weight applies to them (the loss's rule)
CASES = [(w, s) for w in ["none", "batch", "scalar", "column"] for s in [(16, 1), (16, 5), (16,)]
         if len(s) == 2 or w in ("none", "scalar")]


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weights, shape", CASES)
def test_metric_equals_tf_keras(from_logits, label_smoothing, weights, shape):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1] + 7 * len(weights) + int(from_logits))
    ours = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    theirs = tf_keras.metrics.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    for _ in range(5):
        y = (rng.random(shape) < 0.5).astype(np.float32)
        x = (rng.normal(0, 3, shape) if from_logits else rng.random(shape)).astype(np.float32)
        w = {"none": None, "batch": rng.random(shape[0]).astype(np.float32), "scalar": np.float32(0.3),
             "column": rng.random((shape[0], 1)).astype(np.float32)}[weights]
        ours.update_state(y, x, w)
        theirs.update_state(tf.constant(y), tf.constant(x), None if w is None else tf.constant(w))
        np.testing.assert_allclose(float(ours.result()), float(theirs.result().numpy()), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weights, shape", CASES)
def test_keras_metric_class_equals_tf_keras(from_logits, label_smoothing, weights, shape):
    # the Keras form, fastbce.tf_keras.metrics.BinaryCrossentropy: a tf_keras Metric fed tensors
    import fastbce.tf_keras

    rng = np.random.default_rng(len(shape) * 10 + shape[-1] + 3 * len(weights) + int(from_logits))
    ours = fastbce.tf_keras.metrics.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    theirs = tf_keras.metrics.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    assert isinstance(ours, tf_keras.metrics.Metric)
    for _ in range(4):
        y = (rng.random(shape) < 0.5).astype(np.float32)
        x = (rng.normal(0, 3, shape) if from_logits else rng.random(shape)).astype(np.float32)
        w = {"none": None, "batch": rng.random(shape[0]).astype(np.float32), "scalar": np.float32(0.3),
             "column": rng.random((shape[0], 1)).astype(np.float32)}[weights]
        args = (tf.constant(y), tf.constant(x), None if w is None else tf.constant(w))
        ours.update_state(*args)
        theirs.update_state(*args)
        np.testing.assert_allclose(ours.result().numpy(), theirs.result().numpy(), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    again = type(ours).from_config(theirs.get_config())
    assert again.get_config() == ours.get_config()
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_keras_metric_class_in_tf_function_and_pos_weight():
    import fastbce.tf_keras

    rng = np.random.default_rng(5)
    y = (rng.random((32, 3)) < 0.5).astype(np.float32)
    x = rng.random((32, 3)).astype(np.float32)
    metric = fastbce.tf_keras.metrics.BinaryCrossentropy(pos_weight=[1.0, 2.0, 0.5])


    @tf.function
    def update(y_true, y_pred):
        metric.update_state(y_true, y_pred)

    update(tf.constant(y), tf.constant(x))
    # the float64 reference: the per-sample means over the row's outputs, then the mean over samples
    p = np.clip(x.astype(np.float64), 1e-7, 1 - 1e-7)
    per_sample = -(np.array([1.0, 2.0, 0.5]) * y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7)).mean(-1)
    np.testing.assert_allclose(metric.result().numpy(), per_sample.mean(), rtol=1e-6)
    assert metric.get_config()["pos_weight"] == (1.0, 2.0, 0.5)
