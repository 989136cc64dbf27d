"""Throughput of single-visit assessment: verifying and loading a bundle, assessing walks, writing the report.

Usage: python benchmarks/bench_assessment.py [--model model/] [--walks 10] [--pdf]

Without ``--model`` a quick bundle (40 simulated children; logistic regression, XGBoost and a quick ST-GCN
for GMFCS, ridge and XGBoost for GDI; 3-fold ensemble) is trained into a temporary folder first and its
training time printed. The walks are simulated children of another seed (raw BODY_25 detector output),
assessed one call each, as a clinic would. Prints seconds per stage and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from evaluation.assessment import assess
from evaluation.bundle import load_bundle, train_bundle
from gaitfeat.simulate import simulate_cohort


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: train a quick one)")
    ap.add_argument("--walks", type=int, default=10)
    ap.add_argument("--pdf", action="store_true", help="also time report.pdf (headless Chromium)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            t0 = time.perf_counter()
            model = train_bundle(Path(tmp) / "model", suites=["gmfcs", "gdi"], data_options={"n_patients": 40},
                                 n_splits=3, deep_profile="quick", n_bootstrap=200,
                                 models={"gmfcs": ["logreg_all", "xgb_all", "stgcn"], "gdi": ["ridge_all", "xgb_all"]})
            print(f"train quick bundle:     {time.perf_counter() - t0:7.1f} s")
        size = sum(p.stat().st_size for p in Path(model).rglob("*") if p.is_file()) / 1e6
        t0 = time.perf_counter()
        bundle = load_bundle(model)
        load_s = time.perf_counter() - t0
        print(f"verify + load bundle:   {load_s:7.2f} s  ({len(bundle.models)} models, {size:.1f} MB)")
        walks = simulate_cohort(max(4, args.walks), random_state=2027, n_jobs=1).sequences[:args.walks]
        frames = sum(w.n_frames for w in walks)
        t0 = time.perf_counter()
        results = [assess(bundle, w, height_m=1.3) for w in walks]
        assess_s = time.perf_counter() - t0
        print(f"assess {len(walks)} walks:       {assess_s:7.2f} s  ({assess_s / len(walks):.2f} s per walk, "
              f"{frames / assess_s:.0f} frames/s)")
        t0 = time.perf_counter()
        for i, r in enumerate(results):
            r.write(Path(tmp) / f"visit{i}")
        write_s = time.perf_counter() - t0
        html = sum((Path(tmp) / f"visit{i}" / "report.html").stat().st_size for i in range(len(results)))
        print(f"write reports:          {write_s:7.2f} s  ({write_s / len(results):.3f} s per report, "
              f"{html / len(results) / 1e3:.0f} kB per page)")
        if args.pdf:
            t0 = time.perf_counter()
            results[0].write(Path(tmp) / "pdf", pdf=True)
            print(f"write one report + PDF: {time.perf_counter() - t0:7.2f} s")
        print(f"peak RSS:               {_peak_mb():7.0f} MB")


if __name__ == "__main__":
    main()
