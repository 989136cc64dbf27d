"""The patient-level cross-validation harness: every model on the same folds.

:func:`cross_validate` loads (or takes) a :class:`~evaluation.data.Dataset`,
makes patient-level splits, and for each split and model:

1. splits the training patients again into a fitting part and a
   patient-disjoint validation part;
2. chooses hyperparameters (the spec's ``grid``) and, for boosting, the
   number of rounds (early stopping) on the validation part;
3. refits the chosen setting on the whole training fold;
4. predicts the test patients' clips.

Every split, including user-supplied ones, passes the leakage guard
(:func:`evaluation.splits.check_disjoint`). The out-of-fold predictions are
scored by :mod:`evaluation.results`.
"""

from __future__ import annotations

import inspect
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight

from evaluation.data import Dataset, load_data
from evaluation.results import CVResults
from evaluation.splits import Split, check_disjoint, holdout_split, inner_split, patient_folds, stratification_labels
from evaluation.zoo import MODELS, ModelSpec, deep_models, feature_columns
from gaitfeat.errors import LabelError
from gaitfeat.labels import validate_gmfcs

__all__ = ["Suite", "SUITES", "cross_validate", "resolve_models"]


@dataclass(frozen=True)
class Suite:
    """A prediction task on the harness."""

    name: str
    task: str                      # "classification" or "regression"
    target: str                    # metadata column
    labels: tuple | None = None    # classes in ordinal order (classification)
    unit: str = ""
    title: str = ""


SUITES: dict[str, Suite] = {
    "gmfcs": Suite("gmfcs", "classification", "gmfcs", (1, 2, 3, 4), "GMFCS level", "GMFCS level (I-IV) classification"),
    "gdi": Suite("gdi", "regression", "gdi", None, "GDI points", "Gait Deviation Index regression"),
    "features": Suite("features", "classification", "gmfcs", (1, 2, 3, 4), "GMFCS level",
                      "Feature-importance comparison (GMFCS level)"),
}


def resolve_models(models, suite: Suite, *, deep_profile: str = "compact", device: str = "auto") -> dict[str, ModelSpec]:
    """Turn ``models`` (None, a name, names, an estimator, or a mapping) into ``{name: ModelSpec}``.

    The suite's deep models are built with ``deep_profile`` and ``device``
    (see :func:`evaluation.zoo.deep_models`).
    """
    available = dict(MODELS.get(suite.name, {}))
    if any(spec.eval_set for spec in available.values()):
        deep = deep_models(suite.task, profile=deep_profile, device=device)
        available.update({n: sp for n, sp in deep.items() if n in available})
    if models is None:
        return dict(available)
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
                out[str(name)] = ModelSpec(lambda rs, _m=m: _with_seed(clone(_m), rs), f"user estimator {type(m).__name__}")
            else:
                raise TypeError(f"model {name!r} must be a ModelSpec or a scikit-learn estimator, got {type(m).__name__}")
        return out
    out = {}
    for name in models:
        if name not in available:
            raise ValueError(f"unknown model {name!r} for suite {suite.name!r}; available: {', '.join(available)}")
        out[name] = available[name]
    return out


def _with_seed(est: BaseEstimator, random_state: int) -> BaseEstimator:
    params = est.get_params(deep=True)
    seeds = {k: random_state for k in params if k == "random_state" or k.endswith("__random_state")}
    return est.set_params(**seeds) if seeds else est


