"""Binary cross-entropy objectives for gradient boosting: XGBoost and LightGBM.

A boosting library asks its objective for the first and second derivatives of the loss with respect to the
raw margins (logits) of the current model; these objectives answer with :func:`fastbce.grad_hess`, so
``label_smoothing`` and ``pos_weight`` work as in ``BinaryCrossentropy(from_logits=True)``. With the
defaults they are the derivatives of XGBoost's ``binary:logistic`` and LightGBM's ``objective="binary"``.
Neither library is imported here: the objectives only need NumPy.

XGBoost, native API (``xgb.train``): pass ``obj=xgboost_objective(...)``. Either keep
``"objective": "binary:logistic"`` in the parameters, so that ``predict`` returns probabilities and
``base_score`` is a probability, or leave it out, so that ``predict`` returns raw margins (probabilities:
``scipy.special.expit(margins)``, i.e. ``1 / (1 + np.exp(-margins))``) and ``base_score`` is a margin.
With a custom objective XGBoost does not estimate the intercept; :func:`init_margin` gives the one
``binary:logistic`` estimates::

    import fastbce.gbdt, scipy.special, xgboost as xgb

    obj = fastbce.gbdt.xgboost_objective(label_smoothing=0.1)
    base = scipy.special.expit(fastbce.gbdt.init_margin(y, label_smoothing=0.1))
    booster = xgb.train({"objective": "binary:logistic", "base_score": base}, xgb.DMatrix(X, label=y),
                        num_boost_round=50, obj=obj)
    probabilities = booster.predict(xgb.DMatrix(X))

XGBoost, scikit-learn API: ``xgb.XGBClassifier(objective=xgboost_objective(...), base_score=...)``;
``predict_proba`` gives probabilities (the classifier keeps ``binary:logistic``'s link), and
``fit(..., sample_weight=w)`` reaches the objective.

LightGBM, native API: ``lgb.train({"objective": lightgbm_objective(...)}, dataset)``. With a custom
objective LightGBM starts from 0 and ``predict`` returns raw margins; to start where
``objective="binary"`` starts, give the dataset ``init_score=np.full(n, init_margin(y))`` and add that
margin to the predictions: probabilities are ``scipy.special.expit(booster.predict(X) + margin)``.

LightGBM, scikit-learn API: ``lgb.LGBMClassifier(objective=lightgbm_objective(...))``;
``fit(X, y, sample_weight=w, init_score=...)``. Use ``predict(X, raw_score=True)`` (plus the init margin)
and ``expit`` for probabilities: ``predict_proba`` with a custom objective returns raw scores and warns.

Labels and margins may also be 2-D (multi-label: one column per label, XGBoost's multi-output trees); then
``pos_weight`` may hold one weight per column, and sample weights (one per row) apply to the whole row.
The derivatives are computed in float64 whatever the margins' dtype (the libraries round them to their own
gradient type).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._grad import grad_hess
from ._spec import check_label_smoothing, check_pos_weight

__all__ = ["LightGBMObjective", "XGBoostObjective", "init_margin", "lightgbm_objective", "xgboost_objective"]

_Array = npt.NDArray[np.float64]


class _Objective:
    """The derivatives of the logits binary cross-entropy for one ``label_smoothing`` / ``pos_weight``."""

    def __init__(self, label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> None:
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.pos_weight = check_pos_weight(pos_weight)

    def __repr__(self) -> str:
        pw = None if self.pos_weight is None else (
            self.pos_weight[0] if len(self.pos_weight) == 1 else list(self.pos_weight))
        return f"{type(self).__name__}(label_smoothing={self.label_smoothing!r}, pos_weight={pw!r})"

    def grad_hess(self, labels: npt.ArrayLike, margins: npt.ArrayLike,
                  sample_weight: Optional[npt.ArrayLike] = None) -> Tuple[_Array, _Array]:
        """``(grad, hess)`` of the loss at ``margins``, both float64 of ``margins``'s shape.

        ``labels`` hold one label per margin (a flat array of the same size is reshaped, as XGBoost's
        ``get_label`` may give); ``sample_weight`` is None, empty (XGBoost's "no weights"), one weight per
        row, or anything that broadcasts to the margins.
        """
        x = np.asarray(margins, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if y.size != x.size:
            raise ValueError(
                f"labels of shape {y.shape} for margins of shape {x.shape}: a binary cross-entropy objective "
                f"needs one label in [0, 1] per margin (multi-class softmax boosting is not binary)")
        y = y.reshape(x.shape)
        w: Optional[_Array] = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.size == 0:
                w = None
            elif x.ndim == 2 and w.ndim == 1 and w.shape[0] == x.shape[0]:
                w = w[:, None]  # one weight per row of a multi-label model
        return grad_hess(y, x, w, self.label_smoothing, self.pos_weight)


    def _called(self, first: Any, second: Any, weight: Optional[npt.ArrayLike]) -> Tuple[_Array, _Array]:
        """Both calling conventions of the libraries: ``(margins, training data)`` from their ``train``
        (labels and weights read from the data), or ``(labels, margins, weight)`` from their scikit-learn
        classes."""
        if _is_training_data(second):
            return self.grad_hess(second.get_label(), first, second.get_weight())
        return self.grad_hess(first, second, weight)


def _is_training_data(value: object) -> bool:
    """True for the library's training-data object (``xgb.DMatrix``, ``lgb.Dataset``), False for an array."""
    return hasattr(value, "get_label") and hasattr(value, "get_weight")


class XGBoostObjective(_Objective):
    """An XGBoost objective; make one with :func:`xgboost_objective`.

    Called two ways, told apart by the second argument:

    * ``obj(predt, dtrain)`` by ``xgb.train(..., obj=obj)``: raw margins and the ``DMatrix``, whose labels
      and weights are read;
    * ``obj(y_true, y_pred, sample_weight=None)`` by ``xgb.XGBClassifier(objective=obj)``: labels, raw
      margins and the ``fit`` sample weights.

    Returns ``(grad, hess)``, float64 arrays of the margins' shape.
    """

    def __call__(self, predt_or_labels: Any, dtrain_or_predt: Any,
                 sample_weight: Optional[npt.ArrayLike] = None) -> Tuple[_Array, _Array]:
        return self._called(predt_or_labels, dtrain_or_predt, sample_weight)


class LightGBMObjective(_Objective):
    """A LightGBM objective; make one with :func:`lightgbm_objective`.

    Called two ways, told apart by the second argument:

    * ``obj(preds, train_data)`` by ``lgb.train(params={"objective": obj})``: raw scores and the
      ``Dataset``, whose labels and weights are read;
    * ``obj(y_true, y_pred, weight)`` by ``lgb.LGBMClassifier(objective=obj)`` (three parameters: LightGBM
      then passes the ``fit`` sample weights, None without them).

    Returns ``(grad, hess)``, float64 arrays of the scores' shape.
    """

    def __call__(self, preds_or_labels: Any, train_data_or_preds: Any,
                 weight: Optional[npt.ArrayLike] = None) -> Tuple[_Array, _Array]:
        return self._called(preds_or_labels, train_data_or_preds, weight)


def xgboost_objective(label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> XGBoostObjective:
    """The binary cross-entropy objective for XGBoost: ``xgb.train(..., obj=...)`` or
    ``xgb.XGBClassifier(objective=...)`` (see the module's docstring for base scores and probabilities).

    ``label_smoothing`` (in [0, 1]) and ``pos_weight`` (a number, or one per label column) as in
    ``BinaryCrossentropy``; with the defaults the derivatives are those of ``binary:logistic``, and a
    ``pos_weight`` those of ``binary:logistic`` with ``scale_pos_weight``.
    """
    return XGBoostObjective(label_smoothing, pos_weight)


def lightgbm_objective(label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> LightGBMObjective:
    """The binary cross-entropy objective for LightGBM: ``lgb.train({"objective": ...}, ...)`` or
    ``lgb.LGBMClassifier(objective=...)`` (see the module's docstring for init scores and probabilities).

    ``label_smoothing`` (in [0, 1]) and ``pos_weight`` (a number, or one per label column) as in
    ``BinaryCrossentropy``; with the defaults the derivatives are those of ``objective="binary"``, and a
    ``pos_weight`` those of ``objective="binary"`` with ``scale_pos_weight``.
    """
    return LightGBMObjective(label_smoothing, pos_weight)


def init_margin(y_true: npt.ArrayLike, sample_weight: Optional[npt.ArrayLike] = None,
                label_smoothing: float = 0.0, pos_weight: Optional[Any] = None) -> Union[float, _Array]:
    """The constant margin that minimises the (weighted) loss: the model's best start before any tree.

    ``log(pos_weight * sum(w * y) / sum(w * (1 - y)))`` with ``y`` the smoothed labels: the logit of the
    weighted label mean without a ``pos_weight``, which is where ``binary:logistic`` (its estimated
    ``base_score``, as a probability ``expit(margin)``) and LightGBM's ``objective="binary"``
    (``boost_from_average``; from that plain mean even with ``scale_pos_weight``) start. A float for 1-D
    labels, one margin per column for 2-D (multi-label) labels; ``sample_weight`` holds one weight per row.
    A ``ValueError`` when there is no finite minimiser (the weighted labels are all positive or all
    negative, e.g. a single class without label smoothing).
    """
    ls = check_label_smoothing(label_smoothing)
    pw_values = check_pos_weight(pos_weight)
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise ValueError(f"y_true must be 1-D (one label per row) or 2-D (one column per label), got shape {y.shape}")
    if ls:
        y = y * (1.0 - ls) + 0.5 * ls
    w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (y.shape[0],):
        raise ValueError(f"sample_weight must hold one weight per row: shape {w.shape} for y_true of shape {y.shape}")
    if y.ndim == 2:
        w = w[:, None]
    pw: Union[float, _Array] = 1.0
    if pw_values is not None:
        columns = 1 if y.ndim == 1 else y.shape[1]
        if len(pw_values) not in (1, columns):
            raise ValueError(f"pos_weight has {len(pw_values)} values for y_true of shape {y.shape}: expected one "
                             f"value or one per column")
        pw = pw_values[0] if len(pw_values) == 1 else np.asarray(pw_values)
    positive = pw * np.sum(w * y, axis=0)
    negative = np.sum(w * (1.0 - y), axis=0)
    if not (np.all(positive > 0) and np.all(negative > 0)):
        raise ValueError(
            f"no finite initial margin: the weighted positive part {positive} and negative part {negative} of "
            f"the labels must both be > 0 (all labels of one class? label_smoothing > 0 makes both positive)")
    margin = np.log(positive) - np.log(negative)
    return float(margin) if y.ndim == 1 else np.asarray(margin, dtype=np.float64)
