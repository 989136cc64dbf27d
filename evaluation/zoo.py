"""The models every suite evaluates: one plain dict per suite, one line per model.

A :class:`ModelSpec` says how to build an unfitted estimator for a seed,
which inputs it takes, which hyperparameters the harness may choose on the
inner (patient-disjoint) validation split, and whether it stops early there.
Scaling and imputation live *inside* the pipelines, so they are fitted on the
training patients of each fold only.

Add a model by adding one line to :data:`MODELS` (or pass your own
``{name: ModelSpec}`` to :func:`evaluation.cross_validate`).

:data:`MODELS` is what runs. The neural networks in it are built by a
:class:`NetworkBuild`, whose size and training schedule (the deep profile,
:data:`DEEP_PROFILES`) and device are explicit fields; a run with another
profile calls :meth:`ModelSpec.for_profile`, which returns the same model
with those fields set and its description rebuilt from them (it names the
ST-GCN configuration the profile selects: ``compact`` or ``paper``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from gaitfeat.features import resolve_feature_set
from models.tabular import impute_scale

__all__ = ["TAXONOMY_FEATURES", "ModelSpec", "NetworkBuild", "SequenceBuild", "MODELS", "DEEP_PROFILES", "SEQUENCE_PROFILES", "deep_models",
           "sequence_models", "feature_columns", "resolve_models"]


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
    network : bool
        A neural network with its own fit path: ``fit`` receives the inner
        (patient-disjoint) validation split as ``eval_set`` for early
        stopping and keeps the best epoch; the model is not refitted on the
        whole training fold, and no ``grid`` is searched.
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
    network: bool = False
    backbone_from: str | None = None
    reference: str | None = None

    def for_profile(self, profile: str, device: str) -> ModelSpec:
        """This model with the networks' ``profile`` and ``device`` (unchanged for anything but a
        :class:`NetworkBuild` or :class:`SequenceBuild`)."""
        if not isinstance(self.build, (NetworkBuild, SequenceBuild)):
            return self
        build = replace(self.build, profile=profile, device=device)
        return replace(self, build=build, description=build.description())


def feature_columns(spec: ModelSpec) -> list[str]:
    """Columns of the feature table a spec uses (:func:`gaitfeat.resolve_feature_set`)."""
    return resolve_feature_set(spec.features)


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
#: deep) into 10 minutes on 2 CPU cores; "paper" is Yang, Chen & He's recipe with the original ST-GCN (meant for
#: a GPU).
DEEP_PROFILES: dict[str, dict] = {
    "compact": {"config": "compact", "dropout": 0.2, "batch_size": 32, "pretrain_epochs": 6, "epochs": 5,
                "phase1_epochs": 3, "clips_per_epoch": 768, "cam_clips": 256},
    # For tests and smoke runs: a few hundred clips per epoch, two or three epochs.
    "quick": {"config": "compact", "dropout": 0.2, "batch_size": 32, "pretrain_epochs": 2, "epochs": 2,
              "phase1_epochs": 1, "clips_per_epoch": 192, "cam_clips": 128},
    "paper": {"config": "paper", "dropout": 0.5, "batch_size": 128, "pretrain_epochs": 20, "epochs": 20,
              "phase1_epochs": 3, "clips_per_epoch": None, "cam_clips": 1024},
}


@dataclass(frozen=True)
class NetworkBuild:
    """Builds one of Yang, Chen & He's skeleton models for a seed: an ST-GCN or a dual-stream fusion model.

    Parameters
    ----------
    task : {"classification", "regression"}
    features : str, optional
        ``None`` for the ST-GCN; for a dual-stream model its clinical
        features (``"all"``, ``"gradcam"``, a feature-set name).
    fusion : {"concat", "xattn"}
        Dual-stream fusion (ignored for the ST-GCN).
    profile : str
        Size and training schedule (:data:`DEEP_PROFILES`).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    task: str
    features: str | None = None
    fusion: str = "concat"
    profile: str = "compact"
    device: str = "auto"

    def __call__(self, random_state: int) -> BaseEstimator:
        if self.profile not in DEEP_PROFILES:
            raise ValueError(f"deep profile must be one of {sorted(DEEP_PROFILES)}, got {self.profile!r}")
        p = DEEP_PROFILES[self.profile]
        classify = self.task == "classification"
        if self.features is None:
            from models.deep import STGCNClassifier, STGCNRegressor

            return (STGCNClassifier if classify else STGCNRegressor)(
                config=p["config"], dropout=p["dropout"], batch_size=p["batch_size"], epochs=p["pretrain_epochs"],
                clips_per_epoch=p["clips_per_epoch"], device=self.device, random_state=random_state)
        from models.deep import DualStreamClassifier, DualStreamRegressor

        return (DualStreamClassifier if classify else DualStreamRegressor)(
            features=self.features, fusion=self.fusion, config=p["config"], dropout=p["dropout"],
            batch_size=p["batch_size"], pretrain_epochs=p["pretrain_epochs"], epochs=p["epochs"],
            phase1_epochs=p["phase1_epochs"], clips_per_epoch=p["clips_per_epoch"], cam_clips=p["cam_clips"],
            device=self.device, random_state=random_state)

    def description(self) -> str:
        """One line for the report, naming the configuration the profile selects."""
        if self.features is None:
            what = "classification" if self.task == "classification" else "regression"
            return f"ST-GCN skeleton baseline ({DEEP_PROFILES[self.profile]['config']} configuration), {what}"
        feats = {"all": "all 32 features", "gradcam": "Grad-CAM-selected features",
                 "extended": "the extended feature set"}.get(self.features, f"features {self.features}")
        fusion = "cross-attention" if self.fusion == "xattn" else "concatenation"
        return f"dual stream: ST-GCN + {feats}, {fusion} fusion"


