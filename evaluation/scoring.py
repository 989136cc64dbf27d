"""Scores of out-of-fold predictions: metrics with patient-bootstrap CIs and paired comparisons.

Scores are computed at three levels (:data:`evaluation.metrics.LEVELS`):
each clip (the unit of Yang, Chen & He's Table 3), each video and each
patient (mean of the clip probabilities or predictions). Confidence
intervals come from one set of patient resamples shared by all models and
levels, so paired differences between models are valid
(:mod:`evaluation.stats`). With repeated cross-validation, a point value is
the mean over repeats and each bootstrap replicate averages the repeats too.

Everything here works on the predictions table alone (the columns
:class:`evaluation.results.CVResults` documents), never on fitted models.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from evaluation.metrics import (
    HEADLINE_CLASSIFICATION,
    HEADLINE_REGRESSION,
    LEVELS,
    aggregate_predictions,
    classification_metrics,
    regression_metrics,
)
from evaluation.stats import (
    bootstrap_classification,
    bootstrap_regression,
    mcnemar_test,
    paired_difference,
    patient_resamples,
    percentile_ci,
    wilcoxon_abs_error,
)

__all__ = ["COMPARED", "SUMMARY_COLUMNS", "proba_columns", "prediction_units", "score_predictions", "summary_table"]

#: Metrics compared between each model and its reference (paired bootstrap).
COMPARED = {"classification": ("accuracy", "kappa_linear", "balanced_accuracy", "f1_macro"), "regression": ("rmse", "mae")}
#: The headline columns of :func:`summary_table` (and of the console summary).
SUMMARY_COLUMNS = {"classification": ("accuracy", "f1_weighted", "f1_macro", "kappa_linear", "balanced_accuracy", "auc_macro"),
                   "regression": ("rmse", "mae", "pearson_r", "r2", "bias")}


def proba_columns(labels) -> list[str]:
    """Names of the class-probability columns of the predictions table (none for regression)."""
    return [] if labels is None else [f"proba_{c}" for c in labels]


def prediction_units(predictions: pd.DataFrame, model: str, level: str, repeat: int = 0, *,
                     labels=None, pooling: str = "mean") -> pd.DataFrame:
    """Predictions of ``model`` aggregated to ``level`` (clip, video or patient) for one repeat."""
    p = predictions[(predictions["model"] == model) & (predictions["repeat"] == repeat)]
    return aggregate_predictions(p, level, proba_columns=proba_columns(labels),
                                 labels=None if labels is None else np.asarray(labels), pooling=pooling)


def _combine_points(points: list[dict]) -> dict:
    """Average per-repeat metric dicts; confusion matrices are summed; notes are merged."""
    if len(points) == 1:
        return points[0]
    out: dict = {}
    for key, value in points[0].items():
        values = [p[key] for p in points]
        if key == "confusion":
            out[key] = np.sum(np.asarray(values), axis=0).astype(int).tolist()
        elif key == "notes":
            out[key] = sorted({n for v in values for n in v})
        elif isinstance(value, dict):
            out[key] = {k: float(np.nanmean([v[k] for v in values])) if not all(
                math.isnan(v[k]) for v in values) else float("nan") for k in value}
        elif isinstance(value, float):
            out[key] = float(np.nanmean(values)) if not all(math.isnan(v) for v in values) else float("nan")
        else:
            out[key] = value
    return out


def _combine_boot(boots: list[dict]) -> dict:
    if len(boots) == 1:
        return boots[0]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # replicates undefined in every repeat stay NaN
        return {k: np.nanmean(np.stack([b[k] for b in boots]), axis=0) for k in boots[0]}


def score_predictions(predictions: pd.DataFrame, *, task: str, labels, models: list[str], references: dict,
                      reference: str | None, n_bootstrap: int, random_state: int, pooling: str = "mean") -> dict:
    """Metrics with 95 % patient-bootstrap CIs for every model and level, and the paired comparisons.

    Parameters
    ----------
    predictions : DataFrame
        Out-of-fold predictions (``model``, ``repeat``, ``patient_id``,
        ``y_true``, ``y_pred`` and ``proba_<class>`` for classification).
    task : {"classification", "regression"}
    labels : sequence of int or None
        Classes in order (classification).
    models : list of str
        Models to score, in report order.
    references : dict
        ``{model: reference model or None}`` for the paired comparisons.
    reference : str or None
        The run-wide reference named in the output.
    n_bootstrap, random_state : int
        Patient resamples and their seed.
    pooling : {"mean", "median"}
        How regression predictions are pooled per video and patient.

    Returns
    -------
    dict
        ``{"models": {model: {level: {"metrics", "ci95"[, "repeat_sd"]}}}, "comparisons": {...}}``.
    """
    if not models:
        return {"models": {}, "comparisons": {"reference": None, "models": {}}}
    labels = None if labels is None else np.asarray(labels)
    cols = proba_columns(labels)
    repeats = sorted(predictions["repeat"].unique())
    tested = np.unique(predictions["patient_id"].to_numpy())
    code = {p: i for i, p in enumerate(tested)}
    counts = patient_resamples(len(tested), int(n_bootstrap), int(random_state))
    headline = HEADLINE_CLASSIFICATION if task == "classification" else HEADLINE_REGRESSION
    scores: dict = {}
    boots: dict = {}
    for name in models:
        scores[name], boots[name] = {}, {}
        for level in LEVELS:
            points, reps = [], []
            for r in repeats:
                u = prediction_units(predictions, name, level, r, labels=labels, pooling=pooling)
                pat = np.array([code[p] for p in u["patient_id"]])
                if task == "classification":
                    proba = u[cols].to_numpy(float)
                    points.append(classification_metrics(u["y_true"], u["y_pred"], proba, labels=labels))
                    reps.append(bootstrap_classification(np.searchsorted(labels, u["y_true"].to_numpy()),
                                                         np.searchsorted(labels, u["y_pred"].to_numpy()), pat,
                                                         counts, len(labels), proba))
                else:
                    points.append(regression_metrics(u["y_true"], u["y_pred"]))
                    reps.append(bootstrap_regression(u["y_true"].to_numpy(float), u["y_pred"].to_numpy(float), pat, counts))
            point = _combine_points(points)
            if len(repeats) > 1:
                point["confusion_repeats"] = len(repeats)   # confusion counts are summed over the repeats
            boot = _combine_boot(reps)
            ci = {m: percentile_ci(boot[m]) for m in headline if m in boot}
            if task == "classification":
                keys = [int(c) for c in labels]
                ci["per_class_recall"] = dict(zip(keys, percentile_ci(boot["per_class_recall"])))
                ci["auc_ovr"] = dict(zip(keys, percentile_ci(boot["auc_ovr"])))
            entry = {"metrics": point, "ci95": ci}
            if len(repeats) > 1:
                entry["repeat_sd"] = {m: float(np.nanstd([p[m] for p in points], ddof=1)) for m in headline}
            scores[name][level] = entry
            boots[name][level] = boot
    comparisons = _compare(predictions, scores, boots, repeats, task=task, labels=labels, models=models,
                           references=references, reference=reference, pooling=pooling)
    return {"models": scores, "comparisons": comparisons}


def _compare(predictions, scores: dict, boots: dict, repeats: list, *, task, labels, models, references,
             reference, pooling: str = "mean") -> dict:
    out = {}
    for name in models:
        ref = references.get(name)
        if ref is None or ref not in scores or ref == name:
            continue
        entry = {"reference": ref}
        for level in LEVELS:
            entry[level] = {
                m: paired_difference(boots[name][level][m], boots[ref][level][m],
                                     scores[name][level]["metrics"][m], scores[ref][level]["metrics"][m])
                for m in COMPARED[task]
            }
        a = prediction_units(predictions, name, "patient", repeats[0], labels=labels, pooling=pooling)
        b = prediction_units(predictions, ref, "patient", repeats[0], labels=labels, pooling=pooling)
        both = a.merge(b, on=["patient_id", "y_true"], suffixes=("_a", "_b"), validate="one_to_one")
        if task == "classification":
            entry["mcnemar_patient"] = mcnemar_test(both["y_pred_a"] == both["y_true"], both["y_pred_b"] == both["y_true"])
        else:
            entry["wilcoxon_patient"] = wilcoxon_abs_error(both["y_pred_a"] - both["y_true"], both["y_pred_b"] - both["y_true"])
        out[name] = entry
    if not out:
        return {"reference": None, "models": {}}
    return {"reference": reference, "repeat_used_for_tests": int(repeats[0]), "models": out}


def summary_table(scores: dict, models: list[str], task: str, level: str = "clip") -> pd.DataFrame:
    """One row per model: the headline metrics at ``level`` with their 95 % CIs (``<metric>_ci`` columns)."""
    rows = []
    for name in models:
        s = scores["models"][name][level]
        row = {"model": name}
        for c in SUMMARY_COLUMNS[task]:
            lo, hi = s["ci95"].get(c, [float("nan"), float("nan")])
            row[c] = s["metrics"][c]
            row[f"{c}_ci"] = (lo, hi)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
