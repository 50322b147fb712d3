"""fastbce.gbdt: binary cross-entropy objectives for XGBoost and LightGBM.

With the defaults, boosters trained with the fastbce objective predict what XGBoost's ``binary:logistic`` and
LightGBM's ``objective="binary"`` predict; with a ``pos_weight`` what those predict with ``scale_pos_weight``.
Derivatives are checked against a float64 NumPy reference written here. The library tests skip (through
``pytest.importorskip``) where XGBoost / LightGBM are not installed; the frameworks CI step runs them all.
"""
import subprocess
import sys

import numpy as np
import pytest

import fastbce
from fastbce import gbdt

N_ROWS = 300
ROUNDS = 20
RTOL = 1e-5
# Deterministic single-threaded training, small trees: the two runs of a comparison see the same histogram
# bins and split candidates, so equal derivatives give equal trees.
XGB_PARAMS = {"tree_method": "hist", "nthread": 1, "seed": 0, "max_depth": 3, "eta": 0.3}
LGB_PARAMS = {"num_threads": 1, "seed": 0, "deterministic": True, "force_row_wise": True, "verbose": -1,
              "num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.3}


def expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def reference_grad_hess(y, x, weight=None, label_smoothing=0.0, pos_weight=1.0):
    """d/dx and d2/dx2 of w * ((1 - y) softplus(x) + pw y softplus(-x)), y smoothed, in float64."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    pw = np.asarray(pos_weight, dtype=np.float64)
    s = expit(x)
    grad = (1.0 - y) * s - pw * y * (1.0 - s)
    hess = ((1.0 - y) + pw * y) * s * (1.0 - s)
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        w = w[:, None] if x.ndim == 2 else w
        grad, hess = grad * w, hess * w
    return grad, hess


def make_data(seed=0, n=N_ROWS, labels=1):
    """Features, labels from a noisy linear rule (one column per label when ``labels > 1``), row weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    coef = rng.standard_normal((6, labels))
    noisy = X @ coef + 0.7 * rng.standard_normal((n, labels))
    y = (noisy > 0.4).astype(np.float32)
    w = rng.uniform(0.5, 2.0, n).astype(np.float32)
    return X, (y[:, 0] if labels == 1 else y), w


def assert_differs(a, b):
    assert not np.allclose(a, b, rtol=1e-3, atol=0), "training with the option gave the default model"


# --------------------------------------------------------------------------- no library needed
OPTIONS = [(0.0, None), (0.2, None), (0.0, 3.0), (0.1, 0.5)]


@pytest.mark.parametrize("make", [gbdt.xgboost_objective, gbdt.lightgbm_objective], ids=["xgboost", "lightgbm"])
@pytest.mark.parametrize(("label_smoothing", "pos_weight"), OPTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sklearn_form_matches_reference(make, label_smoothing, pos_weight, weighted):
    rng = np.random.default_rng(1)
    y = (rng.random(200) < 0.4).astype(np.float32)
    margins = (rng.standard_normal(200) * 3).astype(np.float32)
    w = rng.uniform(0.1, 3.0, 200) if weighted else None
    obj = make(label_smoothing=label_smoothing, pos_weight=pos_weight)
    if make is gbdt.xgboost_objective:
        grad, hess = obj(y, margins) if w is None else obj(y, margins, sample_weight=w)
    else:
        grad, hess = obj(y, margins, w)
    ref_g, ref_h = reference_grad_hess(y, margins, w, label_smoothing, 1.0 if pos_weight is None else pos_weight)
    assert grad.dtype == hess.dtype == np.float64
    np.testing.assert_allclose(grad, ref_g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hess, ref_h, rtol=1e-12, atol=1e-15)


def test_multilabel_rows_and_per_class_pos_weight():
    rng = np.random.default_rng(2)
    y = (rng.random((50, 3)) < 0.3).astype(np.float32)
    margins = rng.standard_normal((50, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 50)
    pw = [1.0, 4.0, 0.25]
    grad, hess = gbdt.lightgbm_objective(label_smoothing=0.1, pos_weight=pw)(y, margins, w)
    ref_g, ref_h = reference_grad_hess(y, margins, w, 0.1, pw)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hess, ref_h, rtol=1e-12, atol=1e-15)
    # XGBoost's get_label() may hand multi-output labels over flat
    grad_flat, _ = gbdt.xgboost_objective(label_smoothing=0.1, pos_weight=pw)(y.ravel(), margins, w)
    np.testing.assert_array_equal(grad_flat, grad)


def test_labels_must_match_margins():
    obj = gbdt.lightgbm_objective()
    with pytest.raises(ValueError, match=r"labels of shape \(10,\) for margins of shape \(10, 3\)"):
        obj(np.zeros(10), np.zeros((10, 3)), None)
    with pytest.raises(ValueError, match="does not broadcast"):
        obj(np.zeros(10), np.zeros(10), np.ones(4))


def test_bad_options_fail_when_the_objective_is_made():
    with pytest.raises(ValueError, match="label_smoothing"):
        gbdt.xgboost_objective(label_smoothing=1.5)
    with pytest.raises(TypeError, match="pos_weight"):
        gbdt.lightgbm_objective(pos_weight="high")
    with pytest.raises(ValueError, match="pos_weight must be finite"):
        gbdt.lightgbm_objective(pos_weight=float("nan"))


def test_repr_names_the_options():
    assert repr(gbdt.xgboost_objective(0.1, 2.0)) == "XGBoostObjective(label_smoothing=0.1, pos_weight=2.0)"
    assert repr(gbdt.lightgbm_objective(pos_weight=[1, 2])) == \
        "LightGBMObjective(label_smoothing=0.0, pos_weight=[1.0, 2.0])"


@pytest.mark.parametrize(("label_smoothing", "pos_weight"), OPTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_init_margin_minimises_the_loss(label_smoothing, pos_weight, weighted):
    _, y, w = make_data()
    w = w if weighted else None
    m = gbdt.init_margin(y, w, label_smoothing, pos_weight)
    assert isinstance(m, float)
    pw = 1.0 if pos_weight is None else pos_weight

    def total_grad(c):
        return reference_grad_hess(y, np.full(y.shape, c), w, label_smoothing, pw)[0].sum()

    scale = reference_grad_hess(y, np.zeros(y.shape), w, label_smoothing, pw)[1].sum()
    assert abs(total_grad(m)) < 1e-9 * scale  # the minimum of a convex function
    assert total_grad(m - 1e-3) < 0 < total_grad(m + 1e-3)
    if pos_weight is None and not label_smoothing:
        mean = np.average(y.astype(np.float64), weights=w)
        np.testing.assert_allclose(expit(m), mean, rtol=1e-12)


def test_init_margin_per_column():
    _, y, w = make_data(labels=3)
    pw = [1.0, 3.0, 0.5]
    m = gbdt.init_margin(y, w, pos_weight=pw)
    assert m.shape == (3,)
    for j in range(3):
        assert m[j] == pytest.approx(gbdt.init_margin(y[:, j], w, pos_weight=pw[j]), rel=1e-14)


def test_init_margin_without_a_finite_minimiser():
    with pytest.raises(ValueError, match="no finite initial margin"):
        gbdt.init_margin(np.ones(5))
    assert np.isfinite(gbdt.init_margin(np.ones(5), label_smoothing=0.1))
    with pytest.raises(ValueError, match=r"one weight per row: shape \(4,\)"):
        gbdt.init_margin(np.array([0.0, 1.0, 1.0]), np.ones(4))
    with pytest.raises(ValueError, match="pos_weight has 2 values"):
        gbdt.init_margin(np.array([0.0, 1.0, 1.0]), pos_weight=[1.0, 2.0])


def test_importing_fastbce_imports_no_boosting_library():
    code = ("import sys, fastbce; fastbce.gbdt.lightgbm_objective(); fastbce.gbdt.xgboost_objective(); "
            "print(sorted(m for m in ('xgboost', 'lightgbm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names():
    assert fastbce.gbdt is gbdt
    assert set(gbdt.__all__) <= set(dir(gbdt))


# --------------------------------------------------------------------------- XGBoost
@pytest.fixture(scope="module")
def xgb():
    return pytest.importorskip("xgboost")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_xgboost_train_matches_binary_logistic(xgb, weighted):
    X, y, w = make_data()
    w = w if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w)
    # The built-in objective with everything default: XGBoost estimates the intercept itself.
    expected = xgb.train({**XGB_PARAMS, "objective": "binary:logistic"}, d, ROUNDS).predict(d)
    margin = gbdt.init_margin(y, w)
    obj = gbdt.xgboost_objective()
    # Kept link: predict gives probabilities, base_score is a probability.
    linked = xgb.train({**XGB_PARAMS, "objective": "binary:logistic", "base_score": expit(margin)}, d, ROUNDS,
                       obj=obj)
    np.testing.assert_allclose(linked.predict(d), expected, rtol=RTOL)
    # No objective: predict gives raw margins, base_score is a margin.
    raw = xgb.train({**XGB_PARAMS, "base_score": margin}, d, ROUNDS, obj=obj)
    np.testing.assert_allclose(expit(raw.predict(d)), expected, rtol=RTOL)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_xgboost_classifier_matches_binary_logistic(xgb, weighted):
    pytest.importorskip("sklearn")  # XGBoost's scikit-learn API needs it
    X, y, w = make_data()
    w = w if weighted else None
    kw = {"n_estimators": ROUNDS, "tree_method": "hist", "n_jobs": 1, "random_state": 0, "max_depth": 3,
          "learning_rate": 0.3}
    expected = xgb.XGBClassifier(**kw).fit(X, y, sample_weight=w).predict_proba(X)
    clf = xgb.XGBClassifier(objective=gbdt.xgboost_objective(), base_score=expit(gbdt.init_margin(y, w)), **kw)
    got = clf.fit(X, y, sample_weight=w).predict_proba(X)
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_xgboost_dmatrix_form_reads_labels_and_weights(xgb):
    X, y, w = make_data()
    d = xgb.DMatrix(X, label=y, weight=w)
    margins = np.random.default_rng(3).standard_normal(len(y)).astype(np.float32)
    grad, hess = gbdt.xgboost_objective(label_smoothing=0.2, pos_weight=2.5)(margins, d)
    ref_g, ref_h = reference_grad_hess(y, margins, w, 0.2, 2.5)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hess, ref_h, rtol=1e-12, atol=1e-15)


def test_xgboost_pos_weight_is_scale_pos_weight(xgb):
    X, y, w = make_data()
    d = xgb.DMatrix(X, label=y, weight=w)
    params = {**XGB_PARAMS, "objective": "binary:logistic", "base_score": 0.5}
    expected = xgb.train({**params, "scale_pos_weight": 3.0}, d, ROUNDS).predict(d)
    got = xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective(pos_weight=3.0)).predict(d)
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    assert_differs(got, xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective()).predict(d))


