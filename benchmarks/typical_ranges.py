"""Regenerate models/typical_ranges.csv: typical values of every clinical gait feature.

The reference group is the gait simulator's typically developing (TD)
children (level 0): normative sagittal curves calibrated to Schwartz,
Rozumalski & Trost (2008) and Winter (2009), TD cadence, stride and arm swing
(docs/simulator.md), filmed with the default detector noise and measured by
the same preprocessing and feature engine as every other clip. Each video
contributes the median over its clips; the typical range is the 5th-95th
percentile over videos.

    python benchmarks/typical_ranges.py [--children 150] [--out models/typical_ranges.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import gaitfeat
from gaitfeat.features import FEATURE_INFO, FEATURES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=150)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models" / "typical_ranges.csv"))
    args = ap.parse_args()
    seeds = np.random.SeedSequence(args.seed).spawn(args.children)
    seqs = []
    for i, s in enumerate(seeds):
        walk = gaitfeat.simulate_walk(0, noise="default", random_state=np.random.default_rng(s),
                                      patient_id=f"td{i:03d}", video_id=f"td{i:03d}_v1")
        seqs.append(walk.sequence.to_layout("coco17"))
    processed, skipped = gaitfeat.preprocess_many(seqs, on_error="skip")
    clips, meta, report = gaitfeat.make_clips(processed, on_short="skip")
    table = gaitfeat.extract_features(clips, meta["fps"].to_numpy(float), "coco17")
    per_video = table[list(FEATURES)].groupby(meta["video_id"].to_numpy()).median()
    rows = []
    for name in FEATURES:
        v = per_video[name].dropna()
        lo, med, hi = np.percentile(v, [5, 50, 95]) if len(v) else (np.nan, np.nan, np.nan)
        rows.append({"feature": name, "unit": FEATURE_INFO[name].unit, "low": round(float(lo), 3),
                     "median": round(float(med), 3), "high": round(float(hi), 3), "n_videos": int(len(v)),
                     "source": f"gaitfeat simulator, {args.children} typically developing children (seed {args.seed}), "
                               "5th-95th percentile of per-video medians"})
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"{len(clips)} clips from {len(processed)} videos ({len(skipped)} not preprocessed); {report.summary()}")
    print(pd.DataFrame(rows)[["feature", "unit", "low", "median", "high", "n_videos"]].to_string(index=False))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
