"""fastbce on TensorFlow tensors (``fastbce._frameworks.tensorflow``) against tf_keras 2.x itself.

Values and gradients (``tf.GradientTape``) of ``fastbce.BinaryCrossentropy`` on ``tf.constant`` inputs equal
tf_keras's ``BinaryCrossentropy`` eagerly and inside ``tf.function``, over probabilities / logits, hard and
soft labels, label smoothing, every tf_keras reduction (``none`` with a per-sample cotangent), the sample
weight forms and float32 / float64. Also: the output of a sigmoid is computed from its logits (as tf_keras
does), unknown static shapes, variables, dtypes, errors, and one host call per loss and gradient.

Tolerances: values rtol 1e-6; gradients rtol 1e-6 plus an absolute term of a few units of rounding of the
gradient's two terms ``y / (p + eps)`` and ``(1 - y) / (1 - p + eps)`` (times the chain factor), which soft
labels make cancel.
"""
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")

import fastbce  # noqa: E402
from fastbce import _grad, _inputs  # noqa: E402

REDUCTIONS = ["auto", "none", "sum", "sum_over_batch_size"]
EPS = 1e-7
B, D = 6, 5


def _data(from_logits, labels, dtype, shape=(B, D), seed=3):
    rng = np.random.default_rng(seed)
    y = rng.random(shape) if labels == "soft" else (rng.random(shape) < 0.5).astype(np.float64)
    if from_logits:
        x = rng.normal(0, 3, shape)
    else:
        x = rng.random(shape)
        flat = x.reshape(-1)
        flat[::7] = 0.0  # clipped: zero gradient in both
        flat[3::11] = 1.0
        flat[5::13] = 3e-7  # just inside the clip range
    return y.astype(dtype), x.astype(dtype)


def _weight(form, dtype, n=B):
    if form is None:
        return None
    if form == "python float":
        return 0.7
    w = np.linspace(0.3, 1.9, n).astype(dtype)
    return tf.constant(w if form == "[B]" else w[:, None])


def _cotangent(loss_shape, reduction, dtype):
    if reduction != "none":
        return tf.constant(1.7, dtype)
    return tf.constant(np.linspace(-1.5, 2.5, int(np.prod(loss_shape))).reshape(loss_shape).astype(dtype))


def _run(loss_obj, yt, yp, sw, cot, mode):
    """(loss, d sum(cot * loss) / d y_pred) of ``loss_obj``, eagerly or in a tf.function."""

    def step(yt, yp, sw):
        with tf.GradientTape() as tape:
            tape.watch(yp)
            loss = loss_obj(yt, yp, sample_weight=sw)
            target = tf.reduce_sum(loss * cot)
        return loss, tape.gradient(target, yp)

    if mode == "tf.function":
        step = tf.function(step)
    loss, grad = step(yt, yp, sw)
    assert isinstance(loss, tf.Tensor)
    return loss.numpy(), grad.numpy()


def _grad_atol(y, x, kwargs, sw, cot, n_samples, dtype):
    """A few units of rounding of the gradient's two terms per element, times the largest chain factor (the
    weight, the cotangent, 1 / samples for a mean, 1 / the length of the axis): an upper bound."""
    y, x = np.asarray(y, np.float64).reshape(np.shape(x)), np.asarray(x, np.float64)
    ls = kwargs.get("label_smoothing", 0.0)
    ys = y * (1 - ls) + 0.5 * ls
    if kwargs.get("from_logits"):
        terms = np.abs(1 - ys) + np.abs(ys)
    else:
        p = np.clip(x, EPS, 1 - EPS)
        terms = np.abs(ys) / (p + EPS) + np.abs(1 - ys) / (1 - p + EPS)
    w = 1.0 if sw is None else float(np.max(np.abs(np.asarray(sw))))
    scale = 1.0 / n_samples if kwargs.get("reduction", "auto") in ("auto", "sum_over_batch_size") else 1.0
    axis_len = x.size / n_samples
    chain = w * float(np.max(np.abs(cot.numpy()))) * scale / axis_len
    return 16 * np.finfo(dtype).eps * terms * chain


