"""From 3-D poses to the 2-D views the pipeline analyses: the walk's sagittal or frontal plane.

A 3-D sequence from any camera angle (a lifter's camera coordinates, a lab's
Z-up frame, an OpenSim Y-up frame) is turned into the 2-D
:class:`~gaitfeat.pose.PoseSequence` a perfect side camera would have
recorded, in metres, so that preprocessing, clips, features and models run
unchanged and spatial features need no body height:

1. **The vertical** is the sequence's own (``PoseSequence3D.vertical``, e.g.
   Y up in a TRC file) when known. Otherwise it is estimated from the
   skeleton: the mean pelvis-to-neck direction, with its component along the
   walking direction removed, because a forward trunk lean tilts the trunk
   in the sagittal plane but the walk itself is horizontal.
2. **Walking bouts** are stretches where the pelvis moves at least
   ``min_speed`` in a steady horizontal heading; a turn (a heading change
   beyond ``max_turn_deg``) or a stop ends a bout. Each bout's **walking
   direction** is the principal horizontal direction of its pelvis path.
3. **Projection**: for the sagittal plane, x is the horizontal coordinate
   along the bout's direction and y the height (image convention, y down);
   the depth is dropped. A bout on the same line as the previous one (an
   out-and-back walk) keeps the previous bout's axis, so that walking back
   is walking towards -x, as a side camera sees it; a bout in a new
   direction continues x where the previous one ended. Frames between bouts
   (turns, standing) take the nearest bout's axis. The frontal plane keeps
   the lateral coordinate (to the walker's right of the bout's direction)
   instead.

A skeleton that never travels (MediaPipe's hip-centred world landmarks)
has no path: its direction is then the way the body faces (the vertical
crossed with the hip axis) and x does not progress, like a treadmill walk.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from gaitfeat.errors import PoseDataError
from gaitfeat.layouts import absent_joints, get_layout, map_confidence, map_joints, pipeline_layout_for
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D

__all__ = ["project_to_walking_plane", "estimate_vertical", "walking_bouts"]

#: Smallest pelvis travel (m) over the walk for its path to define a direction.
MIN_TRAVEL_M = 0.5


def _mid(positions: np.ndarray, names: tuple[str, str], layout: str) -> np.ndarray:
    lay = get_layout(layout, pipeline=False)
    a, b = lay.indices(*names)
    return 0.5 * (positions[:, a] + positions[:, b])


def _fill(path: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN frames (edges held), per coordinate."""
    out = path.copy()
    ok = np.isfinite(out).all(axis=1)
    t = np.arange(len(out))
    for c in range(out.shape[1]):
        out[:, c] = np.interp(t, t[ok], out[ok, c])
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _pelvis_and_trunk(seq: PoseSequence3D) -> tuple[np.ndarray, np.ndarray]:
    lay = seq.skeleton
    if not (lay.has("left_hip") and lay.has("right_hip")):
        raise PoseDataError(f"{seq.video_id or 'sequence'}: layout {seq.layout!r} has no hips; cannot find the pelvis")
    pelvis = _mid(seq.positions, ("left_hip", "right_hip"), seq.layout)
    if lay.has("left_shoulder") and lay.has("right_shoulder"):
        top = _mid(seq.positions, ("left_shoulder", "right_shoulder"), seq.layout)
    else:
        top = seq.positions[:, lay.index("neck")] if lay.has("neck") else np.full_like(pelvis, np.nan)
    ok = np.isfinite(pelvis).all(axis=1)
    if seq.n_frames < 5:
        raise PoseDataError(f"{seq.video_id or 'sequence'}: {seq.n_frames} frames are too few to find the walking "
                            "plane (at least 5)")
    if ok.sum() < max(5, 0.1 * seq.n_frames):
        raise PoseDataError(f"{seq.video_id or 'sequence'}: hips found in only {int(ok.sum())} of {seq.n_frames} "
                            "frames; the walking plane cannot be estimated")
    return pelvis, top - pelvis


