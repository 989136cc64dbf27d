"""Estimators on the clinical feature table (2-D): classifier, regressor and an ordinal meta-classifier.

All follow scikit-learn's conventions (keyword-only parameters stored as
given, validation in ``fit``, learned state ending in ``_``) and pass
``sklearn.utils.estimator_checks.parametrize_with_checks``. Missing feature
values (NaN: a feature that could not be measured in a clip) are allowed:
logistic regression, ridge and random forests impute the training median
inside the estimator; XGBoost handles them natively. Class labels must be of
one kind (``[1, "2", 3]`` is refused with a ``LabelError`` rather than
silently turned into text), regression targets numbers.
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gaitfeat.errors import LabelError
from models.checks import check_labels

__all__ = ["FeatureTableClassifier", "FeatureTableRegressor", "OrdinalClassifier", "CLASSIFIERS", "REGRESSORS"]

#: Estimator names accepted by :class:`FeatureTableClassifier` and :class:`FeatureTableRegressor`.
CLASSIFIERS: tuple[str, ...] = ("xgb", "logreg", "rf")
REGRESSORS: tuple[str, ...] = ("xgb", "ridge", "rf")


def impute_scale(model) -> Pipeline:
    """Median imputation, standardisation, then ``model`` (all fitted on the training data only)."""
    # keep_empty_features: a feature never measured in the training data stays a (constant) column.
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), model)


def fit_weighted(est, X, y, sample_weight=None):
    """Fit ``est`` (an estimator or a Pipeline) with sample weights.

    In a Pipeline the weights go to every step whose ``fit`` takes them (the
    scaler as well as the model), so a weight of 2 means the same as a
    repeated sample.
    """
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=float)
        if not (np.isfinite(w).all() and (w >= 0).all()):
            # One rule for every estimator (XGBoost refuses negative weights itself, logistic regression does not).
            raise ValueError("sample_weight must be finite and non-negative")
    if sample_weight is None:
        return est.fit(X, y)
    if isinstance(est, Pipeline):
        routed = {f"{name}__sample_weight": sample_weight for name, step in est.steps
                  if step != "passthrough" and "sample_weight" in inspect.signature(step.fit).parameters}
        return est.fit(X, y, **routed)
    return est.fit(X, y, sample_weight=sample_weight)


def _trees(params, *, classifier: bool):
    """XGBoost (NaN handled natively) or a random forest after median imputation, from an estimator's parameters."""
    if params.estimator == "xgb":
        from xgboost import XGBClassifier, XGBRegressor

        cls = XGBClassifier if classifier else XGBRegressor
        return cls(n_estimators=params.n_estimators, max_depth=params.max_depth, learning_rate=params.learning_rate,
                   subsample=0.8, colsample_bytree=0.8, tree_method="hist", n_jobs=params.n_jobs,
                   random_state=params.random_state)
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if classifier else RandomForestRegressor
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         cls(n_estimators=params.n_estimators, min_samples_leaf=2, n_jobs=params.n_jobs,
                             random_state=params.random_state))


def _tags_allow_nan(tags):
    tags.input_tags.allow_nan = True
    return tags