def _assert_grad_close(got, expected, atol):
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.shape, got.dtype, expected.dtype)
    err = np.abs(got.astype(np.float64) - expected)
    bound = 1e-6 * np.abs(expected) + atol
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), f"max excess {np.max(err - bound)} at {worst}"


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("weight", [None, "python float", "[B]"])
@pytest.mark.parametrize("labels", ["hard", "soft", "hard+smoothing"])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_value_and_gradient_equal_tf_keras(reduction, from_logits, labels, weight, dtype, mode):
    kwargs = {"from_logits": from_logits, "reduction": reduction}
    if labels == "hard+smoothing":
        kwargs["label_smoothing"] = 0.2
    y, x = _data(from_logits, "soft" if labels == "soft" else "hard", dtype)
    yt, yp = tf.constant(y), tf.constant(x)
    sw = _weight(weight, dtype)
    cot = _cotangent((B,), reduction, dtype)
    ours = _run(fastbce.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, mode)
    ref = _run(tf_keras.losses.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, "eager")
    assert ours[0].dtype == ref[0].dtype and ours[0].shape == ref[0].shape
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-6, atol=0)
    _assert_grad_close(ours[1], ref[1], _grad_atol(y, x, kwargs, sw, cot, B, dtype))


SHAPES = [
    # (y_true shape, y_pred shape, sample-weight shape, axis)
    ((B, 1), (B, 1), None, -1),
    ((B, 1), (B, 1), (B,), -1),
    ((B,), (B, 1), None, -1),  # squeezed to one sample of B outputs, as tf_keras
    ((B, 1), (B,), None, -1),
    ((B, D), (B, D), (B, 1), -1),
    ((B, D), (B, D), (), -1),  # a scalar tensor
    ((3, 4, D), (3, 4, D), (3, 4), -1),
    ((3, 4, D), (3, 4, D), (3, 1), -1),
    ((3, 4, D), (3, 4, D), None, 1),
    ((3, 4, D), (3, 4, D), None, 0),
]


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("reduction", ["none", "auto"])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@pytest.mark.parametrize("t_shape, p_shape, w_shape, axis", SHAPES)
def test_shapes_and_weight_forms(t_shape, p_shape, w_shape, axis, from_logits, reduction, mode):
    y, x = _data(from_logits, "soft", np.float32, shape=p_shape, seed=11)
    y = y.reshape(t_shape)
    sw = None if w_shape is None else tf.constant(np.linspace(0.2, 1.6, int(np.prod(w_shape)), dtype=np.float32)
                                                  .reshape(w_shape))
    kwargs = {"from_logits": from_logits, "reduction": reduction, "axis": axis, "label_smoothing": 0.1}
    yt, yp = tf.constant(y), tf.constant(x)
    per_sample = tf_keras.losses.BinaryCrossentropy(**dict(kwargs, reduction="none"))(yt, yp)
    cot = _cotangent(tuple(per_sample.shape), reduction, np.float32)
    ours = _run(fastbce.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, mode)
    ref = _run(tf_keras.losses.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, "eager")
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-6, atol=0)
    n_samples = max(per_sample.shape.num_elements(), 1)
    _assert_grad_close(ours[1], ref[1], _grad_atol(y, x, kwargs, sw, cot, n_samples, np.float32))


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("signature", ["unknown batch", "unknown rank"])
def test_unknown_static_shapes(signature, reduction):
    """Shapes known only at run time: the per-sample cotangent is broadcast by TensorFlow when the ranks are
    known, by the host call otherwise."""
    y, x = _data(False, "soft", np.float32, shape=(B, 1), seed=5)
    shape = [None, 1] if signature == "unknown batch" else None
    kwargs = {"reduction": reduction, "label_smoothing": 0.1}
    bce = fastbce.BinaryCrossentropy(**kwargs)

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)] * 2 + [tf.TensorSpec(None, tf.float32)])
    def step(yt, yp, cot):
        with tf.GradientTape() as tape:
            tape.watch(yp)
            loss = bce(yt, yp)
            target = tf.reduce_sum(loss * cot)
        return loss, tape.gradient(target, yp)

    cot = _cotangent((B,), reduction, np.float32)
    loss, grad = step(tf.constant(y), tf.constant(x), cot)
    ref = _run(tf_keras.losses.BinaryCrossentropy(**kwargs), tf.constant(y), tf.constant(x), None, cot, "eager")
    np.testing.assert_allclose(loss.numpy(), ref[0], rtol=1e-6, atol=0)
    _assert_grad_close(grad.numpy(), ref[1], _grad_atol(y, x, kwargs, None, cot, B, np.float32))


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_variable_gets_the_gradient(mode):
    y, x = _data(True, "hard", np.float32)
    var_ours, var_ref = tf.Variable(x), tf.Variable(x)

    def grad_of(loss_obj, var):
        def step():
            with tf.GradientTape() as tape:
                loss = loss_obj(tf.constant(y), var)
            return tape.gradient(loss, var)

        return (tf.function(step) if mode == "tf.function" else step)().numpy()

    ours = grad_of(fastbce.BinaryCrossentropy(from_logits=True), var_ours)
    ref = grad_of(tf_keras.losses.BinaryCrossentropy(from_logits=True), var_ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)


