"""Documented behaviour: docstring values, result types, NaN/inf, empty batches,
dtype and shape rules, sample weights and errors.

Values marked "tf_keras 2.21.0" were printed by tf_keras 2.21.0 / TensorFlow 2.21.0
with ``tf.constant`` inputs (eager), e.g.
``tf_keras.losses.BinaryCrossentropy(from_logits=True)(y_true, y_pred).numpy()``.
"""
import numpy as np
import pytest

import fastbce
from fastbce._results import LossArray, LossFloat16, LossFloat32, LossFloat64

import reference

pytestmark = pytest.mark.usefixtures("each_isa")

B = fastbce.BinaryCrossentropy
YT2 = [[0, 1], [0, 0]]
LOGITS2 = [[-18.6, 0.51], [2.94, -12.8]]


def assert_f32(got, expected, maxulp=2):
    """float32 result within ``maxulp`` float32 ulps of the tf_keras value."""
    got = np.asarray(got)
    assert got.dtype == np.float32
    np.testing.assert_array_max_ulp(got, np.asarray(expected, np.float32), maxulp=maxulp)


# ----------------------------------------------------------------------------- docs
def test_seed_example():
    # the seed (TF 2.x docs page): print('Loss: ', loss.numpy())  # Loss: 11.522857
    loss = B()([0., 0., 1., 1.], [1., 1., 1., 0.])
    assert_f32(loss, 11.522857)
    assert str(loss.numpy()) == "11.522857"


def test_docstring_example_1_logits():
    # tf_keras losses.py BinaryCrossentropy docstring, Example 1 (tf_keras 2.21.0: 0.865458)
    assert_f32(B(from_logits=True)([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]), 0.865458)


def test_docstring_example_2():
    # Example 2, tf_keras 2.21.0 values: 0.865458, 0.2436386, 1.730916, [0.23515666, 1.4957594]
    assert_f32(B(from_logits=True)(YT2, LOGITS2), 0.865458)
    assert_f32(B(from_logits=True)(YT2, LOGITS2, sample_weight=[0.8, 0.2]), 0.2436386)
    assert_f32(B(from_logits=True, reduction=fastbce.Reduction.SUM)(YT2, LOGITS2), 1.730916)
    none = B(from_logits=True, reduction=fastbce.Reduction.NONE)(YT2, LOGITS2)
    assert none.shape == (2,)
    assert_f32(none, [0.23515666, 1.4957594])


def test_docstring_default_usage_probabilities():
    # "Default Usage" y_pred = [0.6, 0.3, 0.2, 0.8] OR [[0.6, 0.3], [0.2, 0.8]]; tf_keras 2.21.0: 0.988211 both
    assert_f32(B()(YT2, [[0.6, 0.3], [0.2, 0.8]]), 0.988211)
    assert_f32(B()([0, 1, 0, 0], [0.6, 0.3, 0.2, 0.8]), 0.988211)


def test_functional_docstring():
    # tf_keras binary_crossentropy docstring: array([0.916 , 0.714]); tf_keras 2.21.0: [0.9162905, 0.71355796]
    loss = fastbce.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert loss.shape == (2,)
    assert_f32(loss, [0.9162905, 0.71355796])


# ----------------------------------------------------------------------------- result types
def test_scalar_result_is_a_numpy_float32():
    loss = B()([0., 0., 1., 1.], [1., 1., 1., 0.])
    assert isinstance(loss, np.float32) and isinstance(loss, LossFloat32)
    plain = loss.numpy()
    assert type(plain) is np.float32 and plain == loss
    assert repr(loss) == repr(plain) and str(loss) == str(plain)
    assert float(loss) == float(np.float32(11.522857))
    assert type(loss + 1) is np.float32 and type(loss * loss) is np.float32 and type(-loss) is np.float32
    assert loss.dtype == np.float32 and loss.shape == () and np.ndim(loss) == 0
    assert f"{loss:.3f}" == "11.523"