#: Training settings of the sequence regressors (temporal CNN, CNN-LSTM) per deep profile: they are cheaper per
#: clip than the ST-GCN, so they get more epochs within the same budget.
SEQUENCE_PROFILES: dict[str, dict] = {
    "compact": {"epochs": 20, "batch_size": 32, "clips_per_epoch": 1024, "patience": 8},
    "quick": {"epochs": 2, "batch_size": 32, "clips_per_epoch": 192, "patience": 2},
    "paper": {"epochs": 60, "batch_size": 64, "clips_per_epoch": None, "patience": 10},
}


@dataclass(frozen=True)
class SequenceBuild:
    """Builds a sequence regressor on pose clips for a seed: the temporal CNN or the CNN-LSTM.

    Parameters
    ----------
    network : {"tcnn", "cnnlstm"}
        :class:`models.deep.TemporalCNNRegressor` (1-D convolutions over time, after Kidziński et al. 2020) or
        :class:`models.deep.CNNLSTMRegressor` (per-frame encoder and a recurrent layer, after Gotlin, Pancholi &
        Agarwal).
    head : {"regression", "buckets"}
        Plain regression, or a softmax over target bins whose expected value is the estimate.
    correction : {"none", "linear"}
        Kidziński et al.'s linear correction, fitted on the video-level validation predictions of each fold.
    profile : str
        Training schedule (:data:`SEQUENCE_PROFILES`, keyed like :data:`DEEP_PROFILES`).
    device : str
    """

    network: str
    head: str = "regression"
    correction: str = "linear"
    profile: str = "compact"
    device: str = "auto"

    def __call__(self, random_state: int) -> BaseEstimator:
        from models.deep import CNNLSTMRegressor, TemporalCNNRegressor

        if self.profile not in SEQUENCE_PROFILES:
            raise ValueError(f"deep profile must be one of {sorted(SEQUENCE_PROFILES)}, got {self.profile!r}")
        p = SEQUENCE_PROFILES[self.profile]
        cls = {"tcnn": TemporalCNNRegressor, "cnnlstm": CNNLSTMRegressor}[self.network]
        return cls(head=self.head, correction=self.correction, epochs=p["epochs"], batch_size=p["batch_size"],
                   clips_per_epoch=p["clips_per_epoch"], patience=p["patience"], device=self.device,
                   random_state=random_state)

    def description(self) -> str:
        net = {"tcnn": "temporal CNN (1-D convolutions over time)",
               "cnnlstm": "CNN-LSTM (per-frame encoder, recurrent layer over time)"}[self.network]
        head = "bucket head (expected value over target bins)" if self.head == "buckets" else "regression head"
        corr = ", linear correction on validation videos" if self.correction == "linear" else ""
        return f"{net}, {head}{corr}"


def sequence_models(*, profile: str = "compact", device: str = "auto") -> dict[str, ModelSpec]:
    """The sequence regressors of the ``gdi`` and ``params`` suites: both heads of the temporal CNN, the CNN-LSTM.

    They are compared with the best feature-table model of the run
    (:func:`evaluation.multitarget.best_feature_model`).
    """
    builds = {"tcnn": SequenceBuild("tcnn", "regression", profile=profile, device=device),
              "tcnn_buckets": SequenceBuild("tcnn", "buckets", profile=profile, device=device),
              "cnnlstm": SequenceBuild("cnnlstm", "regression", profile=profile, device=device)}
    return {name: ModelSpec(b, b.description(), inputs="clips", network=True) for name, b in builds.items()}


def deep_models(task: str, *, profile: str = "compact", device: str = "auto") -> dict[str, ModelSpec]:
    """The rows of Table 3 of Yang, Chen & He as model specs: the ST-GCN baseline and three dual-stream variants.

    The dual-stream models start from the same fold's ST-GCN (``backbone_from``) and are compared with it.

    Parameters
    ----------
    task : {"classification", "regression"}
    profile : {"compact", "quick", "paper"}
        See :data:`DEEP_PROFILES`.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """
    if profile not in DEEP_PROFILES:
        raise ValueError(f"deep profile must be one of {sorted(DEEP_PROFILES)}, got {profile!r}")
    builds = {"stgcn": NetworkBuild(task, None, profile=profile, device=device),
              "dual_all_xattn": NetworkBuild(task, "all", "xattn", profile, device),
              "dual_gradcam_xattn": NetworkBuild(task, "gradcam", "xattn", profile, device),
              "dual_gradcam_concat": NetworkBuild(task, "gradcam", "concat", profile, device)}
    return {name: ModelSpec(b, b.description(), inputs="clips" if b.features is None else "clips+features",
                            network=True, backbone_from=None if b.features is None else "stgcn",
                            reference=None if b.features is None else "stgcn")
            for name, b in builds.items()}