def _principal(vectors: np.ndarray) -> np.ndarray:
    """Dominant axis (unit, sign arbitrary) of row vectors: the top eigenvector of their second moment."""
    v = vectors[np.isfinite(vectors).all(axis=1)]
    w, e = np.linalg.eigh(v.T @ v)
    return e[:, -1]


def estimate_vertical(seq: PoseSequence3D) -> tuple[np.ndarray, str]:
    """The up direction of a 3-D sequence and how it was found (``"given"`` or ``"skeleton"``).

    From the skeleton: the mean unit pelvis-to-neck vector, made
    perpendicular to the walking direction (the dominant axis of the
    pelvis's 0.5-s displacements, which are horizontal), so that a forward
    trunk lean does not tilt the estimate; with less than
    :data:`MIN_TRAVEL_M` of travel the trunk axis alone.

    Raises
    ------
    PoseDataError
        Fewer than 5 frames with hips and shoulders (or neck).
    """
    if seq.vertical is not None:
        return np.asarray(seq.vertical, dtype=np.float64), "given"
    pelvis, trunk = _pelvis_and_trunk(seq)
    norms = np.linalg.norm(trunk, axis=1)
    ok = np.isfinite(norms) & (norms > 0)
    path = _fill(pelvis)
    lag = max(1, int(round(0.5 * seq.fps)))
    if ok.sum() < 5:
        up = _up_from_hips_and_path(seq, path, lag)
        if up is None:
            raise PoseDataError(f"{seq.video_id or 'sequence'}: fewer than 5 frames with hips and shoulders, and no "
                                "walk to take the vertical from; the vertical cannot be estimated (give it: "
                                "PoseSequence3D(vertical=...))")
        return up, "skeleton"
    up = _unit(np.mean(trunk[ok] / norms[ok, None], axis=0))
    if len(path) > lag:
        # The walk is horizontal: the dominant axis of the pelvis's 3-D displacements is a horizontal
        # direction, whatever the trunk does. (Its horizontal part with respect to the trunk estimate
        # would not do: it inherits the estimate's tilt.)
        moves = path[lag:] - path[:-lag]
        if np.ptp(path, axis=0).max() >= MIN_TRAVEL_M:
            d = _principal(moves)
            up = _unit(up - (up @ d) * d)
    return up, "skeleton"


def _up_from_hips_and_path(seq: PoseSequence3D, path: np.ndarray, lag: int) -> np.ndarray | None:
    """Without a trunk (lower-body marker sets): up = hip axis (left to right) x the way walked, averaged.

    Both are horizontal; walking back flips both, so their cross product keeps
    pointing up. The sign is checked against the legs (hips above ankles or knees).
    """
    lay = seq.skeleton
    if len(path) <= lag or np.ptp(path, axis=0).max() < MIN_TRAVEL_M:
        return None
    right = seq.positions[:, lay.index("right_hip")] - seq.positions[:, lay.index("left_hip")]
    moves = np.zeros_like(path)
    moves[:-lag] = path[lag:] - path[:-lag]
    cross = np.cross(right, moves)
    size = np.linalg.norm(cross, axis=1)
    ok = np.isfinite(size) & (size > 0)
    if ok.sum() < 5:
        return None
    up = _unit(np.mean(cross[ok] / size[ok, None], axis=0))
    for joint in ("ankle", "knee"):
        if lay.has(f"left_{joint}"):
            below = np.nanmean(_mid(seq.positions, (f"left_{joint}", f"right_{joint}"), seq.layout) - path, axis=0)
            if np.isfinite(below).all() and below @ up > 0:
                up = -up
            break
    d = _principal(moves[ok])
    return _unit(up - (up @ d) * d)


