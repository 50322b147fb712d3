"""Hostile inputs (issue 4, points 1 and 2): every memory layout and real dtype, on every ISA, against
the float64 reference; callers' arrays (inputs and sample weights) are never written, byte for byte;
bad input is a clear TypeError / ValueError naming the value and changes nothing; NaN / inf in labels,
predictions and weights propagate as in tf_keras."""
import itertools
import zlib

import numpy as np
import pytest

import fastbce
from fastbce import _inputs

import layouts
import reference

pytestmark = pytest.mark.usefixtures("each_isa")

B = fastbce.BinaryCrossentropy
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)

# (label dtype, prediction dtype): every real dtype appears on both sides at least once
DTYPE_PAIRS = [
    (F32, F32), (F64, F64), (F64, F32), (F32, F64), (F16, F16), (F16, F32), (F32, F16),
    (np.int8, F32), (np.int16, F64), (np.int32, F16), (np.int64, F32), (np.uint8, F32), (np.uint16, F64),
    (np.uint32, F32), (np.uint64, F64), (np.bool_, F32), (np.bool_, F64),
    (F32, np.int8), (np.int64, np.int64), (np.uint8, np.uint64), (np.bool_, np.bool_), (F64, np.int32),
]
SHAPE = (4, 5, 6)


def _compute_dtypes(pred_dtype):
    """(compute, result) dtypes for a prediction dtype, per the documented rules."""
    pd = np.dtype(pred_dtype)
    if pd == F64:
        return F64, F64
    if pd == F16:
        return F32, F16
    return F32, F32


def _values(shape, label_dtype, pred_dtype, from_logits, rng):
    ld, pd = np.dtype(label_dtype), np.dtype(pred_dtype)
    y = rng.random(shape) < 0.5
    if ld.kind == "f":
        y = np.where(rng.random(shape) < 0.2, rng.random(shape), y)  # some soft labels too
    y = y.astype(ld)
    if pd.kind == "f":
        x = rng.normal(0, 3, shape) if from_logits else rng.random(shape)
    elif pd.kind == "b":
        x = rng.random(shape) < 0.5
    elif from_logits:
        lo = 0 if pd.kind == "u" else -3
        x = rng.integers(lo, 4, shape)
    else:
        x = rng.integers(0, 2, shape)
    return y, x.astype(pd)


def _assert_matches(got, exp, cdt, rdt):
    got = np.asarray(got)
    assert got.dtype == rdt, (got.dtype, rdt)
    assert got.shape == np.shape(exp)
    if rdt == F16:
        tol = dict(rtol=2e-3, atol=1e-4)  # float32 result rounded to float16
    elif cdt == F32:
        tol = dict(rtol=1e-5, atol=1e-6)
    else:
        tol = dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.astype(np.float64), exp, **tol)


@pytest.mark.parametrize("kind", layouts.KINDS)
@pytest.mark.parametrize("label_dtype,pred_dtype", DTYPE_PAIRS, ids=lambda d: np.dtype(d).name)
def test_every_layout_and_dtype_matches_reference(kind, label_dtype, pred_dtype, tmp_path, monkeypatch):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{np.dtype(label_dtype)}{np.dtype(pred_dtype)}".encode()))
    cdt, rdt = _compute_dtypes(pred_dtype)
    for from_logits in (False, True):
        y, x = _values(SHAPE, label_dtype, pred_dtype, from_logits, rng)
        yt, t_own = layouts.make(y, kind, tmp_path, f"yt{from_logits}")
        yp, p_own = layouts.make(x, kind, tmp_path, f"yp{from_logits}")
        for axis in (-1, 1, 0):
            loss_shape = tuple(np.delete(np.array(SHAPE), axis))
            # weights in the same hostile layout: per-sample (batch) and full per-sample-loss shape
            wb, wb_own = layouts.make(rng.random(loss_shape[0]) + 0.5, kind, tmp_path, f"wb{axis}{from_logits}")
            wf, wf_own = layouts.make((rng.random(loss_shape) * 2).astype(np.float32), kind, tmp_path,
                                      f"wf{axis}{from_logits}")
            owners = (t_own, p_own, wb_own, wf_own)
            before = [o.snapshot() for o in owners]
            for chunk in (_inputs.CHUNK, 7):
                monkeypatch.setattr(_inputs, "CHUNK", chunk)
                for reduction in ("none", "sum", "auto"):
                    bce = B(from_logits=from_logits, axis=axis, reduction=reduction, label_smoothing=0.1)
                    for sw, wref in ((None, None), (wb, np.asarray(wb).reshape(-1, 1)), (wf, wf)):
                        got = bce(yt, yp, sample_weight=sw)
                        exp = reference.loss(yt, yp, from_logits=from_logits, axis=axis, reduction=reduction,
                                             weight=wref, label_smoothing=0.1, dtype=cdt)
                        _assert_matches(got, exp, cdt, rdt)
            after = [o.snapshot() for o in owners]
            assert before == after, "an input or weight buffer was written to"


