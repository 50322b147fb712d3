"""Property test (issue 4, point 4): hypothesis draws shapes (empty ones too), per-input dtypes (every real
dtype), layouts (C, Fortran, per-axis positive/negative strides, zero-stride broadcasts), axes, weight forms
with their own dtypes and layouts, special values (NaN, ±inf, 0, -0, 1, eps-boundary values) in labels,
predictions and weights, chunk sizes and the ISA level; every result is compared with the float64
reference, NaN for NaN and inf for inf. (test_properties.py is the lighter, values-only companion.)"""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import fastbce  # noqa: E402
from fastbce import _core, _inputs  # noqa: E402

import reference  # noqa: E402

REAL = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.bool_]
P_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1e-7, 1 - 1e-7, 5e-8, 2e-7, 1.5e-7, 1 - 6e-8, -1.0, 2.0]
Y_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 0.5, -1.0, 2.0]
W_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 3.0]


def _values(draw, rng, shape, dtype, kind):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        lo = 0 if dt.kind == "u" else -3
        v = rng.integers(lo, 4 if kind != "label" else 2, shape)
        if kind == "label" and v.size and draw(st.booleans()):
            v.reshape(-1)[0] = draw(st.sampled_from([2, 127] + ([] if dt.kind == "u" else [-1])))
        return v.astype(dt)
    if kind == "label":
        v = np.where(rng.random(shape) < 0.8, rng.random(shape) < 0.5, rng.random(shape))
        specials = Y_SPECIAL
    elif kind == "logit":
        v = rng.normal(0, 4, shape)
        specials = P_SPECIAL + [100.0, -100.0, 1e30]
    elif kind == "prob":
        v = rng.random(shape)
        specials = P_SPECIAL
    else:  # weight
        v = rng.random(shape) * 2
        specials = W_SPECIAL
    v = np.asarray(v, np.float64)
    if dt == np.float16:
        v = np.clip(v, -6e4, 6e4)  # the float16 range: specials stay, 1e30 logits become large, not inf
    if v.size and draw(st.integers(0, 3)) == 0:  # a quarter of the examples get special values
        for _ in range(draw(st.integers(1, 3))):
            v.reshape(-1)[draw(st.integers(0, v.size - 1))] = draw(st.sampled_from(specials))
    with np.errstate(over="ignore"):  # float16: a 1e30 special logit drawn above becomes inf, one more special
        return v.astype(dt)


def _layout(draw, v):
    """``v`` in a drawn layout; zero-stride kinds replace values along the broadcast axes."""
    if v.ndim == 0:
        return v
    kind = draw(st.sampled_from(["c", "fortran", "steps", "bcast", "readonly"]))
    if kind == "fortran":
        return np.asfortranarray(v)
    if kind == "readonly":
        v = v.copy()
        v.flags.writeable = False
        return v
    if kind == "steps":
        steps = [draw(st.sampled_from([1, 2, 3, -1, -2])) for _ in range(v.ndim)]
        big = np.zeros(tuple(d * abs(s) for d, s in zip(v.shape, steps)), v.dtype)
        sl = tuple(slice(0, None, s) if s > 0 else slice(None, None, s) for s in steps)
        big[sl] = v
        out = big[sl]
        assert np.array_equal(out, v, equal_nan=v.dtype.kind == "f")
        return out
    if kind == "bcast":
        axes = [a for a in range(v.ndim) if draw(st.booleans())]
        small = v[tuple(slice(0, 1) if a in axes else slice(None) for a in range(v.ndim))]
        return np.broadcast_to(small, v.shape)
    return v


