"""Classification and regression metrics, and aggregation of clip predictions to videos and patients.

Every confusion-matrix metric is computed by one vectorised function,
:func:`confusion_metrics`, which works on a single ``(K, K)`` matrix or a stack
``(B, K, K)``; the point estimates and the patient bootstrap
(:mod:`evaluation.stats`) therefore use the same formulas.

Conventions
-----------
* Confusion matrices have true classes in rows and predicted classes in
  columns, in the order of ``labels``.
* Ordinal distances (weighted kappa, ``within_one``) are positions in
  ``labels``: for GMFCS ``(1, 2, 3, 4)`` they equal the level difference,
  also when a level is absent from a particular sample. (scikit-learn's
  ``cohen_kappa_score`` without ``labels=`` re-indexes the levels that
  occur, which shortens distances when one is absent.)
* A metric that is not defined for the data (the recall of a class with no
  true examples, the precision of a class never predicted, an AUC with no
  positive or no negative examples) is NaN, and ``notes`` says why; nothing
  is silently set to 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "POOLING",
    "classification_metrics",
    "regression_metrics",
    "confusion_matrix",
    "confusion_metrics",
    "roc_auc_ovr",
    "aggregate_predictions",
    "LEVELS",
    "HEADLINE_CLASSIFICATION",
    "HEADLINE_REGRESSION",
]

#: Units at which predictions are scored: every clip (as Yang, Chen & He score them),
#: every video (mean of its clips' probabilities) and every patient.
LEVELS: tuple[str, ...] = ("clip", "video", "patient")
#: How regression predictions of a video's (or patient's) clips are pooled (:func:`aggregate_predictions`).
POOLING: tuple[str, ...] = ("mean", "median")

#: Scalar classification metrics reported with confidence intervals.
HEADLINE_CLASSIFICATION: tuple[str, ...] = (
    "accuracy", "balanced_accuracy", "f1_weighted", "f1_macro", "kappa_linear", "kappa_quadratic", "within_one",
    "auc_macro", "log_loss",
)
#: Scalar regression metrics reported with confidence intervals.
HEADLINE_REGRESSION: tuple[str, ...] = ("rmse", "mae", "pearson_r", "r2", "bias", "loa_lower", "loa_upper")

_EPS = 1e-15


def _as_labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence | None) -> np.ndarray:
    if labels is None:
        return np.unique(np.concatenate([y_true, y_pred]))
    labels = np.asarray(list(labels))
    unknown = set(np.unique(np.concatenate([y_true, y_pred])).tolist()) - set(labels.tolist())
    if unknown:
        raise ValueError(f"values {sorted(unknown)} are not among labels {labels.tolist()}")
    return labels


def confusion_matrix(y_true, y_pred, labels: Sequence, sample_weight=None) -> np.ndarray:
    """Counts ``C[i, j]`` of true class ``labels[i]`` predicted as ``labels[j]`` (float64)."""
    labels = np.asarray(list(labels))
    ti = np.searchsorted(labels, y_true) if _sorted(labels) else _positions(labels, y_true)
    pi = np.searchsorted(labels, y_pred) if _sorted(labels) else _positions(labels, y_pred)
    k = len(labels)
    w = np.ones(len(ti)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    out = np.zeros(k * k)
    np.add.at(out, ti * k + pi, w)
    return out.reshape(k, k)


def _sorted(labels: np.ndarray) -> bool:
    return bool(np.all(labels[:-1] < labels[1:])) if len(labels) > 1 else True


def _positions(labels: np.ndarray, values) -> np.ndarray:
    index = {v: i for i, v in enumerate(labels.tolist())}
    return np.array([index[v] for v in np.asarray(values).tolist()], dtype=np.int64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def confusion_metrics(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics that depend only on the confusion matrix, for one matrix or a stack.

    Parameters
    ----------
    confusion : array ``(..., K, K)``
        Counts (or weights): true class in rows, predicted in columns,
        classes in ordinal order.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy`` (mean recall over classes with
        true examples), ``f1_weighted`` (weights: true support), ``f1_macro``
        (over classes that occur in truth or prediction), ``kappa_linear``,
        ``kappa_quadratic``, ``within_one`` (share at most one class off),
        ``per_class_recall`` ``(..., K)``, ``per_class_precision``
        ``(..., K)``, ``support`` ``(..., K)``. Undefined values are NaN.
    """
    c = np.asarray(confusion, dtype=float)
    k = c.shape[-1]
    n = c.sum(axis=(-2, -1))
    diag = np.diagonal(c, axis1=-2, axis2=-1)
    support = c.sum(axis=-1)          # true counts per class
    predicted = c.sum(axis=-2)        # predicted counts per class
    recall = _safe_div(diag, support)
    precision = _safe_div(diag, predicted)
    with np.errstate(invalid="ignore", divide="ignore"):
        # F1 = 2 TP / (2 TP + FP + FN); 0 when a class occurs but is never right.
        f1 = _safe_div(2 * diag, support + predicted)
    present = support > 0
    occurs = (support + predicted) > 0
    accuracy = _safe_div(diag.sum(axis=-1), n)
    balanced = _safe_div(np.where(present, np.nan_to_num(recall), 0).sum(axis=-1), present.sum(axis=-1))
    f1_weighted = _safe_div((np.nan_to_num(f1) * support).sum(axis=-1), n)
    f1_macro = _safe_div(np.where(occurs, np.nan_to_num(f1), 0).sum(axis=-1), occurs.sum(axis=-1))

    idx = np.arange(k)
    dist = np.abs(idx[:, None] - idx[None, :]).astype(float)
    within = _safe_div((c * (dist <= 1)).sum(axis=(-2, -1)), n)

    expected = _safe_div(support[..., :, None] * predicted[..., None, :], n[..., None, None])
    kappas = {}
    for name, w in (("kappa_linear", dist), ("kappa_quadratic", dist**2)):
        observed = (w * c).sum(axis=(-2, -1))
        chance = (w * expected).sum(axis=(-2, -1))
        # Chance disagreement 0 (one class only in truth and prediction): kappa is undefined.
        kappas[name] = 1.0 - _safe_div(observed, chance)
    return {
        "accuracy": accuracy,
        "balanced_accuracy": balanced,
        "f1_weighted": f1_weighted,
        "f1_macro": f1_macro,
        "kappa_linear": kappas["kappa_linear"],
        "kappa_quadratic": kappas["kappa_quadratic"],
        "within_one": within,
        "per_class_recall": recall,
        "per_class_precision": precision,
        "support": support,
    }


