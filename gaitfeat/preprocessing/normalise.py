"""Centring on the hips and scaling by leg length."""

from __future__ import annotations

import numpy as np

from gaitfeat.errors import PoseDataError
from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import hip_midpoint, robust_leg_length

__all__ = ["centre_on_hips", "scale_by_leg_length", "leg_length"]


def leg_length(seq: PoseSequence) -> float:
    """Robust leg length of a sequence, in its coordinate units.

    The median over all frames and both sides of thigh + shank length
    (hip-knee plus knee-ankle). NaN when fewer than 5 frame-sides have all
    three joints.
    """
    return robust_leg_length(seq.xy.astype(np.float64), seq.skeleton)


def centre_on_hips(seq: PoseSequence, *, y_up: bool = True) -> PoseSequence:
    """Put the origin of every frame at the hip midpoint.

    Parameters
    ----------
    seq : PoseSequence
    y_up : bool
        Also turn the y axis to point upwards (image y points down), so that
        positive y is "up" in every later computation.

    Returns
    -------
    PoseSequence
        Frames without any hip position become entirely missing (counted in
        ``info["centre_on_hips"]["frames_without_hips"]``): without an origin
        their coordinates have no meaning relative to the other frames.
        The hip midpoint that was subtracted is kept as ``root`` (same units,
        y turned like the keypoints): the pelvis path, which gives the
        walker's progression when the camera does not move.
    """
    kp = seq.keypoints.copy()
    mid = hip_midpoint(kp[:, :, :2].astype(np.float64), seq.skeleton)
    no_hips = np.isnan(mid[:, 0])
    kp[:, :, 0:2] = (kp[:, :, 0:2] - mid[:, None, :]).astype(np.float32)
    kp[no_hips] = np.nan
    kp[no_hips, :, 2] = 0.0
    root = mid.copy()
    if y_up:
        kp[:, :, 1] = -kp[:, :, 1]
        root[:, 1] = -root[:, 1]
    report = {"frames_without_hips": int(no_hips.sum()), "y_up": y_up}
    return seq.replace(keypoints=kp, root=root, info={"centre_on_hips": report})


def scale_by_leg_length(seq: PoseSequence, length: float | None = None) -> PoseSequence:
    """Divide all coordinates by one robust leg length for the whole sequence.

    One value per sequence rather than one per frame: the child's leg does
    not change length within a video, whereas its projected 2-D length does
    (out-of-plane rotation during the turn, detector jitter, a far leg hidden
    behind the near one). Dividing each frame by its own length would turn
    that noise into a frame-to-frame change of every coordinate, shrink or
    inflate the turning frames, and distort step lengths measured across
    frames; the median over the sequence is insensitive to all of that.

    Parameters
    ----------
    seq : PoseSequence
    length : float, optional
        Leg length to use (coordinate units); estimated with
        :func:`leg_length` when omitted.

    Returns
    -------
    PoseSequence
        Coordinates (and the pelvis path ``root``, if set) in leg lengths,
        with ``info["scale_by_leg_length"] = {"leg_length"}`` (in the input's
        units, e.g. px).

    Raises
    ------
    PoseDataError
        If the leg length cannot be estimated (fewer than 5 frame-sides
        with hip, knee and ankle).
    """
    value = leg_length(seq) if length is None else float(length)
    if not np.isfinite(value) or value <= 0:
        raise PoseDataError(
            f"{seq.video_id or 'sequence'}: cannot estimate a leg length (fewer than 5 frames with hip, knee "
            "and ankle of one side); the sequence cannot be normalised"
        )
    kp = seq.keypoints.copy()
    kp[:, :, 0:2] /= np.float32(value)
    root = None if seq.root is None else seq.root / value
    return seq.replace(keypoints=kp, root=root, info={"scale_by_leg_length": {"leg_length": value}})
