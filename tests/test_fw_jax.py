"""fastbce with JAX arrays: values and gradients under jax.jit, jax.grad, jax.value_and_grad, jax.vjp, jax.vmap.

The reference is tf_keras's formula written in jax.numpy, in the inputs' dtype as TensorFlow computes it, and
differentiated by JAX itself. Soft labels make the gradient a difference of two terms, which float rounding
does not keep to a relative tolerance: there the tolerance also has a term proportional to the magnitudes of
the two terms' gradients (each computed by JAX from its own part of the formula).
"""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import fastbce  # noqa: E402

EPS = 1e-7
TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def tf_keras_loss(y, x, weight=None, *, from_logits=False, label_smoothing=0.0, pos_weight=None, reduction="auto",
                  part="both"):
    """tf_keras's binary cross-entropy in jax.numpy, in ``x``'s dtype; the mean over the last axis.

    Logits as ``(1 - y + w y) softplus(x) - w y x`` (``w`` the pos weight; with ``w = 1`` tf_keras's own
    ``max(x, 0) - x y + log1p(exp(-|x|))``). ``part``: "both"; one term ("a": the softplus / positive-label
    term, "b": the linear / negative-label term); or "abs", the sum of both terms' magnitudes."""
    dt = x.dtype
    y = y.astype(dt)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    w = 1.0 if pos_weight is None else jnp.asarray(pos_weight, dt)
    if from_logits:
        a = (1 - y + w * y) * (jnp.maximum(x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x))))
        b = -w * y * x
    else:
        p = jnp.clip(x, EPS, 1 - EPS)
        a = -w * y * jnp.log(p + EPS)
        b = -(1 - y) * jnp.log(1 - p + EPS)
    el = {"both": a + b, "a": a, "b": b, "abs": jnp.abs(a) + jnp.abs(b)}[part]
    per_sample = el.mean(-1)
    if weight is not None:
        per_sample = per_sample * jnp.asarray(weight, dt)
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean_with_sample_weight" and weight is not None and per_sample.ndim:
        return per_sample.sum() / jnp.asarray(weight, dt).sum()
    return per_sample.sum() / per_sample.size


def reference(y, x, weight, cotangent, **kw):
    """(value, its tolerance scale, gradient (VJP of ``cotangent``), its tolerance scale)."""
    def vjp(part):
        value, pull = jax.vjp(lambda x: tf_keras_loss(y, x, weight, part=part, **kw), x)
        return value, pull(cotangent)[0]
    value, grad = vjp("both")
    magnitude = tf_keras_loss(y, x, weight, part="abs", **kw)
    grad_scale = jnp.abs(vjp("a")[1]) + jnp.abs(vjp("b")[1])
    return value, magnitude, grad, grad_scale


def assert_close(got, ref, scale, dtype):
    """|got - ref| <= tol |ref| + tol * scale, tol 1e-6 for float32 and 1e-12 for float64."""
    got, ref, scale = (np.asarray(v, np.float64) for v in (got, ref, scale))
    assert got.shape == ref.shape
    tol = TOL[np.dtype(dtype)]
    err = np.abs(got - ref)
    limit = tol * np.abs(ref) + tol * np.abs(scale)
    assert np.all(err <= limit), (np.max(err / np.maximum(limit, 1e-300)), got, ref)


def _data(shape, from_logits, dtype, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < 0.5).astype(np.float64)
    y[::2] = rng.random((len(y[::2]),) + shape[1:])  # every other sample has soft labels
    x = rng.normal(0, 3, shape) if from_logits else rng.random(shape)
    if not from_logits:
        x.reshape(-1)[:2] = [0.0, 1.0]  # clipped: gradient 0
    return jnp.asarray(y, dtype), jnp.asarray(x, dtype)


def _x64(dtype):
    """A context with JAX's float64 on for float64 cases."""
    return jax.enable_x64(np.dtype(dtype) == np.float64)


# --------------------------------------------------------------------------- the options grid
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("options", [
    {}, {"label_smoothing": 0.2}, {"pos_weight": [0.5, 2.0, 1.0, 3.0]}, {"label_smoothing": 0.1, "pos_weight": 2.5},
])
@pytest.mark.parametrize("reduction, weighted", [
    ("auto", False), ("auto", True), ("sum", True), ("none", False), ("none", True), ("mean_with_sample_weight", True),
])
def test_grid_vs_jax_grad_of_the_tf_keras_formula(dtype, from_logits, options, reduction, weighted):
    with _x64(dtype):
        y, x = _data((6, 4), from_logits, dtype)
        weight = jnp.asarray([0.5, 1.0, 0.0, 2.0, 1.5, 0.25], dtype) if weighted else None
        bce = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction=reduction, **options)
        shape = (6,) if reduction == "none" else ()
        cotangent = jnp.asarray(np.random.default_rng(1).normal(0, 2, shape), dtype)

        @jax.jit
        def value_and_vjp(y, x, weight, cotangent):
            value, pull = jax.vjp(lambda x: bce(y, x, sample_weight=weight), x)
            return value, pull(cotangent)[0]

        value, grad = value_and_vjp(y, x, weight, cotangent)
        ref, magnitude, ref_grad, grad_scale = reference(y, x, weight, cotangent, from_logits=from_logits,
                                                         reduction=reduction, **options)
        assert value.dtype == dtype and value.shape == shape
        assert grad.dtype == dtype and grad.shape == x.shape
        assert_close(value, ref, magnitude, dtype)
        assert_close(grad, ref_grad, grad_scale, dtype)


