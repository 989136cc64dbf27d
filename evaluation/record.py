"""The written record of a run: ``metrics.json``, ``figures.npz`` and ``predictions.csv``.

The record is everything the report pages show. :func:`write_record` writes
it and then renders the pages *from the files it has just written*
(:func:`evaluation.report.render_folder`), so ``python -m evaluation.report
OUT/SUITE/`` re-creates the very same pages from the folder alone.

``metrics.json`` holds every number (schema in docs/evaluation.md);
``figures.npz`` holds the arrays behind the figures that are too large for
it — ROC points, video-level measured/predicted pairs, the sampled SHAP
values and feature values of the beeswarm plots — as plain arrays (read
with ``allow_pickle=False``); ``metrics.json["figures"]`` says which array
belongs to which model and class.
"""

from __future__ import annotations

import json
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from evaluation.metrics import regression_metrics
from evaluation.provenance import data_summary, environment
from evaluation.schema import FIGURES_FILE, SCHEMA, SCHEMA_VERSION
from gaitfeat.jsonable import to_jsonable

__all__ = ["SCHEMA", "SCHEMA_VERSION", "FIGURES_FILE", "build_record", "figure_arrays", "write_record"]

#: Features shown in a SHAP beeswarm (the largest mean |SHAP| first).
SHAP_TOP = 12


def _best_model(scores: dict, models: list[str], task: str, ordinal: bool = True) -> str:
    """The model whose patient-level predictions the report lists: best patient-level κ_l, macro-F1 for
    nominal classes (or RMSE)."""
    def value(m, key, default):
        v = scores["models"][m]["patient"]["metrics"][key]
        return default if v is None or not np.isfinite(v) else v

    if task == "classification":
        return max(models, key=lambda m: value(m, "kappa_linear" if ordinal else "f1_macro", -9.0))
    return min(models, key=lambda m: value(m, "rmse", 1e9))


def _patient_predictions(results, scores: dict) -> dict | None:
    """Patient-level predictions (first repeat) of the best model."""
    if not results.models:
        return None
    best = _best_model(scores, results.models, results.suite.task, results.suite.ordinal)
    u = results.units(best, "patient", 0)
    cols = ["patient_id", "n_clips", "y_true", "y_pred", *results.proba_columns]
    return {"model": best, "columns": cols, "rows": u[cols].to_numpy(dtype=object).tolist()}


def confusion_structure(scores: dict, models: list[str], suite) -> dict | None:
    """Where each model's errors fall, for a suite with clinical class groups (:attr:`Suite.groups`).

    Per model and level (clip, patient): the share of misclassified units whose predicted class is in
    the true class's group (a near miss between clinically similar gaits), and the most frequent
    confusions (true, predicted, count, share of the true class).
    """
    if not suite.groups or not models:
        return None
    group_of = {c: g for g, members in suite.groups.items() for c in members}
    names = list(suite.class_names)
    out = {"groups": {g: list(m) for g, m in suite.groups.items()}, "models": {}}
    same = np.array([[group_of.get(a) == group_of.get(b) for b in names] for a in names])
    for m in models:
        out["models"][m] = {}
        for level in ("clip", "patient"):
            c = np.asarray(scores["models"][m][level]["metrics"]["confusion"], dtype=float)
            off = c.copy()
            np.fill_diagonal(off, 0.0)
            errors = float(off.sum())
            pairs = sorted(((float(off[i, j]), i, j) for i in range(len(names)) for j in range(len(names)) if off[i, j] > 0),
                           reverse=True)[:6]
            out["models"][m][level] = {
                "errors": int(errors),
                "within_group_share": float(off[same].sum() / errors) if errors else None,
                "top_confusions": [{"true": names[i], "predicted": names[j], "count": int(n),
                                    "share_of_true": float(n / c[i].sum()) if c[i].sum() else None,
                                    "same_group": bool(same[i, j])} for n, i, j in pairs],
            }
    return out