def test_xgboost_label_smoothing_trains_and_differs(xgb):
    X, y, w = make_data()
    d = xgb.DMatrix(X, label=y, weight=w)
    params = {**XGB_PARAMS, "objective": "binary:logistic", "base_score": 0.5}
    default = xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective()).predict(d)
    smoothed = xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective(label_smoothing=0.2)).predict(d)
    assert np.all(np.isfinite(smoothed))
    assert_differs(smoothed, default)
    # smoothed targets lie in [0.1, 0.9]: the model is less confident
    assert np.max(np.abs(smoothed - 0.5)) < np.max(np.abs(default - 0.5))


def test_xgboost_multilabel(xgb):
    X, y, w = make_data(labels=3)
    d = xgb.DMatrix(X, label=y, weight=w)
    params = {**XGB_PARAMS, "objective": "binary:logistic", "base_score": 0.5}
    expected = xgb.train(params, d, ROUNDS).predict(d)
    got = xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective()).predict(d)
    assert got.shape == y.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    weighted = xgb.train(params, d, ROUNDS, obj=gbdt.xgboost_objective(pos_weight=[1.0, 4.0, 0.25])).predict(d)
    assert_differs(weighted[:, 1:], expected[:, 1:])
    # one tree per output: the first label's pos weight of 1 leaves its derivatives, and so its trees, as they were
    np.testing.assert_allclose(weighted[:, 0], expected[:, 0], rtol=RTOL)


