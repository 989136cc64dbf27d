"""Walking direction, mirroring, and orientation of every frame to one direction.

Clinical gait videos follow the child across the view, a turn, and back, so
the walking direction in the image flips in the middle of most videos. Models
and features are simpler and more comparable when the walker always moves
towards +x; :func:`orient` achieves that by mirroring the frames in which the
child walks the other way.

Mirroring changes coordinates only, never joint labels: after mirroring,
``left_knee`` is still the child's left knee, so per-side clinical features
keep their meaning. (The training augmentation that flips an image *and*
exchanges left/right labels is a different operation, see ``models``.)
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import fill_nearest, hip_midpoint, nanmean_pair, robust_leg_length, runs

__all__ = ["walking_direction", "mirror", "orient", "orient_root"]


def _facing(xy: np.ndarray, layout, leg: float) -> np.ndarray:
    """Horizontal facing cue per frame, in leg lengths (+ = facing +x), NaN where unknown.

    The nose lies ahead of the ears and the toes ahead of the heels in the
    walking direction; unlike image motion, this holds when the camera pans.
    """
    nose = xy[:, layout.index("nose"), 0]
    ears = nanmean_pair(xy[:, layout.index("left_ear"), 0], xy[:, layout.index("right_ear"), 0])
    cues = [(nose - ears) / leg]
    if layout.has("left_heel"):
        for side in ("left", "right"):
            toe, heel = layout.indices(f"{side}_big_toe", f"{side}_heel")
            cues.append((xy[:, toe, 0] - xy[:, heel, 0]) / leg)
    stack = np.stack(cues)
    n = (~np.isnan(stack)).sum(axis=0)
    total = np.nansum(stack, axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _velocity(xy: np.ndarray, layout, leg: float, fps: float) -> np.ndarray:
    """Smoothed horizontal velocity of the hip midpoint, in leg lengths per second."""
    x = hip_midpoint(xy, layout)[:, 0]
    known = ~np.isnan(x)
    if known.sum() < 2:
        return np.full_like(x, np.nan)
    t = np.arange(x.size)
    xi = np.interp(t, t[known], x[known])
    width = max(1, int(round(0.5 * fps)))
    v = np.gradient(uniform_filter1d(xi, width, mode="nearest")) * fps / leg
    v[~known] = np.nan
    return v


def walking_direction(
    seq: PoseSequence,
    *,
    facing_threshold: float = 0.05,
    velocity_threshold: float = 0.15,
    min_run_s: float = 0.25,
) -> np.ndarray:
    """Walking direction in the image per frame: +1 (towards +x), -1, or 0 (turning/unknown).

    Two cues, in order of trust: which way the body faces (nose ahead of the
    ears; toes ahead of the heels when the layout has feet), and the hip
    midpoint's horizontal motion. Facing decides where it is clear; motion
    decides elsewhere; frames where neither is clear (the near-frontal turn,
    standing still) are 0. The labels are then median-filtered, and runs
    shorter than ``min_run_s`` become 0.

    Parameters
    ----------
    seq : PoseSequence
    facing_threshold : float
        Smallest facing cue (leg lengths) that counts; at least half the
        video's median facing cue.
    velocity_threshold : float
        Smallest hip speed (leg lengths per second) that counts.
    min_run_s : float
        Shortest stretch of one direction that is kept (s).

    Returns
    -------
    ndarray of int8, shape (T,)
    """
    lay = seq.skeleton
    xy = seq.xy.astype(np.float64)
    leg = robust_leg_length(xy, lay)
    if not np.isfinite(leg):
        return np.zeros(seq.n_frames, dtype=np.int8)
    facing = _facing(xy, lay, leg)
    velocity = _velocity(xy, lay, leg, seq.fps)
    # The facing cue shrinks as the body rotates towards the camera; relative to
    # its typical size in this video it tells the near-frontal turn apart.
    typical = np.nanmedian(np.abs(facing)) if np.isfinite(facing).any() else 0.0
    facing_threshold = max(facing_threshold, 0.5 * typical)
    d = np.zeros(seq.n_frames, dtype=np.int8)
    by_velocity = np.abs(np.nan_to_num(velocity)) >= velocity_threshold
    d[by_velocity] = np.sign(velocity[by_velocity]).astype(np.int8)
    by_facing = np.abs(np.nan_to_num(facing)) >= facing_threshold
    d[by_facing] = np.sign(facing[by_facing]).astype(np.int8)
    width = max(1, int(round(0.25 * seq.fps))) | 1
    d = median_filter(d, size=width, mode="nearest").astype(np.int8)
    min_run = max(1, int(round(min_run_s * seq.fps)))
    for value in (-1, 1):
        for start, stop in runs(d == value):
            if stop - start < min_run:
                d[start:stop] = 0
    return d


def mirror(seq: PoseSequence, frames: np.ndarray | None = None) -> PoseSequence:
    """Mirror x about each frame's hip midpoint (joint labels unchanged).

    Parameters
    ----------
    seq : PoseSequence
    frames : array of bool (T,) or of int, optional
        Frames to mirror (default: all).

    Notes
    -----
    The mirror axis of a frame is the vertical line through its hip midpoint
    (the mean of the known joints' x if the hips are missing); mirroring keeps
    the hip midpoint where it is, so mirroring twice restores the input.
    """
    kp = seq.keypoints.copy()
    select = np.ones(seq.n_frames, dtype=bool) if frames is None else np.zeros(seq.n_frames, dtype=bool)
    if frames is not None:
        select[np.asarray(frames)] = True
    x = kp[:, :, 0].astype(np.float64)
    pivot = hip_midpoint(kp[:, :, :2].astype(np.float64), seq.skeleton)[:, 0]
    known = ~np.isnan(x)
    n_known = known.sum(axis=1)
    fallback = np.where(n_known > 0, np.where(known, x, 0.0).sum(axis=1) / np.maximum(n_known, 1), np.nan)
    pivot = np.where(np.isnan(pivot), fallback, pivot)
    mirrored = 2.0 * pivot[:, None] - x
    kp[select, :, 0] = mirrored[select]
    return seq.replace(keypoints=kp, info={"mirror": {"frames": int(select.sum())}})


def orient(seq: PoseSequence, direction: np.ndarray | None = None) -> PoseSequence:
    """Mirror the frames in which the child walks towards -x, so that every frame walks towards +x.

    Turning and unknown frames (direction 0) take the direction of the
    nearest frame with a known direction.

    Parameters
    ----------
    seq : PoseSequence
    direction : array of int (T,), optional
        Direction per frame; computed with :func:`walking_direction` when
        omitted. (:func:`gaitfeat.preprocessing.preprocess` computes it on the
        pixel coordinates, where the hip motion cue is still available.)

    Returns
    -------
    PoseSequence
        Oriented, with ``direction`` set to the direction per frame in the
        *input*, the pelvis path ``root`` (if set) turned into progression
        along the walking direction (:func:`orient_root`), and ``info["orient"] = {"mirrored_frames", "turning_frames",
        "direction_changes"}``; ``"unknown": True`` when no frame has a known
        direction (nothing is mirrored then).
    """
    d = walking_direction(seq) if direction is None else np.asarray(direction, dtype=np.int8)
    if d.shape != (seq.n_frames,):
        raise ValueError(f"direction must have shape ({seq.n_frames},), got {d.shape}")
    effective = fill_nearest(d, empty=0)
    flip = effective == -1
    out = mirror(seq, flip) if flip.any() else seq
    if seq.root is not None:
        out = out.replace(root=orient_root(seq.root, effective))
    nonzero = d[d != 0]
    report = {
        "mirrored_frames": int(flip.sum()),
        "turning_frames": int((d == 0).sum()),
        "direction_changes": int((np.diff(nonzero) != 0).sum()) if nonzero.size else 0,
        "unknown": bool(nonzero.size == 0),
    }
    return out.replace(direction=d, info={"orient": report})


def orient_root(root: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The pelvis path as progression along the walking direction.

    Each frame-to-frame hip displacement in x is multiplied by the walking
    direction of the later frame, so the path grows while the walker goes
    towards +x *and* on the way back; summed from the first known frame,
    which keeps its x. Frames without a hip position stay NaN; the
    displacement across such a gap counts for the frame after it. y is
    unchanged. (Mirroring a frame about its hip midpoint, as :func:`orient`
    does, leaves the hip where it is; only the sense of progress changes.)

    Parameters
    ----------
    root : ndarray (T, 2)
        Hip midpoint per frame (x, y).
    direction : ndarray of int (T,)
        +1 or -1 per frame (no zeros: fill turning frames first).

    Returns
    -------
    ndarray (T, 2)
    """
    out = np.array(root, dtype=np.float64, copy=True)
    known = np.flatnonzero(np.isfinite(out[:, 0]))
    if known.size:
        x = out[known, 0]
        steps = np.diff(x) * np.where(np.asarray(direction)[known[1:]] < 0, -1.0, 1.0)
        out[known, 0] = x[0] + np.concatenate(([0.0], np.cumsum(steps)))
    return out
