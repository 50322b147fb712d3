"""The loss spec's contract: the C++ fast path and the general path give the same bits; Keras 3's reduction
names behave as Keras 3's reduce_weighted_values does; configs of both Keras generations load."""
import itertools

import numpy as np
import pytest

import fastbce
from fastbce import _inputs
from fastbce._spec import LossSpec, Reduction

import reference

B = fastbce.BinaryCrossentropy
REDUCTIONS = ["none", "sum", "auto", "sum_over_batch_size", "mean", "mean_with_sample_weight", None]


@pytest.mark.usefixtures("each_isa")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4,), (1, 1), (300, 1), (5000, 1), (64, 16), (3, 1000), (7, 3, 5)])
def test_fast_path_and_general_path_give_the_same_bits(dtype, shape):
    rng = np.random.default_rng(11)
    hard = (rng.random(shape) < 0.5).astype(dtype)
    soft = rng.random(shape).astype(dtype)
    probs = rng.random(shape).astype(dtype)
    logits = rng.normal(0, 4, shape).astype(dtype)
    weights = [None, 0.7]
    if len(shape) >= 2 and shape[0] > 1:
        weights.append(rng.random(shape[0]).astype(dtype))
    pos_weights = [None, 2.5, rng.uniform(0.5, 3, shape[-1])]
    for y, (from_logits, x), ls, pw, reduction, w in itertools.product(
            [hard, soft], [(False, probs), (True, logits)], [0.0, 0.1], pos_weights, REDUCTIONS, weights):
        spec = LossSpec.build(from_logits=from_logits, label_smoothing=ls, pos_weight=pw, reduction=reduction)
        fast = fastbce._core.fast_call(y, x, w, spec)
        assert fast is not None, "these inputs are the fast path's"
        general = _inputs._general(y, x, w, spec)
        assert type(fast) is type(general)
        assert np.asarray(fast).tobytes() == np.asarray(general).tobytes(), (from_logits, ls, pw, reduction, w)


@pytest.mark.usefixtures("each_isa")
@pytest.mark.parametrize("shape, weight_shape", [((6, 4), None), ((6, 4), ()), ((6, 4), (6,)), ((6, 4), (6, 1)),
                                                 ((5, 3, 4), (5,)), ((5, 3, 4), (5, 3)), ((8,), ()), ((0, 3), (0,))])
def test_keras3_reductions_match_the_reference(shape, weight_shape):
    rng = np.random.default_rng(2)
    y = (rng.random(shape) < 0.5).astype(np.float32)
    x = rng.random(shape).astype(np.float32)
    w = None if weight_shape is None else rng.uniform(0.1, 2.0, weight_shape).astype(np.float32)
    loss_shape = shape[:-1]
    w_ref = w
    if w is not None and w.ndim == len(loss_shape) + 1:
        w_ref = w[..., 0]  # tf_keras's rule: a trailing axis of 1 is removed
    elif w is not None and 0 < w.ndim < len(loss_shape):
        w_ref = w.reshape(w.shape + (1,) * (len(loss_shape) - w.ndim))  # a [batch] weight rescales each sample
    for reduction in ("mean", "mean_with_sample_weight", None):
        got = B(reduction=reduction)(y, x, sample_weight=w)
        want = reference.loss(y, x, weight=w_ref, reduction="none" if reduction is None else reduction,
                              weight_sum=None if w is None else float(np.sum(w, dtype=np.float64)))
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-6)


def test_mean_with_sample_weight_is_zero_when_the_weights_sum_to_zero():
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    x = np.array([[0.2, 0.7], [0.4, 0.9]], np.float32)
    bce = B(reduction="mean_with_sample_weight")
    assert float(bce(y, x, sample_weight=np.array([1.0, -1.0], np.float32))) == 0.0  # divide_no_nan
    assert float(bce(y, x, sample_weight=0.0)) == 0.0
    # without weights it is the mean; with a scalar weight w, the sum of w * loss over w
    assert float(bce(y, x)) == float(B()(y, x))
    assert float(bce(y, x, sample_weight=2.0)) == pytest.approx(float(B(reduction="sum")(y, x)), rel=1e-7)


def test_keras3_configs_load_and_round_trip():
    keras3 = {"name": "binary_crossentropy", "reduction": "sum_over_batch_size",
              "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                        "registered_name": None},
              "from_logits": True, "label_smoothing": 0.1, "axis": -1}
    bce = B.from_config(keras3)
    assert (bce.from_logits, bce.label_smoothing, bce.reduction, bce.dtype) == (True, 0.1, "sum_over_batch_size",
                                                                                "float32")
    none = B.from_config({**keras3, "reduction": None, "dtype": "float64"})
    assert none.reduction is None and none.get_config()["reduction"] is None
    y = np.array([[1.0, 0.0]], np.float32)
    out = none(y, np.array([[0.5, 0.25]], np.float32))
    assert out.dtype == np.float64 and out.shape == (1,)  # dtype="float64" computes (and returns) float64
    assert B.from_config(bce.get_config()).get_config() == bce.get_config()


@pytest.mark.parametrize("bad", ["int32", "float8", {"config": {"name": "bfloat8"}}])
def test_bad_dtype_is_a_value_error(bad):
    with pytest.raises(ValueError, match="dtype must be None, 'float16', 'float32' or 'float64'"):
        B(dtype=bad)


@pytest.mark.parametrize("bad", ["yes", 1, None, 0.0])
def test_from_logits_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        B(from_logits=bad)


def test_spec_is_validated_once_and_immutable():
    spec = B(label_smoothing=0.2, reduction=Reduction.MEAN).spec
    assert spec == LossSpec.build(label_smoothing=0.2, reduction="mean")
    with pytest.raises(AttributeError):
        spec.label_smoothing = 0.3
    assert spec.replace(reduction="sum").reduction == "sum" and spec.reduction == "mean"


def test_keras3_itself_where_installed():
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3"):
        pytest.skip("Keras 2")
    rng = np.random.default_rng(8)
    y = (rng.random((6, 4)) < 0.5).astype(np.float32)
    x = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)  # away from the clip, where Keras 3's eps differs
    w = rng.uniform(0.1, 2.0, (6,)).astype(np.float32)
    for reduction in ("mean", "mean_with_sample_weight", "sum", None):
        want = np.asarray(keras.losses.BinaryCrossentropy(reduction=reduction)(y, x, sample_weight=w))
        got = np.asarray(B(reduction=reduction)(y, x, sample_weight=w))
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_spec_pickles():
    """A spec travels to other processes (Dask workers) as its options."""
    import pickle

    from fastbce._spec import LossSpec

    spec = LossSpec.build(from_logits=True, label_smoothing=0.2, pos_weight=[1.0, 2.5], axis=1,
                          reduction="mean_with_sample_weight", dtype="float64")
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and again.core[:3] == spec.core[:3] and again.dtype == spec.dtype
    np.testing.assert_array_equal(again.pos_weight_buffers[1], spec.pos_weight_buffers[1])
