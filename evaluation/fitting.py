"""Fitting one model spec on one patient-level split, and predicting its test patients.

Two paths, both behind :func:`fit_predict`:

* **estimators** (:class:`EstimatorFitter`): hyperparameters (the spec's
  ``grid``) and, for boosting, the number of rounds (early stopping) are
  chosen on the inner validation patients; the chosen setting is refitted
  on the whole training fold;
* **networks** (:func:`fit_network`): trained on the fitting patients with
  the validation patients as ``eval_set`` (early stopping, best epoch kept);
  no refit. The dual-stream models start from the fold's fitted ST-GCN and
  share one frozen-trunk cache per fold (:class:`FoldState`).

``y`` here always holds class positions ``0..K-1`` (classification) or
target values (regression); predictions come back as ``(n_test, K)``
probabilities over all K classes, or ``(n_test,)`` values.
"""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight

from evaluation.zoo import ModelSpec, feature_columns

__all__ = ["EstimatorFitter", "FoldState", "fit_network", "fit_predict", "model_inputs", "balanced_weights"]


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """``class_weight="balanced"`` as sample weights: n / (K · n_k) for a clip of class k.

    The one definition of "balanced" in the harness; the networks' own
    ``class_weight="balanced"`` weights their loss by the same n / (K · n_k).
    """
    return compute_sample_weight("balanced", y)


def model_inputs(spec: ModelSpec, dataset, rows: np.ndarray):
    """What ``fit``/``predict`` of an estimator spec receive for ``rows``: clips, or the spec's feature columns."""
    if spec.inputs == "clips":
        return dataset.clips[rows]
    if spec.inputs != "features":
        raise ValueError(f"model inputs must be 'features' or 'clips', got {spec.inputs!r}")
    return dataset.features.iloc[rows][feature_columns(spec)].reset_index(drop=True)


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


class EstimatorFitter:
    """Fits one estimator spec on one split: selection on the validation part, refit on the training fold."""

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
        return balanced_weights(y) if (self.class_weight == "balanced" and self.task == "classification") else None

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
        """Refit the chosen setting on the training fold and predict the test clips."""
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
            self.fitted_, self.classes_ = est, present
            return proba
        self._fit(est, X_train, y_train, None)
        self.fitted_, self.classes_ = est, None
        return np.asarray(est.predict(X_test), dtype=float)


@dataclass
class FoldState:
    """What the networks of one split share: the fitted models by name and the frozen-trunk cache.

    Created by the harness for every split and discarded after it, so
    nothing fitted on one fold's patients reaches another fold.
    """

    models: dict = field(default_factory=dict)
    cache: object | None = None
    #: For the feature-table estimators: the class positions each was fitted on (its ``predict_proba`` columns);
    #: ``None`` for regressors. Kept so a fitted fold model can be saved and used again (model bundles).
    classes: dict = field(default_factory=dict)


def _network_cache():
    from models.deep import TrunkCache

    return TrunkCache()


def fit_network(spec: ModelSpec, name: str, dataset, y: np.ndarray, fit_idx, val_idx, test_idx, n_classes: int,
                fold: FoldState, class_weight: str | None, random_state: int):
    """Fit a network spec on the fit part with the validation part as ``eval_set``; predict the test part.

    ``y`` holds class positions 0..K-1 (or targets); the estimator's ``classes_``
    are the positions present in the fit part, mapped back to all K columns.
    Returns the predictions and a row describing the training (epochs, best
    epoch, Grad-CAM scores and selected features for the report).
    """
    est = spec.build(random_state)
    reused = spec.backbone_from is not None and spec.backbone_from in fold.models
    if reused:
        est.set_params(backbone=fold.models[spec.backbone_from])
    if "cache" in est.get_params(deep=False):
        if fold.cache is None:
            fold.cache = _network_cache()
        est.set_params(cache=fold.cache)
    if class_weight == "balanced" and spec.class_weight and n_classes:
        est.set_params(class_weight="balanced")
    if "layout" in est.get_params(deep=False):
        est.set_params(layout=dataset.layout)     # the skeleton graph of the data's layout (COCO-17 or BODY_25)
    clips = dataset.clips
    if spec.inputs == "clips+features":
        table = dataset.features
        feats = lambda rows: table.iloc[rows].reset_index(drop=True)   # noqa: E731
        est.fit(clips[fit_idx], y[fit_idx], features=feats(fit_idx),
                eval_set=(clips[val_idx], y[val_idx], feats(val_idx)))
        kwargs = {"features": feats(test_idx)}
    else:
        extra = {}
        if _accepts(est, "eval_videos"):
            # Video-level validation predictions for a linear correction (Kidziński et al.), validation rows only.
            extra["eval_videos"] = dataset.meta["video_id"].to_numpy()[val_idx]
        est.fit(clips[fit_idx], y[fit_idx], eval_set=(clips[val_idx], y[val_idx]), **extra)
        kwargs = {}
    fold.models[name] = est
    std = None
    if n_classes:
        local = np.asarray(est.predict_proba(clips[test_idx], **kwargs), dtype=float)
        out = np.zeros((local.shape[0], n_classes))
        out[:, np.asarray(est.classes_, dtype=np.int64)] = local
    elif est.get_params(deep=False).get("head") == "buckets":
        # The bucket head's predicted distribution has a spread: kept as each clip's uncertainty.
        out, std = (np.asarray(a, dtype=float) for a in est.predict(clips[test_idx], return_std=True, **kwargs))
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
    if std is not None:
        info["y_std"] = std          # per test clip; the harness moves it into the predictions table
    correction = getattr(est, "correction_", None)
    if correction is not None:
        info["correction"] = np.asarray(correction, dtype=float).tolist()
    return out, info


def fit_predict(spec: ModelSpec, name: str, dataset, y: np.ndarray, split, fit_idx, val_idx, *, task: str,
                n_classes: int, fold: FoldState, class_weight: str | None, random_state: int):
    """Fit ``spec`` on one split and predict its test patients.

    Returns
    -------
    out : ndarray
        ``(n_test, K)`` probabilities or ``(n_test,)`` values.
    selection : dict
        Parameters chosen, rounds/epochs, candidates tried, fit seconds.
    training : dict or None
        For networks, the training row of :func:`fit_network`.
    """
    started = time.perf_counter()
    if spec.network:
        out, info = fit_network(spec, name, dataset, y, fit_idx, val_idx, split.test, n_classes, fold, class_weight,
                                random_state)
        return out, {"params": {}, "rounds": info["epochs_run"], "candidates": [],
                     "fit_seconds": time.perf_counter() - started}, info
    fitter = EstimatorFitter(spec, task, class_weight, random_state)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="xgboost")
        params, rounds, tried = fitter.select(model_inputs(spec, dataset, fit_idx), y[fit_idx],
                                              model_inputs(spec, dataset, val_idx), y[val_idx])
        out = fitter.fit_predict(model_inputs(spec, dataset, split.train), y[split.train],
                                 model_inputs(spec, dataset, split.test), params, rounds, n_classes)
    fold.models[name], fold.classes[name] = fitter.fitted_, fitter.classes_
    return out, {"params": params, "rounds": rounds, "candidates": tried,
                 "fit_seconds": time.perf_counter() - started}, None
