"""Regenerate models/typical_curves.csv: the typical band of each gait-cycle joint-angle curve.

The reference group is the same as ``benchmarks/typical_ranges.py``'s: the gait simulator's typically
developing children (level 0; normative sagittal curves calibrated to Schwartz, Rozumalski & Trost (2008) and
Winter (2009), docs/simulator.md), filmed with the default detector noise (BODY_25, so the ankle is included),
preprocessed and measured by :func:`gaitfeat.features.angle_curves.angle_curves`. Each video contributes the
mean of its clips' curves per side; both sides pool into one band per angle; the band is the 5th-95th
percentile over those curves at every 1 % of the cycle. The assessment report draws it behind a patient's
curves (simulated reference: labelled as such).

    python benchmarks/typical_curves.py [--children 150] [--out models/typical_curves.csv]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import gaitfeat
from gaitfeat.features.angle_curves import angle_curves


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=150)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models" / "typical_curves.csv"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).spawn(args.children)
    seqs = [gaitfeat.simulate_walk(0, noise="default", random_state=np.random.default_rng(s), patient_id=f"td{i:03d}",
                                   video_id=f"td{i:03d}_v1").sequence for i, s in enumerate(seeds)]
    processed, skipped = gaitfeat.preprocess_many(seqs, on_error="skip", layout="body25")
    clips, meta, report = gaitfeat.make_clips(processed, on_short="skip")
    curves = angle_curves(clips, meta["fps"].to_numpy(float), "body25")
    videos = meta["video_id"].to_numpy()
    per_angle: dict[str, list[np.ndarray]] = {}
    for video in np.unique(videos):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)    # a channel without strides in every clip
            mean = np.nanmean(curves.curves[videos == video].astype(float), axis=0)
        for j, channel in enumerate(curves.channels):
            if np.isfinite(mean[j]).all():
                per_angle.setdefault(channel.split("_", 1)[-1], []).append(mean[j])
    rows = []
    for angle, stack in per_angle.items():
        arr = np.vstack(stack)
        lo, med, hi = np.percentile(arr, [5, 50, 95], axis=0)
        for p in range(arr.shape[1]):
            rows.append({"angle": angle, "percent": p, "low": round(float(lo[p]), 2), "median": round(float(med[p]), 2),
                         "high": round(float(hi[p]), 2), "n_curves": len(stack),
                         "source": f"gaitfeat simulator, {args.children} typically developing children (seed "
                                   f"{args.seed}), BODY_25, 5th-95th percentile of per-video, per-side mean curves"})
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"{len(clips)} clips from {len(processed)} videos ({len(skipped)} not preprocessed); {report.summary()}")
    for angle, stack in per_angle.items():
        print(f"{angle:>9}: {len(stack)} curves")
    print(f"written: {args.out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
