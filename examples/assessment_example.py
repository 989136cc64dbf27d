"""Worked example of docs/assessment.md: assess one simulated child of each GMFCS level (and a real OpenPose
folder when one is given) with a trained bundle, print the predictions and write one report per child.

    python -m evaluation.train --suite gmfcs --suite gdi --out model/          # about 7 minutes on 2 cores
    python examples/assessment_example.py model/ --out visits/ [--openpose DIR --fps 29.97]

The children come from a cohort seed the bundle never saw (2027); the bundle's default training cohort is
random_state=0. Everything here is simulated except the optional OpenPose folder: the numbers test the software.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evaluation.assessment import assess
from evaluation.bundle import load_bundle
from gaitfeat.simulate import simulate_cohort


def _line(visit: dict) -> str:
    if visit["status"] != "ok":
        return f"not assessed: {visit['message']}"
    parts = []
    for suite, pred in visit["predictions"].items():
        row = pred["models"][pred["primary"]]
        if "proba" in row:
            ens = row["ensemble"]
            k = row["proba"].index(max(row["proba"]))
            agree = f", {ens['votes'][k]} of {ens['k']} fold models agree" if ens else ""
            parts.append(f"{row['predicted_name']} (p = {max(row['proba']):.2f}{agree})")
        else:
            lo, hi = row["interval"] or (float("nan"), float("nan"))
            parts.append(f"GDI {row['value']:.1f} [{lo:.1f}, {hi:.1f}]")
    fv = visit["feature_values"]
    parts.append(f"cadence {fv['cadence']:.0f} steps/min, speed {fv.get('walking_speed_m', float('nan')):.2f} m/s")
    return "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="bundle folder (python -m evaluation.train --out ...)")
    ap.add_argument("--out", default="visits", help="one report folder per child is written here")
    ap.add_argument("--openpose", help="a real OpenPose JSON folder to assess as well")
    ap.add_argument("--fps", type=float, default=29.97, help="its frame rate")
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    cohort = simulate_cohort(60, random_state=2027, n_jobs=1)
    videos = cohort.videos[cohort.videos["visit"] == 1].drop_duplicates("gmfcs").sort_values("gmfcs")
    by_id = {s.video_id: s for s in cohort.sequences}
    print(f"bundle: {bundle.root} ({'SIMULATED training data' if bundle.simulated else 'clinical training data'}); "
          f"primary models {bundle.primary}")
    for row in videos.itertuples():
        result = assess(bundle, by_id[row.video_id], height_m=float(row.height), age=float(row.age),
                        patient_id=row.patient_id)
        result.write(Path(args.out) / f"gmfcs{row.gmfcs}")
        truth = f"true GMFCS {row.gmfcs}, GDI {row.gdi:.1f}, speed {row.speed:.2f} m/s"
        print(f"{row.video_id} ({truth}): {_line(result.record['visits'][0])}")
    if args.openpose:
        result = assess(bundle, f"openpose:{args.openpose}", fps=args.fps, patient_id="real walk")
        result.write(Path(args.out) / "openpose")
        print(f"{args.openpose}: {_line(result.record['visits'][0])}")


if __name__ == "__main__":
    main()
