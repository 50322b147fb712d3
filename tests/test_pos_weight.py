"""pos_weight (torch BCEWithLogitsLoss semantics): vs the float64 reference on every ISA, every reduction and
sample-weight form, the chunked path's blocks, torch itself where installed, configs and errors."""
import numpy as np
import pytest

import fastbce

import reference

B = fastbce.BinaryCrossentropy
RTOL = {np.float32: 2e-6, np.float64: 1e-13}


def _data(shape, from_logits, labels, dtype, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < 0.4).astype(dtype) if labels == "hard" else rng.random(shape).astype(dtype)
    x = (rng.normal(0, 4, shape) if from_logits else rng.random(shape)).astype(dtype)
    return y, x


def _weights(kind, shape, axis, dtype, rng):
    """(sample_weight as passed, the same broadcast to the per-sample loss, the sum as given)."""
    loss_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    if kind is None:
        return None, None, None
    if kind == "scalar":
        return 0.75, np.float32(0.75) if dtype == np.float32 else 0.75, float(np.asarray(0.75, dtype))
    w = rng.random(shape[0]).astype(dtype) + dtype(0.25)  # [batch]
    return w, w.reshape((-1,) + (1,) * (len(loss_shape) - 1)), float(np.sum(w, dtype=np.float64))


@pytest.mark.usefixtures("each_isa")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("labels", ["hard", "soft"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape, axis, pos_weight", [
    ((300, 1), -1, 3.0),                       # a binary classifier's [n, 1] output, one pos weight
    ((3000, 1), -1, 0.25),                     # long enough for the summed path's unrolled groups
    ((64, 16), -1, "per-class"),               # multi-label rows: one weight per output
    ((40, 5), -1, "per-class"),                # rows shorter than a vector
    ((9, 70), -1, "per-class"),                # rows of several vectors
    ((6, 5, 4), 1, "per-class"),               # strided: the last axis is an inner axis
    ((5, 3), 0, "per-class"),
    ((37,), -1, "per-class"),                  # 1-D: one sample of 37 outputs
])
@pytest.mark.parametrize("reduction, weight_kind", [
    ("none", None), ("sum", None), ("auto", None), ("sum", "scalar"), ("none", "batch"), ("auto", "batch"),
    ("mean_with_sample_weight", "batch"), ("mean_with_sample_weight", "scalar"),
])
def test_pos_weight_matches_the_reference(dtype, from_logits, labels, label_smoothing, shape, axis, pos_weight,
                                          reduction, weight_kind):
    if weight_kind == "batch" and (len(shape) == 1 or axis % len(shape) == 0):
        return  # a [batch] weight needs a batch axis in the per-sample loss
    rng = np.random.default_rng(1)
    y, x = _data(shape, from_logits, labels, dtype)
    pw = rng.uniform(0.1, 5.0, shape[-1]) if pos_weight == "per-class" else pos_weight
    sw, sw_ref, sw_sum = _weights(weight_kind, shape, axis, dtype, rng)
    got = B(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis, reduction=reduction,
            pos_weight=pw)(y, x, sample_weight=sw)
    want = reference.loss(y, x, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis, weight=sw_ref,
                          reduction=reduction, dtype=dtype, pos_weight=pw, weight_sum=sw_sum)
    assert np.asarray(got).dtype == dtype
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=RTOL[dtype], atol=1e-30)


@pytest.mark.usefixtures("each_isa")
@pytest.mark.parametrize("from_logits", [False, True])
def test_pos_weight_specials_follow_the_formula(from_logits):
    inf, nan = np.inf, np.nan
    y = np.array([[1, 0, 1, 0, nan, 1, 0.5, 1]], np.float32)
    x = np.array([[inf, inf, -inf, -inf, 0.3, nan, 0.4, 0.0]], np.float32) if from_logits else \
        np.array([[1.0, 1.0, 0.0, 0.0, 0.3, nan, 0.4, 1e-9]], np.float32)
    pw = np.array([2.0, 3.0, 0.5, 4.0, 1.5, 2.5, 3.5, 0.0])
    got = fastbce.binary_crossentropy(y, x, from_logits=from_logits, pos_weight=pw, axis=0)
    want = reference.elementwise(y, x, from_logits=from_logits, pos_weight=pw)[0]
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-6)
    assert np.array_equal(np.isnan(np.asarray(got)), np.isnan(want))
    if from_logits:  # the limits: label 1 at +inf and label 0 at -inf cost 0; the others inf
        assert list(np.asarray(got)[:4]) == [0.0, inf, inf, 0.0]