def _gradcam_summary(deep: list[dict]) -> dict | None:
    """Grad-CAM joint scores averaged over the folds of the first network that has them, regions, selections."""
    cams = [d for d in deep if d.get("joint_contributions")]
    if not cams:
        return None
    first = cams[0]["model"]
    cams = [d for d in cams if d["model"] == first]     # one Grad-CAM per fold (all variants share the backbone)
    regions = pd.DataFrame([d["region_scores"] for d in cams])
    counts = pd.Series([f for d in cams for f in d["selected_features"]], dtype=object).value_counts()
    return {"model": first, "folds": len(cams),
            "joint_scores": np.mean([d["joint_contributions"] for d in cams], axis=0).tolist(),
            "regions": {r: {"mean": float(regions[r].mean()), "min": float(regions[r].min()),
                            "max": float(regions[r].max())} for r in regions.columns},
            "selected_features": [[str(f), int(c)] for f, c in counts.items()]}


def _figure_index(results) -> dict | None:
    """``metrics.json["figures"]``: the model order of the figures.npz array names, and the figures' own numbers
    (video-level agreement of the plotted pairs; the features shown in each SHAP beeswarm, by mean |SHAP|)."""
    if not (results.models or results.importance):
        return None
    index: dict = {"file": FIGURES_FILE, "models": list(results.models)}
    if results.labels is None and results.models:
        index["video_agreement"] = {}
        for name in results.models:
            u = results.units(name, "video", 0)
            m = regression_metrics(u["y_true"], u["y_pred"])
            index["video_agreement"][name] = {k: m[k] for k in ("pearson_r", "bias", "loa_lower", "loa_upper")}
    if results.importance_shap is not None:
        values = np.concatenate(results.importance_shap["values"])
        panels = [values[:, :, j] for j in range(values.shape[2])] if values.ndim == 3 else [values]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # a level absent from every fold: an all-NaN panel
            index["shap_order"] = [np.argsort(-np.nanmean(np.abs(v), axis=0))[:SHAP_TOP].tolist() for v in panels]
    return index


def _uncertainty(results) -> dict | None:
    """How well the bucket head's predicted spread describes its errors (clip level, first repeat).

    ``coverage_95``: share of clips whose error lies within ±1.96 spreads (0.95 when the spread were the SD of
    a well-calibrated normal error); ``spearman_abs_error``: rank correlation of spread and absolute error
    (positive: the model is less sure where it is more wrong).
    """
    p = results.predictions
    if "y_std" not in p.columns:
        return None
    from scipy.stats import spearmanr

    out = {}
    for name in results.models:
        u = p[(p["model"] == name) & (p["repeat"] == p["repeat"].min())]
        std = u["y_std"].to_numpy(float)
        if not np.isfinite(std).any():
            continue
        err = np.abs(u["y_pred"].to_numpy(float) - u["y_true"].to_numpy(float))
        ok = np.isfinite(std)
        rho = spearmanr(std[ok], err[ok]).statistic if ok.sum() > 2 and np.ptp(std[ok]) > 0 else float("nan")
        out[name] = {"clips": int(ok.sum()), "mean_std": float(np.mean(std[ok])),
                     "rmse": float(np.sqrt(np.mean(err[ok] ** 2))),
                     "coverage_95": float(np.mean(err[ok] <= 1.96 * std[ok])), "spearman_abs_error": float(rho)}
    return out or None