def walking_bouts(horizontal: np.ndarray, fps: float, *, min_speed: float = 0.15, max_turn_deg: float = 45.0,
                  min_bout_s: float = 1.0) -> list[tuple[int, int]]:
    """Frame ranges ``[start, stop)`` of steady walking in one heading.

    Parameters
    ----------
    horizontal : ndarray (T, 2)
        The pelvis path in a horizontal basis (m), no NaN.
    fps : float
    min_speed : float
        Pelvis speed (m/s, over a 0.5-s window) below which the walker is
        turning on the spot or standing.
    max_turn_deg : float
        Heading change from a bout's initial heading that ends it.
    min_bout_s : float
        Shorter stretches are not bouts (they are part of a turn).
    """
    n = len(horizontal)
    half = max(1, int(round(0.25 * fps)))
    smooth = uniform_filter1d(horizontal, 2 * half + 1, axis=0, mode="nearest")
    vel = np.gradient(smooth, axis=0) * fps
    vel = uniform_filter1d(vel, 2 * half + 1, axis=0, mode="nearest")
    speed = np.hypot(vel[:, 0], vel[:, 1])
    heading = np.arctan2(vel[:, 1], vel[:, 0])
    bouts, t = [], 0
    limit = np.deg2rad(max_turn_deg)
    while t < n:
        if speed[t] < min_speed:
            t += 1
            continue
        ref = heading[t: t + half + 1][speed[t: t + half + 1] >= min_speed]
        ref = np.angle(np.mean(np.exp(1j * ref)))
        start = t
        while t < n and speed[t] >= min_speed and abs(np.angle(np.exp(1j * (heading[t] - ref)))) <= limit:
            t += 1
        if t - start >= min_bout_s * fps:
            bouts.append((start, t))
    return bouts


