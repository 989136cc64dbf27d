"""Layouts of other detectors and 3-D lifters: Human3.6M, MPI-INF-3DHP (MeTRAbs), MediaPipe Pose, Halpe-26.

These layouts describe what a file or a lifter delivers; the 2-D pipeline
itself runs on ``body25`` or ``coco17``, reached with
:func:`gaitfeat.layouts.map_joints`. Joint names follow the snake_case names
of :mod:`gaitfeat.layouts` wherever the anatomy is the same, so that a mapping
is a lookup by name. Where a format's joint is anatomically close to but not
the same as ours, it gets its own name (``head``, ``head_top``, ``spine``)
and is never used in place of ours.
"""

from __future__ import annotations

from gaitfeat.layouts.skeleton import SkeletonLayout

__all__ = ["H36M17", "MPI_INF_3DHP_17", "MEDIAPIPE33", "HALPE26"]

# Human3.6M's 17-joint subset in the order used by 3-D lifters trained on it
# (VideoPose3D, MotionBERT): pelvis, right leg, left leg, spine, thorax,
# neck/nose, head, left arm, right arm. The thorax sits between the shoulders
# at the base of the neck, where OpenPose puts its "neck"; the pelvis is the
# midpoint of the hip joint centres, OpenPose's "mid_hip". H36M's "neck/nose"
# joint is neither a neck nor a nose, so it is called "head" here.
H36M17 = SkeletonLayout(
    name="h36m17",
    joints=(
        "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "spine", "neck", "head", "head_top",
        "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
    ),
    edges=(
        (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
        (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
    ),
    center=0,
    segments={
        "head": (9, 10), "trunk": (0, 1, 4, 7, 8, 11, 14),
        "left_arm": (11, 12, 13), "right_arm": (14, 15, 16),
        "left_leg": (4, 5, 6), "right_leg": (1, 2, 3),
    },
)

# MPI-INF-3DHP's 17 joints in MeTRAbs's order (its short names: htop, neck,
# rsho, relb, rwri, lsho, lelb, lwri, rhip, rkne, rank, lhip, lkne, lank,
# pelv, spin, head).
MPI_INF_3DHP_17 = SkeletonLayout(
    name="mpi_inf_3dhp_17",
    joints=(
        "head_top", "neck",
        "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "mid_hip", "spine", "head",
    ),
    edges=(
        (16, 0), (1, 16), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 15), (15, 14),
        (14, 8), (8, 9), (9, 10), (14, 11), (11, 12), (12, 13),
    ),
    center=14,
    segments={
        "head": (0, 16), "trunk": (1, 2, 5, 8, 11, 14, 15),
        "left_arm": (5, 6, 7), "right_arm": (2, 3, 4),
        "left_leg": (11, 12, 13), "right_leg": (8, 9, 10),
    },
)

#: MeTRAbs's short joint names, in the order of :data:`MPI_INF_3DHP_17`.
MPI_INF_3DHP_17_SHORT_NAMES = ("htop", "neck", "rsho", "relb", "rwri", "lsho", "lelb", "lwri", "rhip", "rkne",
                               "rank", "lhip", "lkne", "lank", "pelv", "spin", "head")

# MediaPipe Pose's 33 landmarks (BlazePose topology), in landmark order. Its
# "mouth_left"/"mouth_right" are renamed left_mouth/right_mouth so that the
# side prefix pairs them; "foot_index" (the tip of the foot) is MediaPipe's
# name for the big-toe landmark and is mapped as such.
MEDIAPIPE33 = SkeletonLayout(
    name="mediapipe33",
    joints=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "left_mouth", "right_mouth",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
    edges=(
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (0, 9), (0, 10),
        (0, 11), (0, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21),
        (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (11, 23), (12, 24),
        (23, 25), (25, 27), (27, 29), (27, 31), (24, 26), (26, 28), (28, 30), (28, 32),
    ),
    center=0,
    segments={
        "head": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "trunk": (11, 12, 23, 24),
        "left_arm": (11, 13, 15, 17, 19, 21), "right_arm": (12, 14, 16, 18, 20, 22),
        "left_leg": (23, 25, 27, 29, 31), "right_leg": (24, 26, 28, 30, 32),
    },
)

# AlphaPose's Halpe-26: COCO-17 followed by head top, neck, hip (the pelvis
# centre) and six foot points (Fang et al., "AlphaPose: Whole-Body Regional
# Multi-Person Pose Estimation and Tracking in Real-Time").
HALPE26 = SkeletonLayout(
    name="halpe26",
    joints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "head_top", "neck", "mid_hip",
        "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe", "left_heel", "right_heel",
    ),
    edges=(
        (0, 1), (1, 3), (0, 2), (2, 4), (0, 17), (0, 18), (18, 5), (18, 6), (5, 7), (7, 9),
        (6, 8), (8, 10), (18, 19), (19, 11), (19, 12), (11, 13), (13, 15), (12, 14), (14, 16),
        (15, 20), (15, 22), (15, 24), (16, 21), (16, 23), (16, 25),
    ),
    center=18,
    segments={
        "head": (0, 1, 2, 3, 4, 17), "trunk": (5, 6, 11, 12, 18, 19),
        "left_arm": (5, 7, 9), "right_arm": (6, 8, 10),
        "left_leg": (11, 13, 15, 20, 22, 24), "right_leg": (12, 14, 16, 21, 23, 25),
    },
)
