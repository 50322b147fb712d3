"""fastbce.metrics.BinaryCrossentropy: the streaming weighted mean of the per-sample losses (tf_keras's metric),
against the float64 reference, across batch splits and merged partial states."""
import pickle

import numpy as np
import pytest

import fastbce
from fastbce.metrics import BinaryCrossentropy

import reference


def expected(y, x, w=None, **kw):
    """sum(w * per-sample loss) / sum(w broadcast to the per-sample losses), float64."""
    per = reference.per_sample(y, x, **kw)
    wb = np.ones_like(per) if w is None else np.broadcast_to(np.asarray(w, np.float64), per.shape)
    return float(np.sum(per * wb) / np.sum(wb))


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_any_split_equals_one_update(each_isa, rng, from_logits, weighted):
    n, c = 997, 3
    y = rng.integers(0, 2, (n, c)).astype(np.float32)
    x = (rng.normal(size=(n, c)) * 3 if from_logits else rng.random((n, c))).astype(np.float32)
    w = rng.random(n).astype(np.float32) if weighted else None
    whole = BinaryCrossentropy(from_logits=from_logits, dtype="float64")
    whole.update_state(y, x, w)
    for cuts in ([100, 101, 500], [1, 2, 3, 996], list(range(50, n, 50))):
        m = BinaryCrossentropy(from_logits=from_logits, dtype="float64")
        for part in np.split(np.arange(n), cuts):
            m.update_state(y[part], x[part], None if w is None else w[part])
        np.testing.assert_allclose(m.state, whole.state, rtol=1e-12)
        np.testing.assert_allclose(float(m.result()), float(whole.result()), rtol=1e-12)
    np.testing.assert_allclose(float(whole.result()), expected(y, x, w, from_logits=from_logits), rtol=1e-6)


def test_merge_state_equals_one_metric(rng):
    y = rng.integers(0, 2, (600, 1)).astype(np.float32)
    x = rng.random((600, 1)).astype(np.float32)
    w = rng.random(600).astype(np.float32)
    parts = []
    for idx in np.array_split(np.arange(600), 4):
        m = BinaryCrossentropy()
        m.update_state(y[idx], x[idx], w[idx])
        parts.append(pickle.loads(pickle.dumps(m.state)))  # as another process would send it
    merged = BinaryCrossentropy()
    merged.merge_state(BinaryCrossentropy.from_state(s) for s in parts)
    whole = BinaryCrossentropy()
    whole.update_state(y, x, w)
    np.testing.assert_allclose(merged.state, whole.state, rtol=1e-12)
    np.testing.assert_allclose(float(merged.result()), float(whole.result()), rtol=1e-7)
    with pytest.raises(ValueError, match="same options"):
        merged.merge_state([BinaryCrossentropy(from_logits=True)])


def test_one_dimensional_batches_are_samples(rng):
    """The issue's trap: ten 1-D batches. Each is one sample (tf_keras's rule), so the metric is the mean of the
    batch means -- for batches of one length, the mean over every element."""
    y = rng.integers(0, 2, (10, 100)).astype(np.float32)
    x = rng.random((10, 100)).astype(np.float32)
    m = BinaryCrossentropy(dtype="float64")
    for i in range(10):
        m.update_state(y[i], x[i])
    assert m.state[1] == 10.0
    np.testing.assert_allclose(float(m.result()), reference.elementwise(y, x).mean(), rtol=1e-6)


def test_weight_forms_counts(rng):
    y = rng.integers(0, 2, (8, 4)).astype(np.float32)
    x = rng.random((8, 4)).astype(np.float32)
    for w in (None, 0.5, rng.random(8), rng.random((8, 1))):
        m = BinaryCrossentropy(dtype="float64")
        m.update_state(y, x, w)
        wb = np.ones(8) if w is None else np.broadcast_to(np.asarray(w, np.float32).reshape(-1), (8,))
        np.testing.assert_allclose(m.state[1], wb.astype(np.float64).sum(), rtol=1e-7)
        np.testing.assert_allclose(float(m.result()), expected(y, x, None if w is None else
                                                               np.asarray(w).reshape(-1) * np.ones(8)), rtol=1e-6)


def test_reset_empty_and_errors(rng):
    m = BinaryCrossentropy()
    assert float(m.result()) == 0.0 and m.result().dtype == np.float32  # divide_no_nan before any update
    m.update_state([[1.0]], [[0.25]])
    before = m.state
    with pytest.raises(ValueError, match="incompatible shapes"):
        m.update_state([[1.0, 0.0]], [[0.5], [0.5], [0.5]])
    assert m.state == before  # a failed update changes nothing
    m.update_state([[0.0, 1.0]], [[0.5, 0.5]], sample_weight=0.0)
    assert m.state[1] == before[1]
    m.reset_state()
    assert m.state == (0.0, 0.0)
    with pytest.raises(ValueError, match="float16"):
        BinaryCrossentropy(dtype="float16")


def test_config_round_trip_and_tf_keras_config():
    m = BinaryCrossentropy(name="bce", from_logits=True, label_smoothing=0.1)
    assert m.get_config() == {"name": "bce", "dtype": "float32", "from_logits": True, "label_smoothing": 0.1}
    again = BinaryCrossentropy.from_config(m.get_config())
    assert again.get_config() == m.get_config()
    # tf_keras 2.21 prints this config for tf_keras.metrics.BinaryCrossentropy()
    tf_config = {"name": "binary_crossentropy", "dtype": "float32", "from_logits": False, "label_smoothing": 0}
    assert BinaryCrossentropy.from_config(tf_config).get_config() == tf_config


def test_call_updates_and_returns_result(rng):
    m = BinaryCrossentropy()
    y = rng.integers(0, 2, (5, 2)).astype(np.float32)
    x = rng.random((5, 2)).astype(np.float32)
    r = m(y, x)
    assert r == m.result() and m.state[1] == 5.0
    assert isinstance(fastbce.metrics.BinaryCrossentropy(), BinaryCrossentropy)
