"""Simulated 3-D walks from every camera angle against the simulator's truth (and the 2-D side view).

Usage: python benchmarks/views_3d.py [--walks 12] [--noise none default heavy] [--seed 0]

For each walk (random child, GMFCS I-IV, 8-20 s, out-turn-back) and camera
(side, front, back, oblique), the 3-D sequence (camera coordinates, m, the
vertical unknown) goes through ``gaitfeat.walk_features_3d``; the same
walk's 2-D side video (``camera="side", dims=2``, pixels, the leg length
given) goes through ``preprocess`` + ``walk_features``. Printed per camera
and noise level: the median absolute error against truth of cadence (%),
stride length (%), walking speed (%), knee and hip range of motion (deg,
against the true angle curves' range over the walking frames), step width
(mm, against the median of the true heel-strike widths), and the angle
between the estimated and true vertical (deg); then throughput.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

import gaitfeat
from gaitfeat.preprocessing import estimate_vertical
from gaitfeat.simulate import simulate_walk

CAMERAS = ("side", "front", "back", "oblique")


def _truth(walk) -> dict:
    frames = walk.frames[walk.frames["walking"]]
    return {"cadence": walk.labels["cadence"], "stride_length_m": walk.labels["stride_length_m"],
            "walking_speed_m": walk.labels["speed"], "step_width_m": walk.labels["step_width_m"],
            **{f"{j}_rom_{s}": float(np.ptp(frames[f"{j}_{s}"])) for j in ("knee", "hip") for s in ("left", "right")}}


def _errors(row: pd.Series, truth: dict) -> dict:
    out = {}
    for q in ("cadence", "stride_length_m", "walking_speed_m"):
        out[q + " %"] = abs(row[q] - truth[q]) / truth[q] * 100.0
    for j in ("knee", "hip"):
        out[f"{j}_rom deg"] = np.nanmean([abs(row[f"{j}_rom_{s}"] - truth[f"{j}_rom_{s}"]) for s in ("left", "right")])
    if "step_width_m" in row:
        out["step_width mm"] = abs(row["step_width_m"] - truth["step_width_m"]) * 1000.0
    return out


def measure(n_walks: int, noises: tuple[str, ...], seed: int) -> pd.DataFrame:
    rows = []
    for i in range(n_walks):
        for noise in noises:
            side = simulate_walk(random_state=seed + i, noise=noise)
            truth = _truth(side)
            leg = side.labels["leg_length_m"]
            flat = gaitfeat.walk_features(gaitfeat.preprocess(side.sequence), leg_length_m=leg).iloc[0]
            rows.append({"walk": i, "noise": noise, "camera": "side 2-D", **_errors(flat, truth)})
            for camera in CAMERAS:
                walk = simulate_walk(random_state=seed + i, noise=noise, camera=camera, dims=3)
                up, _ = estimate_vertical(walk.sequence)
                true_up = np.asarray(walk.sequence.info["simulator"]["vertical"])
                row = gaitfeat.walk_features_3d(walk.sequence, on_error="skip").iloc[0]
                rows.append({"walk": i, "noise": noise, "camera": camera, **_errors(row, truth),
                             "vertical deg": float(np.degrees(np.arccos(np.clip(up @ true_up, -1, 1))))})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--walks", type=int, default=12)
    parser.add_argument("--noise", nargs="+", default=["none", "default"], choices=["none", "default", "heavy"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tracemalloc.start()
    start = time.perf_counter()
    results = measure(args.walks, tuple(args.noise), args.seed)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    table = results.drop(columns="walk").groupby(["noise", "camera"], sort=False).median()
    with pd.option_context("display.width", 160, "display.float_format", "{:.2f}".format):
        print("median absolute error against the simulator's truth")
        print(table.to_string())
    n3d = int((results["camera"] != "side 2-D").sum())
    print(f"{args.walks} walks x {len(args.noise)} noise levels x {len(CAMERAS)} cameras: {n3d} 3-D walks, "
          f"{elapsed:.1f} s in all (simulation included), peak traced memory {peak:.0f} MB")
    seq = simulate_walk(random_state=args.seed, camera="back", dims=3).sequence
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        gaitfeat.walk_features_3d(seq)
    per = (time.perf_counter() - t0) / reps
    print(f"walk_features_3d: {per * 1000:.0f} ms per walk of {seq.n_frames} frames "
          f"({seq.n_frames / per:.0f} frames/s)")


if __name__ == "__main__":
    main()
