"""fastbce with torch tensors: values and autograd gradients.

References, all computed here: torch's own ``BCEWithLogitsLoss`` (the same formula as tf_keras's logits loss,
with torch's ``pos_weight`` and ``weight``), torch's ``BCELoss`` (tf_keras's formula without the clip and the
``+ 1e-7``, so compared where that changes nothing beyond ``1e-7 / p``), and a float64 torch implementation of
the tf_keras formula differentiated by torch's autograd (``torch.clamp`` passes the gradient at its bounds, as
TensorFlow's ``clip_by_value`` does).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastbce  # noqa: E402
from fastbce._frameworks import torch as fw_torch  # noqa: E402

EPS = 1e-7
REDUCTIONS = ["auto", "sum", "sum_over_batch_size", "none", "mean", "mean_with_sample_weight"]


def tf_keras_loss(y, x, *, from_logits=False, label_smoothing=0.0, pos_weight=None, weight=None, reduction="auto",
                  part="both", weight_sum=None):
    """tf_keras's binary cross-entropy as torch ops, differentiable in ``x``; a float64 result.

    As TensorFlow computes it: the label smoothing, the clip and the ``+ 1e-7`` in ``x``'s dtype (they decide
    which float32 value a logarithm sees), the rest in float64. ``y`` and ``x`` of the same shape, the mean over
    the last axis; ``weight`` broadcasts to the per-sample loss; ``part`` keeps only the positive ("pos") or
    negative ("neg") term, whose gradients bound the rounding of their difference for soft labels."""
    dt = x.dtype
    y = y.to(dt)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    y = y.double()
    w = 1.0 if pos_weight is None else torch.as_tensor(pos_weight, dtype=dt).double()
    if from_logits:
        x = x.double()
        softplus_neg = torch.clamp(-x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))  # softplus(-x)
        pos, neg = w * y * softplus_neg, (1 - y) * (x + softplus_neg)  # softplus(x) = x + softplus(-x)
    else:
        p = torch.clamp(x, EPS, 1 - EPS)
        pos, neg = -w * y * torch.log((p + EPS).double()), -(1 - y) * torch.log(((1 - p) + EPS).double())
    el = {"both": pos + neg, "pos": pos, "neg": neg}[part]
    per_sample = el.mean(-1)
    if weight is not None:
        per_sample = per_sample * torch.as_tensor(weight, dtype=dt).double()
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean_with_sample_weight" and weight is not None and per_sample.ndim:
        return per_sample.sum() / weight_sum
    return per_sample.sum() / max(per_sample.numel(), 1)


def reference_value_and_grad(y, x, upstream, **kw):
    """(float64 loss, float64 gradient, bound of the gradient's terms) of the tf_keras formula, by autograd."""
    out = []
    for part in ("both", "pos", "neg"):
        x_ref = x.detach().clone().requires_grad_()
        value = tf_keras_loss(y, x_ref, part=part, **kw)
        (g,) = torch.autograd.grad(value, x_ref, upstream.double())
        out.append((value.detach(), g.double()))
    return out[0][0], out[0][1], out[1][1].abs() + out[2][1].abs()


def assert_grad_close(got, ref, bound, rtol=1e-5):
    """|got - ref| <= rtol |ref| + rtol * bound: relative, except where the two terms cancel (soft labels)."""
    got, ref, bound = (t.detach().double().numpy() for t in (got, ref, bound))
    assert got.shape == ref.shape
    err = np.abs(got - ref)
    limit = rtol * np.abs(ref) + rtol * bound
    assert np.all(err <= limit), (np.max(err - limit), got, ref)


def _data(shape, from_logits, soft=False, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    y = y.to(dtype) if soft else (y < 0.5).to(dtype)
    if from_logits:
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    else:
        x = torch.rand(shape, generator=g, dtype=torch.float64)
        x.view(-1)[:2] = torch.tensor([0.0, 1.0], dtype=torch.float64)  # clipped: gradient 0
    return y, x.to(dtype).requires_grad_()


# --------------------------------------------------------------------------- vs torch's own losses
# [B, 1] predictions: one per sample, so torch's elementwise reductions are tf_keras's per-sample ones; a
# pos_weight per class needs [B, C], where only torch's "mean" (over all elements) is tf_keras's reduction too
@pytest.mark.parametrize("reduction, pos_weight", [
    ("mean", None), ("sum", None), ("none", None), ("mean", [0.5, 2.0, 3.0]), ("mean", 2.5), ("sum", 2.5),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_logits_match_bce_with_logits_loss(reduction, pos_weight, weighted):
    shape = (16, 3) if isinstance(pos_weight, list) else (16, 1)
    y, x = _data(shape, from_logits=True, seed=1)
    # torch's loss on the same values in float64: in float32 it loses bits to x - x cancellations (label 1,
    # large logit), where fastbce keeps them
    x_ref = x.detach().double().requires_grad_()
    weight = torch.linspace(0.5, 2.0, shape[0]) if weighted else None
    pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float64).reshape(-1)
    torch_loss = torch.nn.BCEWithLogitsLoss(weight=None if weight is None else weight[:, None].double(),
                                            pos_weight=pw, reduction=reduction)(x_ref, y.double())
    ours = fastbce.BinaryCrossentropy(from_logits=True, reduction=reduction, pos_weight=pos_weight)(
        y, x, sample_weight=weight)
    if reduction == "none":
        torch_loss = torch_loss[:, 0]
    assert ours.dtype == torch.float32 and ours.shape == torch_loss.shape
    np.testing.assert_allclose(ours.detach().numpy(), torch_loss.detach().numpy(), rtol=1e-6, atol=1e-7)
    upstream = torch.randn(ours.shape, generator=torch.Generator().manual_seed(5))
    ours.backward(upstream)
    torch_loss.backward(upstream.double())
    np.testing.assert_allclose(x.grad.numpy(), x_ref.grad.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_probabilities_match_bce_loss(reduction):
    # torch's BCELoss is -(y log p + (1 - y) log(1 - p)): tf_keras's formula without the clip and the + 1e-7,
    # which move a value or gradient by at most about 1e-7 / p relative, 1e-5 for p in [0.01, 0.99]
    g = torch.Generator().manual_seed(2)
    y = (torch.rand(32, 1, generator=g) < 0.5).float()
    x = (0.01 + 0.98 * torch.rand(32, 1, generator=g)).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    weight = torch.linspace(0.5, 2.0, 32)
    torch_loss = torch.nn.BCELoss(weight=weight[:, None], reduction=reduction)(x_ref, y)
    ours = fastbce.BinaryCrossentropy(reduction=reduction)(y, x, sample_weight=weight)
    if reduction == "none":
        torch_loss = torch_loss[:, 0]
    np.testing.assert_allclose(ours.detach().numpy(), torch_loss.detach().numpy(), rtol=2e-5)
    upstream = torch.randn(ours.shape, generator=g)
    ours.backward(upstream)
    torch_loss.backward(upstream)
    np.testing.assert_allclose(x.grad.numpy(), x_ref.grad.numpy(), rtol=2e-5)


# --------------------------------------------------------------------------- vs the tf_keras formula
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("options", [
    {}, {"label_smoothing": 0.2}, {"pos_weight": [0.5, 2.0, 1.0, 3.0]}, {"label_smoothing": 0.1, "pos_weight": 2.5},
])
@pytest.mark.parametrize("weight_kind", [None, "batch", "scalar"])
@pytest.mark.parametrize("soft", [False, True])
def test_every_reduction_vs_tf_keras_formula(reduction, from_logits, options, weight_kind, soft):
    y, x = _data((6, 4), from_logits, soft=soft, seed=3)
    weight = {None: None, "batch": torch.tensor([0.5, 1.0, 0.0, 2.0, 1.5, 0.25]), "scalar": 0.75}[weight_kind]
    weight_sum = None if weight is None else float(torch.as_tensor(weight).sum())
    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction=reduction, **options)
    ours = bce(y, x, sample_weight=weight)
    assert ours.dtype == torch.float32
    assert ours.grad_fn is not None and type(ours.grad_fn).__name__ == "FastbceBinaryCrossentropyBackward"
    shape = (6,) if reduction == "none" else ()
    assert tuple(ours.shape) == shape
    upstream = torch.randn(shape, generator=torch.Generator().manual_seed(4), dtype=torch.float32) * 3
    ref, ref_grad, bound = reference_value_and_grad(
        y, x, upstream, from_logits=from_logits, weight=weight, reduction=reduction, weight_sum=weight_sum, **options)
    np.testing.assert_allclose(ours.detach().double().numpy(), ref.numpy(), rtol=1e-5, atol=1e-7)
    ours.backward(upstream)
    assert x.grad.dtype == torch.float32
    assert_grad_close(x.grad, ref_grad, bound)


@pytest.mark.parametrize("reduction", ["auto", "none"])
def test_float64_vs_tf_keras_formula(reduction):
    y, x = _data((5, 3), from_logits=False, soft=True, seed=6, dtype=torch.float64)
    ours = fastbce.BinaryCrossentropy(reduction=reduction, label_smoothing=0.1)(y, x)
    assert ours.dtype == torch.float64
    upstream = torch.linspace(-2.0, 3.0, 5, dtype=torch.float64) if reduction == "none" else torch.tensor(
        1.5, dtype=torch.float64)
    ref, ref_grad, bound = reference_value_and_grad(y, x, upstream, reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(ours.detach().numpy(), ref.numpy(), rtol=1e-12)
    ours.backward(upstream)
    assert x.grad.dtype == torch.float64
    assert_grad_close(x.grad, ref_grad, bound, rtol=1e-12)


def test_axis_and_squeezed_per_sample_upstream():
    # reduction none with axis 0 of a rank-3 input, and y_true [B] with y_pred [B, 1] (squeezed): the upstream
    # gradient must meet each sample's elements
    y, x = _data((3, 4, 2), from_logits=True, seed=7)
    ours = fastbce.BinaryCrossentropy(from_logits=True, axis=0, reduction="none")(y, x)
    assert tuple(ours.shape) == (4, 2)
    upstream = torch.randn(4, 2, generator=torch.Generator().manual_seed(8))
    ours.backward(upstream)
    x64 = x.detach().double().requires_grad_()
    y64 = y.double()
    ref = (torch.clamp(x64, min=0) - x64 * y64 + torch.log1p(torch.exp(-x64.abs()))).mean(0)
    ref.backward(upstream.double())
    np.testing.assert_allclose(x.grad.numpy(), x64.grad.numpy(), rtol=1e-5, atol=1e-8)

    y2, x2 = _data((8, 1), from_logits=True, seed=9)
    y2 = y2[:, 0]
    # 1-D labels against [B, 1] predictions: squeezed, one sample of 8 outputs (tf_keras's rule), a scalar
    ours2 = fastbce.BinaryCrossentropy(from_logits=True, reduction="none")(y2, x2)
    assert ours2.shape == ()
    ours2.backward(torch.tensor(2.0))
    p = torch.sigmoid(x2.detach().double()[:, 0])
    np.testing.assert_allclose(x2.grad.numpy()[:, 0], (2.0 * (p - y2.double()) / 8).numpy(), rtol=1e-5, atol=1e-8)


def test_upstream_of_one_and_accumulation():
    y, x = _data((4, 3), from_logits=False, seed=10)
    bce = fastbce.BinaryCrossentropy(reduction="none")
    loss = bce(y, x)
    loss.sum().backward()  # upstream of ones: the kept gradient as it is
    first = x.grad.clone()
    _, ref_grad, bound = reference_value_and_grad(y, x, torch.ones(4), reduction="none")
    assert_grad_close(first, ref_grad, bound)
    bce(y, x).backward(torch.full((4,), 0.5))  # accumulates into x.grad
    assert_grad_close(x.grad, ref_grad * 1.5, bound * 1.5)


# --------------------------------------------------------------------------- dtypes and layouts
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    y, x = _data((8, 4), from_logits=True, soft=True, seed=11, dtype=dtype)
    ours = fastbce.BinaryCrossentropy(from_logits=True)(y, x)
    assert ours.dtype == dtype
    ours.backward(torch.tensor(4096.0, dtype=dtype))  # a loss scale: applied to the float32 gradient
    assert x.grad.dtype == dtype
    # fastbce computes half types in float32: the reference is the float32 computation of the same values, and
    # the results are it rounded to the half type, within half its ulp (2^-11 / 2^-8 relative)
    ref, ref_grad, _ = reference_value_and_grad(y, x.float(), torch.tensor(4096.0), from_logits=True)
    rtol = 2.0 ** -10 if dtype == torch.float16 else 2.0 ** -7
    np.testing.assert_allclose(ours.double().item(), ref.item(), rtol=rtol)
    np.testing.assert_allclose(x.grad.double().numpy(), ref_grad.numpy(), rtol=rtol, atol=1e-3)
    with torch.no_grad():
        assert fastbce.BinaryCrossentropy(from_logits=True)(y, x).dtype == dtype


def test_integer_and_bool_predictions_give_float32():
    y = torch.tensor([[0, 1, 1]])
    out = fastbce.BinaryCrossentropy()(y, torch.tensor([[0, 1, 0]]))
    assert out.dtype == torch.float32 and out.grad_fn is None
    ref = tf_keras_loss(y.double(), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float32))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)
    assert fastbce.BinaryCrossentropy()(y.bool(), torch.tensor([[False, True, False]])).dtype == torch.float32


def test_non_contiguous_and_expanded_tensors():
    y, x = _data((5, 6), from_logits=True, seed=12)
    base = x.detach().t().contiguous().requires_grad_()  # (6, 5): its transpose is a strided (5, 6) view
    expected_loss = fastbce.BinaryCrossentropy(from_logits=True)(y, x)
    expected_loss.backward()
    strided = base.t()
    assert not strided.is_contiguous()
    got = fastbce.BinaryCrossentropy(from_logits=True)(y.t().contiguous().t(), strided)
    got.backward()
    assert got.item() == expected_loss.item()
    np.testing.assert_array_equal(base.grad.t().numpy(), x.grad.numpy())

    # a zero-stride expansion: one row repeated; its gradient sums over the repeats (torch's expand backward)
    row = torch.tensor([[0.2, 0.7, 0.9]], requires_grad=True)
    labels = torch.tensor([[0.0, 1.0, 1.0]]).expand(4, 3)
    fastbce.BinaryCrossentropy(reduction="sum")(labels, row.expand(4, 3)).backward()
    single = torch.tensor([[0.2, 0.7, 0.9]], requires_grad=True)
    (4 * fastbce.BinaryCrossentropy(reduction="sum")(labels[:1], single)).backward()
    np.testing.assert_allclose(row.grad.numpy(), single.grad.numpy(), rtol=1e-6)


def test_contiguous_tensors_are_read_without_copies(monkeypatch):
    y, x = _data((64, 8), from_logits=True, seed=13)
    seen = {}
    real_vg, real_compute = fw_torch.value_and_grad, fw_torch._inputs.compute

    def spy_vg(y_true, y_pred, *args, **kwargs):
        seen["grad"] = (y_true, y_pred)
        return real_vg(y_true, y_pred, *args, **kwargs)

    def spy_compute(y_true, y_pred, *args, **kwargs):
        seen["loss"] = (y_true, y_pred)
        return real_compute(y_true, y_pred, *args, **kwargs)

    monkeypatch.setattr(fw_torch, "value_and_grad", spy_vg)
    monkeypatch.setattr(fw_torch._inputs, "compute", spy_compute)
    fastbce.BinaryCrossentropy(from_logits=True)(y, x)
    with torch.no_grad():
        fastbce.BinaryCrossentropy(from_logits=True)(y, x)
    for key in ("grad", "loss"):
        yt, yp = seen[key]
        assert isinstance(yp, np.ndarray) and np.shares_memory(yp, x.detach().numpy())
        assert np.shares_memory(yt, y.numpy())


# --------------------------------------------------------------------------- modes, inputs, errors
def test_no_grad_and_inference_mode():
    y, x = _data((4, 3), from_logits=False, seed=14)
    with_grad = fastbce.BinaryCrossentropy()(y, x)
    with torch.no_grad():
        a = fastbce.BinaryCrossentropy()(y, x)
    with torch.inference_mode():
        b = fastbce.BinaryCrossentropy()(y, x)
    for t in (a, b):
        assert t.grad_fn is None and not t.requires_grad
        assert t.item() == with_grad.item()
    assert x.grad is None


def test_labels_and_weights_as_numpy_and_numbers_have_no_gradient():
    y, x = _data((4, 3), from_logits=True, seed=15)
    y_req = y.clone().requires_grad_()
    w = torch.tensor([1.0, 2.0, 0.5, 1.0], requires_grad=True)
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    loss = bce(y_req, x, sample_weight=w)
    loss.backward()
    assert y_req.grad is None and w.grad is None and x.grad is not None
    for labels, weight in [(y.numpy(), w.detach().numpy()), (y.numpy(), 2.0), (y, np.float64(2.0))]:
        got = bce(labels, x, sample_weight=weight)
        expected = tf_keras_loss(y.double(), x.detach().double(), from_logits=True,
                                 weight=torch.as_tensor(weight).double())
        np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-6)
    # only the labels are a tensor: a tensor result, nothing to differentiate
    out = bce(y, x.detach().numpy().tolist())
    assert isinstance(out, torch.Tensor) and out.grad_fn is None


def test_functional_and_call_forms():
    y, x = _data((4, 3), from_logits=True, seed=16)
    per_sample = fastbce.binary_crossentropy(y, x, from_logits=True)
    call = fastbce.BinaryCrossentropy(from_logits=True, reduction="sum").call(y, x)
    ref = tf_keras_loss(y.double(), x.detach().double(), from_logits=True, reduction="none")
    for out in (per_sample, call):
        assert out.shape == (4,) and out.grad_fn is not None
        np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-6)
    per_sample.sum().backward()
    _, ref_grad, bound = reference_value_and_grad(y, x, torch.ones(4), from_logits=True, reduction="none")
    assert_grad_close(x.grad, ref_grad, bound)


