"""Throughput and memory of the evaluation harness.

Times each stage of a default-profile ``gmfcs`` run (simulated cohort, feature
extraction, fitting every model on every fold, scoring with the patient
bootstrap, writing the record and its pages, re-rendering the pages from the record) and the
patient bootstrap alone.

    python benchmarks/bench_evaluation.py [--patients 200] [--bootstrap 1000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np

import evaluation
from evaluation.report import render_folder
from evaluation.stats import bootstrap_classification, patient_resamples


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--suite", default="gmfcs", choices=("gmfcs", "gdi", "features"))
    args = ap.parse_args()

    t = time.perf_counter()
    data = evaluation.load_data("synthetic", n_patients=args.patients, random_state=0)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    _ = data.features
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    from evaluation.run import PROFILES

    study_only = args.suite == "features"     # as the command line: the GMFCS feature-importance study alone
    res = evaluation.cross_validate(None, data, "gmfcs" if study_only else args.suite, n_bootstrap=args.bootstrap,
                                    random_state=0, importance="only" if study_only else "on",
                                    importance_options=PROFILES["default"]["importance"])
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    res.scores()
    t_score = time.perf_counter() - t
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        folder = res.write(out)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        render_folder(folder)          # the pages again, from metrics.json + figures.npz alone
        t_render = time.perf_counter() - t
    n = len(data)
    print(f"data: {n} clips, {data.meta['patient_id'].nunique()} patients; suite {args.suite}; "
          f"{len(res.models)} models x {len(res.folds)} folds")
    print(f"simulate cohort      {t_load:7.1f} s")
    print(f"extract features     {t_feat:7.1f} s  ({n / t_feat:,.0f} clips/s incl. numba load)")
    fit_s, study_s = res.timings["fit_s"], res.timings["importance_s"]
    print(f"fit + predict        {fit_s:7.1f} s  ({len(res.models) * len(res.folds) / max(fit_s, 1e-9):.2f} model-folds/s)")
    print(f"importance study     {study_s:7.1f} s  (SHAP, permutation, gain, forward + backward selection, evidence)")
    print(f"score (B={args.bootstrap})     {t_score:7.1f} s  (3 levels x {len(res.models)} models + comparisons)")
    print(f"write record + pages {t_write:7.1f} s")
    print(f"re-render pages      {t_render:7.1f} s  (python -m evaluation.report: from the written record alone)")
    print(f"total                {t_load + t_feat + t_fit + t_score + t_write:7.1f} s; peak RSS {peak_mb():,.0f} MB "
          f"(cross_validate {t_fit:.1f} s incl. bookkeeping)")

    # the patient bootstrap alone: clip level, 4 classes, with AUC and log loss
    rng = np.random.default_rng(0)
    n_pat, n_units = 200, 10_000
    patient = rng.integers(0, n_pat, n_units)
    y = rng.integers(0, 4, n_units)
    proba = rng.dirichlet(np.ones(4), n_units)
    counts = patient_resamples(n_pat, args.bootstrap, 0)
    t = time.perf_counter()
    bootstrap_classification(y, proba.argmax(1), patient, counts, 4, proba)
    dt = time.perf_counter() - t
    print(f"bootstrap alone: {args.bootstrap} replicates of {n_units:,} clips / {n_pat} patients in {dt:.2f} s "
          f"({args.bootstrap / dt:,.0f} replicates/s); peak RSS {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
