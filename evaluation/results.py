"""The results of a cross-validation run: out-of-fold predictions and what was fitted.

:class:`CVResults` is what :func:`evaluation.cross_validate` returns. It
holds the live run (predictions, folds, the data set, the importance study)
and hands the work on: :mod:`evaluation.scoring` computes metrics and
comparisons from the predictions, :mod:`evaluation.record` turns the run
into ``metrics.json`` / ``figures.npz`` / ``predictions.csv``, and the
report pages are rendered from those files alone (:mod:`evaluation.report`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.provenance import data_summary
from evaluation.record import SCHEMA, SCHEMA_VERSION, build_record, write_record
from evaluation.scoring import prediction_units, proba_columns, score_predictions, summary_table

__all__ = ["CVResults", "SCHEMA", "SCHEMA_VERSION"]


@dataclass
class CVResults:
    """Out-of-fold predictions of every model on the same patient-level splits, and their scores.

    Attributes
    ----------
    suite : evaluation.suites.Suite
    dataset : evaluation.data.Dataset
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
    target_info : dict
        Clips and videos left out for want of a label.
    notes : list of str
        Remarks for the report (e.g. a level missing from a training fold).
    timings : dict
        Seconds spent loading, extracting features, fitting, in the study.
    importance : dict, optional
        The feature-importance study (JSON-ready; :func:`evaluation.feature_study.feature_study`).
    importance_shap : dict, optional
        The study's sampled SHAP values and feature values per fold (``"values"``, ``"X"``), for the
        beeswarm figures (written to ``figures.npz``).
    deep : list of dict
        One row per neural-network fit and fold: epochs run, best epoch and
        its validation scores, whether the fold's ST-GCN was reused, the
        selected clinical features and the Grad-CAM joint and region scores.
    rationales : dict, optional
        Tokens and rationales of every subject (taxonomy suite,
        :func:`evaluation.rationale_run.build_rationales`); written to ``rationales.json``.
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
    importance_shap: dict | None = field(default=None, repr=False)
    deep: list = field(default_factory=list)
    rationales: dict | None = field(default=None, repr=False)
    #: ``{(repeat, fold): FoldState}`` with each split's fitted models (``cross_validate(keep_models=True)``).
    fold_models: dict | None = field(default=None, repr=False)
    _scores: dict | None = field(default=None, repr=False)

    @property
    def models(self) -> list[str]:
        return list(self.config["models"])

    @property
    def name(self) -> str:
        """Name of the run's report folder (and ``suite`` of its record): the suite's, or for the feature-importance
        study alone ``features`` (GMFCS) / ``<suite>_features``, so a study-only run never overwrites a model report."""
        if self.config.get("study") != "only":
            return self.suite.name
        return "features" if self.suite.name == "gmfcs" else f"{self.suite.name}_features"

    @property
    def title(self) -> str:
        """Heading of the report pages."""
        if self.config.get("study") == "only":
            return f"Feature-importance comparison ({self.suite.unit})"
        return self.suite.title

    @property
    def labels(self) -> np.ndarray | None:
        return np.asarray(self.suite.labels) if self.suite.task == "classification" else None

    @property
    def proba_columns(self) -> list[str]:
        return proba_columns(self.labels)

    def units(self, model: str, level: str, repeat: int = 0) -> pd.DataFrame:
        """Predictions of ``model`` aggregated to ``level`` (clip, video or patient) for one repeat."""
        return prediction_units(self.predictions, model, level, repeat, labels=self.labels,
                                pooling=self.config.get("pooling", "mean"))

    def references(self) -> dict:
        """``{model: the model it is compared with, or None}``."""
        out = {}
        for name in self.models:
            cfg = self.config["models"].get(name, {})
            ref = cfg["reference"] if "reference" in cfg else self.config.get("reference")
            out[name] = ref if ref != name else None
        return out

    def scores(self) -> dict:
        """``{"models": {model: {level: {"metrics", "ci95"}}}, "comparisons": ...}``, computed once."""
        if self._scores is None:
            self._scores = score_predictions(
                self.predictions, task=self.suite.task, labels=self.labels, models=self.models,
                references=self.references(), reference=self.config.get("reference"),
                n_bootstrap=int(self.config["n_bootstrap"]), random_state=int(self.config["random_state"]),
                pooling=self.config.get("pooling", "mean"))
        return self._scores

    def summary_table(self, level: str = "clip") -> pd.DataFrame:
        """One row per model: the headline metrics at ``level`` with 95 % CIs."""
        return summary_table(self.scores(), self.models, self.suite.task, level)

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
            metrics = [c for c in table.columns if not c.endswith("_ci")
                       and (self.suite.ordinal or c not in ("kappa_linear", "kappa_quadratic", "within_one"))]
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

    def data_summary(self) -> dict:
        """Counts, drops and feature measurability for the record."""
        return data_summary(self.dataset, self.suite, self.target_info)

    def to_dict(self) -> dict:
        """The ``metrics.json`` content (schema in docs/evaluation.md)."""
        return build_record(self)

    def write(self, out: str | Path = "reports", *, html: bool = True, name: str | None = None) -> Path:
        """Write ``<out>/<name>/`` (default: :attr:`name`) — metrics.json, figures.npz, predictions.csv and,
        rendered from those files, index.html (and features.html) — and return the folder."""
        return write_record(self, Path(out) / (name or self.name), html=html)


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