_C_GRID = tuple({"logisticregression__C": c} for c in (0.01, 0.1, 1.0, 10.0))
_ALPHA_GRID = tuple({"ridge__alpha": a} for a in (0.1, 1.0, 10.0, 100.0))
_DEPTH_GRID = ({"max_depth": 3}, {"max_depth": 6})
#: The feature set of the taxonomy suite's feature models.
TAXONOMY_FEATURES = "extended"

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
    # Nominal gait classes: no ordinal models; the extended feature set adds the per-side timing, variability,
    # foot-contact and ankle features the classes need (toe walking, ataxia, antalgic gait).
    "taxonomy": {
        "majority": ModelSpec(_majority, "most frequent class (training class shares as probabilities)", class_weight=False,
                              baseline=True),
        "logreg_all": ModelSpec(_logreg, "multinomial logistic regression, the 32 core features", "all", grid=_C_GRID),
        "logreg_extended": ModelSpec(_logreg, "multinomial logistic regression, extended feature set", TAXONOMY_FEATURES,
                                     grid=_C_GRID),
        "xgb_extended": ModelSpec(_xgb_classifier, "XGBoost, extended feature set", TAXONOMY_FEATURES, grid=_DEPTH_GRID,
                                  early_stopping=30),
        "stgcn": deep_models("classification")["stgcn"],
        "dual_extended_xattn": ModelSpec(NetworkBuild("classification", TAXONOMY_FEATURES, "xattn"),
                                         NetworkBuild("classification", TAXONOMY_FEATURES, "xattn").description(),
                                         inputs="clips+features", network=True, backbone_from="stgcn", reference="stgcn"),
    },
    "gdi": {
        "mean": ModelSpec(_mean, "mean GDI of the training patients", class_weight=False, baseline=True),
        "ridge_all": ModelSpec(_ridge, "ridge regression, all 32 features", "all", grid=_ALPHA_GRID),
        "xgb_all": ModelSpec(_xgb_regressor, "XGBoost regression, all 32 features", "all", grid=_DEPTH_GRID, early_stopping=30),
        **sequence_models(),
        **{k: v for k, v in deep_models("regression").items() if k in ("stgcn", "dual_gradcam_concat")},
    },
    # One network per fold learns every target at once (multi-output); the feature-table models are fitted per target.
    "params": {
        "mean": ModelSpec(_mean, "mean of the training patients", class_weight=False, baseline=True),
        "ridge_all": ModelSpec(_ridge, "ridge regression, all 32 features", "all", grid=_ALPHA_GRID),
        "xgb_all": ModelSpec(_xgb_regressor, "XGBoost regression, all 32 features", "all", grid=_DEPTH_GRID, early_stopping=30),
        **sequence_models(),
        "stgcn": deep_models("regression")["stgcn"],
    },
}


def resolve_models(models, suite, *, deep_profile: str = "compact", device: str = "auto") -> dict[str, ModelSpec]:
    """Turn ``models`` (None, a name, names, an estimator, or a mapping) into ``{name: ModelSpec}``.

    Names refer to ``MODELS[suite.name]``; the networks among them are set to
    ``deep_profile`` and ``device`` (:meth:`ModelSpec.for_profile`). A
    scikit-learn estimator receives the full feature table.
    """
    available = {n: sp.for_profile(deep_profile, device) for n, sp in MODELS.get(suite.name, {}).items()}
    if models is None:
        return available
    if isinstance(models, str):
        models = [models]
    if isinstance(models, BaseEstimator):
        models = {type(models).__name__: models}
    if isinstance(models, Mapping):
        out = {}
        for name, m in models.items():
            if isinstance(m, ModelSpec):
                out[str(name)] = m
            elif hasattr(m, "fit") and hasattr(m, "get_params"):
                out[str(name)] = ModelSpec(_UserBuild(m), f"user estimator {type(m).__name__}")
            else:
                raise TypeError(f"model {name!r} must be a ModelSpec or a scikit-learn estimator, got {type(m).__name__}")
        return out
    out = {}
    for name in models:
        if name not in available:
            raise ValueError(f"unknown model {name!r} for suite {suite.name!r}; available: {', '.join(available)}")
        out[name] = available[name]
    return out


@dataclass(frozen=True)
class _UserBuild:
    """A fresh clone of a user's estimator with every ``random_state`` parameter set to the run's seed."""

    estimator: BaseEstimator

    def __call__(self, random_state: int) -> BaseEstimator:
        est = clone(self.estimator)
        params = est.get_params(deep=True)
        seeds = {k: random_state for k in params if k == "random_state" or k.endswith("__random_state")}
        return est.set_params(**seeds) if seeds else est