def test_other_devices_are_a_value_error():
    y = torch.zeros(4, 1)
    with pytest.raises(ValueError, match=r"y_pred is a torch tensor on device 'meta'.*y_pred\.cpu\(\)"):
        fastbce.BinaryCrossentropy()(y, torch.empty(4, 1, device="meta"))
    with pytest.raises(ValueError, match=r"y_pred .* device 'meta'"):
        fastbce.BinaryCrossentropy()(y, torch.empty(4, 1, device="meta", requires_grad=True))
    with pytest.raises(ValueError, match=r"y_true is a torch tensor on device 'meta'.*y_true\.cpu\(\)"):
        fastbce.BinaryCrossentropy()(torch.empty(4, 1, device="meta"), torch.rand(4, 1))
    with pytest.raises(ValueError, match=r"sample_weight .* device 'meta'"):
        fastbce.BinaryCrossentropy()(y, torch.rand(4, 1), sample_weight=torch.ones(4, device="meta"))


def test_bad_inputs_raise_fastbce_errors():
    x = torch.rand(4, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"y_true \(4, 2\) vs y_pred \(4, 3\)"):
        fastbce.BinaryCrossentropy()(torch.zeros(4, 2), x)
    with pytest.raises(TypeError, match="complex"):
        fastbce.BinaryCrossentropy()(torch.zeros(4, 3, dtype=torch.complex64), x)
    with pytest.raises(TypeError, match="layout"):
        fastbce.BinaryCrossentropy()(torch.zeros(4, 3), x.detach().to_sparse())


