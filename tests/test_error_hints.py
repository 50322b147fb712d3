"""Error hints (issue 12, point 3): the mistakes users coming from torch and scikit-learn make get an error that
says what happened and what to do, naming the shapes. The semantics stay tf_keras's (1-D inputs are one sample)."""
import numpy as np
import pytest

import fastbce
from fastbce import BinaryCrossentropy as B

LABELS = [0.0, 1.0, 1.0, 0.0]
PROBS = [0.1, 0.9, 0.8, 0.2]


# ----------------------------------------------------------------------------- 1-D inputs are one sample
@pytest.mark.parametrize("reduction", ["none", "sum", "auto", "sum_over_batch_size"])
def test_1d_inputs_are_one_sample_whatever_the_reduction(reduction):
    """The semantics the hint explains: [0, 1, 1, 0] is one sample of 4 outputs (tf_keras), so `none` and `sum`
    give the mean over the 4, one value -- not 4 losses as torch's BCELoss(reduction="none") would."""
    got = B(reduction=reduction)(LABELS, PROBS)
    mean = B()(LABELS, PROBS)
    assert np.shape(got) == () and got == mean
    per_sample = B(reduction="none")(np.array(LABELS)[:, None], np.array(PROBS)[:, None])
    assert per_sample.shape == (4,) and np.isclose(per_sample.mean(), mean, rtol=1e-6)


@pytest.mark.parametrize("yt,yp", [
    (LABELS, PROBS),                                             # lists
    (np.array(LABELS, np.float32), np.array(PROBS, np.float32)),  # float32 arrays
    (np.array(LABELS), np.array(PROBS)[::-1].copy()),             # float64
])
@pytest.mark.parametrize("weight", [[1.0, 2.0, 3.0, 4.0], np.ones(4, np.float32), np.ones((4, 1))])
def test_per_sample_weight_on_1d_inputs_says_they_are_one_sample(yt, yp, weight):
    with pytest.raises(ValueError) as ei:
        B()(yt, yp, sample_weight=weight)
    msg = str(ei.value)
    assert f"sample_weight of shape {np.shape(weight)}" in msg and "per-sample loss of shape ()" in msg
    assert "y_true (4,) and y_pred (4,) are 1-D" in msg
    assert "one sample of 4 outputs" in msg and "tf_keras" in msg
    assert "reshape both to (4, 1)" in msg
    # and the advice works: one prediction per sample, weighted
    w = np.asarray(weight).reshape(-1)
    got = B(reduction="none")(np.asarray(yt)[:, None], np.asarray(yp)[:, None], sample_weight=w)
    assert got.shape == (4,)


def test_per_sample_weight_after_a_squeeze_names_both_shapes():
    # y_true [4] with y_pred [4, 1] squeezes to 1-D: still one sample
    with pytest.raises(ValueError) as ei:
        B()(np.array(LABELS), np.array(PROBS)[:, None], sample_weight=np.ones(4))
    msg = str(ei.value)
    assert "y_true (4,) and y_pred (4, 1) are 1-D (after squeezing the trailing axis of size 1)" in msg
    assert "one sample of 4 outputs" in msg and "reshape both to (4, 1)" in msg


@pytest.mark.parametrize("weight_shape", [(3,), (3, 2), (4,)])
def test_other_bad_weights_get_no_1d_hint(weight_shape):
    # a [2, 3] per-sample loss: the weight does not fit, but the inputs are not 1-D
    with pytest.raises(ValueError) as ei:
        B()(np.zeros((2, 3, 5)), np.full((2, 3, 5), 0.5), sample_weight=np.ones(weight_shape))
    msg = str(ei.value)
    assert f"sample_weight of shape {weight_shape}" in msg and "per-sample loss of shape (2, 3)" in msg
    assert "one sample of" not in msg and "1-D inputs" not in msg


def test_scalar_and_one_element_weights_still_work_on_1d_inputs():
    assert B()(LABELS, PROBS, sample_weight=2.0) == pytest.approx(2 * float(B()(LABELS, PROBS)), rel=1e-6)
    assert B()(LABELS, PROBS, sample_weight=[2.0]) == B()(LABELS, PROBS, sample_weight=2.0)