# (an eager tf.sigmoid output carries no logits, in tf_keras as in fastbce)
@pytest.mark.parametrize("sigmoid, mode", [("tf_keras activation", "eager"), ("tf_keras activation", "tf.function"),
                                           ("tf.sigmoid", "tf.function")])
def test_sigmoid_output_is_computed_from_its_logits(sigmoid, mode):
    """tf_keras computes the loss of a sigmoid's output from the sigmoid's input (``_keras_logits``, or a
    ``Sigmoid`` op in a graph); fastbce does the same, so saturated outputs give the same finite loss."""
    logits = np.array([[30.0, -25.0, 18.0, -0.5], [0.3, 40.0, -17.0, 2.0]], np.float32)
    y = np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]], np.float32)
    activation = tf_keras.activations.sigmoid if sigmoid == "tf_keras activation" else tf.sigmoid

    def step(loss_obj, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_obj(tf.constant(y), activation(x))
        return loss, tape.gradient(loss, x)

    def run(loss_obj):
        f = tf.function(step) if mode == "tf.function" else step
        loss, grad = f(loss_obj, tf.constant(logits))
        return loss.numpy(), grad.numpy()

    ours = run(fastbce.BinaryCrossentropy(label_smoothing=0.05))
    ref = run(tf_keras.losses.BinaryCrossentropy(label_smoothing=0.05))
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-6, atol=1e-9)
    # not the probabilities' loss: the clipped probabilities give a much smaller one
    from_probabilities = fastbce.BinaryCrossentropy(label_smoothing=0.05)(y, tf.sigmoid(logits).numpy())
    assert ours[0] > 1.5 * from_probabilities


def test_from_logits_with_a_sigmoid_output_warns_as_tf_keras():
    x = tf.constant([[0.5, -1.0]])
    y = tf.constant([[1.0, 0.0]])
    with pytest.warns(UserWarning, match="received `from_logits=True`, but the `output` argument was produced "
                                         "by a Sigmoid activation") as theirs:
        ref = tf_keras.losses.BinaryCrossentropy(from_logits=True)(y, tf_keras.activations.sigmoid(x))
    with pytest.warns(UserWarning) as ours_warnings:
        ours = fastbce.BinaryCrossentropy(from_logits=True)(y, tf_keras.activations.sigmoid(x))
    assert [str(w.message) for w in ours_warnings] == [str(w.message) for w in theirs]
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype, loss_dtype", [(tf.float16, tf.float16), (tf.bfloat16, tf.bfloat16),
                                               (tf.float32, tf.float32), (tf.float64, tf.float64)])
