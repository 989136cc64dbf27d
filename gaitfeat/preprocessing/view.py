"""Is a 2-D video a side view? Sagittal features need one; a frontal or oblique 2-D view is refused.

Joint angles, step and stride lengths are measured in the image plane,
which is the walk's sagittal plane only when the camera looks at the walker
from the side. Filmed from the front or back (a hallway, a home video
walking towards the phone) the image shows the frontal plane: the knee's
flexion is foreshortened to nothing, the progression is towards the
camera, and every sagittal number would be nonsense. What tells the views
apart is the body's width in the image: from the side the two hips and the
two shoulders nearly coincide horizontally, from the front they are a
pelvis and a shoulder width apart. A side-view video's turn is frontal for a
second or so; the check looks at the median over the whole video.

3-D poses from any camera angle are not affected: they are projected onto
the walk's sagittal plane (:func:`gaitfeat.preprocessing.project_to_walking_plane`)
before this check, which they then pass.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.errors import ViewError
from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import leg_lengths_per_frame

__all__ = ["side_view_widths", "check_side_view", "MAX_SIDE_VIEW_WIDTH"]

#: Largest median horizontal hip and shoulder separation (leg lengths) of a side view.
#: From the front a child's hip joint centres are ~0.25-0.3 leg lengths apart and the
#: shoulders ~0.5; from the side both stay below ~0.1 (a slightly angled camera, the
#: pelvis and shoulder rotation of walking). Either one beyond its bound refuses the
#: video: about 25-30 degrees or more off the side (simulated oblique cameras), where
#: horizontal distances shrink by 10-13 % and more. A static side camera sees the ends
#: of a walkway at up to 30 degrees too, but the median over the walk stays well below.
MAX_SIDE_VIEW_WIDTH = {"hip": 0.12, "shoulder": 0.2}


def side_view_widths(seq: PoseSequence) -> dict[str, float]:
    """Median horizontal hip and shoulder separation over the frames, in leg lengths of the same frame.

    Returns ``{"hip": float, "shoulder": float, "frames": int}`` (NaN and 0
    when no frame has the joints).
    """
    xy = seq.xy.astype(np.float64)
    lay = seq.skeleton
    per_side = leg_lengths_per_frame(xy, lay)
    known = np.isfinite(per_side)
    # The mean of the sides that are known (NaN where neither is), without all-NaN warnings.
    legs = np.where(known.any(axis=1), np.where(known, per_side, 0.0).sum(axis=1) / np.maximum(known.sum(axis=1), 1),
                    np.nan)
    out: dict[str, float] = {}
    frames = 0
    for part in ("hip", "shoulder"):
        left, right = lay.indices(f"left_{part}", f"right_{part}")
        ratio = np.abs(xy[:, left, 0] - xy[:, right, 0]) / legs
        ok = np.isfinite(ratio)
        out[part] = float(np.median(ratio[ok])) if ok.any() else float("nan")
        frames = max(frames, int(ok.sum()))
    out["frames"] = frames
    return out


def check_side_view(seq: PoseSequence) -> PoseSequence:
    """Refuse a 2-D sequence filmed from the front, back or an oblique angle.

    Returns the sequence with ``info["check_side_view"]`` holding the
    measured widths. A sagittal projection of 3-D poses passes it like any
    side view (its hips and shoulders nearly coincide in x).

    Raises
    ------
    ViewError
        When the median hip or shoulder separation exceeds
        :data:`MAX_SIDE_VIEW_WIDTH`; the message gives the numbers and what
        to do instead.
    """
    widths = side_view_widths(seq)
    report = {"hip_width": widths["hip"], "shoulder_width": widths["shoulder"], "frames": widths["frames"]}
    if widths["hip"] > MAX_SIDE_VIEW_WIDTH["hip"] or widths["shoulder"] > MAX_SIDE_VIEW_WIDTH["shoulder"]:
        raise ViewError(
            f"{seq.video_id or 'sequence'}: not a side view: the hips are {widths['hip']:.2f} and the shoulders "
            f"{widths['shoulder']:.2f} leg lengths apart across the image (median of {widths['frames']} frames; "
            f"a side view stays below {MAX_SIDE_VIEW_WIDTH['hip']:g} and {MAX_SIDE_VIEW_WIDTH['shoulder']:g}), "
            "so the video was filmed from the front, back or an oblique angle; joint angles and step lengths "
            "cannot be measured in a frontal 2-D view. Use a side-view video, or 3-D poses of this walk "
            "(a 3-D lifter such as MeTRAbs or MotionBERT; see docs/data.md), which are projected onto the "
            "walking plane"
        )
    return seq.replace(info={"check_side_view": report})
