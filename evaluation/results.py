"""Scoring of out-of-fold predictions, and the results object that writes the report.

Scores are computed at three levels (:data:`evaluation.metrics.LEVELS`):
each clip (as the seed paper reports), each video and each patient (mean of
the clip probabilities or predictions). Confidence intervals come from one
set of patient resamples shared by all models and levels, so paired
differences between models are valid (:mod:`evaluation.stats`). With
repeated cross-validation, a point value is the mean over repeats and each
bootstrap replicate averages the repeats too.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

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

__all__ = ["CVResults", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA = "gaitfeat-evaluation-metrics"
#: Version of the ``metrics.json`` layout (docs/evaluation.md). Bump the major
#: number when a key is removed or changes meaning.
SCHEMA_VERSION = "1.2"   # 1.1: "importance" (feature-importance study); 1.2: "deep", per-model comparison references

#: Metrics compared between each model and the reference (paired bootstrap).
COMPARED = {"classification": ("accuracy", "kappa_linear", "balanced_accuracy"), "regression": ("rmse", "mae")}
_PACKAGES = ("gaitfeat", "numpy", "scipy", "pandas", "scikit-learn", "xgboost", "numba", "statsmodels", "torch", "shap",
             "matplotlib")


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
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # replicates undefined in every repeat stay NaN
            return {k: np.nanmean(np.stack([b[k] for b in boots]), axis=0) for k in boots[0]}


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _git_commit() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def environment() -> dict:
    """Python, platform, package versions and the git commit of this checkout."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions, "git": _git_commit()}