@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_dtypes(dtype, loss_dtype, mode):
    """float64 in: float64; float16 and bfloat16: the same (computed in float32); the gradient has y_pred's
    dtype. Values: fastbce's own NumPy path on float32 copies of the same
    numbers (itself checked against tf_keras), rounded to the dtype."""
    y, x = _data(False, "soft", np.float32)
    yt, yp = tf.constant(y, dtype), tf.constant(x, dtype)
    cot = tf.constant(1.0, loss_dtype)
    loss, grad = _run(fastbce.BinaryCrossentropy(), yt, yp, None, cot, mode)
    assert loss.dtype == loss_dtype.as_numpy_dtype and grad.dtype == dtype.as_numpy_dtype
    host_dtype = np.float64 if dtype == tf.float64 else np.float32
    expected, expected_grad = _grad.value_and_grad(tf.cast(yt, host_dtype).numpy(), tf.cast(yp, host_dtype).numpy(),
                                                   None, fastbce.BinaryCrossentropy().spec)
    assert loss == np.asarray(expected).astype(loss.dtype)
    np.testing.assert_array_equal(grad, expected_grad.astype(grad.dtype))


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_float16_gradient_scaled_in_float32(mode):
    """Loss scaling: a large cotangent times the kept float32 gradient, rounded to float16 once (a float16
    gradient would have lost the small terms first)."""
    y = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    x = np.array([[2.0, -12.0, 13.0, -0.25]], np.float32)  # gradients ~ 1e-6 .. 0.1 (float16 subnormal and below)
    scale = 2.0 ** 14
    loss, grad = _run(fastbce.BinaryCrossentropy(from_logits=True), tf.constant(y, tf.float16),
                      tf.constant(x, tf.float16), None, tf.constant(scale, tf.float16), mode)
    _, grad32 = _grad.value_and_grad(y, x.astype(np.float16).astype(np.float32), None,
                                     fastbce.BinaryCrossentropy(from_logits=True).spec)
    np.testing.assert_array_equal(grad, (grad32 * np.float32(scale)).astype(np.float16))
    assert np.all(grad != 0)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_no_gradient_for_labels_and_weights(mode):
    y, x = _data(False, "soft", np.float32)
    yt, yp, sw = tf.constant(y), tf.constant(x), _weight("[B]", np.float32)

    def step():
        with tf.GradientTape() as tape:
            tape.watch([yt, yp, sw])
            loss = fastbce.BinaryCrossentropy()(yt, yp, sample_weight=sw)
        return tape.gradient(loss, [yt, sw])

    grads = (tf.function(step) if mode == "tf.function" else step)()
    assert grads == [None, None]


@pytest.mark.parametrize("reduction", ["auto", "none"])
@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_one_host_call_for_loss_and_gradient(monkeypatch, mode, reduction):
    """The forward pass computes the loss and the gradient in one call; the backward pass calls nothing;
    without a tape, eagerly, only the loss is computed."""
    calls = {"value_and_grad": 0, "compute": 0}
    value_and_grad, compute = _grad.value_and_grad, _inputs.compute

    def counted_value_and_grad(*args, **kwargs):
        calls["value_and_grad"] += 1
        return value_and_grad(*args, **kwargs)

    def counted_compute(*args, **kwargs):
        calls["compute"] += 1
        return compute(*args, **kwargs)

    monkeypatch.setattr(_grad, "value_and_grad", counted_value_and_grad)
    monkeypatch.setattr(_inputs, "compute", counted_compute)
    y, x = _data(True, "soft", np.float32)
    bce = fastbce.BinaryCrossentropy(from_logits=True, reduction=reduction)
    cot = _cotangent((B,), reduction, np.float32)
    step_calls = []
    for _ in range(2):
        before = dict(calls)
        _run(bce, tf.constant(y), tf.constant(x), None, cot, mode)
        step_calls.append({k: calls[k] - before[k] for k in calls})
    assert step_calls[-1] == {"value_and_grad": 1, "compute": 0}
    if mode == "eager":
        calls.update(value_and_grad=0, compute=0)
        bce(tf.constant(y), tf.constant(x))
        assert calls == {"value_and_grad": 0, "compute": 1}