def project_to_walking_plane(seq: PoseSequence3D, plane: str = "sagittal", *, layout: str | None = None,
                             min_speed: float = 0.15, max_turn_deg: float = 45.0) -> PoseSequence:
    """A 2-D sequence in metres as seen by a camera square to the walk's sagittal (or frontal) plane.

    Parameters
    ----------
    seq : PoseSequence3D
        Any layout; mapped to ``layout`` with :func:`gaitfeat.layouts.map_joints`
        (joints it lacks stay missing and are listed in
        ``info["projection"]["absent_joints"]``).
    plane : {"sagittal", "frontal"}
        Sagittal: x along the walking direction (a side view). Frontal: x to
        the walker's right of the walking direction (a view from behind).
    layout : {"body25", "coco17"}, optional
        Pipeline layout; by default ``body25`` when the source has heels and
        big toes, else ``coco17`` (:func:`gaitfeat.layouts.pipeline_layout_for`).
    min_speed, max_turn_deg
        Walking-bout detection (see :func:`walking_bouts`).

    Returns
    -------
    PoseSequence
        Keypoints x, y (m; y down as in an image) and the 3-D confidence;
        ``info["projection"]`` records the plane, units ``"m"``, the
        vertical and its source, the bouts (first and last frame + 1, the
        3-D walking direction, the heading change from the first bout in
        degrees, and ``frames``: the range of frames projected with its
        axis, turns split at their middle) and the absent joints. After
        :func:`gaitfeat.preprocessing.preprocess` the leg length in
        ``info["scale_by_leg_length"]`` is therefore in metres.

    Raises
    ------
    PoseDataError
        No hips in enough frames, no vertical can be estimated, a body
        size that contradicts the units (:meth:`PoseSequence3D.check_units`).
    ValueError
        Unknown ``plane``.
    """
    if not isinstance(seq, PoseSequence3D):
        raise TypeError(f"project_to_walking_plane needs a PoseSequence3D, got {type(seq).__name__}")
    if plane not in ("sagittal", "frontal"):
        raise ValueError(f"plane must be 'sagittal' or 'frontal', got {plane!r}")
    target = get_layout(layout if layout is not None else pipeline_layout_for(seq.layout)).name
    seq.check_units()  # metres labelled mm (or the reverse) would give a 1000-fold stride
    seq = seq.to_metres()
    up, source = estimate_vertical(seq)
    pelvis, _ = _pelvis_and_trunk(seq)
    path = _fill(pelvis)
    # A horizontal basis (e1, e2) with e1 x e2 = up.
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    e1 = _unit(helper - (helper @ up) * up)
    e2 = np.cross(up, e1)
    flat = np.stack([path @ e1, path @ e2], axis=1)
    travel = float(np.ptp(flat, axis=0).max())
    bouts = walking_bouts(flat, seq.fps, min_speed=min_speed, max_turn_deg=max_turn_deg) if travel >= MIN_TRAVEL_M else []

    axes: list[np.ndarray] = []
    if bouts:
        for start, stop in bouts:
            a = _principal(flat[start:stop] - flat[start:stop].mean(axis=0))
            if axes and abs(a @ axes[-1]) >= np.cos(np.deg2rad(max_turn_deg)):
                a = a if a @ axes[-1] > 0 else -a  # same line: keep the previous bout's orientation
            elif (flat[stop - 1] - flat[start]) @ a < 0:
                a = -a  # a new line: x grows along the way walked
            axes.append(a)
    else:
        # No path (hip-centred data, or walking on the spot): the facing direction, up x (right hip - left hip).
        lay = seq.skeleton
        right = seq.positions[:, lay.index("right_hip")] - seq.positions[:, lay.index("left_hip")]
        facing = np.cross(up, np.nanmean(right, axis=0))
        if not np.isfinite(facing).all() or np.linalg.norm(facing) == 0:
            raise PoseDataError(f"{seq.video_id or 'sequence'}: the walk neither travels nor shows its hip axis; "
                                "no walking direction")
        f = _unit(facing)
        axes.append(np.array([f @ e1, f @ e2]))
        bouts = [(0, seq.n_frames)]
    # Each frame takes the axis of the nearest bout (turns split at their middle).
    mids = [0] + [(bouts[k][1] + bouts[k + 1][0]) // 2 for k in range(len(bouts) - 1)] + [seq.n_frames]
    owner = np.zeros(seq.n_frames, dtype=np.int64)
    for k in range(len(bouts)):
        owner[mids[k]: mids[k + 1]] = k

    pos = map_joints(seq.positions, seq.layout, target)  # (T, V, 3), m
    conf = map_confidence(seq.confidence, seq.layout, target)
    height = pos @ up
    horiz = np.stack([pos @ e1, pos @ e2], axis=-1)  # (T, V, 2)
    x = np.empty(height.shape)
    start_x = 0.0  # sagittal: the pelvis's x where the bout's frames begin, carried over from the previous axis
    for k, a in enumerate(axes):
        frames = owner == k
        origin = flat[mids[k]]
        if plane == "sagittal":
            if k > 0:
                start_x += float((flat[mids[k]] - flat[mids[k - 1]]) @ axes[k - 1])
            x[frames] = (horiz[frames] - origin) @ a + start_x
        else:
            lateral = np.array([a[1], -a[0]])  # the walker's right: the direction x up
            x[frames] = (horiz[frames] - origin) @ lateral
    kp = np.stack([x, -height, conf], axis=-1).astype(np.float32)
    kp[~np.isfinite(kp[..., 0]) | ~np.isfinite(kp[..., 1]), 2] = 0.0
    first_axis = axes[0]
    info = {
        "projection": {
            "plane": plane,
            "units": "m",
            "source_layout": seq.layout,
            "layout": target,
            "absent_joints": list(absent_joints(seq.layout, target)),
            "vertical": [float(v) for v in up],
            "vertical_source": source,
            "travel_m": travel,
            "bouts": [{"start": int(s), "stop": int(e), "frames": [int(mids[k]), int(mids[k + 1])],
                       "turn_deg": float(np.degrees(np.arctan2(first_axis[0] * a[1] - first_axis[1] * a[0],
                                                               a @ first_axis))),
                       "direction": [float(v) for v in a[0] * e1 + a[1] * e2]}
                      for k, ((s, e), a) in enumerate(zip(bouts, axes))],
        }
    }
    info.update({k: v for k, v in seq.info.items() if k != "projection"})
    return PoseSequence(kp, seq.fps, target, patient_id=seq.patient_id, video_id=seq.video_id, info=info)
