"""Figure: simulated skeletons and hip/knee/ankle curves of one child per gait pattern.

Usage: python benchmarks/plot_simulator.py [--out docs/figures/simulator_patterns.png]

For each of the eight cerebral-palsy gait patterns (hemiplegic types 1-4 of Winters, Gage & Hicks;
true equinus, jump gait, apparent equinus and crouch of Rodda et al.) the first child of that pattern
drawn from a fixed seed: one stride of its noise-free skeleton, and its mean hip, knee and ankle
curves (left red, right blue) against the normative ones.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaitfeat.layouts import BODY25
from gaitfeat.simulate import draw_child, simulate_walk
from gaitfeat.simulate.cp import PATTERNS
from gaitfeat.simulate.kinematics import normative_curve
from gaitfeat.simulate.pathology import side_angles

LEVEL_NAMES = {1: "GMFCS I", 2: "GMFCS II", 3: "GMFCS III", 4: "GMFCS IV"}
# A level at which each pattern is common, to look for it.
PATTERN_LEVEL = {"hemiplegia_type_1": 1, "hemiplegia_type_2": 1, "hemiplegia_type_3": 2, "hemiplegia_type_4": 2,
                 "true_equinus": 1, "jump_gait": 2, "apparent_equinus": 3, "crouch_gait": 3}


def first_child(pattern: str, rng: np.random.Generator):
    """The first child of a pattern in a seeded stream of children at the pattern's usual level."""
    while True:
        child = draw_child(PATTERN_LEVEL[pattern], rng)
        if child.gait_pattern == pattern:
            return child


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/figures/simulator_patterns.png")
    args = ap.parse_args()
    fig, axes = plt.subplots(len(PATTERNS), 4, figsize=(16, 3.1 * len(PATTERNS)),
                             gridspec_kw={"width_ratios": [2.2, 1, 1, 1]})
    q = np.linspace(0, 1, 101)
    for row, pattern in enumerate(PATTERNS):
        rng = np.random.default_rng(row)
        child = first_child(pattern, rng)
        level = child.gmfcs
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
        ax.set_title(f"{pattern.replace('_', ' ')}, {LEVEL_NAMES[level]}: age {child.age:.0f}, {walk.labels['speed']:.2f} m/s, "
                     f"{walk.labels['cadence']:.0f} steps/min, GDI {walk.labels['gdi']:.0f}"
                     + (f", hemiplegic {child.hemiplegic_side}" if child.hemiplegic_side != "none" else "")
                     + (", walking aid" if child.assistive_device else ""), fontsize=9, loc="left")
        for col, (joint, idx) in enumerate((("hip", 0), ("knee", 1), ("ankle", 2)), start=1):
            ax = axes[row, col]
            ax.plot(q * 100, normative_curve(joint, q), color="0.6", lw=3, label="typical (normative)")
            for side, colour in ((0, "tab:red"), (1, "tab:blue")):
                angles = side_angles(child, side, q)[idx]
                ax.plot(q * 100, angles, color=colour, label="left" if side == 0 else "right")
            ax.set_ylim(-30, 80)
            ax.set_xlabel("gait cycle (%)")
            ax.set_ylabel(f"{joint} {'dorsiflexion' if joint == 'ankle' else 'flexion'} (deg)")
            if row == 0:
                ax.legend(fontsize=8)
    fig.suptitle("Simulated children (gaitfeat gait simulator, not clinical data), one per gait pattern: "
                 "one stride and mean sagittal curves", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(args.out, dpi=90)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