@st.composite
def problems(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=rank, max_size=rank)))
    if draw(st.integers(0, 4)):  # mostly non-empty
        shape = tuple(max(1, d) for d in shape)
    axis = draw(st.integers(-rank, rank - 1))
    from_logits = draw(st.booleans())
    label_dtype = draw(st.sampled_from(REAL))
    pred_dtype = draw(st.sampled_from(REAL))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    yt = _layout(draw, _values(draw, rng, shape, label_dtype, "label"))
    yp = _layout(draw, _values(draw, rng, shape, pred_dtype, "logit" if from_logits else "prob"))
    loss_shape = tuple(np.delete(np.array(shape, dtype=int), axis))
    wform = draw(st.sampled_from(["none", "pyfloat", "scalar", "batch", "full", "bcast", "plus1"]))
    w_dtype = draw(st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.uint8, np.bool_]))
    sw = wref = None
    if wform == "pyfloat":
        sw = float(draw(st.sampled_from([0.5, 2.0, -1.0, 0.0, np.nan, np.inf])))
        wref = np.float32(sw)  # Python floats are float32, as in tf
    elif wform == "scalar":
        sw = wref = _values(draw, rng, (), w_dtype, "weight")
    elif wform == "batch" and loss_shape and loss_shape[0] > 1:
        sw = _layout(draw, _values(draw, rng, loss_shape[:1], w_dtype, "weight"))
        wref = np.asarray(sw).reshape((-1,) + (1,) * (len(loss_shape) - 1))
    elif wform == "full" and loss_shape:
        sw = wref = _layout(draw, _values(draw, rng, loss_shape, w_dtype, "weight"))
    elif wform == "bcast" and len(loss_shape) >= 2:
        sw = wref = _layout(draw, _values(draw, rng, (1,) + loss_shape[1:], w_dtype, "weight"))
    elif wform == "plus1" and loss_shape:
        sw = _layout(draw, _values(draw, rng, loss_shape + (1,), w_dtype, "weight"))
        wref = np.asarray(sw)[..., 0]
    return dict(
        yt=yt, yp=yp, axis=axis, from_logits=from_logits, sw=sw, wref=wref,
        ls=draw(st.sampled_from([0.0, 0.1, 1.0])),
        reduction=draw(st.sampled_from(["auto", "none", "sum", "sum_over_batch_size"])),
        chunk=draw(st.sampled_from([1, 5, 64, 1 << 18])),
        isa=draw(st.sampled_from(_core.available_isas())),
    )


def _dtypes(pred_dtype):
    pd = np.dtype(pred_dtype)
    if pd == np.float64:
        return np.dtype(np.float64), np.dtype(np.float64)
    return np.dtype(np.float32), (np.dtype(np.float16) if pd == np.float16 else np.dtype(np.float32))


@settings(max_examples=600, deadline=None, database=None)
@given(problems())
def test_fuzz_against_reference(p):
    cdt, rdt = _dtypes(p["yp"].dtype)
    snaps = [np.asarray(a).tobytes() for a in (p["yt"], p["yp"], p["sw"]) if a is not None]
    old_chunk, old_isa = _inputs.CHUNK, _core.isa()
    _inputs.CHUNK = p["chunk"]
    _core.set_isa(p["isa"])
    try:
        bce = fastbce.BinaryCrossentropy(from_logits=p["from_logits"], label_smoothing=p["ls"], axis=p["axis"],
                                         reduction=p["reduction"])
        got = bce(p["yt"], p["yp"], sample_weight=p["sw"])
    finally:
        _inputs.CHUNK = old_chunk
        _core.set_isa(old_isa)
    assert snaps == [np.asarray(a).tobytes() for a in (p["yt"], p["yp"], p["sw"]) if a is not None]
    kw = dict(from_logits=p["from_logits"], label_smoothing=p["ls"], axis=p["axis"], dtype=cdt)
    exp = reference.loss(p["yt"], p["yp"], weight=p["wref"], reduction=p["reduction"], **kw)
    got = np.asarray(got)
    assert got.dtype == rdt and got.shape == np.shape(exp)
    # tolerance relative to the magnitude of the terms (weights of both signs may cancel in a sum)
    with np.errstate(all="ignore"):
        per = np.abs(reference.per_sample(p["yt"], p["yp"], **kw))
        if p["wref"] is not None:
            per = per * np.abs(np.asarray(p["wref"]).astype(cdt).astype(np.float64))
        if p["reduction"] == "none":
            scale = per
        else:
            scale = np.nansum(np.where(np.isinf(per), 0, per))
            if p["reduction"] != "sum" and per.size:
                scale = scale / per.size
    rtol = 2e-3 if rdt == np.float16 else 1e-5 if cdt == np.float32 else 1e-12
    g = got.astype(np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(g - exp)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(exp))
    np.testing.assert_array_equal(np.isposinf(g), np.isposinf(exp))
    np.testing.assert_array_equal(np.isneginf(g), np.isneginf(exp))
    fin = np.isfinite(exp)
    bound = (rtol * np.broadcast_to(scale, np.shape(exp)) + 1e-30)[fin] + 1e-6 * (rdt != np.float64)
    assert np.all(err[fin] <= bound), (g, exp)