def test_second_derivatives_are_an_error_not_a_silent_zero():
    y, x = _data((4, 3), from_logits=True, seed=17)
    loss = fastbce.BinaryCrossentropy(from_logits=True)(y, x)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)  # the first derivative itself is fine
    _, ref_grad, bound = reference_value_and_grad(y, x, torch.tensor(1.0), from_logits=True)
    assert_grad_close(g, ref_grad, bound)
    with pytest.raises(RuntimeError, match="differentiable once"):
        (g ** 2).sum().backward()  # a gradient penalty needs the second derivative


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("from_logits", [False, True])
def test_sgd_training_matches_the_tf_keras_formula(from_logits):
    def run(loss_fn):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        if not from_logits:
            model.append(torch.nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        g = torch.Generator().manual_seed(1)
        features = torch.randn(32, 4, generator=g)
        labels = (features[:, :1] + 0.3 * torch.randn(32, 1, generator=g) > 0).float()
        weights = torch.rand(32, generator=g) + 0.5
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = loss_fn(labels, model(features), weights)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().clone() for p in model.parameters()]

    bce = fastbce.BinaryCrossentropy(from_logits=from_logits, label_smoothing=0.1)
    ours, ours_params = run(lambda y, p, w: bce(y, p, sample_weight=w))
    ref, ref_params = run(lambda y, p, w: tf_keras_loss(y, p, from_logits=from_logits, label_smoothing=0.1, weight=w))
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert ours[-1] < ours[0]  # it trains
    for a, b in zip(ours_params, ref_params):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