# --------------------------------------------------------------------------- the transformations
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jit_grad_and_value_and_grad_agree(dtype):
    with _x64(dtype):
        y, x = _data((8, 3), True, dtype, seed=2)
        weight = np.linspace(0.5, 2.0, 8)  # NumPy weights, closed over: constants of the trace
        bce = fastbce.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)

        def f(x):
            return bce(y, x, sample_weight=weight)

        ref, magnitude, ref_grad, grad_scale = reference(y, x, jnp.asarray(weight, dtype), jnp.asarray(1.0, dtype),
                                                         from_logits=True, label_smoothing=0.1)
        eager_value, eager_grad = f(x), jax.grad(f)(x)
        assert_close(eager_value, ref, magnitude, dtype)
        assert_close(eager_grad, ref_grad, grad_scale, dtype)
        np.testing.assert_array_equal(jax.jit(f)(x), eager_value)
        np.testing.assert_array_equal(jax.jit(jax.grad(f))(x), eager_grad)
        for vg in (jax.value_and_grad(f), jax.jit(jax.value_and_grad(f))):
            value, grad = vg(x)
            np.testing.assert_array_equal(value, eager_value)
            np.testing.assert_array_equal(grad, eager_grad)


def test_vmap_per_example_gradients():
    y, x = _data((5, 4, 3), False, np.float32, seed=3)  # 5 examples of a [4, 3] loss each
    bce = fastbce.BinaryCrossentropy(label_smoothing=0.05)

    def f(y, x):
        return bce(y, x)

    values, grads = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=1)))(y, x)
    assert values.shape == (5,) and grads.shape == (5, 4, 3)
    for i in range(5):
        ref, magnitude, ref_grad, grad_scale = reference(y[i], x[i], None, jnp.float32(1.0), label_smoothing=0.05)
        assert_close(values[i], ref, magnitude, np.float32)
        assert_close(grads[i], ref_grad, grad_scale, np.float32)
    # labels shared by every member (not batched)
    np.testing.assert_array_equal(jax.vmap(lambda x: f(y[0], x))(x)[0], f(y[0], x[0]))