# --------------------------------------------------------------------------- LightGBM
@pytest.fixture(scope="module")
def lgb():
    return pytest.importorskip("lightgbm")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_lightgbm_train_matches_binary(lgb, weighted):
    X, y, w = make_data()
    w = w if weighted else None
    # The built-in objective with everything default: boost_from_average starts at the label mean's logit.
    reference = lgb.train({**LGB_PARAMS, "objective": "binary"}, lgb.Dataset(X, y, weight=w), ROUNDS)
    margin = gbdt.init_margin(y, w)
    booster = lgb.train({**LGB_PARAMS, "objective": gbdt.lightgbm_objective()},
                        lgb.Dataset(X, y, weight=w, init_score=np.full(len(y), margin)), ROUNDS)
    raw = booster.predict(X) + margin  # a custom objective's predict gives raw scores, without the init score
    np.testing.assert_allclose(raw, reference.predict(X, raw_score=True), rtol=RTOL)
    np.testing.assert_allclose(expit(raw), reference.predict(X), rtol=RTOL)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_lightgbm_classifier_matches_binary(lgb, weighted):
    pytest.importorskip("sklearn")  # LightGBM's scikit-learn API needs it
    X, y, w = make_data()
    w = w if weighted else None
    kw = {"n_estimators": ROUNDS, "n_jobs": 1, "random_state": 0, "deterministic": True, "force_row_wise": True,
          "verbose": -1, "num_leaves": 7, "min_child_samples": 5, "learning_rate": 0.3}
    expected = lgb.LGBMClassifier(**kw).fit(X, y, sample_weight=w).predict_proba(X)[:, 1]
    margin = gbdt.init_margin(y, w)
    clf = lgb.LGBMClassifier(objective=gbdt.lightgbm_objective(), **kw)
    clf.fit(X, y, sample_weight=w, init_score=np.full(len(y), margin))
    np.testing.assert_allclose(expit(clf.predict(X, raw_score=True) + margin), expected, rtol=RTOL)