@pytest.mark.parametrize("kind", ["c", "strided", "negative", "bcast_last", "memmap"])
def test_functional_and_call_on_hostile_layouts(kind, tmp_path):
    rng = np.random.default_rng(3)
    y, x = _values((3, 9), np.bool_, F16, False, rng)
    yt, t_own = layouts.make(y, kind, tmp_path, "yt")
    yp, p_own = layouts.make(x, kind, tmp_path, "yp")
    before = (t_own.snapshot(), p_own.snapshot())
    exp = reference.per_sample(yt, yp, dtype=F32)
    _assert_matches(fastbce.binary_crossentropy(yt, yp), exp, F32, F16)
    _assert_matches(B().call(yt, yp), exp, F32, F16)
    assert (t_own.snapshot(), p_own.snapshot()) == before


def test_trailing_one_squeeze_on_hostile_layouts(tmp_path):
    # y_true [B] strided, y_pred [B, 1] as a broadcast: the squeeze rule, then the chunked path
    rng = np.random.default_rng(4)
    y = (rng.random(40) < 0.5).astype(np.int16)
    yt, _ = layouts.make(y, "strided", tmp_path)
    yp = np.broadcast_to(np.float64(0.25), (40, 1))
    got = B()(yt, yp)
    np.testing.assert_allclose(float(got), reference.loss(yt, yp[:, 0], dtype=F64), rtol=1e-12)


# ----------------------------------------------------------------------------- bad input
BAD_DTYPES = [np.complex64, np.complex128, object, "U3", "S3", "datetime64[D]", "timedelta64[s]",
              [("a", "f4"), ("b", "f4")], "V8"]


def _bad_array(dtype, form):
    a = np.zeros((2, 6), dtype=np.dtype(dtype))
    if form == "strided":
        return np.zeros((2, 12), dtype=np.dtype(dtype))[:, ::2]
    if form == "bcast":
        return np.broadcast_to(a[:1], (2, 6))
    if form == "readonly":
        a.flags.writeable = False
    return a


@pytest.mark.parametrize("form", ["c", "strided", "bcast", "readonly"])
@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=str)
@pytest.mark.parametrize("where", ["y_true", "y_pred", "sample_weight"])
def test_non_real_dtypes_are_type_errors_in_any_layout(dtype, form, where):
    good = np.full((2, 6), 0.5, np.float32)
    good.flags.writeable = False
    bad = _bad_array(dtype, form)
    args = {"y_true": good, "y_pred": good, "sample_weight": None}
    args[where] = bad if where != "sample_weight" else bad[:, 0]
    before = good.tobytes()
    for reduction in ("none", "sum", "auto"):
        with pytest.raises(TypeError, match=where) as ei:
            B(reduction=reduction)(**args)
        assert str(np.dtype(dtype)) in str(ei.value)
    if where != "sample_weight":
        with pytest.raises(TypeError, match=where):
            fastbce.binary_crossentropy(args["y_true"], args["y_pred"])
    assert good.tobytes() == before


@pytest.mark.parametrize("obj", [None, "abc", b"abc", {"a": 1}, {1, 2}, [[0.5, "a"]], [[1 + 2j, 0.5]], object()],
                         ids=repr)
def test_non_numeric_python_objects_are_type_errors(obj):
    good = [[0.0, 1.0]]
    with pytest.raises(TypeError):
        B()(good, obj)
    with pytest.raises(TypeError):
        B()(obj, good)


@pytest.mark.parametrize("ls", [-0.1, 1.0000001, -1e-300, 2, float("nan"), float("inf"), -float("inf"),
                                np.float32(1.5), np.float64(-0.5)])