def test_pos_weight_of_one_changes_no_bit(rng):
    for from_logits in (False, True):
        y = (rng.random((500, 16)) < 0.5).astype(np.float32)
        x = (rng.normal(0, 3, (500, 16)) if from_logits else rng.random((500, 16))).astype(np.float32)
        for reduction in ("none", "sum"):
            plain = B(from_logits=from_logits, reduction=reduction)(y, x)
            ones = B(from_logits=from_logits, reduction=reduction, pos_weight=np.ones(16))(y, x)
            assert np.asarray(plain).tobytes() == np.asarray(ones).tobytes()


@pytest.mark.usefixtures("each_isa", "small_chunk")
@pytest.mark.parametrize("shape, axis", [((4, 9), -1), ((4, 9), 0), ((3, 5, 6), 1), ((2, 4, 3, 5), 2),
                                         ((2, 70, 3), 1), ((3, 50), -1)])
@pytest.mark.parametrize("from_logits", [False, True])
def test_pos_weight_on_the_chunked_path(shape, axis, from_logits):
    # strided, float64 labels with float32 predictions: every block goes through the chunked path, whose
    # blocks start inside the last axis (pos weights of the classes each block holds)
    rng = np.random.default_rng(3)
    y, x = _data(shape, from_logits, "soft", np.float32, seed=4)
    pw = rng.uniform(0.1, 5.0, shape[-1])
    y_strided = np.repeat(y.astype(np.float64), 2, axis=-1)[..., ::2]
    for reduction in ("none", "sum"):
        got = B(from_logits=from_logits, axis=axis, reduction=reduction, pos_weight=pw)(y_strided, x)
        want = reference.loss(y, x, from_logits=from_logits, axis=axis, reduction=reduction, pos_weight=pw)
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=5e-6)


def test_pos_weight_config_round_trip_and_tf_keras_configs():
    for pw, stored in [(2.5, 2.5), ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), (np.array([0.5, 4.0]), [0.5, 4.0])]:
        bce = B(from_logits=True, pos_weight=pw)
        config = bce.get_config()
        assert config["pos_weight"] == stored
        again = B.from_config(config)
        assert again.get_config() == config
        y, x = _data((8, len(stored) if isinstance(stored, list) else 1), True, "hard", np.float32)
        assert np.asarray(again(y, x)).tobytes() == np.asarray(bce(y, x)).tobytes()
    assert "pos_weight" not in B().get_config()  # a tf_keras config stays one
    assert B.from_config({"reduction": "auto", "name": "b", "from_logits": False, "label_smoothing": 0.0,
                          "axis": -1, "fn": "binary_crossentropy"}).pos_weight is None


@pytest.mark.parametrize("bad, error, match", [
    ("x", TypeError, "pos_weight must be a number"),
    ([[1.0, 2.0]], ValueError, r"scalar or a non-empty 1-D array .* shape \(1, 2\)"),
    ([], ValueError, "non-empty"),
    ([1.0, np.nan], ValueError, "finite"),
    ([1 + 2j], TypeError, "complex"),
])
def test_bad_pos_weight_is_refused_at_construction(bad, error, match):
    with pytest.raises(error, match=match):
        B(pos_weight=bad)


def test_pos_weight_length_must_match_the_classes():
    bce = B(pos_weight=[1.0, 2.0, 3.0])
    y = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"pos_weight has 3 values but y_pred of shape \(4, 5\) has 5 classes"):
        bce(y, y + 0.5)
    with pytest.raises(ValueError, match="3 values"):  # [B] labels with [B, 1] predictions: one class
        bce(np.zeros(4), np.full((4, 1), 0.5))
    assert float(bce(y[:, :3], y[:, :3] + 0.5)) > 0


def test_pos_weight_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    y = (rng.random((256, 8)) < 0.3).astype(np.float64)
    x = rng.normal(0, 3, (256, 8))
    pw = rng.uniform(0.2, 6.0, 8)
    want = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))(torch.tensor(x), torch.tensor(y)).item()
    got = B(from_logits=True, pos_weight=pw)(y, x)
    assert float(got) == pytest.approx(want, rel=1e-12)
    want_none = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw), reduction="none")(
        torch.tensor(x), torch.tensor(y)).numpy().mean(axis=-1)
    np.testing.assert_allclose(B(from_logits=True, pos_weight=pw, reduction="none")(y, x), want_none, rtol=1e-12)
    # probabilities away from 0 and 1, where BCELoss's log clamp and tf's clip do nothing
    p = rng.uniform(0.01, 0.99, (256, 8))
    want_p = torch.nn.BCELoss()(torch.tensor(p), torch.tensor(y)).item()
    assert float(B()(y, p)) == pytest.approx(want_p, rel=1e-6)  # eps = 1e-7 inside the logs
