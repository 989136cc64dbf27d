"""How hard the simulated GMFCS task is: an oracle that sees every generative parameter, and the default suite.

Usage: python benchmarks/simulator_difficulty.py [--patients 200] [--seed 0] [--report reports/gmfcs]

The oracle is a classifier given, for every clip, *everything the simulator drew* for that child and
visit that shapes the walk — all ``param_*`` columns (per-side joint-angle parameters, cadence,
stride variability, trunk, head and arm posture, stature, phase offset, walking aid, the latent gait
severity), age, the hemiplegic side and the gait pattern — plus the per-video truth derived from
them (GDI, speed, cadence, step length, knee flexion at initial contact and at maximum extension,
step width).
No keypoints, no detector noise. The 2-D side video is a function of these parameters and of noise that
does not depend on the level, so no model that works from it can beat this oracle except by chance or by
the oracle's own fitting error (in 3-D, the step-to-step step-width noise has a per-level SD that the
oracle does not see). It is evaluated like the harness's models: clip level,
patient-level ``StratifiedGroupKFold(5)``. The child's latent *motor* severity (what the GMFCS level
is a noisy reading of) is not a gait parameter; a separate row shows what knowing it would give.
The oracle's logistic regression chooses its regularisation by inner patient-grouped CV; the
better of it and gradient boosting is the oracle's accuracy.

Also prints each parameter's accuracy on its own (logistic regression) and, when the default report
of the same cohort exists (``python -m evaluation.run --suite gmfcs``), its models' clip accuracy
side by side. Plus the cohort's generation time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import gaitfeat
from gaitfeat.simulate.cp import PATTERNS

DERIVED = ["gdi", "gdi_left", "gdi_right", "speed", "cadence", "step_length", "step_length_m",
           "knee_flex_ic_left", "knee_flex_ic_right", "knee_flex_max_extension_left", "knee_flex_max_extension_right",
           "step_width_m"]  # the step width is drawn per child from its level (visible to 3-D, not to a side camera)


def oracle_table(cohort) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Per-clip table of every generative parameter; (table, gait-parameter columns, latent columns)."""
    v = cohort.videos.copy()
    for p in PATTERNS:
        v[f"pattern_{p}"] = (v["gait_pattern"] == p).astype(float)
    v["hemiplegic_left"] = (v["hemiplegic_side"] == "left").astype(float)
    v["hemiplegic_right"] = (v["hemiplegic_side"] == "right").astype(float)
    v["param_assistive_device"] = v["param_assistive_device"].astype(float)
    latent = ["param_motor_severity"]
    gait = [c for c in v.columns if c.startswith("param_") and c not in latent]
    gait += ["age", "hemiplegic_left", "hemiplegic_right"] + [f"pattern_{p}" for p in PATTERNS] + DERIVED
    table = cohort.meta[["patient_id", "video_id", "gmfcs"]].merge(v[["video_id"] + gait + latent], on="video_id",
                                                                   how="left", suffixes=("_clip", ""))
    return table, gait, latent


def evaluate(model, X, y, groups, seed):
    pred = np.empty_like(y)
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in cv.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
        if isinstance(model, GridSearchCV):  # inner folds by patient too
            model.fit(X[train], y[train], groups=groups[train])
        else:
            model.fit(X[train], y[train])
        pred[test] = model.predict(X[test])
    return accuracy_score(y, pred), balanced_accuracy_score(y, pred), float(np.mean(np.abs(pred - y) <= 1))


def logreg():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))


def tuned_logreg():
    """Logistic regression whose regularisation is chosen inside each training fold (patient-grouped inner CV):
    with ~50 parameters and a few hundred children an unregularised fit loses accuracy to its own noise."""
    grid = {"logisticregression__C": [0.003, 0.01, 0.03, 0.1, 1.0]}
    return GridSearchCV(logreg(), grid, cv=GroupKFold(n_splits=4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200, help="children (default: the main job's 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report", default="reports/gmfcs", help="the default report of the same cohort, if any")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cohort = gaitfeat.simulate_cohort(args.patients, random_state=args.seed)
    elapsed = time.perf_counter() - t0
    print(f"simulate_cohort({args.patients}, random_state={args.seed}): {elapsed:.1f} s, {len(cohort.videos)} videos, "
          f"{len(cohort.meta)} clips, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    table, gait, latent = oracle_table(cohort)
    y = table["gmfcs"].to_numpy(dtype=int)
    groups = table["patient_id"].to_numpy()
    print("clips per level:", {int(k): int(n) for k, n in zip(*np.unique(y, return_counts=True))},
          f"chance (majority class): {np.bincount(y).max() / y.size:.3f}")
    print(f"\n{'classifier (clip level, patient-level 5-fold CV)':<64} {'accuracy':>8} {'bal.acc':>8} {'within-1':>8}")
    rows = {}
    for name, cols in (("oracle: every generative gait parameter", gait),
                       ("  + latent motor severity (not a gait parameter)", gait + latent)):
        X = table[cols].to_numpy(dtype=float)
        for label, model in (("logistic regression", tuned_logreg()),
                             ("gradient boosting", HistGradientBoostingClassifier(max_iter=200, random_state=args.seed))):
            rows[f"{name}, {label}"] = evaluate(model, X, y, groups, args.seed)
    for k, (acc, bal, w1) in rows.items():
        print(f"{k:<64} {acc:8.3f} {bal:8.3f} {w1:8.3f}")
    best = max(v[0] for k, v in rows.items() if k.startswith("oracle"))
    print(f"oracle clip accuracy (better of the two): {best:.3f}")

    print("\nsingle parameters (logistic regression):")
    singles = []
    for col in gait + latent:
        X = table[[col]].to_numpy(dtype=float)
        if np.nanstd(X) == 0:
            continue
        singles.append((col, *evaluate(logreg(), X, y, groups, args.seed)))
    for col, acc, bal, w1 in sorted(singles, key=lambda r: -r[1])[:15]:
        print(f"  {col:<40} {acc:8.3f} {bal:8.3f} {w1:8.3f}")

    metrics = Path(args.report) / "metrics.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())
        data = m.get("data", {})
        counts = {str(k): int(n) for k, n in zip(*np.unique(y, return_counts=True))}
        per_class = {k: v.get("clips") for k, v in data.get("counts", {}).get("per_class", {}).items()}
        # The same simulator, children and windows: the description and every level's clip count agree.
        same = (data.get("source") == "synthetic" and per_class == counts
                and f"{args.patients} children, seed {args.seed}," in data.get("description", ""))
        print(f"\nmodels of {metrics} ({'the same cohort' if same else 'A DIFFERENT COHORT: not comparable'}):")
        for name, model in m.get("models", {}).items():
            clip = model.get("levels", {}).get("clip", {}).get("metrics", {})
            if "accuracy" in clip:
                flag = "  EXCEEDS THE ORACLE BY > 3 POINTS" if same and clip["accuracy"] > best + 0.03 else ""
                print(f"  {name:<30} accuracy {clip['accuracy']:.3f}  balanced {clip['balanced_accuracy']:.3f}{flag}")


if __name__ == "__main__":
    main()