def test_label_smoothing_out_of_range_names_the_value(ls):
    for make in (lambda: B(label_smoothing=ls),
                 lambda: fastbce.binary_crossentropy([[0.]], [[0.5]], label_smoothing=ls),
                 lambda: B.from_config({**B().get_config(), "label_smoothing": ls})):
        with pytest.raises(ValueError, match="label_smoothing") as ei:
            make()
        assert repr(ls) in str(ei.value) or str(ls) in str(ei.value)


@pytest.mark.parametrize("axis", [3, -4, 100, -2**40, np.int64(7)])
def test_axis_out_of_range_names_the_value(axis):
    x = np.full((2, 3, 4), 0.5, np.float32)
    for call in (lambda: B(axis=axis)(x, x), lambda: fastbce.binary_crossentropy(x, x, axis=axis),
                 lambda: B(axis=axis, reduction="none")(x[:, ::2], x[:, ::2])):
        with pytest.raises(ValueError, match=rf"axis {int(axis)}\b") as ei:
            call()
        assert "(2, 3, 4)" in str(ei.value) or "(2, 2, 4)" in str(ei.value)


@pytest.mark.parametrize("yt_shape,yp_shape", [((4, 3), (4, 2)), ((4, 3), (3, 4)), ((4, 3, 2), (4, 3)),
                                               ((4,), (4, 2)), ((1, 3), (4, 3)), ((2, 3, 1, 1), (2, 3))])
def test_mismatched_shapes_in_hostile_layouts_name_both(yt_shape, yp_shape):
    yt = np.broadcast_to(np.float32(1), yt_shape)
    yp = np.flip(np.full(yp_shape, 0.5))
    with pytest.raises(ValueError) as ei:
        B()(yt, yp)
    assert str(yt_shape) in str(ei.value) and str(yp_shape) in str(ei.value)


@pytest.mark.parametrize("w_shape", [(3,), (5, 2), (4, 1, 1, 1), (2, 4), (0,), (4, 3, 2)])
def test_bad_weight_shapes_name_both_and_change_nothing(w_shape):
    yt = np.zeros((4, 3, 7), np.float32)
    yp = np.full((4, 3, 7), 0.5)[:, :, ::-1]
    w = np.ones(w_shape)
    w.flags.writeable = False
    snaps = [a.tobytes() for a in (yt, yp, w)]
    with pytest.raises(ValueError) as ei:
        B()(yt, yp, sample_weight=w)
    assert str(w_shape) in str(ei.value) and "(4, 3)" in str(ei.value)
    assert snaps == [a.tobytes() for a in (yt, yp, w)]


def test_fast_path_does_not_write_inputs_or_alias_results():
    rng = np.random.default_rng(8)
    for dt in (np.float32, np.float64):
        yt = (rng.random((64, 33)) < 0.5).astype(dt)
        yp = rng.random((64, 33)).astype(dt)
        snaps = (yt.tobytes(), yp.tobytes())
        for arr in (yt, yp):
            arr.flags.writeable = False
        for reduction in ("none", "sum", "auto"):
            for fl in (False, True):
                out = B(reduction=reduction, from_logits=fl, label_smoothing=0.3)(yt, yp)
                assert not np.shares_memory(np.asarray(out), yp) and not np.shares_memory(np.asarray(out), yt)
        assert (yt.tobytes(), yp.tobytes()) == snaps


# ----------------------------------------------------------------------------- special values
LABELS = [0.0, 1.0, 0.5, -0.0, -1.0, 2.0, np.nan, np.inf, -np.inf]
PROBS = [0.0, -0.0, 1.0, 1e-7, 1 - 1e-7, 5e-8, 2e-7, 1e-45, 0.3, -2.0, 3.0, np.nan, np.inf, -np.inf]
LOGITS = [0.0, -0.0, 1.0, -1.0, 88.0, -88.0, 100.0, -100.0, 1e30, -1e30, 1e-40, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.2])
@pytest.mark.parametrize("layout", ["c", "negative"])
def test_special_labels_and_predictions_match_tf_formula(dtype, from_logits, ls, layout, tmp_path):
    pairs = list(itertools.product(LABELS, LOGITS if from_logits else PROBS))
    y = np.array([a for a, _ in pairs], dtype)
    p = np.array([b for _, b in pairs], dtype)
    # each special pair alone as a sample (element-exact), and all in one long row (the reductions)
    yt, _ = layouts.make(y[:, None], layout)
    yp, _ = layouts.make(p[:, None], layout)
    got = B(from_logits=from_logits, label_smoothing=ls, reduction="none")(yt, yp)
    exp = reference.loss(yt, yp, from_logits=from_logits, label_smoothing=ls, reduction="none", dtype=dtype)
    assert np.array_equal(np.isnan(got), np.isnan(exp))
    assert np.array_equal(np.isposinf(got), np.isposinf(exp)) and np.array_equal(np.isneginf(got), np.isneginf(exp))
    fin = np.isfinite(exp)
    np.testing.assert_allclose(got[fin].astype(np.float64), exp[fin], rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-13)
    # all pairs in one long row: the row mean (NaN when any element is NaN or when +inf meets -inf)
    bce = B(from_logits=from_logits, label_smoothing=ls)
    for sel in (slice(None), np.isfinite(exp)):
        whole = np.float64(bce(y[sel][None], p[sel][None]))
        ref = reference.loss(y[sel][None], p[sel][None], from_logits=from_logits, label_smoothing=ls, dtype=dtype)
        np.testing.assert_allclose(whole, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)