def roc_auc_ovr(y_true, proba: np.ndarray, labels: Sequence, sample_weight=None) -> np.ndarray:
    """One-vs-rest ROC AUC per class (ties count one half); NaN where a class has no positives or no negatives.

    ``sample_weight`` may be ``(n,)`` or a stack ``(B, n)`` (the patient
    bootstrap), giving ``(K,)`` or ``(B, K)``.
    """
    labels = np.asarray(list(labels))
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    stacked = w.ndim == 2
    w2 = w if stacked else w[None, :]
    out = np.full((w2.shape[0], len(labels)), np.nan)
    for j, label in enumerate(labels):
        pos = y_true == label
        if not pos.any() or pos.all():
            continue
        score = proba[:, j]
        order = np.argsort(score, kind="mergesort")
        s_sorted = score[order]
        # Group tied scores: each positive beats the negatives strictly below it and ties with half of those equal.
        starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
        wp = np.where(pos[order], w2[:, order], 0.0)
        wn = np.where(~pos[order], w2[:, order], 0.0)
        gp = np.add.reduceat(wp, starts, axis=1)
        gn = np.add.reduceat(wn, starts, axis=1)
        below = np.cumsum(gn, axis=1) - gn
        num = (gp * (below + 0.5 * gn)).sum(axis=1)
        den = gp.sum(axis=1) * gn.sum(axis=1)
        out[:, j] = _safe_div(num, den)
    return out if stacked else out[0]


