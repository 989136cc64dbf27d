"""Which way is up in a 3-D pose sequence: the given vertical, checked, or one estimated from the skeleton.

Estimation rests on two facts about walking on a level floor: the pelvis
path is horizontal, and on average the trunk stands upright *sideways*
(its lean, a crouching child's 10-20 degrees included, is forwards). So:

* the walk's horizontal directions are those the pelvis travels in: the
  dominant axis of its 0.5-s displacements for a straight or out-and-back
  walk; for a walk that turns a corner, the plane of all its displacements
  (whose normal is then the vertical, up to sign);
* the mean pelvis-to-neck direction, with the walking directions removed,
  is the vertical; on a corner walk the trunk only gives the sign;
* a lower-body marker set without a trunk: the hip axis crossed with the
  direction walked (both horizontal; walking back flips both);
* with no travel at all (hip-centred data, stepping on the spot) only the
  trunk is left: then the vertical *is* the mean trunk axis, so trunk lean
  cannot be measured (``"trunk"``; the 3-D features report it NaN).

A vertical given with the data (a TRC file's Y up, a lab's Z up) is checked
against the skeleton: a wrong axis or sign (Z-up data read as Y-up) would
turn every angle into nonsense without any error.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.errors import PoseDataError
from gaitfeat.layouts import get_layout
from gaitfeat.pose3d import PoseSequence3D

__all__ = ["estimate_vertical", "MIN_TRAVEL_M", "MAX_VERTICAL_DISAGREEMENT_DEG"]

#: Smallest pelvis travel (m) over the walk for its path to define a direction.
MIN_TRAVEL_M = 0.5
#: Largest median angle (deg) between a given vertical and the pelvis-to-neck direction.
MAX_VERTICAL_DISAGREEMENT_DEG = 60.0
# A second horizontal direction of travel this large (ratio of eigenvalues) makes the walk a plane.
_PLANAR_WALK = 0.1


def mid(positions: np.ndarray, names: tuple[str, str], layout: str) -> np.ndarray:
    """Midpoint ``(T, 3)`` of two joints."""
    lay = get_layout(layout, pipeline=False)
    a, b = lay.indices(*names)
    return 0.5 * (positions[:, a] + positions[:, b])


def fill(path: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN frames (edges held), per coordinate."""
    out = path.copy()
    ok = np.isfinite(out).all(axis=1)
    t = np.arange(len(out))
    for c in range(out.shape[1]):
        out[:, c] = np.interp(t, t[ok], out[ok, c])
    return out


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def moments(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the second moment of the finite row vectors."""
    v = vectors[np.isfinite(vectors).all(axis=1)]
    return np.linalg.eigh(v.T @ v)


def principal(vectors: np.ndarray) -> np.ndarray:
    """Dominant axis (unit, sign arbitrary) of row vectors."""
    return moments(vectors)[1][:, -1]


def pelvis_and_trunk(seq: PoseSequence3D) -> tuple[np.ndarray, np.ndarray]:
    """Hip midpoint ``(T, 3)`` and pelvis-to-shoulder-midpoint (or neck, per frame) vectors ``(T, 3)``."""
    lay = seq.skeleton
    name = seq.video_id or "sequence"
    if not (lay.has("left_hip") and lay.has("right_hip")):
        raise PoseDataError(f"{name}: layout {seq.layout!r} has no hips; cannot find the pelvis")
    if seq.n_frames < 5:
        raise PoseDataError(f"{name}: {seq.n_frames} frames are too few to find the walking plane (at least 5)")
    pelvis = mid(seq.positions, ("left_hip", "right_hip"), seq.layout)
    top = np.full_like(pelvis, np.nan)
    if lay.has("left_shoulder") and lay.has("right_shoulder"):
        top = mid(seq.positions, ("left_shoulder", "right_shoulder"), seq.layout)
    if lay.has("neck"):  # frame by frame where the shoulders are missing
        gap = ~np.isfinite(top).all(axis=1)
        top[gap] = seq.positions[gap, lay.index("neck")]
    ok = np.isfinite(pelvis).all(axis=1)
    if ok.sum() < max(5, 0.1 * seq.n_frames):
        raise PoseDataError(f"{name}: hips found in only {int(ok.sum())} of {seq.n_frames} frames; "
                            "the walking plane cannot be estimated")
    return pelvis, top - pelvis


def _trunk_axis(trunk: np.ndarray) -> np.ndarray | None:
    norms = np.linalg.norm(trunk, axis=1)
    ok = np.isfinite(norms) & (norms > 0)
    return unit(np.mean(trunk[ok] / norms[ok, None], axis=0)) if ok.sum() >= 5 else None


def _moves(path: np.ndarray, fps: float) -> np.ndarray | None:
    """The pelvis's 0.5-s displacements (m), or None when the walk travels less than :data:`MIN_TRAVEL_M`."""
    lag = max(1, int(round(0.5 * fps)))
    if len(path) <= lag or np.ptp(path, axis=0).max() < MIN_TRAVEL_M:
        return None
    return path[lag:] - path[:-lag]


def _check_given(seq: PoseSequence3D, up: np.ndarray, trunk_axis: np.ndarray | None, path: np.ndarray) -> None:
    """Refuse a given vertical the skeleton contradicts (another axis, or the opposite sign)."""
    name = seq.video_id or "sequence"
    lay = seq.skeleton
    hint = ("; is the data Z-up (vertical=(0, 0, 1)), a camera frame with y down (vertical=(0, -1, 0)), or the "
            "sign reversed? Give the right vertical, or vertical=None to estimate it from the skeleton")
    if trunk_axis is not None:
        angle = float(np.degrees(np.arccos(np.clip(trunk_axis @ up, -1.0, 1.0))))
        if angle > MAX_VERTICAL_DISAGREEMENT_DEG:
            raise PoseDataError(f"{name}: the given vertical {tuple(np.round(up, 3))} is {angle:.0f} deg from the "
                                f"trunk (pelvis to neck){hint}")
    for joint in ("ankle", "knee"):
        if lay.has(f"left_{joint}") and lay.has(f"right_{joint}"):
            low = np.nanmedian((mid(seq.positions, (f"left_{joint}", f"right_{joint}"), seq.layout) - path) @ up)
            if np.isfinite(low) and low > 0:
                raise PoseDataError(f"{name}: with the given vertical {tuple(np.round(up, 3))} the {joint}s are "
                                    f"above the hips{hint}")
            break


def estimate_vertical(seq: PoseSequence3D) -> tuple[np.ndarray, str]:
    """The up direction of a 3-D sequence and how it was found.

    Returns
    -------
    up : ndarray (3,)
        Unit vector in the sequence's frame.
    source : {"given", "skeleton", "trunk"}
        ``"given"``: the sequence's own, checked against the skeleton;
        ``"skeleton"``: from the walk and the trunk (or hip axis);
        ``"trunk"``: the walk does not travel, so the mean trunk axis is
        taken as vertical and trunk lean cannot be measured.

    Raises
    ------
    PoseDataError
        A given vertical the skeleton contradicts by more than
        :data:`MAX_VERTICAL_DISAGREEMENT_DEG` (or with the ankles above the
        hips); too few frames with hips; no trunk and no walk to take the
        vertical from.
    """
    seq = seq.to_metres()
    name = seq.video_id or "sequence"
    pelvis, trunk = pelvis_and_trunk(seq)
    path = fill(pelvis)
    trunk_axis = _trunk_axis(trunk)
    if seq.vertical is not None:
        up = np.asarray(seq.vertical, dtype=np.float64)
        _check_given(seq, up, trunk_axis, path)
        return up, "given"
    moves = _moves(path, seq.fps)
    if trunk_axis is None:
        up = None if moves is None else _up_from_hips(seq, path, moves)
        if up is None:
            raise PoseDataError(f"{name}: fewer than 5 frames with hips and shoulders, and no walk to take the "
                                "vertical from; the vertical cannot be estimated (give it: PoseSequence3D(vertical=...))")
        return up, "skeleton"
    if moves is None:
        return trunk_axis, "trunk"
    values, vectors = moments(moves)
    if values[1] > _PLANAR_WALK * values[2]:
        # Travel in two horizontal directions (a corner): the vertical is the plane's normal.
        up = vectors[:, 0] if vectors[:, 0] @ trunk_axis > 0 else -vectors[:, 0]
    else:
        d = vectors[:, 2]
        up = trunk_axis - (trunk_axis @ d) * d
    if not np.isfinite(up).all() or np.linalg.norm(up) < 0.1:
        raise PoseDataError(f"{name}: the trunk lies along the direction walked; the vertical cannot be estimated "
                            "(give it: PoseSequence3D(vertical=...))")
    return unit(up), "skeleton"


def _up_from_hips(seq: PoseSequence3D, path: np.ndarray, moves: np.ndarray) -> np.ndarray | None:
    """Without a trunk (lower-body marker sets): hip axis (left to right) x the way walked, averaged."""
    lay = seq.skeleton
    right = seq.positions[:, lay.index("right_hip")] - seq.positions[:, lay.index("left_hip")]
    cross = np.cross(right[: len(moves)], moves)
    size = np.linalg.norm(cross, axis=1)
    ok = np.isfinite(size) & (size > 0)
    if ok.sum() < 5:
        return None
    up = unit(np.mean(cross[ok] / size[ok, None], axis=0))
    for joint in ("ankle", "knee"):  # the sign from the legs: hips above ankles (or knees)
        if lay.has(f"left_{joint}"):
            below = np.nanmedian((mid(seq.positions, (f"left_{joint}", f"right_{joint}"), seq.layout) - path) @ up)
            if np.isfinite(below) and below > 0:
                up = -up
            break
    d = principal(moves[ok])
    return unit(up - (up @ d) * d)
