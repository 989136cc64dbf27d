"""Throughput and memory of the evaluation harness, serial or on a local Dask cluster.

Times each stage of a ``gmfcs`` run (simulated cohort, feature extraction,
fitting every model on every fold, the feature-importance study, scoring
with the patient bootstrap, writing the record and its pages, re-rendering
the pages from the record), the patient bootstrap alone, and the share of
the run that stays serial when the fits are spread over workers (Amdahl).

    python benchmarks/bench_evaluation.py                       # the default profile, serial
    python benchmarks/bench_evaluation.py --profile quick
    python benchmarks/bench_evaluation.py --scheduler local:2 --threads 1

Peak memory is this process's peak RSS and, on a cluster, each worker's.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np

import evaluation
from evaluation.report import render_folder
from evaluation.stats import bootstrap_classification, patient_resamples
from gaitfeat.parallel import dask_client, parse_scheduler, single_caller_numba


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_mb() -> float:
    """Peak RSS so far (Linux ``VmHWM``), to attribute the peak to a stage."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return peak_mb()


def main() -> None:
    from evaluation.run import PROFILES

    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", choices=("quick", "default"), default="default")
    ap.add_argument("--patients", type=int, help="simulated patients (default from the profile)")
    ap.add_argument("--bootstrap", type=int, help="bootstrap resamples (default from the profile)")
    ap.add_argument("--suite", default="gmfcs", choices=("gmfcs", "gdi", "features"))
    ap.add_argument("--scheduler", default="serial", help="serial | local:N")
    ap.add_argument("--threads", type=int, default=2, help="threads per fit (default 2)")
    ap.add_argument("--models", help="comma-separated subset of the suite's models")
    args = ap.parse_args()
    profile = PROFILES[args.profile]
    n_patients = args.patients or profile["n_patients"]
    n_boot = args.bootstrap or profile["n_bootstrap"]

    single_caller_numba()          # as python -m evaluation.run does
    started = time.perf_counter()
    t = time.perf_counter()
    data = evaluation.load_data("synthetic", n_patients=n_patients, random_state=0)
    t_load = time.perf_counter() - t
    peaks = {"simulate cohort": hwm_mb()}
    t = time.perf_counter()
    _ = data.features
    t_feat = time.perf_counter() - t
    peaks["extract features"] = hwm_mb()
    study_only = args.suite == "features"     # as the command line: the GMFCS feature-importance study alone
    models = args.models.split(",") if args.models else None
    sched = parse_scheduler(args.scheduler)
    with dask_client(sched) as client:
        t_start = time.perf_counter() - t
        t = time.perf_counter()
        res = evaluation.cross_validate(models, data, "gmfcs" if study_only else args.suite, n_splits=profile["n_splits"],
                                        n_bootstrap=n_boot, random_state=0, importance="only" if study_only else "on",
                                        importance_options=profile["importance"], deep_profile=profile["deep"],
                                        scheduler=client if client is not None else "serial", threads=args.threads)
        t_cv = time.perf_counter() - t
        peaks["cross_validate (fits, study)"] = hwm_mb()
        workers_mb = list(client.run(peak_mb).values()) if client is not None else []
    t = time.perf_counter()
    res.scores()
    t_score = time.perf_counter() - t
    peaks["score"] = hwm_mb()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        folder = res.write(out)
        t_write = time.perf_counter() - t
        peaks["write"] = hwm_mb()
        t = time.perf_counter()
        render_folder(folder)          # the pages again, from metrics.json + figures.npz alone
        t_render = time.perf_counter() - t
    total = time.perf_counter() - started - t_render
    n = len(data)
    fits_wall, fit_sum, study_s = res.timings["fits_wall_s"], res.timings["fit_s"], res.timings["importance_s"]
    print(f"data: {n} clips, {data.meta['patient_id'].nunique()} patients; suite {args.suite}; profile {args.profile}; "
          f"{len(res.models)} models x {len(res.folds)} folds; scheduler {sched}, {args.threads} thread(s) per fit; "
          f"{os.cpu_count()} CPUs")
    print(f"simulate cohort      {t_load:7.1f} s")
    print(f"extract features     {t_feat:7.1f} s  ({n / t_feat:,.0f} clips/s incl. numba load)")
    if client is not None:
        print(f"start cluster        {t_start:7.1f} s")
    print(f"fits (wall)          {fits_wall:7.1f} s  (sum of fit times {fit_sum:.1f} s; "
          f"{len(res.models) * len(res.folds) / max(fits_wall, 1e-9):.2f} model-folds/s)")
    per_model: dict[str, float] = {}
    for row in res.selection:
        per_model[row["model"]] = per_model.get(row["model"], 0.0) + row["fit_seconds"]
    print("  fit seconds per model (all folds): " + ", ".join(f"{k} {v:.1f}" for k, v in per_model.items()))
    print(f"importance study     {study_s:7.1f} s  (SHAP, permutation, gain, forward + backward selection, evidence)")
    print(f"other cross_validate {t_cv - fits_wall - study_s:7.1f} s  (splits, predictions table)")
    print(f"score (B={n_boot})     {t_score:7.1f} s  (3 levels x {len(res.models)} models + comparisons)")
    print(f"write record + pages {t_write:7.1f} s")
    print(f"re-render pages      {t_render:7.1f} s  (python -m evaluation.report: from the written record alone)")
    serial_part = total - fits_wall
    print(f"total                {total:7.1f} s; serial part (all but the fits) {serial_part:.1f} s = "
          f"{serial_part / total:.0%} of the run")
    print("peak RSS after each stage: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in peaks.items()))
    print(f"peak RSS             {peak_mb():7,.0f} MB this process"
          + (f"; workers {', '.join(f'{w:,.0f}' for w in workers_mb)} MB" if workers_mb else ""))

    # the patient bootstrap alone: clip level, 4 classes, with AUC and log loss
    rng = np.random.default_rng(0)
    n_pat, n_units = 200, 10_000
    patient = rng.integers(0, n_pat, n_units)
    y = rng.integers(0, 4, n_units)
    proba = rng.dirichlet(np.ones(4), n_units)
    counts = patient_resamples(n_pat, n_boot, 0)
    t = time.perf_counter()
    bootstrap_classification(y, proba.argmax(1), patient, counts, 4, proba)
    dt = time.perf_counter() - t
    print(f"bootstrap alone: {n_boot} replicates of {n_units:,} clips / {n_pat} patients in {dt:.2f} s "
          f"({n_boot / dt:,.0f} replicates/s); peak RSS {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
