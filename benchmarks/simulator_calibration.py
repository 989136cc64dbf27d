"""The simulated cohort's per-level gait against published cerebral-palsy cohorts, and the overlap of levels.

Usage: python benchmarks/simulator_calibration.py [--patients 200] [--seed 0]

Per GMFCS level, one value per child (the mean over its visits): GDI, walking speed, cadence, step
length and knee flexion at initial contact (worse side), mean +- SD, next to the published values
that the simulator's inputs were calibrated to (docs/simulator.md, "Cerebral palsy"). Then, for each
pair of adjacent levels, the share of the milder level's children whose value lies inside the
interquartile range of the more severe level (and the reverse), the Spearman correlation of GDI
with the level, and the gait patterns per level.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import gaitfeat

# (mean, sd) per level I-III; None where no per-level value was found in a source we could read.
PUBLISHED = {
    # Malt et al. (2016), J Child Orthop 10:261-266.
    "gdi": {1: (81, 11), 2: (71, 11), 3: (60, 9)},
    # Unilateral CP (90 % GMFCS I) 1.11 +- 0.15 m/s, Geneva/Lausanne cohort, Front Hum Neurosci 16:816088 (2022);
    # walkers with support below 0.45 m/s (Drouin et al. 1996, Dev Med Child Neurol 38:1007-1019).
    "speed": {1: (1.11, 0.15)},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cohort = gaitfeat.simulate_cohort(args.patients, random_state=args.seed)
    v = cohort.videos.copy()
    v["knee_flex_ic"] = v[["knee_flex_ic_left", "knee_flex_ic_right"]].max(axis=1)
    cols = ["gdi", "speed", "cadence", "step_length_m", "step_length", "knee_flex_ic"]
    child = v.groupby("patient_id").agg({**{c: "mean" for c in cols}, "gmfcs": "first", "gait_pattern": "first"})
    print(f"simulated cohort: {args.patients} children, seed {args.seed}, {len(v)} videos; one value per child\n")
    print(f"{'level':<6}{'n':>4}  " + "  ".join(f"{c:>16}" for c in cols))
    for level, g in child.groupby("gmfcs"):
        cells = [f"{g[c].mean():8.2f} ± {g[c].std():5.2f}" for c in cols]
        print(f"{level:<6}{len(g):>4}  " + "  ".join(f"{s:>16}" for s in cells))
    print("\npublished (mean ± SD) and the simulated mean's difference:")
    for col, levels in PUBLISHED.items():
        for level, (mean, sd) in levels.items():
            sim = child.loc[child["gmfcs"] == level, col].mean()
            print(f"  {col:<8} GMFCS {level}: published {mean} ± {sd}, simulated {sim:.2f} "
                  f"({sim - mean:+.2f}, {100 * (sim - mean) / mean:+.1f} %)")
    rho = spearmanr(child["gdi"], child["gmfcs"]).statistic
    print(f"\nSpearman correlation GDI–GMFCS: {rho:.2f} (published: −0.44, Massaad et al. 2014)")
    print("\noverlap of adjacent levels (share of one level's children inside the other level's IQR):")
    for col in ("gdi", "speed", "cadence", "step_length", "knee_flex_ic"):
        parts = []
        for a, b in ((1, 2), (2, 3), (3, 4)):
            xa = child.loc[child["gmfcs"] == a, col]
            xb = child.loc[child["gmfcs"] == b, col]
            if len(xa) < 3 or len(xb) < 3:
                continue
            qb, qa = xb.quantile([0.25, 0.75]), xa.quantile([0.25, 0.75])
            in_b = xa.between(qb.iloc[0], qb.iloc[1]).mean()
            in_a = xb.between(qa.iloc[0], qa.iloc[1]).mean()
            parts.append(f"{a}→IQR({b}) {in_b:.0%}, {b}→IQR({a}) {in_a:.0%}")
        print(f"  {col:<13} " + "; ".join(parts))
    print("\ngait patterns per level (children):")
    print(pd.crosstab(child["gait_pattern"], child["gmfcs"]).to_string())


if __name__ == "__main__":
    main()
