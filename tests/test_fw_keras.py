"""fastbce's Keras losses in training: tf_keras 2.x and Keras 3 on its TensorFlow, JAX and torch backends.

Each Keras runs in its own process (``tests/keras_fit_worker.py``; Keras 3's backend is fixed by
KERAS_BACKEND at import), all started at once. In each, small Dense models (a sigmoid output and a logits
output) are fitted from the same initial weights on the same batches, once with fastbce's loss and once with
Keras's own ``BinaryCrossentropy``: the per-epoch histories (loss, validation loss, the loss as a metric)
are equal at rtol 1e-5 -- unweighted, with ``sample_weight``, with ``class_weight``, with
``validation_data``, eagerly, and with the seed's plain ``fastbce.BinaryCrossentropy()`` object given to
``compile``. A model saved with fastbce's Loss class loads with it.

The JAX and torch backends need ``fastbce._frameworks.jax`` / ``.torch``; they are skipped where those
modules (or the frameworks) are missing.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

WORKER = Path(__file__).with_name("keras_fit_worker.py")
# flavour -> (worker argument, KERAS_BACKEND, packages it needs, fastbce's module for its tensors)
FLAVORS = {
    "tf_keras": ("tf_keras", None, ("tensorflow", "tf_keras"), "tensorflow"),
    "keras-tensorflow": ("keras", "tensorflow", ("keras", "tensorflow"), "tensorflow"),
    "keras-jax": ("keras", "jax", ("keras", "jax"), "jax"),
    "keras-torch": ("keras", "torch", ("keras", "torch"), "torch"),
}
FIT_CASES = [
    "sigmoid-unweighted-validation-metric",
    "sigmoid-sample_weight",
    "sigmoid-class_weight-smoothing",
    "logits-unweighted-validation-metric",
    "logits-sample_weight-smoothing",
    "sigmoid-eager-sample_weight",
    "plain-object-unweighted",
    "plain-object-sample_weight-validation",
    "plain-object-logits-class_weight",
    "metric-class-sigmoid-sample_weight-validation",
    "metric-class-logits-smoothing-class_weight",
]


def _missing(flavor):
    _, _, packages, module = FLAVORS[flavor]
    for name in packages:
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed"
    if importlib.util.find_spec(f"fastbce._frameworks.{module}") is None:
        return f"fastbce._frameworks.{module} does not exist yet"
    return None


@pytest.fixture(scope="module", autouse=True)
def workers(tmp_path_factory):
    """The workers of every available flavour, started with the module's first test and running at once
    (the in-process tests run meanwhile); stopped at the module's end if still running."""
    out_dir = tmp_path_factory.mktemp("keras_fits")
    running = {}
    for flavor, (arg, backend, _, _) in FLAVORS.items():
        if _missing(flavor) is not None:
            continue
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        if backend is not None:
            env["KERAS_BACKEND"] = backend
        out = out_dir / f"{flavor}.json"
        with open(out_dir / f"{flavor}.log", "w") as log:  # a file, not a pipe: a chatty worker never blocks
            proc = subprocess.Popen([sys.executable, str(WORKER), arg, str(out)], env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        running[flavor] = (proc, out)
    yield running
    for proc, _ in running.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def worker_results(workers):
    """flavour -> the worker's results."""
    results = {}
    for flavor, (proc, out) in workers.items():
        proc.wait(timeout=900)
        log = out.with_suffix(".log").read_text()
        results[flavor] = json.loads(out.read_text()) if proc.returncode == 0 and out.exists() else {
            "worker failed": f"exit {proc.returncode}:\n{log[-4000:]}"}
    return results


# --------------------------------------------------------------------------- in this process, while the workers run
def test_importing_fastbce_imports_no_keras():
    code = ("import sys, fastbce\n"
            "assert not {'keras', 'tf_keras', 'tensorflow'} & set(sys.modules), 'imported by fastbce'\n"
            "assert fastbce.tf_keras.BinaryCrossentropy.__module__ == 'fastbce.tf_keras'\n"
            "assert 'tf_keras' in sys.modules\n")
    if _missing("tf_keras") is not None:
        pytest.skip(_missing("tf_keras"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _tf_and_losses(flavor):
    missing = _missing(flavor)
    if missing is not None:
        pytest.skip(missing)
    if flavor != "tf_keras" and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        pytest.skip("this process's Keras 3 backend is not TensorFlow")
    import tensorflow as tf

    if flavor == "tf_keras":
        import tf_keras as keras

        import fastbce.tf_keras as ours
    else:
        import keras

        import fastbce.keras as ours
    return tf, keras, ours


TF_KERAS_REDUCTIONS = ["auto", "none", "sum", "sum_over_batch_size"]
KERAS3_REDUCTIONS = ["sum_over_batch_size", "none", "sum", "mean", "mean_with_sample_weight"]


@pytest.mark.parametrize("flavor, reduction", [("tf_keras", r) for r in TF_KERAS_REDUCTIONS]
                         + [("keras-tensorflow", r) for r in KERAS3_REDUCTIONS])
def test_loss_class_value_and_gradient(flavor, reduction):
    """The Loss class called directly, with a [batch] weight, against Keras's own (logits: the same formula in
    tf_keras and Keras 3)."""
    tf, keras, ours = _tf_and_losses(flavor)
    rng = np.random.default_rng(1)
    y = (rng.random((8, 3)) < 0.5).astype(np.float32)
    x = rng.normal(0, 2, (8, 3)).astype(np.float32)
    w = rng.uniform(0.2, 2.0, 8).astype(np.float32)
    kwargs = {"from_logits": True, "label_smoothing": 0.1, "reduction": reduction}

    def run(loss_obj):
        yp = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(yp)
            loss = loss_obj(tf.constant(y), yp, sample_weight=tf.constant(w))
            target = tf.reduce_sum(loss * tf.range(1.0, 1.0 + tf.cast(tf.size(loss), tf.float32)))
        return loss.numpy(), tape.gradient(target, yp).numpy()

    got, expected = run(ours.BinaryCrossentropy(**kwargs)), run(keras.losses.BinaryCrossentropy(**kwargs))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("flavor", ["tf_keras", "keras-tensorflow"])
def test_dtype_argument(flavor):
    """float64 computation of float32 inputs: tf_keras's class has no dtype argument, so the reference is its
    loss of float64 inputs; Keras 3's converts the inputs to its dtype."""
    tf, keras, ours = _tf_and_losses(flavor)
    rng = np.random.default_rng(2)
    y = (rng.random((8, 3)) < 0.5).astype(np.float32)
    x = rng.normal(0, 2, (8, 3)).astype(np.float32)
    got = ours.BinaryCrossentropy(from_logits=True, dtype="float64")(tf.constant(y), tf.constant(x))
    if flavor == "tf_keras":
        expected = keras.losses.BinaryCrossentropy(from_logits=True)(tf.constant(y, tf.float64),
                                                                     tf.constant(x, tf.float64))
    else:
        expected = keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")(tf.constant(y), tf.constant(x))
    assert got.dtype == expected.dtype == tf.float64
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("flavor", ["tf_keras", "keras-tensorflow"])
def test_config(flavor):
    """The config has fastbce.BinaryCrossentropy's keys; Keras's own config and fastbce's load."""
    import fastbce

    _, keras, ours = _tf_and_losses(flavor)
    default = "auto" if flavor == "tf_keras" else "sum_over_batch_size"
    loss = ours.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, axis=-1, name="bce", pos_weight=[1.0, 3.0])
    config = loss.get_config()
    expected = fastbce.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, name="bce",
                                          pos_weight=[1.0, 3.0], reduction=default).get_config()
    assert config == expected
    again = ours.BinaryCrossentropy.from_config(config)
    assert again.get_config() == config and again.pos_weight == (1.0, 3.0)
    theirs = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, name="bce").get_config()
    from_theirs = ours.BinaryCrossentropy.from_config(theirs)
    assert (from_theirs.from_logits, from_theirs.label_smoothing, from_theirs.name, from_theirs.reduction) == (
        True, 0.2, "bce", theirs["reduction"])
    assert ours.BinaryCrossentropy.from_config(fastbce.BinaryCrossentropy().get_config()).reduction == default
    with pytest.raises(ValueError, match="not 'binary_crossentropy'"):
        ours.BinaryCrossentropy.from_config(dict(config, fn="mean_squared_error"))
    assert keras.saving.get_registered_name(ours.BinaryCrossentropy) == "fastbce>BinaryCrossentropy"


