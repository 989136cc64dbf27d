"""Preprocessing: from raw detector output to clean, normalised clips.

Each step is a function ``PoseSequence -> PoseSequence`` that records its
counts in ``seq.info``; :func:`preprocess` composes them with documented
defaults and :func:`make_clips` cuts the result into windows.
"""

from gaitfeat.preprocessing.checks import check_pose_clips
from gaitfeat.preprocessing.cleaning import fill_gaps, reject_outliers, smooth, threshold_confidence
from gaitfeat.preprocessing.clips import META_COLUMNS, ClipReport, Clips, make_clips
from gaitfeat.preprocessing.normalise import centre_on_hips, leg_length, scale_by_leg_length
from gaitfeat.preprocessing.orientation import mirror, orient, walking_direction
from gaitfeat.preprocessing.pipeline import preprocess, preprocess_many
from gaitfeat.preprocessing.plane import estimate_vertical, project_to_walking_plane, walking_bouts
from gaitfeat.preprocessing.swaps import find_leg_flips, fix_leg_swaps
from gaitfeat.preprocessing.view import MAX_SIDE_VIEW_WIDTH, check_side_view, side_view_widths

__all__ = [
    "threshold_confidence",
    "reject_outliers",
    "fill_gaps",
    "smooth",
    "fix_leg_swaps",
    "find_leg_flips",
    "walking_direction",
    "mirror",
    "orient",
    "centre_on_hips",
    "scale_by_leg_length",
    "leg_length",
    "project_to_walking_plane",
    "estimate_vertical",
    "walking_bouts",
    "check_side_view",
    "side_view_widths",
    "MAX_SIDE_VIEW_WIDTH",
    "preprocess",
    "preprocess_many",
    "make_clips",
    "Clips",
    "check_pose_clips",
    "ClipReport",
    "META_COLUMNS",
]