def test_reduction_none_axis_and_squeeze_cotangents():
    y, x = _data((3, 4, 2), True, np.float32, seed=4)
    bce = fastbce.BinaryCrossentropy(from_logits=True, axis=0, reduction="none")
    value, pull = jax.vjp(lambda x: bce(y, x), x)
    assert value.shape == (4, 2)
    cotangent = jnp.asarray(np.random.default_rng(5).normal(size=(4, 2)), jnp.float32)

    def ref_fn(x):
        return (jnp.maximum(x, 0) - x * y + jnp.log1p(jnp.exp(-jnp.abs(x)))).mean(0)

    ref_value, ref_pull = jax.vjp(ref_fn, x)
    np.testing.assert_allclose(value, ref_value, rtol=1e-6)
    np.testing.assert_allclose(pull(cotangent)[0], ref_pull(cotangent)[0], rtol=1e-5, atol=1e-7)

    # y_true [B] with y_pred [B, 1]: squeezed to one sample of B outputs (tf_keras's rule), a scalar per-sample loss
    y1, x1 = _data((8, 1), True, np.float32, seed=6)
    value1, pull1 = jax.vjp(lambda x: bce.call(y1[:, 0], x), x1)  # call(): per-sample, axis 0 of the squeezed [8]
    assert value1.shape == ()
    grad1 = pull1(jnp.float32(2.0))[0]
    np.testing.assert_allclose(grad1[:, 0], 2.0 * (jax.nn.sigmoid(x1[:, 0]) - y1[:, 0]) / 8, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("from_logits", [False, True])
def test_gradient_descent_matches_the_reference(from_logits):
    rng = np.random.default_rng(7)
    features = jnp.asarray(rng.normal(size=(32, 4)), jnp.float32)
    labels = jnp.asarray(rng.random((32, 1)) < 0.5, jnp.float32)
    weights = jnp.asarray(rng.random(32) + 0.5, jnp.float32)
    params0 = {"w1": jnp.asarray(rng.normal(0, 0.5, (4, 8)), jnp.float32), "b1": jnp.zeros(8, jnp.float32),
               "w2": jnp.asarray(rng.normal(0, 0.5, (8, 1)), jnp.float32), "b2": jnp.zeros(1, jnp.float32)}

    def predict(params):
        out = jnp.tanh(features @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
        return out if from_logits else jax.nn.sigmoid(out)

    def train(loss_fn):
        @jax.jit
        def step(params):
            value, grads = jax.value_and_grad(lambda p: loss_fn(labels, predict(p), weights))(params)
            return jax.tree_util.tree_map(lambda p, g: p - 0.5 * g, params, grads), value
        params, losses = params0, []
        for _ in range(5):
            params, value = step(params)
            losses.append(float(value))
        return params, losses

    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, label_smoothing=0.1)
    ours, our_losses = train(lambda y, p, w: bce(y, p, sample_weight=w))
    ref, ref_losses = train(lambda y, p, w: tf_keras_loss(y, p, w, from_logits=from_logits, label_smoothing=0.1))
    np.testing.assert_allclose(our_losses, ref_losses, rtol=1e-5)
    assert our_losses[-1] < our_losses[0]  # it trains
    for k in params0:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- dtypes and inputs
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision(dtype):
    y, x32 = _data((8, 4), True, np.float32, seed=8)
    x = x32.astype(dtype)
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    value, grad = jax.jit(jax.value_and_grad(lambda x: bce(y, x)))(x)
    assert value.dtype == dtype and grad.dtype == dtype
    # computed in float32 from the half values, then rounded: within half an ulp of the half type
    ref, _, ref_grad, _ = reference(y, x.astype(jnp.float32), None, jnp.float32(1.0), from_logits=True)
    rtol = 2.0 ** -10 if dtype == jnp.float16 else 2.0 ** -7
    np.testing.assert_allclose(np.float64(value), np.float64(ref), rtol=rtol)
    np.testing.assert_allclose(np.asarray(grad, np.float64), np.asarray(ref_grad, np.float64), rtol=rtol, atol=1e-6)


def test_integer_predictions_and_label_forms():
    labels = [[0, 1, 1]]
    ref = tf_keras_loss(jnp.asarray(labels, jnp.float32), jnp.asarray([[0.0, 1.0, 0.0]], jnp.float32))
    got = fastbce.BinaryCrossentropy()(jnp.asarray(labels), jnp.asarray([[0, 1, 0]]))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    y, x = _data((4, 3), True, np.float32, seed=9)
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    expected = bce(y, x)
    for labels in (np.asarray(y), np.asarray(y, np.float64), np.asarray(y).tolist(), y.astype(jnp.bfloat16)):
        got = bce(labels, x)
        rtol = 1e-2 if getattr(labels, "dtype", None) == jnp.bfloat16 else 0  # bfloat16 rounds the soft labels
        np.testing.assert_allclose(got, expected, rtol=rtol)


def test_labels_and_weights_are_constants():
    y, x = _data((4, 3), True, np.float32, seed=10)
    w = jnp.asarray([1.0, 2.0, 0.5, 1.0])
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    gy, gw = jax.grad(lambda y, w: bce(y, x, sample_weight=w), argnums=(0, 1))(y, w)
    np.testing.assert_array_equal(gy, np.zeros_like(y))
    np.testing.assert_array_equal(gw, np.zeros_like(w))


def test_functional_form_and_call():
    y, x = _data((4, 3), True, np.float32, seed=11)
    ref = tf_keras_loss(y, x, from_logits=True, reduction="none")
    for f in (lambda x: fastbce.binary_crossentropy(y, x, from_logits=True),
              lambda x: fastbce.BinaryCrossentropy(from_logits=True, reduction="sum").call(y, x)):
        np.testing.assert_allclose(jax.jit(f)(x), ref, rtol=1e-6)


def test_errors_are_raised_while_tracing():
    y, x = _data((4, 3), False, np.float32, seed=12)
    bce = fastbce.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"y_true \(3, 3\) vs y_pred \(4, 3\)"):
        jax.jit(lambda x: bce(y[:3], x))(x)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        jax.jit(lambda x: bce(y, x, sample_weight=jnp.ones(3)))(x)
    with pytest.raises(TypeError, match="complex"):
        jax.jit(lambda x: bce(y.astype(jnp.complex64), x))(x)
    with pytest.raises(ValueError, match="pos_weight has 2 values"):
        jax.grad(lambda x: fastbce.BinaryCrossentropy(pos_weight=[1.0, 2.0])(y, x))(x)