def test_lightgbm_dataset_form_reads_labels_and_weights(lgb):
    X, y, w = make_data()
    ds = lgb.Dataset(X, y, weight=w).construct()
    preds = np.random.default_rng(4).standard_normal(len(y))
    grad, hess = gbdt.lightgbm_objective(label_smoothing=0.1, pos_weight=0.5)(preds, ds)
    ref_g, ref_h = reference_grad_hess(y, preds, w, 0.1, 0.5)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hess, ref_h, rtol=1e-12, atol=1e-15)


def test_lightgbm_pos_weight_is_scale_pos_weight(lgb):
    X, y, w = make_data()
    # scale_pos_weight multiplies the positives' derivatives; LightGBM still boosts from the logit of the
    # plain weighted label mean (not from the pos-weighted loss's minimiser, init_margin(..., pos_weight=3.0))
    reference = lgb.train({**LGB_PARAMS, "objective": "binary", "scale_pos_weight": 3.0},
                          lgb.Dataset(X, y, weight=w), ROUNDS)
    margin = gbdt.init_margin(y, w)
    booster = lgb.train({**LGB_PARAMS, "objective": gbdt.lightgbm_objective(pos_weight=3.0)},
                        lgb.Dataset(X, y, weight=w, init_score=np.full(len(y), margin)), ROUNDS)
    got = booster.predict(X) + margin
    np.testing.assert_allclose(got, reference.predict(X, raw_score=True), rtol=RTOL)
    default = lgb.train({**LGB_PARAMS, "objective": "binary"}, lgb.Dataset(X, y, weight=w), ROUNDS)
    assert_differs(got, default.predict(X, raw_score=True))


def test_lightgbm_label_smoothing_trains_and_differs(lgb):
    X, y, w = make_data()

    def train(obj):
        return lgb.train({**LGB_PARAMS, "objective": obj}, lgb.Dataset(X, y, weight=w), ROUNDS).predict(X)

    default, smoothed = train(gbdt.lightgbm_objective()), train(gbdt.lightgbm_objective(label_smoothing=0.2))
    assert np.all(np.isfinite(smoothed))
    assert_differs(smoothed, default)
    assert np.max(np.abs(smoothed)) < np.max(np.abs(default))  # smoothed targets: smaller margins