def test_scalar_result_float64_and_float16():
    l64 = B()(np.array([0., 1.]), np.array([0.3, 0.6]))
    assert isinstance(l64, LossFloat64) and type(l64.numpy()) is np.float64
    # tf_keras 2.21.0 (float64 tensors): 0.43375012909046895
    np.testing.assert_allclose(float(l64), 0.43375012909046895, rtol=1e-13)
    l16 = B()(np.array([0., 1.], np.float16), np.array([0.3, 0.6], np.float16))
    assert isinstance(l16, LossFloat16) and type(l16.numpy()) is np.float16
    # tf_keras 2.21.0 (float16 tensors): 0.4336 (computed in float16 there, float32 here)
    assert l16 == np.float16(0.4336)


def test_none_result_is_an_ndarray():
    loss = B(reduction="none")(YT2, [[0.6, 0.3], [0.2, 0.8]])
    assert isinstance(loss, np.ndarray) and isinstance(loss, LossArray)
    plain = loss.numpy()
    assert type(plain) is np.ndarray and plain.dtype == np.float32
    assert repr(loss) == repr(plain) and repr(loss).startswith("array([")
    assert str(loss) == str(plain)
    # arithmetic and reductions give plain NumPy objects
    assert type(loss * 2) is np.ndarray and type(loss + loss) is np.ndarray
    assert type(loss.sum()) is np.float32 and type(np.mean(loss)) is np.float32
    assert type(loss[0]) is np.float32


def test_seed_snippet_numpy_call_chain():
    bce = fastbce.BinaryCrossentropy()
    loss = bce([0., 0., 1., 1.], [1., 1., 1., 0.])
    assert ("Loss: " + " " + str(loss.numpy())) == "Loss:  11.522857"


