"""Difficulty calibration of the simulated cohort, and its generation speed.

Usage: python benchmarks/simulator_difficulty.py [--patients 300] [--seed SEED]

A classifier is given the *true* gait parameters of every clip (no keypoints,
no detector noise) and evaluated under patient-level 5-fold cross-validation.
Levels overlap as in real cerebral-palsy cohorts, so this oracle must stay
clearly below 100 % and well above chance; a single parameter (walking speed)
must not solve the task. Prints clip-level accuracy and balanced accuracy.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import gaitfeat

TRUE_PARAMETERS = [
    "cadence", "step_length", "stride_length", "speed", "hip_rom_left", "hip_rom_right",
    "knee_rom_left", "knee_rom_right", "trunk_inclination",
]


def evaluate(model, X, y, groups, seed):
    pred = np.empty_like(y)
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in cv.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
        pred[test] = model.fit(X[train], y[train]).predict(X[test])
    return accuracy_score(y, pred), balanced_accuracy_score(y, pred)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cohort = gaitfeat.simulate_cohort(args.patients, random_state=args.seed)
    elapsed = time.perf_counter() - t0
    print(f"simulate_cohort({args.patients}): {elapsed:.1f} s, {len(cohort.videos)} videos, {len(cohort.meta)} clips, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("clips per level:", cohort.meta["gmfcs"].value_counts().sort_index().to_dict())
    truth = cohort.truth.copy()
    truth["knee_flex_max_extension_left"] = cohort.meta["knee_flex_max_extension_left"].to_numpy()
    truth["knee_flex_max_extension_right"] = cohort.meta["knee_flex_max_extension_right"].to_numpy()
    ok = truth[TRUE_PARAMETERS].notna().all(axis=1).to_numpy()
    y = cohort.meta["gmfcs"].to_numpy(dtype=int)[ok]
    groups = cohort.meta["patient_id"].to_numpy()[ok]
    majority = np.bincount(y).max() / y.size
    print(f"clips with every true parameter: {ok.sum()}; chance (majority class): {majority:.3f}")
    print(f"{'classifier':<48} {'accuracy':>9} {'bal. acc.':>9}")
    sets = {
        "all true gait parameters": TRUE_PARAMETERS + ["knee_flex_max_extension_left", "knee_flex_max_extension_right"],
        "speed alone": ["speed"],
        "cadence alone": ["cadence"],
        "knee ROM (L, R) alone": ["knee_rom_left", "knee_rom_right"],
    }
    for name, cols in sets.items():
        X = truth.loc[ok, cols].to_numpy()
        for label, model in (
            ("logistic regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
            ("gradient boosting", HistGradientBoostingClassifier(max_iter=150, random_state=args.seed)),
        ):
            acc, bal = evaluate(model, X, y, groups, args.seed)
            print(f"{label + ', ' + name:<48} {acc:9.3f} {bal:9.3f}")


if __name__ == "__main__":
    main()
