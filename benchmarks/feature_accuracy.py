"""Accuracy of the feature engine against the simulator's ground truth.

Usage: python benchmarks/feature_accuracy.py [--patients 200] [--adults 60] [--seed 2024] [--method coordinate|velocity]

For each layout (COCO-17, BODY_25), detector noise ("none", "default") and
camera (panning, as in the default cohorts: distances from the planted foot;
static: from the pelvis path), simulates a cohort of children with cerebral
palsy, extracts the features of every clip, and prints the median absolute
error against the per-clip truth (relative for cadence, lengths and speed;
degrees for angles) and the heel-strike / toe-off timing error in frames.
Then the same for typically developing walkers aged 5-80 (``--adults``), one
row per walk (``walk_features``). The output is the tables in
docs/features.md and docs/validation.md.

Event timing: the simulator marks an event at the first frame after it
happens, so a detected sub-frame time is compared as the first frame at or
after it; detected events with no true event of that foot within 0.2 s (the
simulator labels none within 0.25 s of the turn) are counted as unmatched.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import gaitfeat
from gaitfeat.features import detect_events, extract_features, walk_features
from gaitfeat.simulate import draw_walker

ROWS = [
    # (label, feature, truth column, relative?)
    ("cadence", "cadence", "cadence", True),
    ("step length", "step_length", "step_length", True),
    ("stride length", "stride_length", "stride_length", True),
    ("walking speed", "walking_speed", "speed_ll", True),
    ("hip ROM", ("hip_rom_left", "hip_rom_right"), ("hip_rom_left", "hip_rom_right"), False),
    ("knee ROM", ("knee_rom_left", "knee_rom_right"), ("knee_rom_left", "knee_rom_right"), False),
    ("trunk inclination", "trunk_inclination", "trunk_inclination", False),
]


def event_errors(cohort: gaitfeat.Cohort, events: pd.DataFrame, kind: str) -> tuple[np.ndarray, int, int]:
    """Signed frame errors of matched events, number unmatched, number of true events inside clips."""
    meta = cohort.meta
    det = events[events["event"] == kind].copy()
    det["video_id"] = meta["video_id"].to_numpy()[det["clip"].to_numpy()]
    det["vframe"] = (np.ceil(det["frame"]) + meta["clip_start"].to_numpy()[det["clip"].to_numpy()]).astype(np.int64)
    det["fps"] = meta["fps"].to_numpy()[det["clip"].to_numpy()]
    true = cohort.events[cohort.events["event"] == kind][["video_id", "side", "frame"]].rename(columns={"frame": "tframe"})
    true["tframe"] = true["tframe"].astype(np.int64)
    det = det.sort_values("vframe")
    true = true.sort_values("tframe")
    matched = pd.merge_asof(det, true, left_on="vframe", right_on="tframe", by=["video_id", "side"],
                            direction="nearest")
    err = matched["vframe"] - matched["tframe"]
    ok = err.abs() <= 0.2 * matched["fps"]
    # Detections within 0.5 s of the turn have no labelled counterpart by design.
    turns = {s.video_id: s.info["simulator"] for s in cohort.sequences}
    start = matched["video_id"].map(lambda v: turns[v]["turn_start"])
    stop = start + matched["video_id"].map(lambda v: turns[v]["turn_frames"])
    near_turn = (matched["vframe"] >= start - 0.5 * matched["fps"]) & (matched["vframe"] <= stop + 0.5 * matched["fps"])
    return err[ok].to_numpy(float), int((~ok & ~near_turn).sum()), int(ok.sum())


def evaluate(layout: str, noise: str, patients: int, seed: int, method: str, camera: str = "panning") -> dict:
    t0 = time.perf_counter()
    cohort = gaitfeat.simulate_cohort(patients, noise=noise, layout=layout, random_state=seed,
                                      pan=0.0 if camera == "static" else None)
    fps = cohort.meta["fps"].to_numpy()
    table = extract_features(cohort.clips, fps, layout, method=method, root=cohort.root)
    out_method = table["spatial_method"].value_counts(normalize=True).to_dict()
    truth = cohort.truth
    out = {"clips": len(table), "patients": patients,
           "pelvis path": float(out_method.get("pelvis_path", 0.0))}
    for label, feat, col, relative in ROWS:
        feats = feat if isinstance(feat, tuple) else (feat,)
        cols = col if isinstance(col, tuple) else (col,)
        errs, measured = [], []
        for f, c in zip(feats, cols):
            e = (table[f] - truth[c]).abs()
            if relative:
                e = e / truth[c].abs()
            errs.append(e.dropna())
            measured.append(table[f].notna())
        out[label] = float(pd.concat(errs).median())
        out[label + " measured"] = float(pd.concat(measured).mean())
    events = detect_events(cohort.clips, fps, layout, method=method)
    for kind in ("heel_strike", "toe_off"):
        err, unmatched, n = event_errors(cohort, events, kind)
        out[f"{kind} |error|"] = float(np.median(np.abs(err)))
        out[f"{kind} bias"] = float(np.median(err))
        out[f"{kind} unmatched"] = unmatched / max(n, 1)
    out["seconds"] = time.perf_counter() - t0
    return out


ADULT_ROWS = (("cadence", "cadence", "cadence"), ("step length", "step_length", "step_length"),
              ("stride length", "stride_length", "stride_length"), ("walking speed", "walking_speed", "speed_ll"))


def evaluate_walkers(n: int, seed: int, layout: str, camera: str, method: str) -> dict:
    """Typically developing walkers aged 5-80: median |relative error| of walk_features per quantity."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, age in enumerate(np.linspace(5, 80, n)):
        params = draw_walker(float(age), rng)
        walk = gaitfeat.simulate_walk(params=params, noise="default", pan=0.0 if camera == "static" else None,
                                      random_state=int(rng.integers(2**31)), video_id=f"w{i}")
        seq = gaitfeat.preprocess(walk.sequence, layout=layout)
        row = walk_features(seq, method=method).iloc[0]
        truth = {**walk.labels, "speed_ll": walk.labels["speed"] / walk.labels["leg_length_m"]}
        rows.append({label: abs(row[f] - truth[t]) / abs(truth[t]) for label, f, t in ADULT_ROWS}
                    | {"age": age, "pelvis": row["spatial_method"] == "pelvis_path"})
    table = pd.DataFrame(rows)
    out = {"walks": n, "pelvis path": float(table["pelvis"].mean())}
    for group, sel in (("children", table["age"] < 18), ("adults", table["age"] >= 18)):
        for label, _, _ in ADULT_ROWS:
            out[f"{group} {label}"] = float(table.loc[sel, label].median())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--adults", type=int, default=60, help="typically developing walkers aged 5-80 (0: skip)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--method", default="coordinate", choices=["coordinate", "velocity"])
    args = ap.parse_args()
    results = {}
    for camera in ("panning", "static"):
        for layout in ("coco17", "body25"):
            for noise in ("none", "default"):
                if camera == "static" and noise == "none":
                    continue
                key = (layout, noise, camera)
                results[key] = evaluate(layout, noise, args.patients, args.seed, args.method, camera)
                print(f"done {'/'.join(key)}: {results[key]['clips']} clips, {results[key]['seconds']:.0f} s",
                      flush=True)
    keys = list(results)
    print(f"\nMedian absolute error, {args.patients} simulated patients (seed {args.seed}, {args.method} events); "
          "relative for cadence, lengths and speed, degrees for angles, frames for events\n")
    print("| quantity | " + " | ".join(" / ".join(k) for k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    print("| clips | " + " | ".join(f"{results[k]['clips']:,}" for k in keys) + " |")
    print("| clips measured from the pelvis path | " + " | ".join(
        f"{100 * results[k]['pelvis path']:.0f} %" for k in keys) + " |")
    for label, _, _, relative in ROWS:
        cells = []
        for k in keys:
            v = results[k][label]
            cells.append(f"{100 * v:.1f} %" if relative else f"{v:.2f}°")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for kind, name in (("heel_strike", "heel strike"), ("toe_off", "toe-off")):
        cells = [f"{results[k][f'{kind} |error|']:.1f} (bias {results[k][f'{kind} bias']:+.1f}; "
                 f"{100 * results[k][f'{kind} unmatched']:.1f} % unmatched)" for k in keys]
        print(f"| {name} timing (frames) | " + " | ".join(cells) + " |")
    print("| clips with step length measured | " + " | ".join(
        f"{100 * results[k]['step length measured']:.0f} %" for k in keys) + " |")
    if args.adults:
        walkers = {}
        for camera in ("panning", "static"):
            for layout in ("coco17", "body25"):
                walkers[(layout, camera)] = evaluate_walkers(args.adults, args.seed, layout, camera, args.method)
        keys = list(walkers)
        print(f"\nTypically developing walkers aged 5-80 ({args.adults} walks, default detector noise, "
              "walk_features): median absolute relative error\n")
        print("| quantity | " + " | ".join(" / ".join(k) for k in keys) + " |")
        print("|---|" + "---|" * len(keys))
        print("| walks measured from the pelvis path | " + " | ".join(
            f"{100 * walkers[k]['pelvis path']:.0f} %" for k in keys) + " |")
        for group in ("children", "adults"):
            for label, _, _ in ADULT_ROWS:
                print(f"| {group}: {label} | " + " | ".join(f"{100 * walkers[k][f'{group} {label}']:.1f} %"
                                                          for k in keys) + " |")


if __name__ == "__main__":
    main()