# ----------------------------------------------------------------------------- NaN / inf
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("where", ["y_pred", "y_true"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_in_gives_nan_out_at_every_lane(from_logits, where, dtype):
    # 37 elements per sample: full vectors and a tail for every ISA's lane count
    n = 37
    y = np.tile(np.array([0., 1.], dtype), n)[:n]
    p = np.linspace(-3, 3, n).astype(dtype) if from_logits else np.linspace(0.01, 0.99, n).astype(dtype)
    yt = np.repeat(y[None], n, axis=0)
    yp = np.repeat(p[None], n, axis=0)
    target = yp if where == "y_pred" else yt
    target[np.arange(n), np.arange(n)] = np.nan  # row i has its NaN at position i
    yt[0], yp[0] = y, p  # ... except row 0: no NaN at all
    out = B(from_logits=from_logits, reduction="none")(yt, yp)
    assert not np.isnan(out[0])
    assert np.isnan(out[1:]).all()
    assert np.isnan(B(from_logits=from_logits)(yt, yp))
    assert np.isnan(B(from_logits=from_logits, reduction="sum")(yt, yp))


@pytest.mark.parametrize("value", [0.0, 1.0, 1e-9, 1 - 1e-9, -5.0, 7.0])
def test_nan_survives_the_clip_next_to_clipped_values(value):
    # x86 min/max return the second operand for NaN: the clip must not turn NaN into eps
    yp = np.array([[np.nan, value] * 8], np.float32)
    yt = np.zeros_like(yp)
    assert np.isnan(B()(yt, yp))
    assert np.isnan(fastbce.binary_crossentropy(yt, yp[:, ::-1].copy())[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinite_logits(dtype):
    # mathematically right limits (tf_keras 2.21.0 gives [nan, nan, inf, nan] here)
    yt = np.array([[1.], [0.], [1.], [0.]], dtype)
    yp = np.array([[np.inf], [np.inf], [-np.inf], [-np.inf]], dtype)
    out = B(from_logits=True, reduction="none")(yt, yp)
    np.testing.assert_array_equal(out, np.array([0.0, np.inf, np.inf, 0.0], dtype))
    # in a wider vector next to finite logits, and with smoothed labels (0.95 / 0.05)
    yt = np.array([[1, 0, 1, 0, 1, 0, 1, 0, 1]], dtype)
    yp = np.array([[np.inf, 2.0, 3.0, -np.inf, -1.0, 0.5, 9.0, -4.0, np.inf]], dtype)
    assert np.isfinite(B(from_logits=True)(yt, yp))
    np.testing.assert_allclose(float(B(from_logits=True)(yt, yp)),
                               reference.loss(yt, yp, from_logits=True, dtype=dtype), rtol=1e-5)
    assert B(from_logits=True, label_smoothing=0.1)(yt, yp) == np.inf


def test_infinite_probabilities_are_clipped():
    yt = np.array([[1., 0., 1., 0.]], np.float32)
    yp = np.array([[np.inf, np.inf, -np.inf, -np.inf]], np.float32)
    got = B()(yt, yp)
    np.testing.assert_allclose(float(got), reference.loss(yt, yp), rtol=1e-5)
    assert np.isfinite(got)


# ----------------------------------------------------------------------------- empty
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(dtype):
    # tf_keras 2.21.0 with (0, 2) tensors: auto 0.0, sum 0.0, none array([], dtype=float32);
    # with a (0,) sample_weight: 0.0
    yt = np.zeros((0, 2), dtype)
    for red in ("auto", "sum", "sum_over_batch_size"):
        got = B(reduction=red)(yt, yt)
        assert got == 0.0 and got.dtype == dtype and isinstance(got, np.floating)
    got = B()(yt, yt, sample_weight=np.zeros((0,), dtype))
    assert got == 0.0
    none = B(reduction="none")(yt, yt)
    assert isinstance(none, LossArray) and none.shape == (0,) and none.dtype == dtype
    assert fastbce.binary_crossentropy(yt, yt).shape == (0,)
    assert B(reduction="none")(np.zeros((0, 3, 2), dtype), np.zeros((0, 3, 2), dtype)).shape == (0, 3)


def test_empty_axis_is_nan_like_tf():
    # tf_keras 2.21.0: (0,) inputs -> nan for auto and none; (2, 0) none -> [nan, nan], auto -> nan
    e = np.zeros((0,), np.float32)
    assert np.isnan(B()(e, e)) and np.isnan(B(reduction="none")(e, e))
    e2 = np.zeros((2, 0), np.float32)
    none = B(reduction="none")(e2, e2)
    assert none.shape == (2,) and np.isnan(none).all()
    assert np.isnan(B()(e2, e2)) and np.isnan(B(reduction="sum")(e2, e2))
    # axis 0 of a (0, 3) input: three samples, each the mean of nothing
    e3 = np.zeros((0, 3), np.float32)
    assert np.isnan(B(axis=0, reduction="none")(e3, e3)).all()


def test_readme_empty_rules_with_lists():
    # README, Semantics: an empty 1-D list is one sample of no outputs (NaN); a (0, 1) batch has no samples (0.0)
    for red in ("auto", "sum", "none"):
        got = B(reduction=red)([], [])
        assert np.shape(got) == () and np.isnan(got) and got.dtype == np.float32
    assert np.isnan(fastbce.binary_crossentropy([], []))
    e = np.zeros((0, 1), np.float32)
    assert B()(e, e) == 0.0 and B(reduction="sum")(e, e) == 0.0 and B(reduction="none")(e, e).shape == (0,)


# ----------------------------------------------------------------------------- dtypes
def _ref32(yt, yp, **kw):
    return reference.loss(np.asarray(yt, np.float32), np.asarray(yp, np.float32), dtype=np.float32, **kw)


def test_lists_and_python_floats_are_float32():
    got = B()([[0., 1.]], [[0.3, 0.6]])
    assert got.dtype == np.float32
    # tf_keras 2.21.0: 0.4337501
    assert_f32(got, 0.4337501)


def test_float64_stays_float64_and_float32_labels_follow_predictions():
    yt64 = np.array([[0., 1., 1.]])
    yp32 = np.array([[0.3, 0.6, 0.9]], np.float32)
    got = B()(yt64, yp32)
    assert got.dtype == np.float32  # y_true is cast to y_pred's dtype
    assert got == B()(yt64.astype(np.float32), yp32)
    got = B()(yp32.astype(np.float32) * 0 + np.float32([[0, 1, 1]]), yp32.astype(np.float64))
    assert got.dtype == np.float64
    # tf_keras 2.21.0: float32 labels, float64 predictions [0.3, 0.6] -> 0.43375012909046895
    got = B()(np.array([0., 1.], np.float32), np.array([0.3, 0.6]))
    np.testing.assert_allclose(float(got), 0.43375012909046895, rtol=1e-13)


def test_float16_is_computed_in_float32_and_returned_as_float16():
    yt = np.array([[0., 1., 1., 0.]], np.float16)
    yp = np.array([[1.0, 0.0, 0.7, 0.2]], np.float16)
    got = B(reduction="none")(yt, yp)
    assert got.dtype == np.float16
    via32 = B(reduction="none")(yt.astype(np.float32), yp.astype(np.float32))
    np.testing.assert_array_equal(got, via32.astype(np.float16))
    # tf_keras computes in float16 (1 - eps == 1 there): [[0, 1]] vs [[1, 0]] gives 15.59 in tf_keras
    # 2.21.0; float32 arithmetic gives 15.379093 (tf_keras float32), which rounds to 15.38 in float16.
    got = B(reduction="none")(np.array([[0., 1.]], np.float16), np.array([[1., 0.]], np.float16))
    assert got[0] == np.float16(15.379093)


@pytest.mark.parametrize("label_dtype", [np.int8, np.int32, np.int64, np.uint8, np.bool_, np.float16, np.float64])
def test_integer_and_boolean_labels(label_dtype):
    yt = np.array([[0, 1, 1, 0, 1]], label_dtype)
    yp = np.array([[0.1, 0.8, 0.6, 0.4, 0.99]], np.float32)
    assert B()(yt, yp) == B()(yt.astype(np.float32), yp)


def test_bool_labels_match_tf():
    # tf_keras 2.21.0: bool labels [False, True] with [0.3, 0.6] -> 0.4337501
    assert_f32(B()(np.array([False, True]), np.array([0.3, 0.6], np.float32)), 0.4337501)


@pytest.mark.parametrize("pred_dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_integer_predictions_are_float32(pred_dtype):
    # tf_keras raises "TypeError: Cannot convert 0.0 to EagerTensor of dtype int32"; we compute in float32
    yt = np.array([[0, 1, 1, 0]])
    yp = np.array([[1, 0, 1, 0]], pred_dtype)
    got = B()(yt, yp)
    assert got.dtype == np.float32
    assert got == B()(yt.astype(np.float32), yp.astype(np.float32))
    got = B()([[0, 1]], [[1, 0]])  # Python ints
    assert got.dtype == np.float32 and got == B()([[0., 1.]], [[1., 0.]])


def test_non_native_byte_order_and_longdouble():
    yt = np.array([[0., 1., 1.]])
    yp = np.array([[0.3, 0.6, 0.9]])
    expected = B()(yt, yp)
    assert B()(yt.astype(">f8"), yp.astype(">f8")) == expected
    assert B()(yt.astype(">f4"), yp.astype(">f4")) == B()(yt.astype(np.float32), yp.astype(np.float32))
    got = B()(yt, yp.astype(np.longdouble))
    assert got.dtype == np.float64 and got == expected


@pytest.mark.parametrize("bad", [
    np.array([[0.5, 0.5]], np.complex64),
    np.array([[0.5, 0.5]], object),
    np.array([["a", "b"]]),
    np.array([[b"a", b"b"]]),
    np.array([["2020-01-01", "2020-01-02"]], "datetime64[D]"),
    np.array([[1, 2]], "timedelta64[s]"),
    np.zeros((1, 2), dtype=[("a", "f4")]),
], ids=lambda a: str(a.dtype))
@pytest.mark.parametrize("where", ["y_true", "y_pred", "sample_weight"])
def test_non_real_dtypes_are_a_type_error_naming_the_dtype(bad, where):
    good = np.array([[0.5, 0.5]], np.float32)
    args = {"y_true": good, "y_pred": good, "sample_weight": None}
    args[where] = bad
    with pytest.raises(TypeError, match=where) as ei:
        B()(**args)
    assert str(bad.dtype) in str(ei.value)


def test_python_complex_is_a_type_error():
    with pytest.raises(TypeError, match="complex"):
        B()([[0., 1.]], [[0.5 + 1j, 0.5]])


def test_ragged_lists_are_a_value_error():
    with pytest.raises(ValueError, match="y_pred"):
        B()([[0., 1.], [1.]], [[0.5, 0.5], [0.5]])


# ----------------------------------------------------------------------------- shapes
def test_trailing_one_is_squeezed_never_broadcast_to_b_by_b():
    yt = np.array([0., 1., 1.], np.float32)
    yp = np.array([[0.3], [0.6], [0.9]], np.float32)
    # tf_keras 2.21.0 with tensors: 0.32428685 (auto and none: both [3] -> mean over the last axis);
    # with NumPy arrays tf_keras broadcasts to [3, 3]: [0.92153996, 0.6459804, 0.8377683].
    for a, b in ((yt, yp), (yt[:, None], yp[:, 0])):
        assert_f32(B()(a, b), 0.32428685)
        none = B(reduction="none")(a, b)
        assert np.shape(none) == ()
        assert_f32(none, 0.32428685)
    # rank 3 vs rank 2: [B, T] labels with [B, T, 1] predictions -> per-sample [B]
    yt = np.array([[0., 1.], [1., 1.]])
    yp = np.array([[[0.2], [0.7]], [[0.9], [0.4]]])
    got = B(reduction="none")(yt, yp)
    np.testing.assert_allclose(got, reference.per_sample(yt, yp[..., 0], dtype=np.float64), rtol=1e-12)


@pytest.mark.parametrize("yt_shape,yp_shape", [((1, 3), (1, 2)), ((1, 2), (2, 2)), ((2, 2), (2,)),
                                               ((3,), (3, 2)), ((2, 3), (3, 2)), ((4, 1), (1, 4)),
                                               ((2, 2, 1), (2,)), ((), (3,))])
def test_mismatched_shapes_are_a_value_error_naming_both(yt_shape, yp_shape):
    # tf_keras broadcasts some of these ((1, 2) vs (2, 2)) and fails on others with InvalidArgumentError
    with pytest.raises(ValueError) as ei:
        B()(np.zeros(yt_shape, np.float32), np.zeros(yp_shape, np.float32) + 0.5)
    assert str(yt_shape) in str(ei.value) and str(yp_shape) in str(ei.value)


def test_rank0_inputs_are_a_value_error():
    # tf_keras 2.21.0: InvalidArgumentError "Invalid reduction dimension (-1 for input with 0 dimension(s)"
    with pytest.raises(ValueError, match="scalar"):
        B()(1., 0.3)
    with pytest.raises(ValueError, match="scalar"):
        fastbce.binary_crossentropy(np.float32(1.), np.float32(0.3))


@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(axis):
    # tf_keras 2.21.0: InvalidArgumentError "Invalid reduction dimension (2 for input with 2 dimension(s)"
    with pytest.raises(ValueError, match=rf"axis {axis}.*\(1, 2\)"):
        B(axis=axis)([[0., 1.]], [[0.3, 0.6]])


# ----------------------------------------------------------------------------- sample weights
def test_batch_weight_rescales_each_sample_for_any_rank():
    rng = np.random.default_rng(1)
    yt = (rng.random((3, 4, 5, 6)) < 0.5).astype(np.float32)
    yp = rng.random((3, 4, 5, 6)).astype(np.float32)
    w = np.array([0.5, 2.0, 3.0])
    per = reference.per_sample(yt, yp)  # (3, 4, 5)
    got = B(reduction="none")(yt, yp, sample_weight=w)
    np.testing.assert_allclose(got, per * w[:, None, None], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(B()(yt, yp, sample_weight=w)), (per * w[:, None, None]).mean(), rtol=1e-5)
    # with the batch size equal to the last loss dim, still per sample (tf_keras aligns with the last axis:
    # tf_keras 2.21.0 with (3, 2, 3, 5) inputs and weights [1, 2, 3] gives rows [0.78, 1.56, 2.34])
    yt = np.full((3, 2, 3, 5), 0.5, np.float32)
    yp = np.full((3, 2, 3, 5), 0.3, np.float32)
    got = B(reduction="none")(yt, yp, sample_weight=[1., 2., 3.])
    np.testing.assert_allclose(got[:, 0, 0], np.float32(0.7803236) * np.array([1., 2., 3.]), rtol=1e-5)
    assert (got == got[:, :1, :1]).all()


def test_weight_broadcast_forms_match_tf():
    yt = np.full((2, 3, 5), 0.5, np.float32)
    yp = np.full((2, 3, 5), 0.3, np.float32)
    # tf_keras 2.21.0: [B, T, 1] weights on a [B, T] loss are squeezed: 0.7803236 everywhere
    got = B(reduction="none")(yt, yp, sample_weight=np.ones((2, 3, 1), np.float32))
    assert_f32(got, np.full((2, 3), 0.7803236))
    # tf_keras 2.21.0: [1, T] weights [[1, 2, 3]] broadcast: [0.7803236, 1.5606472, 2.340971] per row
    got = B(reduction="none")(yt, yp, sample_weight=np.array([[1., 2., 3.]], np.float32))
    assert_f32(got, np.tile([0.7803236, 1.5606472, 2.340971], (2, 1)))
    # tf_keras 2.21.0: weight [2.] on the scalar loss of [0, 1] vs [0.3, 0.6] -> 0.8675002 (also with
    # float64 and int weights on float32 inputs, result float32)
    for w in (np.array([2.]), np.array([2], np.int32), np.array([2.], np.float64), 2, 2.0, [2.0]):
        got = B(reduction="none")(np.array([0., 1.], np.float32), np.array([0.3, 0.6], np.float32), sample_weight=w)
        assert got.dtype == np.float32
        assert_f32(got, 0.8675002)


@pytest.mark.parametrize("w_shape,loss_shape_inputs", [
    ((2, 3, 2), (2, 3, 5)),  # one rank more, trailing dim not 1 (tf_keras: "Can not squeeze dim[2]")
    ((3,), (2, 3, 5)),  # [T] on [B, T], B != T (tf_keras: Incompatible shapes: [2,3] vs. [3,1])
    ((4, 1), (1, 3, 5)),  # would broadcast the loss UP to (4, 3) (tf_keras does so)
    ((2,), (2,)),  # two weights for one scalar loss (tf_keras: "Can not squeeze dim[0]")
    ((2, 3, 5, 1, 1), (2, 3, 5)),
    ((5, 3), (2, 3, 5)),
])
def test_bad_weight_shapes_are_a_value_error_naming_both(w_shape, loss_shape_inputs):
    x = np.full(loss_shape_inputs, 0.5, np.float32)
    loss_shape = loss_shape_inputs[:-1]
    with pytest.raises(ValueError) as ei:
        B()(x, x, sample_weight=np.ones(w_shape))
    assert str(w_shape) in str(ei.value) and str(loss_shape) in str(ei.value)


def test_auto_divides_by_number_of_elements_not_weight_sum():
    yt = np.array([[0., 1.], [1., 1.]], np.float32)
    yp = np.array([[0.2, 0.7], [0.9, 0.4]], np.float32)
    per = reference.per_sample(yt, yp)
    w = np.array([0.0, 3.0])
    np.testing.assert_allclose(float(B()(yt, yp, sample_weight=w)), (per * w).sum() / 2, rtol=1e-6)
    np.testing.assert_allclose(float(B(reduction="sum")(yt, yp, sample_weight=w)), (per * w).sum(), rtol=1e-6)


def test_nan_weight_gives_nan():
    yt = np.array([[0., 1.], [1., 1.]], np.float32)
    yp = np.array([[0.2, 0.7], [0.9, 0.4]], np.float32)
    out = B(reduction="none")(yt, yp, sample_weight=[np.nan, 1.0])
    assert np.isnan(out[0]) and np.isfinite(out[1])


# ----------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("ls", [-0.1, 1.5, float("nan"), float("inf")])
def test_label_smoothing_out_of_range(ls):
    with pytest.raises(ValueError, match="label_smoothing"):
        B(label_smoothing=ls)
    with pytest.raises(ValueError, match="label_smoothing"):
        fastbce.binary_crossentropy([[0.]], [[0.5]], label_smoothing=ls)


def test_argument_types():
    with pytest.raises(TypeError, match="label_smoothing"):
        B(label_smoothing="0.1")
    with pytest.raises(TypeError, match="axis"):
        B(axis=1.5)
    with pytest.raises(TypeError, match="axis"):
        B(axis=True)
    assert B(axis=np.int64(0)).axis == 0
    assert B(label_smoothing=np.float32(0.5)).label_smoothing == 0.5
    assert B(label_smoothing=1).label_smoothing == 1.0


@pytest.mark.parametrize("ls", [0.0, 0.25, 1.0])
def test_label_smoothing_values(ls):
    yt = np.array([[0., 1., 1., 0.]], np.float32)
    yp = np.array([[0.2, 0.7, 0.9, 0.4]], np.float32)
    np.testing.assert_allclose(float(B(label_smoothing=ls)(yt, yp)),
                               reference.loss(yt, yp, label_smoothing=ls), rtol=1e-6)


def test_label_smoothing_is_not_a_no_op():
    yt = np.array([[0., 1., 1., 0.]], np.float32)
    yp = np.array([[0.2, 0.7, 0.9, 0.4]], np.float32)
    # ls = 1 makes every label 0.5, so both predictions orders give the same loss
    a = B(label_smoothing=1.0)(yt, yp)
    assert a == B(label_smoothing=1.0)(1 - yt, yp)
    assert B()(yt, yp) != B()(1 - yt, yp)


# ----------------------------------------------------------------------------- callers' arrays
def test_callers_arrays_are_never_written():
    rng = np.random.default_rng(2)
    yt = (rng.random((6, 8)) < 0.5)
    yp = rng.random((6, 8))[:, ::2]  # strided float64
    yt = yt[:, ::2]
    w = rng.random(6)
    for arr in (yt, yp, w):
        arr.flags.writeable = False
    copies = [a.copy() for a in (yt, yp, w)]
    for red in ("none", "sum", "auto"):
        B(reduction=red, label_smoothing=0.1)(yt, yp, sample_weight=w)
        B(reduction=red, from_logits=True)(yt.astype(np.float32), yp.astype(np.float32), sample_weight=w)
    for a, c in zip((yt, yp, w), copies):
        np.testing.assert_array_equal(a, c)


def test_results_are_independent_arrays():
    yt = np.zeros((3, 2), np.float32)
    yp = np.full((3, 2), 0.5, np.float32)
    bce = B(reduction="none")
    a = bce(yt, yp)
    b = bce(yt, yp)
    assert not np.shares_memory(a, b) and not np.shares_memory(a, yp)


# ----------------------------------------------------------------------------- reduction changes
def test_reduction_attribute_can_be_changed_like_tf():
    bce = B(from_logits=True)
    bce.reduction = fastbce.Reduction.SUM
    assert_f32(bce(YT2, LOGITS2), 1.730916)
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        bce.reduction = "average"
