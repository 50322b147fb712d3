"""Fits small Keras models with fastbce's loss and with Keras's own, in a fresh process (run by
tests/test_fw_keras.py; Keras 3's backend is chosen by KERAS_BACKEND before Keras is imported).

    python tests/keras_fit_worker.py tf_keras|keras OUT.json

Every case fits the same model twice from the same initial weights on the same batches (shuffle=False),
once with fastbce's loss and once with Keras's ``BinaryCrossentropy``, and records both per-epoch
histories; the test compares them. Nothing is asserted here: failures are recorded as strings.
"""
import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

FLAVOR = sys.argv[1]
OUT = sys.argv[2]
EPOCHS = 3
BATCH = 16

if FLAVOR == "tf_keras":
    import tf_keras as K

    import fastbce.tf_keras as ours_module
else:
    import keras as K

    import fastbce.keras as ours_module

import fastbce  # noqa: E402

K.utils.set_random_seed(7)
rng = np.random.default_rng(7)
X = rng.normal(size=(64, 4)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0], np.float32) + rng.normal(0, 1, 64) > 0).astype(np.float32)[:, None]
W = rng.uniform(0.2, 2.0, 64).astype(np.float32)
XV = rng.normal(size=(32, 4)).astype(np.float32)
YV = (XV[:, :1] > 0).astype(np.float32)
WV = rng.uniform(0.2, 2.0, 32).astype(np.float32)


def make_model(output):
    return K.Sequential([
        K.Input(shape=(4,)),
        K.layers.Dense(8, activation="tanh"),
        K.layers.Dense(1, activation="sigmoid" if output == "sigmoid" else None),
    ])


INITIAL = {out: make_model(out).get_weights() for out in ("sigmoid", "logits")}


def fit(output, loss, fit_kwargs, metrics=None, run_eagerly=False, weighted_metrics=()):
    model = make_model(output)
    model.set_weights(INITIAL[output])
    compile_kwargs = {"run_eagerly": run_eagerly}
    if FLAVOR != "tf_keras" and K.backend.backend() == "tensorflow":
        # TensorFlow's host call cannot be XLA-compiled (README); "auto" is off on CPU only. The other
        # backends keep their default (JAX: jit-compiled)
        compile_kwargs["jit_compile"] = False
    model.compile(K.optimizers.SGD(learning_rate=0.2), loss=loss, metrics=metrics,
                  weighted_metrics=list(weighted_metrics),
                  **compile_kwargs)
    history = model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, shuffle=False, verbose=0, **fit_kwargs)
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def pair(output, loss_kwargs, fit_kwargs, with_metric=False, run_eagerly=False, plain=False):
    """(fastbce's history, Keras's history) of the same fit."""
    ours = fastbce.BinaryCrossentropy(**loss_kwargs) if plain else ours_module.BinaryCrossentropy(**loss_kwargs)
    theirs = K.losses.BinaryCrossentropy(**loss_kwargs)
    m_ours = [ours_module.BinaryCrossentropy(**loss_kwargs)] if with_metric else None
    m_theirs = [K.losses.BinaryCrossentropy(**loss_kwargs)] if with_metric else None
    _, h_ours = fit(output, ours, fit_kwargs, m_ours, run_eagerly)
    _, h_theirs = fit(output, theirs, fit_kwargs, m_theirs, run_eagerly)
    return {"ours": h_ours, "keras": h_theirs}


def metric_pair(output, metric_kwargs, fit_kwargs):
    """(fastbce's history, Keras's history) of the same fit with Keras's loss, whose metrics are fastbce's
    metric class in one and Keras's in the other (unweighted and, as "weighted_bce", weighted)."""
    histories = {}
    for who, cls in (("ours", ours_module.metrics.BinaryCrossentropy), ("keras", K.metrics.BinaryCrossentropy)):
        loss = K.losses.BinaryCrossentropy(from_logits=metric_kwargs.get("from_logits", False))
        _, histories[who] = fit(output, loss, fit_kwargs, [cls(**metric_kwargs)],
                                weighted_metrics=[cls(name="weighted_bce", **metric_kwargs)])
    return histories


