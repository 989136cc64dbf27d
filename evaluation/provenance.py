"""Where a result came from: the software environment and a description of the data.

Both go into ``metrics.json`` so a report says which data and which code
produced its numbers (and whether the data were simulated).
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

__all__ = ["environment", "git_commit", "data_summary"]

_PACKAGES = ("gaitfeat", "numpy", "scipy", "pandas", "scikit-learn", "xgboost", "numba", "statsmodels", "torch", "shap",
             "matplotlib", "captum", "kneed")


def git_commit() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of this checkout (None outside a git work tree)."""
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
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions, "git": git_commit()}


def data_summary(dataset, suite, target_info: dict) -> dict:
    """Counts, drops and feature measurability of the evaluated data, for the record.

    Parameters
    ----------
    dataset : evaluation.data.Dataset
        The clips that were evaluated.
    suite : evaluation.suites.Suite
    target_info : dict
        Counts of clips and videos without a label (from the harness).
    """
    target = suite.target
    summary = {
        "source": dataset.source, "description": dataset.description, "simulated": dataset.simulated,
        "video_as_patient": dataset.video_as_patient, "layout": dataset.layout,
        "clip_frames": int(dataset.clips.shape[1]),
        "counts": dataset.counts(target if suite.task == "classification" else None),
        "target": {"column": target, **target_info},
        "report": dataset.report,
    }
    if suite.task == "regression":
        y = pd.to_numeric(dataset.meta[target], errors="coerce")
        summary["target"].update({"mean": float(y.mean()), "sd": float(y.std()), "min": float(y.min()), "max": float(y.max())})
    if dataset.has_features:
        from gaitfeat.features import FEATURE_SETS, FEATURES

        # The features the suite's models use: the 32 core features, the extended set for the taxonomy.
        names = list(FEATURE_SETS["extended"] if suite.class_names else FEATURES)
        f = dataset.features
        nan_counts = f[names].isna().sum()
        reasons = (f["nan_reason"].fillna("").str.split(";").explode().str.strip())
        # Entries read "reason: feature, feature"; only the suite's features are counted.
        wanted = set(names)
        reasons = reasons[reasons != ""].str.split(":").str[-1].map(
            lambda fs: ", ".join(x for x in (n.strip() for n in fs.split(",")) if x in wanted))
        reasons = reasons[reasons != ""].value_counts()
        summary["features"] = {
            "n_features": len(names),
            "clips_all_features_measured": int((nan_counts.size > 0) and (~f[names].isna().any(axis=1)).sum()),
            "missing_by_feature": {k: int(v) for k, v in nan_counts.items() if v},
            "missing_reasons": {str(k): int(v) for k, v in reasons.items()},
        }
    return summary