class OrdinalClassifier(ClassifierMixin, BaseEstimator):
    """Threshold (Frank & Hall 2001) ordinal classifier for ordered classes such as GMFCS levels.

    For classes ``c_1 < ... < c_K`` it fits ``K - 1`` binary models of
    ``P(y > c_k)`` and combines them: ``P(y = c_1) = 1 - P(y > c_1)``,
    ``P(y = c_k) = P(y > c_{k-1}) - P(y > c_k)``, ``P(y = c_K) = P(y > c_{K-1})``.
    The exceedance probabilities are made non-increasing in ``k`` (running
    minimum) so every class probability is >= 0. Classes are ordered by their
    sort order.

    Parameters
    ----------
    estimator : classifier, optional
        Binary classifier with ``predict_proba`` (cloned per threshold);
        default: median imputation, standardisation and logistic regression.
    """

    def __init__(self, *, estimator=None):
        self.estimator = estimator

    def __sklearn_tags__(self):
        return _tags_allow_nan(super().__sklearn_tags__())

    def fit(self, X, y, sample_weight=None):
        """Fit one binary model per threshold. Returns ``self``."""
        check_labels(y)
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"OrdinalClassifier needs at least 2 classes; got one class only ({self.classes_[0]!r})")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        base = self.estimator if self.estimator is not None else impute_scale(LogisticRegression(max_iter=3000))
        self.estimators_ = []
        for k in range(len(self.classes_) - 1):
            above = (codes > k).astype(int)
            if above.min() == above.max():        # cannot happen for k < K-1 with all classes present; kept for safety
                self.estimators_.append(float(above[0]))
                continue
            self.estimators_.append(fit_weighted(clone(base), X, above, sample_weight))
        return self

    def exceedance_proba(self, X) -> np.ndarray:
        """``P(y > c_k)`` for ``k = 1 .. K-1``, shape ``(n, K-1)``, non-increasing along axis 1."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        cols = [np.full(X.shape[0], e) if isinstance(e, float) else e.predict_proba(X)[:, 1] for e in self.estimators_]
        return np.minimum.accumulate(np.column_stack(cols), axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, K)`` in the order of ``classes_``."""
        above = self.exceedance_proba(X)
        n = above.shape[0]
        upper = np.column_stack([np.ones(n), above])
        lower = np.column_stack([above, np.zeros(n)])
        proba = np.clip(upper - lower, 0.0, 1.0)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FeatureTableClassifier(ClassifierMixin, BaseEstimator):
    """GMFCS-style classifier on a clinical feature table, chosen by name.

    Parameters
    ----------
    estimator : {"xgb", "logreg", "rf"}
        XGBoost (NaN handled natively), multinomial logistic regression or a
        random forest (both with median imputation; logistic regression also
        standardises).
    ordinal : bool
        Treat the classes as ordered (:class:`OrdinalClassifier` around the
        chosen estimator) instead of plain multiclass.
    class_weight : {None, "balanced"} or dict
        ``"balanced"``: weight samples inversely to their class frequency; a
        dict gives each class's weight.
    n_estimators, max_depth, learning_rate : int, int, float
        Trees (XGBoost, random forest) and their depth; XGBoost's step size.
    C : float
        Inverse regularisation strength of logistic regression.
    n_jobs : int, optional
        Threads for XGBoost / the random forest.
    random_state : int, optional
        Seed of the tree ensembles.
    """

    def __init__(self, *, estimator="xgb", ordinal=False, class_weight=None, n_estimators=200, max_depth=4,
                 learning_rate=0.1, C=1.0, n_jobs=None, random_state=None):
        self.estimator = estimator
        self.ordinal = ordinal
        self.class_weight = class_weight
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.C = C
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _tags_allow_nan(super().__sklearn_tags__())

    def _base(self):
        if self.estimator in ("xgb", "rf"):
            return _trees(self, classifier=True)
        if self.estimator == "logreg":
            return impute_scale(LogisticRegression(C=self.C, max_iter=3000))
        raise ValueError(f"estimator must be one of {CLASSIFIERS}, got {self.estimator!r}")

    def fit(self, X, y, sample_weight=None):
        """Fit on a feature table ``X`` (n_samples, n_features) and labels ``y``. Returns ``self``."""
        if not (self.class_weight is None or self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict {{class: weight}}, got {self.class_weight!r}")
        check_labels(y)
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"FeatureTableClassifier needs at least 2 classes; got one class only ({self.classes_[0]!r})")
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if self.class_weight is not None:
            per_class = compute_sample_weight(self.class_weight, y)
            weights = per_class if weights is None else weights * per_class
        base = self._base()
        model = OrdinalClassifier(estimator=base) if self.ordinal else base
        self.model_ = fit_weighted(model, X, codes, weights)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        proba = np.asarray(self.model_.predict_proba(X), dtype=float)
        return proba / proba.sum(axis=1, keepdims=True)   # XGBoost's float32 rows may miss 1 by ~1e-7

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FeatureTableRegressor(RegressorMixin, BaseEstimator):
    """Regressor (e.g. for the Gait Deviation Index) on a clinical feature table, chosen by name.

    Parameters
    ----------
    estimator : {"xgb", "ridge", "rf"}
    alpha : float
        Ridge penalty (on standardised features).
    n_estimators, max_depth, learning_rate, n_jobs, random_state
        As in :class:`FeatureTableClassifier`.
    """

    def __init__(self, *, estimator="xgb", alpha=1.0, n_estimators=200, max_depth=4, learning_rate=0.1, n_jobs=None,
                 random_state=None):
        self.estimator = estimator
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _tags_allow_nan(super().__sklearn_tags__())

    def _base(self):
        if self.estimator in ("xgb", "rf"):
            return _trees(self, classifier=False)
        if self.estimator == "ridge":
            return impute_scale(Ridge(alpha=self.alpha))
        raise ValueError(f"estimator must be one of {REGRESSORS}, got {self.estimator!r}")

    def fit(self, X, y, sample_weight=None):
        """Fit on a feature table ``X`` and continuous targets ``y``. Returns ``self``."""
        if check_labels(y) - {"number", "bool"} or np.asarray(y).dtype.kind in "US":
            raise LabelError("y must hold numbers (regression targets), not text labels")
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        self.model_ = fit_weighted(self._base(), X, np.asarray(y, dtype=float), weights)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.asarray(self.model_.predict(X), dtype=float)