WEIGHTS = [1.0, 0.0, -0.0, -1.0, 2.5, -3.25, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("form", ["scalar", "batch", "full", "strided"])
def test_special_weights_propagate_like_tf(dtype, from_logits, form):
    # per-sample losses: exactly 0, finite, inf (logits only: fastbce's limit), NaN (NaN label), finite
    yt = np.array([[1.], [0.], [0.], [np.nan], [1.]], dtype)
    yp = np.array([[1.], [0.3], [np.inf], [0.5], [0.9]], dtype)
    for w in WEIGHTS:
        if form == "scalar":
            sw = dtype(w)
        elif form == "batch":
            sw = np.full(5, w, dtype)
        elif form == "full":
            sw = np.full((5, 1), w)  # float64 weight of one rank more, on float32 or float64 inputs
        else:
            sw = np.full(10, w, np.float16 if np.isfinite(w) and w in (0, 1, -1, 2.5) else dtype)[::2]
        wref = np.asarray(sw).reshape(-1)
        for reduction in ("none", "sum", "auto"):
            got = np.asarray(B(from_logits=from_logits, reduction=reduction)(yt, yp, sample_weight=sw))
            exp = reference.loss(yt, yp, from_logits=from_logits, reduction=reduction, weight=wref, dtype=dtype)
            assert np.array_equal(np.isnan(got), np.isnan(exp)), (w, reduction, got, exp)
            np.testing.assert_allclose(got.astype(np.float64), exp, rtol=1e-6)


def test_documented_special_value_cases():
    # the README's "Bad input and special values" paragraph, case by case
    y1, p1 = np.array([[1.], [0.]], np.float32), np.array([[1.], [0.3]], np.float32)  # losses 0 and finite
    none = B(reduction="none")
    assert none(y1, p1)[0] == 0.0
    out = none(y1, p1, sample_weight=[np.inf, 1.0])
    assert np.isnan(out[0]) and np.isfinite(out[1])  # inf weight x 0 loss = NaN
    out = none(y1, p1, sample_weight=[1.0, np.inf])
    assert out[1] == np.inf  # inf weight x positive loss = inf
    out = none(y1, p1, sample_weight=[1.0, -np.inf])
    assert out[1] == -np.inf
    assert np.isnan(B(reduction="sum")(y1, p1, sample_weight=[np.inf, 1.0]))
    # 0 weight x inf loss = NaN (the +inf logit with label 0)
    out = B(from_logits=True, reduction="none")(np.array([[0.]]), np.array([[np.inf]]), sample_weight=[0.0])
    assert np.isnan(out[0])
    # negative weights are accepted and negate the loss
    pos = B(reduction="none")(y1, p1, sample_weight=[2.0, 3.0])
    neg = B(reduction="none")(y1, p1, sample_weight=[-2.0, -3.0])
    np.testing.assert_array_equal(neg, -pos)
    assert B(reduction="sum")(y1, p1, sample_weight=[-2.0, -3.0]) < 0
    # NaN / inf labels: NaN label -> NaN; inf label with a probability that is clipped -> NaN (0 * inf)
    assert np.isnan(none(np.array([[np.nan]]), np.array([[0.3]]))[0])
    assert np.isnan(none(np.array([[np.inf]]), np.array([[0.0]]))[0])
    ref = reference.loss(np.array([[np.inf]]), np.array([[0.0]]), reduction="none")
    assert np.isnan(ref[0])