def build_record(results) -> dict:
    """The ``metrics.json`` content of a :class:`~evaluation.results.CVResults` (JSON-ready)."""
    scores = results.scores()
    models = {}
    sel = pd.DataFrame(results.selection) if results.selection else pd.DataFrame(columns=["model"])
    for name, cfg in results.config["models"].items():
        chosen = sel[sel["model"] == name]
        models[name] = {
            **cfg,
            "levels": scores["models"][name],
            "selection": [{"repeat": int(r.repeat), "fold": int(r.fold), "params": r.params, "rounds": r.rounds}
                          for r in chosen.itertuples()],
            "fit_seconds": float(chosen["fit_seconds"].sum()) if len(chosen) else 0.0,
        }
    labels = results.labels
    return to_jsonable({
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "suite": results.name,
        "title": results.title,
        "task": results.suite.task,
        "unit": results.suite.unit,
        "labels": None if labels is None else [int(c) for c in labels],
        "class_names": list(results.suite.class_names) or None,
        "ordinal": bool(results.suite.ordinal),
        "confusion_structure": confusion_structure(scores, results.models, results.suite),
        "rationales": results.rationales["summary"] if results.rationales else None,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data_summary(results.dataset, results.suite, results.target_info),
        "configuration": {k: v for k, v in results.config.items() if k != "models"},
        "folds": results.folds.to_dict(orient="records"),
        "models": models,
        "comparisons": scores["comparisons"],
        "notes": results.notes,
        "importance": results.importance,
        "deep": results.deep,
        "gradcam": _gradcam_summary(results.deep),
        "patient_predictions": _patient_predictions(results, scores),
        "figures": _figure_index(results),
        "uncertainty": _uncertainty(results),
        "environment": environment(),
        "seed": results.config["random_state"],
        "timings": results.timings,
        "runtime_s": time.perf_counter() - results.started,
    })


def figure_arrays(results) -> dict[str, np.ndarray]:
    """The arrays of ``figures.npz``; model ``i`` is ``record["figures"]["models"][i]``, class ``j`` the j-th label.

    * classification: ``roc_fpr_i_j``, ``roc_tpr_i_j`` — one-vs-rest ROC points of the pooled out-of-fold clip
      probabilities (first repeat), present when class ``j`` has positive and negative clips;
    * regression: ``video_true_i``, ``video_pred_i`` — video-level measured and predicted values (first repeat);
    * feature-importance study: ``shap_values`` (clips, features[, classes]) and ``shap_X`` (clips, features) —
      the sampled held-out clips of the SHAP beeswarm plots.

    Figure arrays are float32 (drawing needs no more); the pairs of the gdi figures stay float64.
    """
    arrays: dict[str, np.ndarray] = {}
    labels = results.labels
    for i, name in enumerate(results.models):
        if labels is not None:
            u = results.units(name, "clip", 0)
            for j, c in enumerate(labels):
                pos = (u["y_true"] == c).to_numpy()
                if pos.any() and not pos.all():
                    fpr, tpr, _ = roc_curve(pos, u[f"proba_{c}"].to_numpy())
                    # float32: ample for drawing, and half the size of the example report's record
                    arrays[f"roc_fpr_{i}_{j}"], arrays[f"roc_tpr_{i}_{j}"] = fpr.astype(np.float32), tpr.astype(np.float32)
        else:
            u = results.units(name, "video", 0)
            arrays[f"video_true_{i}"] = u["y_true"].to_numpy(float)
            arrays[f"video_pred_{i}"] = u["y_pred"].to_numpy(float)
    if results.importance_shap is not None:
        arrays["shap_values"] = np.concatenate(results.importance_shap["values"]).astype(np.float32)
        arrays["shap_X"] = np.concatenate(results.importance_shap["X"]).astype(np.float32)
    return arrays


def write_record(results, folder: str | Path, *, html: bool = True) -> Path:
    """Write ``metrics.json``, ``figures.npz``, ``predictions.csv`` into ``folder``, then render its pages from them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = build_record(results)
    (folder / "metrics.json").write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
    if record["figures"] is not None:
        np.savez_compressed(folder / FIGURES_FILE, **figure_arrays(results))
    results.predictions.to_csv(folder / "predictions.csv", index=False, float_format="%.6g")
    if results.rationales:
        (folder / "rationales.json").write_text(json.dumps(to_jsonable(results.rationales["document"]),
                                                           allow_nan=False) + "\n")
        results.rationales["table"].to_csv(folder / "rationale_features.csv", index=False)
        results.rationales["ranges"].to_csv(folder / "rationale_ranges.csv", index=False)
    if html:
        from evaluation.report import render_folder

        render_folder(folder)
    return folder