def _target(dataset: Dataset, suite: Suite) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validated target values, the mask of clips without a label, and their counts."""
    meta = dataset.meta
    if suite.target not in meta.columns:
        raise LabelError(f"the data have no {suite.target!r} label column (columns: {', '.join(map(str, meta.columns))})")
    if suite.task == "classification":
        y = validate_gmfcs(meta[suite.target], where=f"{suite.target} labels", ids=meta["video_id"])
        missing = y.isna().to_numpy()
        values = np.where(missing, 0, y.fillna(0).to_numpy(dtype=np.int64))
    else:
        raw = pd.to_numeric(meta[suite.target], errors="coerce").to_numpy(dtype=float)
        missing = ~np.isfinite(raw)
        values = raw
    info = {"clips_without_label": int(missing.sum()),
            "videos_without_label": int(meta.loc[missing, "video_id"].nunique())}
    return values, missing, info


def _final_fit_kwargs(est: BaseEstimator, **kwargs) -> dict:
    if isinstance(est, Pipeline):
        last = est.steps[-1][0]
        return {f"{last}__{k}": v for k, v in kwargs.items()}
    return kwargs


def _accepts(est: BaseEstimator, name: str) -> bool:
    final = est.steps[-1][1] if isinstance(est, Pipeline) else est
    return name in inspect.signature(final.fit).parameters


def _encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    present = np.unique(y)
    return present, np.searchsorted(present, y)


class _Fitter:
    """Fits one spec on one split: selection on the validation part, refit on the training fold."""

    def __init__(self, spec: ModelSpec, task: str, class_weight: str | None, random_state: int):
        self.spec = spec
        self.task = task
        self.class_weight = class_weight if spec.class_weight else None
        self.random_state = random_state
        if self.class_weight is not None and task == "classification" and not _accepts(spec.build(random_state), "sample_weight"):
            raise ValueError(f"class_weight='balanced' needs models whose fit takes sample_weight; "
                             f"{spec.description!r} does not")

    def _build(self, params: dict) -> BaseEstimator:
        est = self.spec.build(self.random_state)
        return est.set_params(**params) if params else est

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        return compute_sample_weight("balanced", y) if (self.class_weight == "balanced" and self.task == "classification") else None

    def _fit(self, est: BaseEstimator, X, y, weights, eval_set=None, eval_weights=None) -> BaseEstimator:
        kwargs = {}
        if weights is not None:
            kwargs["sample_weight"] = weights
        if eval_set is not None:
            kwargs["eval_set"] = eval_set
            kwargs["verbose"] = False
            if eval_weights is not None:
                kwargs["sample_weight_eval_set"] = [eval_weights]
        est.fit(X, y, **_final_fit_kwargs(est, **kwargs))
        return est

    def _score(self, est: BaseEstimator, X, y, weights) -> float:
        """Validation loss (lower is better): log loss or RMSE."""
        if self.task == "classification":
            proba = np.clip(est.predict_proba(X), 1e-15, 1.0)
            proba = proba / proba.sum(axis=1, keepdims=True)
            loss = -np.log(proba[np.arange(len(y)), y])
        else:
            loss = (est.predict(X) - y) ** 2
        value = float(np.average(loss, weights=weights))
        return value if self.task == "classification" else float(np.sqrt(value))

    def select(self, X_fit, y_fit, X_val, y_val) -> tuple[dict, int | None, list]:
        """Choose parameters (and boosting rounds) on the validation part."""
        spec = self.spec
        candidates = list(spec.grid) or [{}]
        if len(candidates) == 1 and spec.early_stopping is None:
            return candidates[0], None, []
        if self.task == "classification":
            present, y_fit_c = _encode(y_fit)
            # A class that only the validation patients have cannot be scored by a model that never saw it.
            keep = np.flatnonzero(np.isin(y_val, present))
            if keep.size == 0:
                return candidates[0], None, [{"params": candidates[0], "rounds": None, "validation_loss": None,
                                              "note": "no validation clip of a level seen in fitting: not tuned"}]
            X_val = X_val.iloc[keep] if hasattr(X_val, "iloc") else X_val[keep]
            y_val_c = np.searchsorted(present, y_val[keep])
        else:
            y_fit_c, y_val_c = y_fit, y_val
        w_fit, w_val = self._weights(y_fit_c), self._weights(y_val_c)
        tried = []
        best = (np.inf, candidates[0], None)
        for params in candidates:
            est = self._build(params)
            rounds = None
            if spec.early_stopping is not None:
                prefix = est[:-1].fit(X_fit) if isinstance(est, Pipeline) else None
                Xv = prefix.transform(X_val) if prefix is not None else X_val
                est.set_params(**_final_fit_kwargs(est, early_stopping_rounds=spec.early_stopping))
                self._fit(est, X_fit, y_fit_c, w_fit, eval_set=[(Xv, y_val_c)], eval_weights=w_val)
                final = est.steps[-1][1] if isinstance(est, Pipeline) else est
                rounds = int(final.best_iteration) + 1
            else:
                self._fit(est, X_fit, y_fit_c, w_fit)
            score = self._score(est, X_val, y_val_c, w_val)
            tried.append({"params": params, "rounds": rounds, "validation_loss": score})
            if score < best[0]:
                best = (score, params, rounds)
        return best[1], best[2], tried

    def fit_predict(self, X_train, y_train, X_test, params: dict, rounds: int | None, n_classes: int):
        est = self._build(params)
        if rounds is not None:
            est.set_params(**_final_fit_kwargs(est, n_estimators=rounds, early_stopping_rounds=None))
        if self.task == "classification":
            present, y_c = _encode(y_train)
            self._fit(est, X_train, y_c, self._weights(y_c))
            if hasattr(est, "predict_proba"):
                local = np.asarray(est.predict_proba(X_test), dtype=float)
            else:  # a classifier without probabilities: one-hot of its prediction
                local = np.eye(len(present))[np.asarray(est.predict(X_test), dtype=np.int64)]
            proba = np.zeros((local.shape[0], n_classes))
            proba[:, present] = local
            return proba
        self._fit(est, X_train, y_train, None)
        return np.asarray(est.predict(X_test), dtype=float)


def _reference_of(name: str, spec: ModelSpec, specs: dict, reference: str | None) -> str | None:
    """The model ``name`` is compared with: the explicit run-wide reference, its own, or the suite baseline."""
    if reference is not None:
        return reference if reference != name else None
    if spec.reference is not None and spec.reference in specs and spec.reference != name:
        return spec.reference
    base = next((n for n, sp in specs.items() if sp.baseline), None)
    return base if base != name else None


def _fit_network(spec: ModelSpec, name: str, dataset: Dataset, y: np.ndarray, fit_idx, val_idx, test_idx,
                 n_classes: int, fold_models: dict, class_weight: str | None, random_state: int):
    """Fit a neural-network spec on the fit part with the validation part as ``eval_set``; predict the test part.

    ``y`` holds class positions 0..K-1 (or targets); the estimator's ``classes_``
    are the positions present in the fit part, mapped back to all K columns.
    """
    est = spec.build(random_state)
    reused = spec.backbone_from is not None and spec.backbone_from in fold_models
    if reused:
        est.set_params(backbone=fold_models[spec.backbone_from])
    if class_weight == "balanced" and spec.class_weight and n_classes:
        est.set_params(class_weight="balanced")
    clips = dataset.clips
    if spec.inputs == "clips+features":
        table = dataset.features
        feats = lambda rows: table.iloc[rows].reset_index(drop=True)   # noqa: E731
        est.fit(clips[fit_idx], y[fit_idx], features=feats(fit_idx),
                eval_set=(clips[val_idx], y[val_idx], feats(val_idx)))
        kwargs = {"features": feats(test_idx)}
    else:
        est.fit(clips[fit_idx], y[fit_idx], eval_set=(clips[val_idx], y[val_idx]))
        kwargs = {}
    fold_models[name] = est
    if n_classes:
        local = np.asarray(est.predict_proba(clips[test_idx], **kwargs), dtype=float)
        out = np.zeros((local.shape[0], n_classes))
        out[:, np.asarray(est.classes_, dtype=np.int64)] = local
    else:
        out = np.asarray(est.predict(clips[test_idx], **kwargs), dtype=float)
    history = getattr(est, "history_", [])
    best = [r for r in history if r.get("best")]
    info = {"epochs_run": len(history), "best_epoch": best[-1]["epoch"] if best else None,
            "best_validation": {k: v for k, v in best[-1].items() if k.startswith("val_")} if best else {},
            "fit_seconds": float(getattr(est, "fit_seconds_", 0.0)),
            "backbone_reused": bool(reused),
            "selected_features": list(getattr(est, "selected_features_", []) or []),
            "joint_contributions": (np.asarray(est.joint_contributions_).tolist()
                                    if getattr(est, "joint_contributions_", None) is not None else None),
            "region_scores": (est.region_scores_.to_dict() if getattr(est, "region_scores_", None) is not None else None)}
    return out, info


def _inputs(spec: ModelSpec, dataset: Dataset, rows: np.ndarray):
    if spec.inputs == "clips":
        return dataset.clips[rows]
    if spec.inputs != "features":
        raise ValueError(f"model inputs must be 'features' or 'clips', got {spec.inputs!r}")
    return dataset.features.iloc[rows][feature_columns(spec)].reset_index(drop=True)


def _user_splits(cv, dataset: Dataset, y_strat: np.ndarray, kept_rows: np.ndarray, n_original: int) -> list[Split]:
    """User splits, checked for leaks; index lists refer to the rows of the data as given."""
    patients = dataset.meta["patient_id"].to_numpy()
    if hasattr(cv, "split"):
        pairs = list(cv.split(np.zeros(len(dataset)), y_strat, patients))
    else:
        # Rows given by the user point into the original data; clips without a label were removed since.
        new_index = np.full(n_original, -1)
        new_index[kept_rows] = np.arange(len(kept_rows))
        pairs = []
        for train, test in cv:
            train, test = np.asarray(train), np.asarray(test)
            if train.dtype == bool:
                train, test = np.flatnonzero(train), np.flatnonzero(test)
            if train.size and (train.min() < 0 or train.max() >= n_original) or test.size and (test.min() < 0 or test.max() >= n_original):
                raise ValueError(f"cv rows must be in [0, {n_original})")
            train, test = new_index[train], new_index[test]
            pairs.append((train[train >= 0], test[test >= 0]))
    out = []
    tested = np.zeros(len(dataset), dtype=np.int64)
    for f, (train, test) in enumerate(pairs):
        train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
        check_disjoint(patients, train, test, where=f"user split {f}")
        tested[test] += 1
        out.append(Split(0, f, np.sort(train), np.sort(test)))
    if not out:
        raise ValueError("cv produced no splits")
    if (tested > 1).any():
        raise ValueError(f"the test sets of the user splits overlap ({int((tested > 1).sum())} clips are tested more than "
                         "once); give splits whose test sets are disjoint, like K-fold")
    return out


def cross_validate(
    models=None,
    data: Dataset | str = "synthetic",
    suite: str = "gmfcs",
    *,
    protocol: str = "cv",
    n_splits: int = 5,
    n_repeats: int = 1,
    val_fraction: float = 0.2,
    test_fraction: float = 0.3,
    class_weight: str | None = None,
    n_bootstrap: int = 1000,
    reference: str | None = None,
    cv=None,
    data_options: dict | None = None,
    random_state: int = 0,
    progress: bool = False,
    importance: bool = False,
    importance_options: dict | None = None,
    deep_profile: str = "compact",
    device: str = "auto",
) -> CVResults:
    """Evaluate models with patient-level splits on one data set.

    Parameters
    ----------
    models : None, str, list of str, estimator, or dict
        ``None``: every model of the suite (:data:`evaluation.zoo.MODELS`);
        names from it; or ``{name: ModelSpec or estimator}`` (an estimator
        receives the full feature table).
    data : Dataset or str
        A loaded :class:`~evaluation.data.Dataset` or a source string for
        :func:`~evaluation.data.load_data` (``"synthetic"``, ``"kidzinski:PATH"``, ...).
    suite : {"gmfcs", "gdi"}
    protocol : {"cv", "holdout"}
        ``cv``: stratified patient-level K-fold (``n_splits``, ``n_repeats``);
        ``holdout``: the seed paper's single stratified patient split
        (``test_fraction`` of the patients for testing).
    val_fraction : float
        Share of each training fold's patients held out for model selection
        and early stopping (``1 / round(1 / val_fraction)`` of them).
    class_weight : {None, "balanced"}
        Weight training clips inversely to their class frequency (helps the
        rare GMFCS IV; classification only).
    n_bootstrap : int
        Patient resamples for confidence intervals and paired comparisons.
    reference : str, optional
        Model every other is compared with (default: each model's own
        ``ModelSpec.reference``, else the suite's baseline — the dual-stream
        models are compared with the ST-GCN baseline, the others with the
        majority/mean baseline).
    cv : splitter or iterable of (train, test), optional
        Your own splits (e.g. ``GroupKFold``); they must be patient-disjoint
        or :class:`~evaluation.splits.LeakageError` is raised.
    data_options : dict, optional
        Passed to :func:`load_data` when ``data`` is a string.
    random_state : int
        Seed of the folds, the models, the bootstrap (and a simulated cohort).
    progress : bool
        Show a progress bar (stderr).
    importance : bool
        Also run the feature-importance study (:func:`evaluation.importance.feature_study`)
        on the same folds (always on for the ``features`` suite, which fits no other model).
    importance_options : dict, optional
        Passed to ``feature_study`` (``backward``, ``sfs_thin``, ``sfs_max_features``, ...).
    deep_profile : {"compact", "quick", "paper"}
        Size and training schedule of the suite's ST-GCN and dual-stream
        models (:data:`evaluation.zoo.DEEP_PROFILES`).
    device : str
        Where the deep models train: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.

    Returns
    -------
    CVResults
        Out-of-fold predictions, scores with CIs, comparisons; ``.write(out)``
        writes ``metrics.json``, ``predictions.csv`` and ``index.html``.
    """
    started = time.perf_counter()
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    if protocol not in ("cv", "holdout"):
        raise ValueError(f"protocol must be 'cv' or 'holdout', got {protocol!r}")
    if class_weight not in (None, "none", "balanced"):
        raise ValueError(f"class_weight must be None or 'balanced', got {class_weight!r}")
    class_weight = None if class_weight == "none" else class_weight
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    s = SUITES[suite]
    specs = resolve_models(models, s, deep_profile=deep_profile, device=device)
    importance = importance or suite == "features"
    if not specs and not importance:
        raise ValueError("no models to evaluate")
    for spec in specs.values():
        if spec.inputs == "features":
            feature_columns(spec)
        elif spec.inputs not in ("clips", "clips+features"):
            raise ValueError(f"model inputs must be 'features', 'clips' or 'clips+features', got {spec.inputs!r}")
    explicit_reference = reference
    if reference is None:
        reference = next((n for n, sp in specs.items() if sp.baseline), None)
    elif reference not in specs:
        raise ValueError(f"reference model {reference!r} is not among the evaluated models {list(specs)}")

    t0 = time.perf_counter()
    if isinstance(data, str):
        options = {"random_state": random_state, **(data_options or {})}
        data = load_data(data, **options)
    elif not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset or a source string, got {type(data).__name__}")
    load_s = time.perf_counter() - t0

    y_all, missing, target_info = _target(data, s)
    kept_rows = np.flatnonzero(~missing)
    dataset = data.subset(kept_rows) if missing.any() else data
    y = y_all[~missing]
    # The validated labels (e.g. "II" -> 2) replace the raw ones in the evaluated copy of the metadata.
    meta = dataset.meta.copy()
    meta[s.target] = y
    dataset = dataset.with_meta(meta)
    if len(dataset) == 0:
        raise LabelError(f"no clip has a {s.target} label")
    if s.task == "regression" and np.ptp(y) == 0:
        raise LabelError(f"every clip has the same {s.target}; nothing to learn")
    if s.task == "classification" and len(np.unique(y)) < 2:
        raise LabelError(f"every clip has the same {s.target}; nothing to classify")
    patients = dataset.meta["patient_id"].to_numpy()
    y_strat = stratification_labels(y, s.task)

    t0 = time.perf_counter()
    if importance or any(spec.inputs != "clips" for spec in specs.values()):
        _ = dataset.features
    features_s = time.perf_counter() - t0

    if cv is not None:
        splits = _user_splits(cv, dataset, y_strat, kept_rows, len(data))
        protocol_desc = f"user-supplied splits ({len(splits)})"
    elif protocol == "holdout":
        splits = holdout_split(y_strat, patients, test_fraction=test_fraction, random_state=random_state)
        protocol_desc = f"single stratified patient-level holdout (~{1 / round(1 / test_fraction):.0%} of patients for testing)"
    else:
        splits = patient_folds(y_strat, patients, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
        protocol_desc = f"stratified patient-level {n_splits}-fold cross-validation" + (f", {n_repeats} repeats" if n_repeats > 1 else "")

    labels = np.asarray(s.labels) if s.task == "classification" else None
    y_fit_space = np.searchsorted(labels, y) if labels is not None else y   # class positions 0..K-1
    n_classes = len(labels) if labels is not None else 0
    rows, selection, fold_rows, notes, deep_rows = [], [], [], [], []
    from tqdm.auto import tqdm

    bar = tqdm(total=len(splits) * len(specs), desc=f"{suite}", unit="fit", disable=not progress, file=sys.stderr,
               leave=False)
    for split in splits:
        fit_idx, val_idx = inner_split(y_strat, patients, split.train, val_fraction=val_fraction,
                                       random_state=random_state + 1000 * split.repeat + split.fold)
        fold_rows.append(_fold_row(split, fit_idx, val_idx, patients, y, s))
        if s.task == "classification":
            absent = sorted(set(labels.tolist()) - set(y[split.train].tolist()))
            if absent:
                notes.append(f"repeat {split.repeat} fold {split.fold}: level(s) {absent} absent from the training patients "
                             "(their probability is 0 in that fold)")
        fold_models: dict[str, BaseEstimator] = {}
        for name, spec in specs.items():
            bar.set_postfix_str(f"r{split.repeat} f{split.fold} {name}")
            t_fit = time.perf_counter()
            if spec.eval_set:
                out, info = _fit_network(spec, name, dataset, y_fit_space, fit_idx, val_idx, split.test, n_classes,
                                         fold_models, class_weight, random_state)
                deep_rows.append({"model": name, "repeat": split.repeat, "fold": split.fold, **info})
                selection.append({"model": name, "repeat": split.repeat, "fold": split.fold, "params": {},
                                  "rounds": info["epochs_run"], "candidates": [],
                                  "fit_seconds": time.perf_counter() - t_fit})
                rows.append(_prediction_frame(name, split, dataset, y, out, labels))
                bar.update(1)
                continue
            fitter = _Fitter(spec, s.task, class_weight, random_state)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="xgboost")
                params, rounds, tried = fitter.select(
                    _inputs(spec, dataset, fit_idx), y_fit_space[fit_idx], _inputs(spec, dataset, val_idx), y_fit_space[val_idx]
                )
                out = fitter.fit_predict(_inputs(spec, dataset, split.train), y_fit_space[split.train],
                                         _inputs(spec, dataset, split.test), params, rounds, n_classes)
            elapsed = time.perf_counter() - t_fit
            selection.append({"model": name, "repeat": split.repeat, "fold": split.fold, "params": params,
                              "rounds": rounds, "candidates": tried, "fit_seconds": elapsed})
            rows.append(_prediction_frame(name, split, dataset, y, out, labels))
            bar.update(1)
        fold_models.clear()
    study = None
    if importance:
        from evaluation.importance import feature_study

        bar.set_postfix_str("feature-importance study")
        study = feature_study(dataset, s, splits, random_state=random_state, **(importance_options or {}))
    bar.close()
    predictions = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["model", "repeat", "fold", "row", "patient_id", "video_id", "clip_start", "y_true", "y_pred"])
    config = {
        "suite": suite, "task": s.task, "target": s.target, "protocol": protocol, "protocol_description": protocol_desc,
        "n_splits": n_splits if protocol == "cv" and cv is None else len({sp.fold for sp in splits}),
        "n_repeats": n_repeats if protocol == "cv" and cv is None else 1, "val_fraction": val_fraction,
        "test_fraction": test_fraction if protocol == "holdout" else None, "class_weight": class_weight or "none",
        "n_bootstrap": n_bootstrap, "random_state": random_state, "reference": reference,
        "models": {n: {"description": sp.description, "inputs": sp.inputs,
                       "features": (sp.features if isinstance(sp.features, str) else list(sp.features)),
                       "grid": list(sp.grid), "early_stopping": sp.early_stopping,
                       "reference": _reference_of(n, sp, specs, explicit_reference)} for n, sp in specs.items()},
        "deep_profile": deep_profile if any(sp.eval_set for sp in specs.values()) else None,
        "device": device,
        "user_splits": cv is not None,
        "importance": bool(importance),
    }
    timings = {"load_s": load_s, "features_s": features_s, "fit_s": float(sum(r["fit_seconds"] for r in selection)),
               "importance_s": study["seconds"] if study else 0.0}
    return CVResults(suite=s, dataset=dataset, predictions=predictions, folds=pd.DataFrame(fold_rows),
                     selection=selection, config=config, target_info=target_info, notes=notes, timings=timings,
                     started=started, importance=study, deep=deep_rows)


def _fold_row(split: Split, fit_idx, val_idx, patients, y, suite: Suite) -> dict:
    row = {"repeat": split.repeat, "fold": split.fold,
           "train_patients": int(len(np.unique(patients[split.train]))), "train_clips": int(len(split.train)),
           "fit_patients": int(len(np.unique(patients[fit_idx]))), "val_patients": int(len(np.unique(patients[val_idx]))),
           "test_patients": int(len(np.unique(patients[split.test]))), "test_clips": int(len(split.test))}
    if suite.task == "classification":
        for level in suite.labels:
            row[f"test_clips_{level}"] = int(np.sum(y[split.test] == level))
    return row


def _prediction_frame(name: str, split: Split, dataset: Dataset, y: np.ndarray, out: np.ndarray, labels) -> pd.DataFrame:
    meta = dataset.meta.iloc[split.test]
    frame = pd.DataFrame({
        "model": name, "repeat": split.repeat, "fold": split.fold, "row": split.test,
        "patient_id": meta["patient_id"].to_numpy(), "video_id": meta["video_id"].to_numpy(),
        "clip_start": meta["clip_start"].to_numpy() if "clip_start" in meta.columns else -1,
        "y_true": y[split.test],
    })
    if labels is None:
        frame["y_pred"] = out
        return frame
    frame["y_pred"] = labels[np.argmax(out, axis=1)]
    for j, level in enumerate(labels):
        frame[f"proba_{level}"] = out[:, j]
    return frame

