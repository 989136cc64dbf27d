"""Feature importance from several angles: SHAP, permutation, XGBoost gain; their agreement; body regions.

Every function takes a *fitted* :class:`~models.tabular.FeatureTableClassifier`
or :class:`~models.tabular.FeatureTableRegressor` and a feature table with
the columns it was fitted on.

SHAP values are in the model's margin space: log-odds per class for
XGBoost and logistic regression (they add up, with the explainer's expected
value, to the model's raw output for that class), probabilities for random
forests, the predicted value for regressors. Ordinal models are explained on
their expected class index ``E[k] = Σ k p_k`` with a permutation explainer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from gaitfeat.features import FEATURE_INFO, REGIONS
from models.tabular import FeatureTableClassifier, OrdinalClassifier

__all__ = [
    "ShapResult",
    "shap_values",
    "mean_abs_shap",
    "permutation_ranking",
    "gain_ranking",
    "rank_agreement",
    "by_region",
]


class ShapResult:
    """SHAP values ``values`` (n, F) or (n, F, K), the ``expected`` value(s), ``feature_names``, the ``space``."""

    def __init__(self, values: np.ndarray, expected: np.ndarray, feature_names: list[str], space: str,
                 classes: np.ndarray | None = None):
        self.values = values
        self.expected = expected
        self.feature_names = feature_names
        self.space = space
        self.classes = classes

    def for_class(self, k: int) -> np.ndarray:
        """``(n, F)`` values of class index ``k`` (regression: the only output)."""
        return self.values if self.values.ndim == 2 else self.values[:, :, k]


def _names(model, X) -> list[str]:
    if hasattr(model, "feature_names_in_"):
        return [str(c) for c in model.feature_names_in_]
    return [str(c) for c in X.columns] if hasattr(X, "columns") else [f"x{i}" for i in range(np.asarray(X).shape[1])]


def shap_values(model, X, *, background: int = 100, random_state: int = 0) -> ShapResult:
    """SHAP values of a fitted feature-table model for the rows of ``X``.

    Parameters
    ----------
    model : FeatureTableClassifier or FeatureTableRegressor (fitted)
    X : DataFrame or array ``(n, F)``
    background : int
        Background rows (sampled from ``X``) for the linear and permutation explainers.
    random_state : int

    Returns
    -------
    ShapResult
        For classifiers ``values`` is ``(n, F, K)`` (K = number of classes,
        binary XGBoost expanded to two opposite columns), except ordinal
        models: ``(n, F)`` for the expected class index.
    """
    import shap

    names = _names(model, X)
    expected = getattr(model, "feature_names_in_", None)
    if expected is not None and hasattr(X, "columns") and list(X.columns) != list(expected):
        raise ValueError(f"X's columns {list(X.columns)[:5]}... are not the model's features "
                         f"{list(expected)[:5]}... (same names, same order)")
    n_in = getattr(model, "n_features_in_", None)
    if np.ndim(X) != 2 or len(X) == 0 or (n_in is not None and np.shape(X)[1] != n_in):
        raise ValueError(f"X must be a non-empty table of the model's {n_in} features, got shape {np.shape(X)}")
    Xa = np.asarray(X, dtype=float)
    inner = model.model_
    rng = np.random.default_rng(random_state)
    bg = Xa[rng.choice(len(Xa), size=min(background, len(Xa)), replace=False)]
    classes = getattr(model, "classes_", None)
    if isinstance(inner, OrdinalClassifier):
        k = np.arange(len(inner.classes_))

        def expected_index(data):
            return inner.predict_proba(data) @ k

        bg_masker = np.where(np.isnan(bg), np.nanmedian(Xa, axis=0), bg)
        explainer = shap.PermutationExplainer(expected_index, bg_masker, seed=random_state)
        out = explainer(Xa, silent=True)
        return ShapResult(np.asarray(out.values), np.asarray(out.base_values).reshape(-1)[:1], names, "expected class index",
                          classes)
    if isinstance(inner, Pipeline):
        prefix, final = inner[:-1], inner.steps[-1][1]
        Z = prefix.transform(Xa)
        if hasattr(final, "coef_"):       # logistic regression / ridge on standardised features
            explainer = shap.LinearExplainer(final, prefix.transform(bg))
            values = np.asarray(explainer.shap_values(Z))
            expected = np.atleast_1d(explainer.expected_value)
            space = "log-odds" if isinstance(model, FeatureTableClassifier) else "prediction"
        else:                             # random forest after imputation
            explainer = shap.TreeExplainer(final)
            values = np.asarray(explainer.shap_values(Z, check_additivity=False))
            expected = np.atleast_1d(explainer.expected_value)
            space = "probability" if isinstance(model, FeatureTableClassifier) else "prediction"
    else:                                 # XGBoost on the raw table (NaN handled by the trees)
        explainer = shap.TreeExplainer(inner)
        values = np.asarray(explainer.shap_values(Xa))
        expected = np.atleast_1d(explainer.expected_value)
        space = "log-odds" if isinstance(model, FeatureTableClassifier) else "prediction"
    if isinstance(model, FeatureTableClassifier):
        if values.ndim == 2:              # one margin for two classes: class 1 = +margin, class 0 = -margin
            values = np.stack([-values, values], axis=2)
            expected = np.array([-expected[0], expected[0]])
        elif values.ndim == 3 and values.shape[1] != len(names):
            values = np.moveaxis(values, 0, 2)
    return ShapResult(values, expected, names, space, classes)


def mean_abs_shap(result: ShapResult) -> pd.DataFrame:
    """Global importance: mean |SHAP| per feature, one column per class (and ``overall`` = their mean)."""
    v = np.abs(result.values)
    if v.ndim == 2:
        return pd.DataFrame({"overall": v.mean(axis=0)}, index=result.feature_names)
    cols = [str(c) for c in (result.classes if result.classes is not None else range(v.shape[2]))]
    table = pd.DataFrame(v.mean(axis=0), index=result.feature_names, columns=cols)
    table["overall"] = table.mean(axis=1)
    return table


def _log_likelihood(model, X, y) -> float:
    """Mean log probability of the true class over rows whose class the model knows.

    Classes absent from ``y`` are fine; rows of a class the model never saw
    in training (a rare level missing from a fold) cannot be scored and are left out.
    """
    y = np.asarray(y)
    known = np.isin(y, model.classes_)
    if not known.any():
        return 0.0
    proba = np.clip(model.predict_proba(X[known] if not hasattr(X, "iloc") else X.iloc[np.flatnonzero(known)]), 1e-15, 1.0)
    idx = np.searchsorted(model.classes_, y[known])
    return float(np.mean(np.log(proba[np.arange(len(idx)), idx])))


def permutation_ranking(model, X, y, *, n_repeats: int = 5, random_state: int = 0, scoring: str | None = None) -> pd.Series:
    """Mean drop of the score when one feature's column is shuffled, on held-out data.

    Default scoring: log loss for classifiers (sensitive to every change of
    probability), RMSE for regressors.
    """
    if scoring is None:
        scoring = _log_likelihood if isinstance(model, FeatureTableClassifier) else "neg_root_mean_squared_error"
    res = permutation_importance(model, X, y, n_repeats=n_repeats, random_state=random_state, scoring=scoring)
    return pd.Series(res.importances_mean, index=_names(model, X), name="permutation")


def gain_ranking(model) -> pd.Series:
    """XGBoost total gain per feature, normalised to sum 1 (0 for features never split on)."""
    inner = model.model_
    if isinstance(inner, OrdinalClassifier):
        boosters = [e for e in inner.estimators_ if not isinstance(e, float)]
    else:
        boosters = [inner]
    if not all(hasattr(b, "get_booster") for b in boosters):
        raise TypeError("gain is defined for XGBoost models only")
    names = [str(c) for c in model.feature_names_in_] if hasattr(model, "feature_names_in_") else None
    total = np.zeros(model.n_features_in_)
    for b in boosters:
        scores = b.get_booster().get_score(importance_type="total_gain")
        for key, value in scores.items():
            total[int(key[1:])] += value       # features are named f0, f1, ... (fitted on arrays)
    total = total / total.sum() if total.sum() > 0 else total
    return pd.Series(total, index=names if names else [f"x{i}" for i in range(len(total))], name="gain")


def rank_agreement(importances: dict[str, pd.Series], *, top_k: int = 5) -> pd.DataFrame:
    """Pairwise agreement of importance rankings.

    Returns
    -------
    DataFrame
        One row per pair of methods: ``kendall_tau`` (on the importance
        values, ties handled as tau-b) and ``top_k_overlap`` (share of the top
        ``top_k`` features in common).
    """
    names = list(importances)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, sb = importances[a].align(importances[b], join="inner")
            tau = sps.kendalltau(sa.to_numpy(), sb.to_numpy()).statistic if len(sa) > 1 else np.nan
            k = min(top_k, len(sa))
            top_a = set(sa.sort_values(ascending=False).index[:k])
            top_b = set(sb.sort_values(ascending=False).index[:k])
            rows.append({"method_a": a, "method_b": b, "kendall_tau": float(tau), "top_k_overlap": len(top_a & top_b) / k})
    return pd.DataFrame(rows)


def by_region(importance: pd.Series) -> pd.Series:
    """Importance summed per body region (head, arm, trunk, hip, knee, temporal, spatial, symmetry), shares of the total.

    Negative importances (a permutation that helped) count as 0.
    """
    values = importance.clip(lower=0)
    regions = pd.Series({name: FEATURE_INFO[name].region for name in values.index if name in FEATURE_INFO})
    out = values.groupby(regions).sum().reindex(list(REGIONS), fill_value=0.0)
    total = out.sum()
    return out / total if total > 0 else out
