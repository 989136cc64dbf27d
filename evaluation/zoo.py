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

__all__ = ["ModelSpec", "MODELS", "DEEP_PROFILES", "deep_models", "feature_columns"]


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
    inputs : {"features", "clips", "clips+features"}
        What ``fit`` receives: the feature table (DataFrame), the pose clips
        ``(N, T, V, C)``, or the clips with the whole feature table as
        ``features=`` (the dual-stream models pick their columns themselves).
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
    eval_set : bool
        Neural networks: ``fit`` receives the inner (patient-disjoint)
        validation split as ``eval_set`` for early stopping and keeps the
        best epoch; the model is not refitted on the whole training fold.
    backbone_from : str, optional
        Name of a model of the same run whose fitted estimator, in the same
        fold, is passed as ``backbone`` (the dual-stream models start from the
        fold's trained ST-GCN baseline instead of training their own).
    reference : str, optional
        The model this one is compared with in the paired comparisons (default:
        the suite's ``baseline``).
    """

    build: Callable[[int], BaseEstimator]
    description: str
    features: str | tuple[str, ...] = "all"
    inputs: str = "features"
    grid: tuple[dict, ...] = field(default_factory=tuple)
    early_stopping: int | None = None
    class_weight: bool = True
    baseline: bool = False
    eval_set: bool = False
    backbone_from: str | None = None
    reference: str | None = None


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


#: Training settings of the deep models per profile. "compact" fits the default gmfcs run (classical and
#: deep) into 10 minutes on 2 CPU cores; "paper" is seed 000's recipe with the original ST-GCN (meant for a GPU).
DEEP_PROFILES: dict[str, dict] = {
    "compact": {"config": "compact", "dropout": 0.2, "batch_size": 32, "pretrain_epochs": 6, "epochs": 5,
                "phase1_epochs": 3, "clips_per_epoch": 768, "cam_clips": 256},
    # For tests and smoke runs: a few hundred clips per epoch, two or three epochs.
    "quick": {"config": "compact", "dropout": 0.2, "batch_size": 32, "pretrain_epochs": 2, "epochs": 2,
              "phase1_epochs": 1, "clips_per_epoch": 192, "cam_clips": 128},
    "paper": {"config": "paper", "dropout": 0.5, "batch_size": 128, "pretrain_epochs": 20, "epochs": 20,
              "phase1_epochs": 3, "clips_per_epoch": None, "cam_clips": 1024},
}


def _stgcn(task: str, profile: str, device: str) -> Callable[[int], BaseEstimator]:
    def build(random_state: int) -> BaseEstimator:
        from models.deep import STGCNClassifier, STGCNRegressor

        p = DEEP_PROFILES[profile]
        cls = STGCNClassifier if task == "classification" else STGCNRegressor
        return cls(config=p["config"], dropout=p["dropout"], batch_size=p["batch_size"], epochs=p["pretrain_epochs"],
                   clips_per_epoch=p["clips_per_epoch"], device=device, random_state=random_state)

    return build


def _dual(task: str, features: str, fusion: str, profile: str, device: str) -> Callable[[int], BaseEstimator]:
    def build(random_state: int) -> BaseEstimator:
        from models.deep import DualStreamClassifier, DualStreamRegressor

        p = DEEP_PROFILES[profile]
        cls = DualStreamClassifier if task == "classification" else DualStreamRegressor
        return cls(features=features, fusion=fusion, config=p["config"], dropout=p["dropout"],
                   batch_size=p["batch_size"], pretrain_epochs=p["pretrain_epochs"], epochs=p["epochs"],
                   phase1_epochs=p["phase1_epochs"], clips_per_epoch=p["clips_per_epoch"], cam_clips=p["cam_clips"],
                   cache_frozen=True,
                   device=device, random_state=random_state)

    return build


def deep_models(task: str, *, profile: str = "compact", device: str = "auto") -> dict[str, ModelSpec]:
    """Seed 000's Table 3 rows as model specs: ST-GCN baseline and three dual-stream variants.

    Parameters
    ----------
    task : {"classification", "regression"}
    profile : {"compact", "paper"}
        See :data:`DEEP_PROFILES`.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """
    if profile not in DEEP_PROFILES:
        raise ValueError(f"deep profile must be one of {sorted(DEEP_PROFILES)}, got {profile!r}")
    cfg = DEEP_PROFILES[profile]["config"]
    what = "GMFCS" if task == "classification" else "GDI"
    kw = dict(eval_set=True, backbone_from="stgcn", reference="stgcn")
    return {
        "stgcn": ModelSpec(_stgcn(task, profile, device), f"ST-GCN skeleton baseline ({cfg} configuration), {what}",
                           inputs="clips", eval_set=True),
        "dual_all_xattn": ModelSpec(_dual(task, "all", "xattn", profile, device),
                                    "dual stream: ST-GCN + all 32 features, cross-attention fusion",
                                    inputs="clips+features", **kw),
        "dual_gradcam_xattn": ModelSpec(_dual(task, "gradcam", "xattn", profile, device),
                                        "dual stream: ST-GCN + Grad-CAM-selected features, cross-attention fusion",
                                        inputs="clips+features", **kw),
        "dual_gradcam_concat": ModelSpec(_dual(task, "gradcam", "concat", profile, device),
                                         "dual stream: ST-GCN + Grad-CAM-selected features, concatenation fusion",
                                         inputs="clips+features", **kw),
    }


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
        **deep_models("classification"),
    },
    "gdi": {
        "mean": ModelSpec(_mean, "mean GDI of the training patients", class_weight=False, baseline=True),
        "ridge_all": ModelSpec(_ridge, "ridge regression, all 32 features", "all", grid=_ALPHA_GRID),
        "xgb_all": ModelSpec(_xgb_regressor, "XGBoost regression, all 32 features", "all", grid=_DEPTH_GRID, early_stopping=30),
    },
}
