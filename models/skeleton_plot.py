"""Joint scores drawn on a skeleton figure, without importing torch.

:func:`plot_skeleton` draws one circle per joint, sized and coloured by its
score — e.g. the Grad-CAM joint contributions of
:func:`models.deep.explain.joint_contributions` — as Fig. 2 of K. Yang,
X. Chen, J. He, "Multimodal Fusion of Skeleton Dynamics and Clinical Gait
Features for Video-Based Cerebral Palsy Severity Assessment" does.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.layouts import get_layout

__all__ = ["plot_skeleton", "TEMPLATE"]


#: A front-facing standing pose (x to the subject's left, y up, leg length 1) for drawing joint scores.
TEMPLATE = {
    "nose": (0.0, 1.72), "left_eye": (0.05, 1.76), "right_eye": (-0.05, 1.76), "left_ear": (0.1, 1.73),
    "right_ear": (-0.1, 1.73), "neck": (0.0, 1.55), "left_shoulder": (0.2, 1.5), "right_shoulder": (-0.2, 1.5),
    "left_elbow": (0.27, 1.22), "right_elbow": (-0.27, 1.22), "left_wrist": (0.3, 0.96), "right_wrist": (-0.3, 0.96),
    "mid_hip": (0.0, 1.0), "left_hip": (0.11, 1.0), "right_hip": (-0.11, 1.0), "left_knee": (0.13, 0.52),
    "right_knee": (-0.13, 0.52), "left_ankle": (0.14, 0.06), "right_ankle": (-0.14, 0.06),
    "left_heel": (0.13, 0.0), "right_heel": (-0.13, 0.0), "left_big_toe": (0.2, -0.02), "right_big_toe": (-0.2, -0.02),
    "left_small_toe": (0.24, 0.0), "right_small_toe": (-0.24, 0.0),
}


def plot_skeleton(joint_scores, layout, *, ax=None, title: str | None = None, annotate: bool = True):
    """Skeleton with one circle per joint, sized and coloured by its score (Yang, Chen & He, Fig. 2).

    Parameters
    ----------
    joint_scores : array (V,)
        Scores in [0, 1] (e.g. from :func:`models.deep.explain.joint_contributions`).
    layout : str or SkeletonLayout
    ax : matplotlib Axes, optional
    annotate : bool
        Write each score beside its joint.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    lay = get_layout(layout)
    scores = np.clip(np.asarray(joint_scores, dtype=float), 0, 1)
    if scores.shape != (lay.num_joints,):
        raise ValueError(f"joint_scores must have {lay.num_joints} entries for {lay.name}, got {scores.shape}")
    xy = np.array([TEMPLATE[name] for name in lay.joints])
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 5.2))
    else:
        fig = ax.figure
    for i, j in lay.edges:
        ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="#9aa0a6", lw=2, zorder=1)
    sc = ax.scatter(xy[:, 0], xy[:, 1], s=40 + 560 * scores, c=scores, cmap="YlOrRd", vmin=0, vmax=1,
                    edgecolors="#333333", linewidths=0.6, zorder=2)
    if annotate:
        for (x, y), s, name in zip(xy, scores, lay.joints):
            side = 1 if x >= 0 else -1
            ax.annotate(f"{s:.2f}", (x, y), xytext=(9 * side, 0), textcoords="offset points", fontsize=7,
                        ha="left" if side > 0 else "right", va="center")
    fig.colorbar(sc, ax=ax, fraction=0.05, pad=0.02, label="contribution")
    ax.set_aspect("equal")
    ax.set_xlim(-0.65, 0.65)
    ax.axis("off")
    ax.set_title(title or "Grad-CAM joint contributions", fontsize=9)
    return fig
