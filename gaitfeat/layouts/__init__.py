"""Skeleton layouts: the one place that knows joint names, sides and edges.

The 2-D pipeline (preprocessing, clips, features, models) runs on two
layouts, :data:`LAYOUTS`:

``body25``
    OpenPose BODY_25 (25 joints, includes neck, mid-hip, heels and toes).
``coco17``
    The COCO keypoint layout (17 joints), used by most pose estimators and
    by the ST-GCN of Yang, Chen & He, "Multimodal Fusion of Skeleton Dynamics
    and Clinical Gait Features for Video-Based Cerebral Palsy Severity
    Assessment".

Readers and 3-D sequences also know the layouts of other detectors and
lifters, :data:`ALL_LAYOUTS` (tables in :mod:`gaitfeat.layouts.extra`):
``h36m17`` (Human3.6M), ``mpi_inf_3dhp_17`` (MeTRAbs), ``mediapipe33``
(MediaPipe Pose) and ``halpe26`` (AlphaPose). They reach the pipeline through
:func:`map_joints` (:mod:`gaitfeat.layouts.mapping`), which never invents a
joint. 3-D data use the same layouts as 2-D data.

Joint names are snake_case and shared between layouts where the anatomy is
the same (``"left_knee"`` is joint 13 in both), so that code written against
names works for either layout.

Every layout is a frozen :class:`SkeletonLayout`; the module-level
:data:`LAYOUTS` maps layout names to them and :func:`get_layout` resolves a
name (or passes a layout through) with a clear error for unknown names.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.errors import LayoutError
from gaitfeat.layouts.skeleton import SkeletonLayout

__all__ = [
    "SkeletonLayout",
    "BODY25",
    "COCO17",
    "H36M17",
    "MPI_INF_3DHP_17",
    "MEDIAPIPE33",
    "HALPE26",
    "LAYOUTS",
    "ALL_LAYOUTS",
    "map_joints",
    "map_confidence",
    "absent_joints",
    "joint_sources",
    "pipeline_layout_for",
    "BODY25_TO_COCO17",
    "get_layout",
    "layout_for_joint_count",
]


# OpenPose BODY_25 order (OpenPose doc/02_output.md, "Pose Output Format (BODY_25)").
_BODY25_JOINTS = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "mid_hip",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)

# OpenPose's own BODY_25 limb pairs (24 bones, a tree).
_BODY25_EDGES = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7),
    (8, 9), (9, 10), (10, 11), (8, 12), (12, 13), (13, 14),
    (1, 0), (0, 15), (15, 17), (0, 16), (16, 18),
    (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)

BODY25 = SkeletonLayout(
    name="body25",
    joints=_BODY25_JOINTS,
    edges=_BODY25_EDGES,
    # The neck, as in the original ST-GCN's OpenPose graph.
    center=1,
    segments={
        "head": (0, 15, 16, 17, 18),
        "trunk": (1, 2, 5, 8, 9, 12),
        "left_arm": (5, 6, 7),
        "right_arm": (2, 3, 4),
        "left_leg": (12, 13, 14, 19, 20, 21),
        "right_leg": (9, 10, 11, 22, 23, 24),
    },
)

# COCO keypoint order (COCO 2017 person_keypoints annotation).
_COCO17_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# A spanning tree of the COCO skeleton rooted at the nose: the head hangs from
# the nose, the shoulders from the nose (COCO has no neck joint), the hips from
# the shoulders of the same side. This is the 16-bone graph skeleton-GCN
# toolkits use for COCO-17.
_COCO17_EDGES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6),
    (9, 7), (7, 5), (10, 8), (8, 6), (5, 0), (6, 0),
    (1, 0), (3, 1), (2, 0), (4, 2),
)

COCO17 = SkeletonLayout(
    name="coco17",
    joints=_COCO17_JOINTS,
    edges=_COCO17_EDGES,
    center=0,
    segments={
        "head": (0, 1, 2, 3, 4),
        "trunk": (5, 6, 11, 12),
        "left_arm": (5, 7, 9),
        "right_arm": (6, 8, 10),
        "left_leg": (11, 13, 15),
        "right_leg": (12, 14, 16),
    },
)

#: The layouts of the 2-D pipeline (:class:`~gaitfeat.pose.PoseSequence`, clips, features, models).
LAYOUTS: dict[str, SkeletonLayout] = {"body25": BODY25, "coco17": COCO17}

from gaitfeat.layouts.extra import HALPE26, H36M17, MEDIAPIPE33, MPI_INF_3DHP_17  # noqa: E402  (needs SkeletonLayout only)
from gaitfeat.layouts.mapping import (  # noqa: E402
    absent_joints,
    joint_sources,
    map_confidence,
    map_joints,
    pipeline_layout_for,
)

#: Every known layout, the pipeline's and those of other detectors and 3-D lifters.
ALL_LAYOUTS: dict[str, SkeletonLayout] = {
    lay.name: lay for lay in (BODY25, COCO17, H36M17, MPI_INF_3DHP_17, MEDIAPIPE33, HALPE26)
}
_BY_KEY = {name.replace("_", ""): lay for name, lay in ALL_LAYOUTS.items()}

#: For each COCO-17 joint (in COCO order), the BODY_25 joint it is taken from.
BODY25_TO_COCO17: tuple[int, ...] = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)


def get_layout(layout: str | SkeletonLayout, *, pipeline: bool = True) -> SkeletonLayout:
    """Resolve a layout name or pass a layout through.

    Names are matched ignoring case, ``_``, ``-`` and spaces (``"MPI-INF-3DHP-17"``).

    Parameters
    ----------
    layout : str or SkeletonLayout
    pipeline : bool
        True (default): only the 2-D pipeline's :data:`LAYOUTS` are accepted
        (what keypoint arrays, clips, features and models need); False: any
        of :data:`ALL_LAYOUTS` (readers, 3-D sequences, mappings).

    Raises
    ------
    LayoutError
        For an unknown name, or a layout the pipeline does not run on.
    """
    if isinstance(layout, SkeletonLayout):
        lay = layout
    else:
        key = str(layout).lower().replace("-", "").replace("_", "").replace(" ", "")
        if key not in _BY_KEY:
            raise LayoutError(f"unknown skeleton layout {layout!r}; known layouts are {sorted(ALL_LAYOUTS)}")
        lay = _BY_KEY[key]
    if pipeline and lay.name not in LAYOUTS:
        raise LayoutError(
            f"layout {lay.name!r} is not one the 2-D pipeline runs on ({sorted(LAYOUTS)}); convert it with "
            f"gaitfeat.layouts.map_joints(values, {lay.name!r}, pipeline_layout_for({lay.name!r})) "
            "or read the file with its reader, which does"
        )
    return lay


def layout_for_joint_count(n_joints: int) -> SkeletonLayout:
    """The layout with ``n_joints`` joints.

    Raises
    ------
    LayoutError
        If no supported layout has that many joints (e.g. OpenPose's 18-joint
        COCO model or the 135-joint whole-body model).
    """
    # Only the pipeline's layouts: 17 joints are COCO-17 for a 2-D detector file.
    for layout in LAYOUTS.values():
        if layout.num_joints == n_joints:
            return layout
    known = ", ".join(f"{name} ({lay.num_joints})" for name, lay in LAYOUTS.items())
    raise LayoutError(f"no supported skeleton layout has {n_joints} joints; supported: {known}")


def convert_keypoints(keypoints: np.ndarray, source: str | SkeletonLayout, target: str | SkeletonLayout) -> np.ndarray:
    """Re-index keypoints ``(..., V, C)`` from one layout to another.

    Only conversions that take existing joints are allowed (``body25`` to
    ``coco17``, and identity); joints are never invented.

    Raises
    ------
    LayoutError
        If the conversion would have to invent joints, or the joint axis does
        not match ``source``.
    """
    src, dst = get_layout(source), get_layout(target)
    if keypoints.shape[-2] != src.num_joints:
        raise LayoutError(
            f"keypoints have {keypoints.shape[-2]} joints but layout {src.name!r} has {src.num_joints}"
        )
    if src is dst:
        return keypoints.copy()
    if src is BODY25 and dst is COCO17:
        return keypoints[..., list(BODY25_TO_COCO17), :].copy()
    raise LayoutError(f"cannot convert {src.name!r} to {dst.name!r}: the target has joints the source lacks")