def case_save_load():
    """Fit with fastbce's Loss class, save, load: the loaded model's loss is fastbce's, same config, same
    evaluation."""
    loss = ours_module.BinaryCrossentropy(label_smoothing=0.1, pos_weight=2.0)
    metric = ours_module.metrics.BinaryCrossentropy(name="m", label_smoothing=0.1, pos_weight=2.0)
    model, _ = fit("sigmoid", loss, {}, weighted_metrics=[metric])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.keras")
        model.save(path)
        loaded = K.models.load_model(path)
    loaded_loss = loaded.loss
    return {
        "loaded_type": f"{type(loaded_loss).__module__}.{type(loaded_loss).__qualname__}",
        "config": loss.get_config(),
        "loaded_config": loaded_loss.get_config(),
        "evaluate": model.evaluate(X, Y, sample_weight=W, verbose=0, batch_size=BATCH, return_dict=True),
        "loaded_evaluate": loaded.evaluate(X, Y, sample_weight=W, verbose=0, batch_size=BATCH, return_dict=True),
        "metric_config": metric.get_config(),
        "metric_round_trip": _round_trip(metric),
    }


def _round_trip(obj):
    """The class and config of ``obj`` after Keras's serialization round trip."""
    again = K.saving.deserialize_keras_object(K.saving.serialize_keras_object(obj))
    return {"type": f"{type(again).__module__}.{type(again).__qualname__}", "config": again.get_config()}


def case_plain_sum_weighted():
    """The plain object with reduction='sum' in a weighted fit: Keras would scale the sum by the weights."""
    try:
        fit("sigmoid", fastbce.BinaryCrossentropy(reduction="sum"), {"sample_weight": W})
    except ValueError as e:
        return {"error": str(e)}
    return {"error": None}


CASES = {}
# "unweighted": the training batches; the validation data carry weights (val_loss is weighted, the metric not)
for out, from_logits in (("sigmoid", False), ("logits", True)):
    CASES[f"{out}-unweighted-validation-metric"] = lambda out=out, from_logits=from_logits: pair(
        out, {"from_logits": from_logits}, {"validation_data": (XV, YV, WV)}, with_metric=True)
CASES["sigmoid-sample_weight"] = lambda: pair("sigmoid", {}, {"sample_weight": W})
CASES["sigmoid-class_weight-smoothing"] = lambda: pair(
    "sigmoid", {"label_smoothing": 0.1}, {"class_weight": {0: 0.4, 1: 1.7}})
CASES["logits-sample_weight-smoothing"] = lambda: pair(
    "logits", {"from_logits": True, "label_smoothing": 0.1}, {"sample_weight": W})
CASES["sigmoid-eager-sample_weight"] = lambda: pair("sigmoid", {}, {"sample_weight": W}, run_eagerly=True)
CASES["plain-object-unweighted"] = lambda: pair("sigmoid", {}, {}, plain=True)
CASES["plain-object-sample_weight-validation"] = lambda: pair(
    "sigmoid", {}, {"sample_weight": W, "validation_data": (XV, YV, WV)}, plain=True)
CASES["plain-object-logits-class_weight"] = lambda: pair(
    "logits", {"from_logits": True}, {"class_weight": {0: 0.4, 1: 1.7}}, plain=True)
CASES["metric-class-sigmoid-sample_weight-validation"] = lambda: metric_pair(
    "sigmoid", {}, {"sample_weight": W, "validation_data": (XV, YV, WV)})
CASES["metric-class-logits-smoothing-class_weight"] = lambda: metric_pair(
    "logits", {"from_logits": True, "label_smoothing": 0.1}, {"class_weight": {0: 0.4, 1: 1.7}})
CASES["plain-object-sum-weighted"] = case_plain_sum_weighted
CASES["save-load"] = case_save_load

results = {}
for name, run in CASES.items():
    try:
        results[name] = run()
    except Exception:  # recorded for the test to show
        results[name] = {"failure": traceback.format_exc()}
with open(OUT, "w") as f:
    json.dump(results, f)
