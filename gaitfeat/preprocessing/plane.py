"""From 3-D poses to the 2-D views the pipeline analyses: the walk's sagittal or frontal plane.

A 3-D sequence from any camera angle (a lifter's camera coordinates, a lab's
Z-up frame, an OpenSim Y-up frame) is turned into the 2-D
:class:`~gaitfeat.pose.PoseSequence` a perfect side camera would have
recorded, in metres, so that preprocessing, clips, features and models run
unchanged and spatial features need no body height:

1. **The vertical** is the sequence's own when known, checked against the
   skeleton, or else estimated from it (:mod:`gaitfeat.preprocessing.vertical`).
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
   the lateral coordinate instead: to the walker's right of the direction
   walked in each bout, from the bout's line (so it does not jump at a turn).

A skeleton that never travels (MediaPipe's hip-centred world landmarks,
root-relative lifter output) has no path: its axis is then the line the body
faces along (the vertical crossed with the hip axis, frame by frame, sign
ignored, so an out-and-back walk keeps one axis) and x does not progress,
like a treadmill walk.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from gaitfeat.errors import PoseDataError
from gaitfeat.layouts import absent_joints, get_layout, map_confidence, map_joints, pipeline_layout_for
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing.vertical import MIN_TRAVEL_M, estimate_vertical, fill, pelvis_and_trunk, principal, unit

__all__ = ["project_to_walking_plane", "estimate_vertical", "walking_bouts"]


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


def _facing_axis(seq: PoseSequence3D, up: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Hip-centred data (no path): the axis the body faces along, up x (right hip - left hip) per frame.

    The dominant axis of the per-frame facing directions, sign ignored: an
    out-and-back walk faces both ways along one line. Signed to the first
    frames' facing.
    """
    lay = seq.skeleton
    right = seq.positions[:, lay.index("right_hip")] - seq.positions[:, lay.index("left_hip")]
    facing = np.cross(up, right)
    facing = np.stack([facing @ e1, facing @ e2], axis=1)
    size = np.linalg.norm(facing, axis=1)
    ok = np.isfinite(size) & (size > 0)
    if ok.sum() < 5:
        raise PoseDataError(f"{seq.video_id or 'sequence'}: the walk neither travels nor shows its hip axis; "
                            "no walking direction")
    unit_facing = facing[ok] / size[ok, None]
    a = principal(unit_facing)
    return a if unit_facing[: max(5, len(unit_facing) // 10)].sum(axis=0) @ a >= 0 else -a


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
    pelvis, _ = pelvis_and_trunk(seq)
    path = fill(pelvis)
    # A horizontal basis (e1, e2) with e1 x e2 = up.
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    e1 = unit(helper - (helper @ up) * up)
    e2 = np.cross(up, e1)
    flat = np.stack([path @ e1, path @ e2], axis=1)
    travel = float(np.ptp(flat, axis=0).max())
    bouts = walking_bouts(flat, seq.fps, min_speed=min_speed, max_turn_deg=max_turn_deg) if travel >= MIN_TRAVEL_M else []

    axes: list[np.ndarray] = []  # per bout: the x axis of the sagittal view (horizontal, unit, in (e1, e2))
    headings: list[np.ndarray] = []  # per bout: the direction actually walked
    if bouts:
        for start, stop in bouts:
            a = principal(flat[start:stop] - flat[start:stop].mean(axis=0))
            walked = a if (flat[stop - 1] - flat[start]) @ a >= 0 else -a
            if axes and abs(a @ axes[-1]) >= np.cos(np.deg2rad(max_turn_deg)):
                a = a if a @ axes[-1] > 0 else -a  # same line: keep the previous bout's orientation
            else:
                a = walked  # a new line: x grows along the way walked
            axes.append(a)
            headings.append(walked)
    else:
        a = _facing_axis(seq, up, e1, e2)
        axes.append(a)
        headings.append(a)
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
        if plane == "sagittal":
            if k > 0:
                start_x += float((flat[mids[k]] - flat[mids[k - 1]]) @ axes[k - 1])
            x[frames] = (horiz[frames] - flat[mids[k]]) @ a + start_x
        else:
            # The walker's right (direction walked x up), from the bout's line: no jump between bouts.
            w = headings[k]
            right = np.array([w[1], -w[0]])
            x[frames] = (horiz[frames] - flat[bouts[k][0]: bouts[k][1]].mean(axis=0)) @ right
    kp = np.stack([x, -height, conf], axis=-1).astype(np.float32)
    kp[~np.isfinite(kp[..., 0]) | ~np.isfinite(kp[..., 1]), 2] = 0.0
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
                       "turn_deg": float(np.degrees(np.arctan2(headings[0][0] * w[1] - headings[0][1] * w[0],
                                                               w @ headings[0]))),
                       "direction": [float(v) for v in w[0] * e1 + w[1] * e2]}
                      for k, ((s, e), w) in enumerate(zip(bouts, headings))],
        }
    }
    info.update({k: v for k, v in seq.info.items() if k != "projection"})
    return PoseSequence(kp, seq.fps, target, patient_id=seq.patient_id, video_id=seq.video_id, info=info)