# ----------------------------------------------------------------------------- two columns (predict_proba)
@pytest.mark.parametrize("yt_shape", [(5,), (5, 1)])
def test_two_columns_of_probabilities_suggest_the_second_column(yt_shape):
    rng = np.random.default_rng(0)
    p1 = rng.random(5)
    proba = np.stack([1 - p1, p1], axis=1)  # what scikit-learn's predict_proba returns
    yt = (rng.random(yt_shape) < 0.5).astype(np.float64)
    for call in (lambda: B()(yt, proba), lambda: fastbce.binary_crossentropy(yt, proba)):
        with pytest.raises(ValueError) as ei:
            call()
        msg = str(ei.value)
        assert f"y_true {yt_shape}" in msg and "y_pred (5, 2)" in msg
        assert "predict_proba" in msg and "pass y_pred[:, 1], the probability of class 1" in msg
    # the advice works
    assert B()(yt, proba[:, 1]) == B()(yt.reshape(5), p1)


def test_two_logits_suggest_their_difference():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 2))
    yt = (rng.random(6) < 0.5).astype(np.float64)
    with pytest.raises(ValueError) as ei:
        B(from_logits=True)(yt, logits)
    msg = str(ei.value)
    assert "y_true (6,)" in msg and "y_pred (6, 2)" in msg
    assert "one logit per class" in msg and "y_pred[:, 1] - y_pred[:, 0]" in msg
    # the advice is right: a softmax over two logits is the sigmoid of their difference
    diff = logits[:, 1] - logits[:, 0]
    p1 = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    assert B(from_logits=True)(yt, diff) == pytest.approx(float(B()(yt, p1)), rel=1e-6)


def test_two_columns_in_higher_ranks_use_an_ellipsis():
    with pytest.raises(ValueError) as ei:
        B()(np.zeros((2, 3)), np.full((2, 3, 2), 0.5))
    msg = str(ei.value)
    assert "y_true (2, 3)" in msg and "y_pred (2, 3, 2)" in msg and "y_pred[..., 1]" in msg


@pytest.mark.parametrize("yt_shape,yp_shape", [((5,), (5, 3)), ((5,), (4, 2)), ((5, 2), (5, 2, 3)),
                                               ((5, 3), (5, 2)), ((2,), (2, 2, 2))])
def test_other_mismatches_get_no_two_class_hint(yt_shape, yp_shape):
    with pytest.raises(ValueError) as ei:
        B()(np.zeros(yt_shape), np.full(yp_shape, 0.5))
    msg = str(ei.value)
    assert str(yt_shape) in msg and str(yp_shape) in msg
    assert "predict_proba" not in msg and "logit" not in msg


# ----------------------------------------------------------------------------- None
@pytest.mark.parametrize("where", ["y_true", "y_pred"])
@pytest.mark.parametrize("good", [[[0.0, 1.0]], np.array([[0.0, 1.0]], np.float32)], ids=["list", "ndarray"])
def test_none_input_is_a_type_error_saying_so(where, good):
    args = {"y_true": good, "y_pred": good}
    args[where] = None
    for call in (lambda: B()(**args), lambda: B(reduction="none")(**args), lambda: B().call(**args),
                 lambda: fastbce.binary_crossentropy(**args)):
        with pytest.raises(TypeError) as ei:
            call()
        msg = str(ei.value)
        assert msg.startswith(f"{where} is None") and "object" not in msg


def test_both_none_names_y_pred_first():
    with pytest.raises(TypeError, match="^y_pred is None"):
        B()(None, None)


def test_none_sample_weight_is_no_weight():
    assert B()([[0.0, 1.0]], [[0.3, 0.6]], sample_weight=None) == B()([[0.0, 1.0]], [[0.3, 0.6]])


# ------------------------------------------------------------- options (the runtime side of the typing misuses)
@pytest.mark.parametrize("bad", ["yes", 1, None, 0.0, "True"])
def test_from_logits_that_is_not_a_bool_is_a_type_error_everywhere(bad):
    for make in (lambda: B(from_logits=bad),
                 lambda: fastbce.binary_crossentropy([[0.0]], [[0.5]], from_logits=bad),
                 lambda: B.from_config({**B().get_config(), "from_logits": bad})):
        with pytest.raises(TypeError) as ei:
            make()
        assert str(ei.value) == f"from_logits must be True or False, got {bad!r}"


def test_label_smoothing_string_is_a_type_error():
    with pytest.raises(TypeError, match=r"label_smoothing must be a number in \[0, 1\], got 'x'"):
        B(label_smoothing="x")


@pytest.mark.parametrize("bad", [3, "average", "SUM", b"sum"])
def test_bad_reduction_names_the_key_and_the_valid_ones(bad):
    with pytest.raises(ValueError) as ei:
        B(reduction=bad)
    msg = str(ei.value)
    assert msg.startswith(f"Invalid Reduction Key: {bad}.") and "'sum_over_batch_size'" in msg
