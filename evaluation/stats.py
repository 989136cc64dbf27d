"""Patient bootstrap confidence intervals and paired model comparisons.

Clips of one patient are not independent, so every interval here resamples
*patients* with replacement and keeps all of a resampled patient's units
(clips, videos or the patient itself). A resample is a row of counts
``M[b, p]`` (how often patient ``p`` was drawn in replicate ``b``); every
metric of a replicate is computed from patient-level sums weighted by those
counts, so thousands of replicates cost a few matrix products.

Paired comparisons of two models use the *same* resamples for both, so the
interval of a difference accounts for the models being scored on the same
patients. McNemar's test (statsmodels) compares patient-level correctness.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from evaluation.metrics import _log_loss, confusion_metrics, metrics_from_sums, regression_sums, roc_auc_ovr

__all__ = [
    "patient_resamples",
    "bootstrap_classification",
    "bootstrap_regression",
    "percentile_ci",
    "paired_difference",
    "mcnemar_test",
    "wilcoxon_abs_error",
]

_CHUNK = 250  # replicates per block for the per-unit AUC weights (bounds memory at ~ _CHUNK x n floats)


def patient_resamples(n_patients: int, n_boot: int, random_state: int) -> np.ndarray:
    """Counts ``(n_boot, n_patients)``: how often each patient is drawn in each replicate."""
    if n_patients < 1 or n_boot < 1:
        raise ValueError(f"need at least one patient and one replicate, got {n_patients}, {n_boot}")
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, n_patients, size=(n_boot, n_patients))
    flat = draws + (np.arange(n_boot) * n_patients)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_patients).reshape(n_boot, n_patients).astype(float)


def bootstrap_classification(
    y_true: np.ndarray, y_pred: np.ndarray, patient: np.ndarray, counts: np.ndarray, n_classes: int,
    proba: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Replicate values of every classification metric.

    Parameters
    ----------
    y_true, y_pred : int arrays ``(n,)``
        Class positions ``0..K-1`` (ordinal order).
    patient : int array ``(n,)``
        Patient index ``0..P-1`` of each unit.
    counts : array ``(B, P)``
        From :func:`patient_resamples`.
    n_classes : int
    proba : array ``(n, K)``, optional

    Returns
    -------
    dict
        Metric name -> ``(B,)`` (scalars) or ``(B, K)`` (per class); NaN in
        replicates where a metric is undefined (e.g. a class not drawn).
    """
    k = n_classes
    n_pat = counts.shape[1]
    per_patient = np.zeros(n_pat * k * k)
    np.add.at(per_patient, (patient * k + y_true) * k + y_pred, 1.0)
    boot_conf = np.einsum("bp,pkl->bkl", counts, per_patient.reshape(n_pat, k, k))
    out = confusion_metrics(boot_conf)
    if proba is not None:
        labels = np.arange(k)
        auc = np.concatenate([
            roc_auc_ovr(y_true, proba, labels, sample_weight=counts[start:start + _CHUNK][:, patient])
            for start in range(0, counts.shape[0], _CHUNK)
        ])
        out["auc_ovr"] = auc
        with np.errstate(invalid="ignore"):
            defined = np.isfinite(auc)
            out["auc_macro"] = np.where(defined.any(axis=1), np.nansum(auc, axis=1) / np.maximum(defined.sum(axis=1), 1), np.nan)
        loss = _log_loss(y_true, proba, labels)
        loss_sum = np.bincount(patient, weights=loss, minlength=n_pat)
        n_units = np.bincount(patient, minlength=n_pat).astype(float)
        out["log_loss"] = (counts @ loss_sum) / (counts @ n_units)
    return out


def bootstrap_regression(y_true: np.ndarray, y_pred: np.ndarray, patient: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Replicate values ``(B,)`` of every regression metric (see :func:`evaluation.metrics.regression_metrics`)."""
    sums = regression_sums(np.asarray(y_true, float), np.asarray(y_pred, float))
    per_patient = np.zeros((counts.shape[1], sums.shape[1]))
    np.add.at(per_patient, patient, sums)
    return metrics_from_sums(counts @ per_patient)


def percentile_ci(values: np.ndarray, level: float = 0.95) -> list:
    """Percentile interval over replicates (axis 0), ignoring undefined replicates; ``[nan, nan]`` if none is defined."""
    values = np.asarray(values, dtype=float)
    alpha = (1.0 - level) / 2.0
    finite = np.isfinite(values)
    if values.ndim == 1:
        if not finite.any():
            return [float("nan"), float("nan")]
        lo, hi = np.quantile(values[finite], [alpha, 1 - alpha])
        return [float(lo), float(hi)]
    return [percentile_ci(values[:, j], level) for j in range(values.shape[1])]


def paired_difference(a_boot: np.ndarray, b_boot: np.ndarray, a_point: float, b_point: float, level: float = 0.95) -> dict:
    """Difference ``a − b`` with a paired bootstrap interval and a two-sided bootstrap p-value.

    Both replicate arrays must come from the same patient resamples. The
    p-value is twice the smaller share of replicates on either side of zero
    (an approximation; use it together with the interval).
    """
    d = np.asarray(a_boot, float) - np.asarray(b_boot, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return {"difference": float(a_point - b_point), "ci": [float("nan"), float("nan")], "p_value": float("nan")}
    p = min(1.0, 2.0 * min(np.mean(d <= 0), np.mean(d >= 0)))
    return {"difference": float(a_point - b_point), "ci": percentile_ci(d, level), "p_value": float(p)}


def mcnemar_test(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """McNemar's test on paired correctness (e.g. per patient) of models A and B.

    Uses the exact binomial version when fewer than 25 units are discordant,
    the chi-square version with continuity correction otherwise
    (``statsmodels.stats.contingency_tables.mcnemar``).

    Returns
    -------
    dict
        ``n``, ``both_correct``, ``a_only`` (A right, B wrong), ``b_only``,
        ``both_wrong``, ``exact``, ``statistic``, ``p_value``.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError("correct_a and correct_b must have the same length")
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    discordant = int(table[0, 1] + table[1, 0])
    exact = discordant < 25
    if discordant == 0:
        statistic, p_value = 0.0, 1.0
    else:
        res = mcnemar(table, exact=exact, correction=True)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    return {
        "n": int(a.size), "both_correct": int(table[0, 0]), "a_only": int(table[0, 1]), "b_only": int(table[1, 0]),
        "both_wrong": int(table[1, 1]), "exact": bool(exact), "statistic": statistic, "p_value": p_value,
    }


def wilcoxon_abs_error(err_a: np.ndarray, err_b: np.ndarray) -> dict:
    """Wilcoxon signed-rank test of paired absolute errors (regression models A and B on the same units)."""
    a = np.abs(np.asarray(err_a, float))
    b = np.abs(np.asarray(err_b, float))
    if a.shape != b.shape:
        raise ValueError("err_a and err_b must have the same length")
    d = a - b
    if not np.any(d != 0):
        return {"n": int(a.size), "statistic": 0.0, "p_value": 1.0, "median_difference": 0.0}
    res = sps.wilcoxon(a, b, zero_method="wilcox")
    return {"n": int(a.size), "statistic": float(res.statistic), "p_value": float(res.pvalue),
            "median_difference": float(np.median(d))}
