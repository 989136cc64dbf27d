"""Figure: simulated skeletons and knee/hip curves of one child per GMFCS level.

Usage: python benchmarks/plot_simulator.py [--out docs/figures/simulator_levels.png]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaitfeat.layouts import BODY25
from gaitfeat.simulate import draw_child, simulate_walk
from gaitfeat.simulate.kinematics import normative_curve
from gaitfeat.simulate.pathology import side_angles

LEVEL_NAMES = {1: "GMFCS I", 2: "GMFCS II", 3: "GMFCS III", 4: "GMFCS IV"}
SEEDS = {1: 3, 2: 8, 3: 5, 4: 2}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/figures/simulator_levels.png")
    args = ap.parse_args()
    fig, axes = plt.subplots(4, 3, figsize=(13, 12), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    q = np.linspace(0, 1, 101)
    for row, level in enumerate((1, 2, 3, 4)):
        rng = np.random.default_rng(SEEDS[level])
        child = draw_child(level, rng)
        walk = simulate_walk(params=child, noise="none", pan=0.0, fps=30.0, duration=10.0, random_state=rng)
        kp = walk.clean.keypoints
        f = walk.frames
        first = np.flatnonzero(f["walking"].to_numpy() & (np.diff(f["phase_left"].to_numpy(), prepend=1) < -0.5))[0]
        stride_frames = int(round(120.0 / child.cadence * 30))
        ax = axes[row, 0]
        for k, t in enumerate(np.linspace(first, first + stride_frames, 7).astype(int)):
            pose = kp[t, :, :2].copy()
            pose[:, 0] -= pose[BODY25.index("mid_hip"), 0] - k * 0.9 * walk.labels["px_per_m"]
            for a, b in BODY25.edges:
                colour = "tab:red" if "left" in BODY25.joints[a] + BODY25.joints[b] else "tab:blue"
                if "left" in BODY25.joints[a] and "right" in BODY25.joints[b]:
                    colour = "0.5"
                ax.plot(pose[[a, b], 0], -pose[[a, b], 1], color=colour, lw=1.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{LEVEL_NAMES[level]}: age {child.age:.0f}, {walk.labels['speed']:.2f} m/s, "
                     f"{walk.labels['cadence']:.0f} steps/min, GDI {walk.labels['gdi']:.0f}"
                     + (f", hemiplegic {child.hemiplegic_side}" if child.hemiplegic_side != "none" else "")
                     + (", walking aid" if child.assistive_device else ""), fontsize=9, loc="left")
        for col, (joint, idx) in enumerate((("hip", 0), ("knee", 1)), start=1):
            ax = axes[row, col]
            ax.plot(q * 100, normative_curve(joint, q), color="0.6", lw=3, label="typical (normative)")
            for side, colour in ((0, "tab:red"), (1, "tab:blue")):
                angles = side_angles(child, side, q)[idx]
                ax.plot(q * 100, angles, color=colour, label="left" if side == 0 else "right")
            ax.set_ylim(-20, 80)
            ax.set_xlabel("gait cycle (%)")
            ax.set_ylabel(f"{joint} flexion (deg)")
            if row == 0:
                ax.legend(fontsize=8)
    fig.suptitle("Simulated children (gaitfeat gait simulator, not clinical data): one stride and mean sagittal curves", fontsize=11)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