# --------------------------------------------------------------------------- the workers' fits
def _result(worker_results, flavor, case):
    missing = _missing(flavor)
    if missing is not None:
        pytest.skip(missing)
    results = worker_results[flavor]
    assert "worker failed" not in results, results.get("worker failed")
    result = results[case]
    assert "failure" not in result, result.get("failure")
    return result


@pytest.mark.parametrize("case", FIT_CASES)
@pytest.mark.parametrize("flavor", list(FLAVORS))
def test_fit_history_equals_keras(worker_results, flavor, case):
    result = _result(worker_results, flavor, case)
    ours, theirs = result["ours"], result["keras"]
    assert sorted(ours) == sorted(theirs)
    assert "loss" in theirs and all(len(v) == 3 for v in theirs.values())
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)
    assert ours["loss"][-1] < ours["loss"][0]  # it trains


@pytest.mark.parametrize("flavor", list(FLAVORS))
def test_plain_object_with_another_reduction_refuses_weights(worker_results, flavor):
    result = _result(worker_results, flavor, "plain-object-sum-weighted")
    module = "fastbce.tf_keras" if flavor == "tf_keras" else "fastbce.keras"
    assert result["error"] is not None, "a weighted fit with reduction='sum' through the plain object trained"
    assert f"Use {module}.BinaryCrossentropy" in result["error"]
    assert "fastbce.BinaryCrossentropy(reduction='sum') was given to Keras as a plain loss function" in result["error"]


@pytest.mark.parametrize("flavor", list(FLAVORS))
def test_save_and_load_model(worker_results, flavor):
    result = _result(worker_results, flavor, "save-load")
    module = "fastbce.tf_keras" if flavor == "tf_keras" else "fastbce.keras"
    assert result["loaded_type"] == f"{module}.BinaryCrossentropy"
    assert result["loaded_config"] == result["config"]
    assert result["config"]["pos_weight"] == 2.0 and result["config"]["label_smoothing"] == 0.1
    assert set(result["evaluate"]) == {"loss", "m"} and result["loaded_evaluate"].keys() == result["evaluate"].keys()
    for key, value in result["evaluate"].items():
        np.testing.assert_allclose(result["loaded_evaluate"][key], value, rtol=1e-6, err_msg=key)
    # the metric class: its config and Keras's serialization round trip
    assert result["metric_config"] == {"name": "m", "dtype": "float32", "from_logits": False, "label_smoothing": 0.1,
                                       "pos_weight": 2.0}
    assert result["metric_round_trip"] == {"type": f"{module}.metrics.BinaryCrossentropy",
                                           "config": result["metric_config"]}