def test_functional_and_call_are_per_sample_tensors():
    y, x = _data(True, "soft", np.float32)
    yt, yp = tf.constant(y), tf.constant(x)
    ours = fastbce.binary_crossentropy(yt, yp, from_logits=True, label_smoothing=0.1)
    ref = tf_keras.losses.binary_crossentropy(yt, yp, from_logits=True, label_smoothing=0.1)
    assert isinstance(ours, tf.Tensor) and ours.shape == ref.shape == (B,)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
    call = fastbce.BinaryCrossentropy(from_logits=True, label_smoothing=0.1).call(yt, yp)
    np.testing.assert_allclose(call.numpy(), ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_keras3_mean_with_sample_weight(mode):
    """Keras 3's reduction, against Keras 3 (logits: the same formula in both)."""
    keras = pytest.importorskip("keras")
    y, x = _data(True, "soft", np.float32)
    yt, yp, sw = tf.constant(y), tf.constant(x), _weight("[B]", np.float32)
    kwargs = {"from_logits": True, "reduction": "mean_with_sample_weight"}
    cot = tf.constant(1.3)
    ours = _run(fastbce.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, mode)
    ref = _run(keras.losses.BinaryCrossentropy(**kwargs), yt, yp, sw, cot, "eager")
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- errors
def test_eager_errors_are_fastbce_errors():
    bce = fastbce.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"incompatible shapes: y_true \(6, 5\) vs y_pred \(6, 4\)"):
        bce(tf.zeros([6, 5]), tf.zeros([6, 4]))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\)"):
        bce(tf.zeros([6, 5]), tf.zeros([6, 5]), sample_weight=tf.ones([4]))
    with pytest.raises(TypeError, match="unsupported dtype complex64"):
        bce(tf.zeros([2, 2]), tf.zeros([2, 2], tf.complex64))
    with pytest.raises(TypeError, match="RaggedTensor"):
        bce(tf.ragged.constant([[0.0], [1.0, 0.0]]), tf.ragged.constant([[0.5], [0.5, 0.5]]))
    with pytest.raises(TypeError, match="y_true is None"):
        bce(None, tf.zeros([2, 2]))


def test_graph_shape_errors_at_trace_time():
    bce = fastbce.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"incompatible shapes: y_true \(6, 5\) vs y_pred \(6, 4\)"):
        tf.function(bce).get_concrete_function(tf.TensorSpec([6, 5]), tf.TensorSpec([6, 4]))
    with pytest.raises(ValueError, match=r"incompatible shapes: y_true \(None, 5\) vs y_pred \(None, 4\)"):
        tf.function(bce).get_concrete_function(tf.TensorSpec([None, 5]), tf.TensorSpec([None, 4]))
    with pytest.raises(ValueError, match=r"axis 2 is out of range"):
        tf.function(fastbce.BinaryCrossentropy(axis=2)).get_concrete_function(tf.TensorSpec([None, 5]),
                                                                              tf.TensorSpec([None, 5]))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\) is incompatible"):
        tf.function(bce).get_concrete_function(tf.TensorSpec([6, 5]), tf.TensorSpec([6, 5]), tf.TensorSpec([4]))
    with pytest.raises(ValueError, match="pos_weight has 3 values"):
        tf.function(fastbce.BinaryCrossentropy(pos_weight=[1.0, 2.0, 3.0])).get_concrete_function(
            tf.TensorSpec([None, 5]), tf.TensorSpec([None, 5]))


def test_graph_run_time_errors_carry_fastbce_message():
    """A shape only known at run time is checked by the host call; its message reaches the user."""
    f = tf.function(fastbce.BinaryCrossentropy(), input_signature=[tf.TensorSpec(None)] * 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="incompatible shapes"):
        f(tf.zeros([6, 5]), tf.zeros([6, 4]))