def classification_metrics(y_true, y_pred, proba: np.ndarray | None = None, *, labels: Sequence | None = None) -> dict:
    """Classification metrics for ordinal classes such as GMFCS levels.

    Parameters
    ----------
    y_true, y_pred : array-like ``(n,)``
        True and predicted classes.
    proba : array ``(n, K)``, optional
        Predicted class probabilities, columns in the order of ``labels``;
        needed for ``auc_ovr``, ``auc_macro`` and ``log_loss``.
    labels : sequence, optional
        The classes in ordinal order (default: the sorted classes present).
        For GMFCS pass ``(1, 2, 3, 4)`` so absent levels keep their place.

    Returns
    -------
    dict
        ``n``, ``labels``, ``accuracy``, ``balanced_accuracy``,
        ``f1_weighted``, ``f1_macro``, ``kappa_linear``,
        ``kappa_quadratic``, ``within_one``, ``per_class_recall``,
        ``per_class_precision``, ``support`` (dicts keyed by class),
        ``confusion`` (list of rows, true x predicted), ``auc_ovr`` (dict
        keyed by class), ``auc_macro`` (mean of the defined per-class AUCs),
        ``log_loss`` (natural log, probabilities clipped to [1e-15, 1]),
        and ``notes`` (why a value is NaN). Per-class values are NaN where
        undefined.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and of equal length, got {y_true.shape} and {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("no predictions to score")
    labels = _as_labels(y_true, y_pred, labels)
    c = confusion_matrix(y_true, y_pred, labels)
    m = confusion_metrics(c)
    keys = [_key(v) for v in labels]
    out: dict = {"n": int(len(y_true)), "labels": keys}
    for name in ("accuracy", "balanced_accuracy", "f1_weighted", "f1_macro", "kappa_linear", "kappa_quadratic", "within_one"):
        out[name] = float(m[name])
    out["per_class_recall"] = dict(zip(keys, m["per_class_recall"].tolist()))
    out["per_class_precision"] = dict(zip(keys, m["per_class_precision"].tolist()))
    out["support"] = dict(zip(keys, [int(s) for s in m["support"]]))
    out["confusion"] = c.astype(int).tolist()
    notes = []
    for key, s, p in zip(keys, m["support"], c.sum(axis=0)):
        if s == 0:
            notes.append(f"class {key}: no true examples (recall and AUC undefined)")
        if p == 0:
            notes.append(f"class {key}: never predicted (precision undefined)")
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(y_true), len(labels)):
            raise ValueError(f"proba must have shape {(len(y_true), len(labels))}, got {proba.shape}")
        if not np.all(np.isfinite(proba)):
            raise ValueError("proba contains NaN or inf")
        auc = roc_auc_ovr(y_true, proba, labels)
        out["auc_ovr"] = dict(zip(keys, auc.tolist()))
        out["auc_macro"] = float(np.nanmean(auc)) if np.isfinite(auc).any() else float("nan")
        for key, s in zip(keys, m["support"]):
            if s == len(y_true):
                notes.append(f"class {key}: no negative examples (AUC undefined)")
        out["log_loss"] = float(_log_loss(y_true, proba, labels).mean())
    else:
        out["auc_ovr"] = {key: float("nan") for key in keys}
        out["auc_macro"] = float("nan")
        out["log_loss"] = float("nan")
        notes.append("no probabilities: AUC and log loss not computed")
    out["notes"] = notes
    return out


def _log_loss(y_true: np.ndarray, proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample negative log probability of the true class (rows renormalised, clipped)."""
    p = np.clip(proba, _EPS, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    idx = np.searchsorted(labels, y_true) if _sorted(labels) else _positions(labels, y_true)
    return -np.log(np.clip(p[np.arange(len(y_true)), idx], _EPS, 1.0))


def _key(v) -> str | int:
    if isinstance(v, np.integer | int) and not isinstance(v, bool):
        return int(v)
    return str(v)


def regression_sums(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Sufficient statistics ``(n, Σe, Σe², Σ|e|, Σy, Σp, Σy², Σp², Σyp)`` with e = prediction − truth (last axis)."""
    e = y_pred - y_true
    return np.stack([np.ones_like(e), e, e**2, np.abs(e), y_true, y_pred, y_true**2, y_pred**2, y_true * y_pred], axis=-1)


def metrics_from_sums(s: np.ndarray) -> dict[str, np.ndarray]:
    """Regression metrics from summed :func:`regression_sums` (``(..., 9)``)."""
    n, se, se2, sae, sy, sp, sy2, sp2, syp = np.moveaxis(np.asarray(s, dtype=float), -1, 0)
    mean_e = _safe_div(se, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(_safe_div(se2, n))
        sst = sy2 - _safe_div(sy**2, n)
        spp = sp2 - _safe_div(sp**2, n)
        syp_c = syp - _safe_div(sy * sp, n)
        r = _safe_div(syp_c, np.sqrt(np.clip(sst, 0, None) * np.clip(spp, 0, None)))
        sd = np.sqrt(np.clip(_safe_div(se2 - n * mean_e**2, n - 1), 0, None))
    return {
        "rmse": rmse,
        "mae": _safe_div(sae, n),
        "pearson_r": r,
        "r2": 1.0 - _safe_div(se2, sst),
        "bias": mean_e,
        "loa_lower": mean_e - 1.96 * sd,
        "loa_upper": mean_e + 1.96 * sd,
    }


def regression_metrics(y_true, y_pred) -> dict:
    """Regression metrics, e.g. for the Gait Deviation Index.

    Parameters
    ----------
    y_true, y_pred : array-like ``(n,)``
        Measured and predicted values (same unit, e.g. GDI points).

    Returns
    -------
    dict
        ``n``; ``rmse``, ``mae`` (unit of y); ``pearson_r``; ``r2``
        (coefficient of determination, 1 − SSE/SST); Bland–Altman ``bias``
        (mean of prediction − truth) and 95 % limits of agreement
        ``loa_lower``/``loa_upper`` (bias ± 1.96 SD of the differences,
        SD with n − 1); ``notes``.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and of equal length, got {y_true.shape} and {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("no predictions to score")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite")
    m = metrics_from_sums(regression_sums(y_true, y_pred).sum(axis=0))
    out: dict = {"n": int(len(y_true))}
    out.update({k: float(v) for k, v in m.items()})
    notes = []
    if np.ptp(y_pred) == 0:
        notes.append("constant predictions: Pearson r undefined")
    if np.ptp(y_true) == 0:
        notes.append("constant truth: Pearson r and R² undefined")
    out["notes"] = notes
    return out


def aggregate_predictions(pred: pd.DataFrame, level: str, *, proba_columns: Sequence[str] = (), labels: Sequence | None = None,
                          pooling: str = "mean") -> pd.DataFrame:
    """Combine clip predictions into video or patient predictions.

    Probabilities (classification) are averaged over the unit's clips;
    predicted values (regression) are pooled by ``pooling`` — the mean, or
    the median (Kidziński et al. pooled clip predictions per video; the
    median resists a few clips gone wrong). The class with the highest mean
    probability is the unit's prediction. A patient whose videos carry
    different true classes (e.g. a GMFCS change between visits) is scored
    once per class, so a unit never mixes two truths; for regression the
    unit's truth is the mean over its clips.

    Parameters
    ----------
    pred : DataFrame
        One row per clip with ``patient_id``, ``video_id``, ``y_true`` and
        either ``proba_columns`` or ``y_pred``.
    level : {"clip", "video", "patient"}
    proba_columns : sequence of str
        Probability columns in the order of ``labels`` (classification).
    labels : sequence, optional
        Class of each probability column.
    pooling : {"mean", "median"}
        How a unit's predicted values are pooled (regression; the truth is
        always the mean over the unit's clips).

    Returns
    -------
    DataFrame
        One row per unit: ``patient_id``, ``video_id`` (video level),
        ``n_clips``, ``y_true``, ``y_pred`` and the probability columns.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}, got {pooling!r}")
    if level == "clip":
        out = pred.copy()
        out["n_clips"] = 1
        return out
    keys = ["patient_id", "video_id"] if level == "video" else ["patient_id"]
    if level == "video" and proba_columns:
        mixed = pred.groupby("video_id", sort=False)["y_true"].nunique()
        if (mixed > 1).any():
            raise ValueError(f"videos {mixed[mixed > 1].index.tolist()[:5]} have clips with different true labels")
    proba_columns = list(proba_columns)
    if proba_columns:
        keys = keys + ["y_true"]
        values = proba_columns
    else:
        # Regression: a patient's truth is the mean over its clips, like its prediction.
        values = ["y_true", "y_pred"]
    grouped = pred.groupby(keys, sort=True, observed=True)
    out = grouped[values].mean()
    if not proba_columns and pooling == "median":
        out["y_pred"] = grouped["y_pred"].median()
    out["n_clips"] = grouped.size()
    out = out.reset_index()
    if proba_columns:
        if labels is None or len(labels) != len(proba_columns):
            raise ValueError("labels must give the class of each probability column")
        out["y_pred"] = np.asarray(list(labels))[np.argmax(out[proba_columns].to_numpy(), axis=1)]
    return out