@dataclass
class CVResults:
    """Out-of-fold predictions of every model on the same patient-level splits, and their scores.

    Attributes
    ----------
    suite : Suite
    dataset : Dataset
        The clips that were evaluated (after dropping unlabelled ones).
    predictions : DataFrame
        One row per model, repeat and test clip: ``model``, ``repeat``,
        ``fold``, ``row`` (index into ``dataset``), ``patient_id``,
        ``video_id``, ``clip_start``, ``y_true``, ``y_pred`` and, for
        classification, ``proba_<class>``.
    folds : DataFrame
        Patients and clips on each side of every split.
    selection : list of dict
        Hyperparameters chosen in each fold, candidates tried, fit time.
    config : dict
        Everything that defines the run.
    importance : dict, optional
        The feature-importance study.
    deep : list of dict
        One row per neural-network fit and fold: epochs run, best epoch and
        its validation scores, whether the fold's ST-GCN was reused, the
        selected clinical features and the Grad-CAM joint and region scores.
    """

    suite: object
    dataset: object
    predictions: pd.DataFrame
    folds: pd.DataFrame
    selection: list
    config: dict
    target_info: dict
    notes: list
    timings: dict
    started: float = field(default_factory=time.perf_counter)
    importance: dict | None = None
    deep: list = field(default_factory=list)
    _scores: dict | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ scoring
    @property
    def models(self) -> list[str]:
        return list(self.config["models"])

    @property
    def labels(self) -> np.ndarray | None:
        return np.asarray(self.suite.labels) if self.suite.task == "classification" else None

    @property
    def proba_columns(self) -> list[str]:
        return [f"proba_{c}" for c in self.suite.labels] if self.suite.task == "classification" else []

    def units(self, model: str, level: str, repeat: int = 0) -> pd.DataFrame:
        """Predictions of ``model`` aggregated to ``level`` (clip, video or patient) for one repeat."""
        p = self.predictions
        p = p[(p["model"] == model) & (p["repeat"] == repeat)]
        return aggregate_predictions(p, level, proba_columns=self.proba_columns, labels=self.labels)

    def scores(self) -> dict:
        """``{model: {level: {"metrics", "ci95", "repeat_sd"}}}`` and the comparisons, computed once."""
        if self._scores is None:
            self._scores = self._compute_scores()
        return self._scores

    def _compute_scores(self) -> dict:
        if not self.models:
            return {"models": {}, "comparisons": {"reference": None, "models": {}}}
        task = self.suite.task
        labels = self.labels
        repeats = sorted(self.predictions["repeat"].unique())
        tested = np.unique(self.predictions["patient_id"].to_numpy())
        code = {p: i for i, p in enumerate(tested)}
        counts = patient_resamples(len(tested), int(self.config["n_bootstrap"]), int(self.config["random_state"]))
        headline = HEADLINE_CLASSIFICATION if task == "classification" else HEADLINE_REGRESSION
        models: dict = {}
        boots: dict = {}
        for name in self.models:
            models[name], boots[name] = {}, {}
            for level in LEVELS:
                points, reps = [], []
                for r in repeats:
                    u = self.units(name, level, r)
                    pat = np.array([code[p] for p in u["patient_id"]])
                    if task == "classification":
                        proba = u[self.proba_columns].to_numpy(float)
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
                models[name][level] = entry
                boots[name][level] = boot
        comparisons = self._compare(models, boots, repeats)
        return {"models": models, "comparisons": comparisons}

    def _reference(self, name: str) -> str | None:
        cfg = self.config["models"].get(name, {})
        if "reference" in cfg:                       # per-model references (schema >= 1.2)
            return cfg["reference"]
        ref = self.config.get("reference")
        return ref if ref != name else None

    def _compare(self, models: dict, boots: dict, repeats: list) -> dict:
        task = self.suite.task
        out = {}
        for name in self.models:
            ref = self._reference(name)
            if ref is None or ref not in models or ref == name:
                continue
            entry = {"reference": ref}
            for level in LEVELS:
                entry[level] = {
                    m: paired_difference(boots[name][level][m], boots[ref][level][m],
                                         models[name][level]["metrics"][m], models[ref][level]["metrics"][m])
                    for m in COMPARED[task]
                }
            a = self.units(name, "patient", repeats[0])
            b = self.units(ref, "patient", repeats[0])
            keys = ["patient_id", "y_true"]
            both = a.merge(b, on=keys, suffixes=("_a", "_b"), validate="one_to_one")
            if task == "classification":
                entry["mcnemar_patient"] = mcnemar_test(both["y_pred_a"] == both["y_true"], both["y_pred_b"] == both["y_true"])
            else:
                entry["wilcoxon_patient"] = wilcoxon_abs_error(both["y_pred_a"] - both["y_true"], both["y_pred_b"] - both["y_true"])
            out[name] = entry
        if not out:
            return {"reference": None, "models": {}}
        return {"reference": self.config.get("reference"), "repeat_used_for_tests": int(repeats[0]), "models": out}

    # ------------------------------------------------------------------ summaries
    def summary_table(self, level: str = "clip") -> pd.DataFrame:
        """One row per model: the headline metrics at ``level`` with 95 % CIs."""
        scores = self.scores()["models"]
        cols = (("accuracy", "f1_weighted", "kappa_linear", "balanced_accuracy", "auc_macro")
                if self.suite.task == "classification" else ("rmse", "mae", "pearson_r", "r2", "bias"))
        rows = []
        for name in self.models:
            s = scores[name][level]
            row = {"model": name}
            for c in cols:
                lo, hi = s["ci95"].get(c, [float("nan"), float("nan")])
                row[c] = s["metrics"][c]
                row[f"{c}_ci"] = (lo, hi)
            rows.append(row)
        return pd.DataFrame(rows).set_index("model")

    def format_summary(self) -> str:
        """The table printed at the end of a run: clip- and patient-level headline metrics with CIs."""
        def fmt(v, ci):
            if v is None or not np.isfinite(v):
                return "n/a"
            lo, hi = ci
            return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else f"{v:.3f}"

        lines = []
        for level in ("clip", "patient") if self.models else ():
            table = self.summary_table(level)
            metrics = [c for c in table.columns if not c.endswith("_ci")]
            header = f"{'model':<20}" + "".join(f"{m:>26}" for m in metrics)
            lines += [f"{level}-level ({self.config['protocol_description']}):", header]
            for name, row in table.iterrows():
                lines.append(f"{name:<20}" + "".join(f"{fmt(row[m], row[m + '_ci']):>26}" for m in metrics))
            lines.append("")
        if self.importance:
            lines += _importance_summary(self.importance)
        if self.dataset.simulated:
            lines.append("Data: SIMULATED cohort - these numbers test the software; they are not clinical accuracy.")
        if self.dataset.video_as_patient:
            lines.append("WARNING: each video was treated as its own patient; repeat visits of a child may leak.")
        return "\n".join(lines)

    # ------------------------------------------------------------------ output
    def data_summary(self) -> dict:
        """Counts, drops and feature measurability for the report."""
        ds = self.dataset
        target = self.suite.target
        summary = {
            "source": ds.source, "description": ds.description, "simulated": ds.simulated,
            "video_as_patient": ds.video_as_patient, "layout": ds.layout,
            "clip_frames": int(ds.clips.shape[1]), "counts": ds.counts(target if self.suite.task == "classification" else None),
            "target": {"column": target, **self.target_info},
            "report": ds.report,
        }
        if self.suite.task == "regression":
            y = pd.to_numeric(ds.meta[target], errors="coerce")
            summary["target"].update({"mean": float(y.mean()), "sd": float(y.std()), "min": float(y.min()), "max": float(y.max())})
        if ds._features is not None:
            from gaitfeat.features import FEATURES

            f = ds.features
            nan_counts = f[list(FEATURES)].isna().sum()
            reasons = (f["nan_reason"].fillna("").str.split(";").explode().str.strip())
            reasons = reasons[reasons != ""].str.split(":").str[-1].str.strip().value_counts()
            summary["features"] = {
                "n_features": len(FEATURES),
                "clips_all_features_measured": int((nan_counts.size > 0) and (~f[list(FEATURES)].isna().any(axis=1)).sum()),
                "missing_by_feature": {k: int(v) for k, v in nan_counts.items() if v},
                "missing_reasons": {str(k): int(v) for k, v in reasons.items()},
            }
        return summary

    def to_dict(self) -> dict:
        """The ``metrics.json`` content (schema in docs/evaluation.md)."""
        scores = self.scores()
        models = {}
        sel = pd.DataFrame(self.selection) if self.selection else pd.DataFrame(columns=["model"])
        for name, cfg in self.config["models"].items():
            chosen = sel[sel["model"] == name]
            models[name] = {
                **cfg,
                "levels": scores["models"][name],
                "selection": [{"repeat": int(r.repeat), "fold": int(r.fold), "params": r.params, "rounds": r.rounds}
                              for r in chosen.itertuples()],
                "fit_seconds": float(chosen["fit_seconds"].sum()) if len(chosen) else 0.0,
            }
        return _json_safe({
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "suite": self.suite.name,
            "title": self.suite.title,
            "task": self.suite.task,
            "labels": None if self.labels is None else [int(c) for c in self.labels],
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": self.data_summary(),
            "configuration": {k: v for k, v in self.config.items() if k != "models"},
            "folds": self.folds.to_dict(orient="records"),
            "models": models,
            "comparisons": scores["comparisons"],
            "notes": self.notes,
            "importance": None if self.importance is None else {k: v for k, v in self.importance.items() if not k.startswith("_")},
            "deep": self.deep,
            "environment": environment(),
            "seed": self.config["random_state"],
            "timings": self.timings,
            "runtime_s": time.perf_counter() - self.started,
        })

    def write(self, out: str | Path = "reports", *, html: bool = True) -> Path:
        """Write ``<out>/<suite>/metrics.json``, ``predictions.csv`` and ``index.html``; return the folder."""
        folder = Path(out) / self.suite.name
        folder.mkdir(parents=True, exist_ok=True)
        record = self.to_dict()
        (folder / "metrics.json").write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        self.predictions.to_csv(folder / "predictions.csv", index=False, float_format="%.6g")
        if html:
            from evaluation.report import render_html, render_importance_html

            if self.models:
                (folder / "index.html").write_text(render_html(self, record), encoding="utf-8")
            if self.importance:
                page = render_importance_html(self, record)
                (folder / ("features.html" if self.models else "index.html")).write_text(page, encoding="utf-8")
        return folder


def _importance_summary(study: dict) -> list[str]:
    """Lines for the console: top features by each method and the forward-selection curve."""
    lines = [f"Feature importance ({study['folds']} folds; normalised, mean over folds):"]
    imp = pd.DataFrame(study["importance"])
    for method in imp.columns:
        top = imp[method].sort_values(ascending=False).index[:5]
        lines.append(f"  {method:<20} " + ", ".join(top))
    fwd = study["sfs"]["forward"]
    curve = fwd["heldout_mean"]
    best = int(np.argmax(curve)) if "accuracy" in fwd["score"] else int(np.argmin(curve))
    shown = ", ".join(f"{k + 1}: {curve[k]:.3f}" for k in sorted({0, 1, 2, 4, 9, 13, best, len(curve) - 1}) if k < len(curve))
    lines.append(f"  forward selection, held-out {fwd['score'].split(' ')[0]} by number of features: {shown}")
    lines.append("")
    return lines
