"""The models every suite evaluates: one plain dict per suite, one line per model.

A :class:`ModelSpec` says how to build an unfitted estimator for a seed,
which inputs it takes, which hyperparameters the harness may choose on the
inner (patient-disjoint) validation split, and whether it stops early there.
Scaling and imputation live *inside* the pipelines, so they are fitted on the
training patients of each fold only.

Add a model by adding one line to :data:`MODELS` (or pass your own
``{name: ModelSpec}`` to :func:`evaluation.cross_validate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from gaitfeat.features import FEATURE_SETS, FEATURES
from models.tabular import impute_scale

__all__ = ["ModelSpec", "MODELS", "feature_columns"]


@dataclass(frozen=True)
class ModelSpec:
    """How the harness builds, tunes and feeds one model.

    Parameters
    ----------
    build : callable ``(random_state: int) -> estimator``
        A fresh, unfitted scikit-learn-compatible estimator (``fit``,
        ``predict``, and ``predict_proba`` for classifiers).
    description : str
        One line for the report.
    features : str or tuple of str
        Feature set name (``"all"``, ``"paper24"``, ``"paper14"``) or
        columns of the feature table; ignored for ``inputs="clips"``.
    inputs : {"features", "clips"}
        What ``fit`` receives: the feature table (DataFrame) or the pose clips
        ``(N, T, V, C)``.
    grid : tuple of dict
        Candidate parameter settings; the harness picks the one with the best
        validation score (log loss for classifiers, RMSE for regressors) and
        refits it on the whole training fold.
    early_stopping : int, optional
        For gradient boosting with an ``eval_set`` argument (XGBoost): stop
        after this many rounds without improvement on the validation split;
        the final model is refitted on the whole training fold with the best
        number of rounds.
    class_weight : bool
        Whether the ``class_weight="balanced"`` option applies (as sample
        weights) to this model.
    baseline : bool
        The reference model of the suite's paired comparisons.
    """

    build: Callable[[int], BaseEstimator]
    description: str
    features: str | tuple[str, ...] = "all"
    inputs: str = "features"
    grid: tuple[dict, ...] = field(default_factory=tuple)
    early_stopping: int | None = None
    class_weight: bool = True
    baseline: bool = False


def feature_columns(spec: ModelSpec) -> list[str]:
    """Columns of the feature table a spec uses."""
    if isinstance(spec.features, str):
        if spec.features not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {spec.features!r}; choose from {sorted(FEATURE_SETS)}")
        return list(FEATURE_SETS[spec.features])
    unknown = [c for c in spec.features if c not in FEATURES]
    if unknown:
        raise ValueError(f"unknown features {unknown}")
    return list(spec.features)


def _majority(random_state: int) -> BaseEstimator:
    # "prior": predicts the most frequent class, with the training class shares as probabilities.
    return DummyClassifier(strategy="prior")


def _logreg(random_state: int) -> Pipeline:
    return impute_scale(LogisticRegression(C=1.0, max_iter=3000, random_state=random_state))


def _xgb_classifier(random_state: int) -> BaseEstimator:
    from xgboost import XGBClassifier

    # Missing features stay NaN: XGBoost learns a default direction for them. No eval_metric: XGBoost picks
    # logloss or mlogloss from the number of levels in the fold (a fold may hold only two).
    return XGBClassifier(n_estimators=400, learning_rate=0.1, max_depth=4, subsample=0.8, colsample_bytree=0.8,
                         min_child_weight=1.0, tree_method="hist", n_jobs=2, random_state=random_state)


def _ordinal(estimator: str) -> Callable[[int], BaseEstimator]:
    def build(random_state: int) -> BaseEstimator:
        from models.tabular import FeatureTableClassifier

        return FeatureTableClassifier(estimator=estimator, ordinal=True, n_estimators=200, max_depth=4, n_jobs=2,
                                      random_state=random_state)

    return build


def _mean(random_state: int) -> BaseEstimator:
    return DummyRegressor(strategy="mean")


def _ridge(random_state: int) -> Pipeline:
    return impute_scale(Ridge(alpha=1.0))


def _xgb_regressor(random_state: int) -> BaseEstimator:
    from xgboost import XGBRegressor

    return XGBRegressor(n_estimators=400, learning_rate=0.1, max_depth=4, subsample=0.8, colsample_bytree=0.8,
                        tree_method="hist", eval_metric="rmse", n_jobs=2, random_state=random_state)


_C_GRID = tuple({"logisticregression__C": c} for c in (0.01, 0.1, 1.0, 10.0))
_ALPHA_GRID = tuple({"ridge__alpha": a} for a in (0.1, 1.0, 10.0, 100.0))
_DEPTH_GRID = ({"max_depth": 3}, {"max_depth": 6})

#: Models per suite. The first entry marked ``baseline`` is the reference of the paired comparisons.
MODELS: dict[str, dict[str, ModelSpec]] = {
    "gmfcs": {
        "majority": ModelSpec(_majority, "most frequent level (training class shares as probabilities)", class_weight=False, baseline=True),
        "logreg_all": ModelSpec(_logreg, "multinomial logistic regression, all 32 features", "all", grid=_C_GRID),
        "logreg_paper14": ModelSpec(_logreg, "multinomial logistic regression, 14 curated features", "paper14", grid=_C_GRID),
        "xgb_all": ModelSpec(_xgb_classifier, "XGBoost, all 32 features", "all", grid=_DEPTH_GRID, early_stopping=30),
        "xgb_paper14": ModelSpec(_xgb_classifier, "XGBoost, 14 curated features", "paper14", grid=_DEPTH_GRID, early_stopping=30),
        "logreg_ordinal_all": ModelSpec(_ordinal("logreg"), "ordinal (threshold) logistic regression, all 32 features", "all",
                                        grid=tuple({"C": c} for c in (0.01, 0.1, 1.0, 10.0))),
        "xgb_ordinal_all": ModelSpec(_ordinal("xgb"), "ordinal (threshold) XGBoost, all 32 features", "all", grid=_DEPTH_GRID),
    },
    "gdi": {
        "mean": ModelSpec(_mean, "mean GDI of the training patients", class_weight=False, baseline=True),
        "ridge_all": ModelSpec(_ridge, "ridge regression, all 32 features", "all", grid=_ALPHA_GRID),
        "xgb_all": ModelSpec(_xgb_regressor, "XGBoost regression, all 32 features", "all", grid=_DEPTH_GRID, early_stopping=30),
    },
}
