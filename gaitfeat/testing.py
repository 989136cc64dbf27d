"""Hand-built stick-figure walkers with known geometry, for tests and examples.

This is not the gait simulator (:mod:`gaitfeat.simulate`, with realistic
paediatric kinematics, pathology and detector noise): it is a deliberately
simple, exactly known motion — sinusoidal hip and knee angles, constant
forward speed, an optional turn about the vertical axis — so that tests can
state the right answer by hand.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.layouts import BODY25, convert_keypoints, get_layout
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D

__all__ = ["stick_walker", "stick_walker_3d", "rolling_walker", "STICK_SEGMENTS"]

#: Segment lengths of the stick figure, in leg lengths (thigh + shank = 1).
STICK_SEGMENTS = {"thigh": 0.53, "shank": 0.47, "torso": 0.62, "upper_arm": 0.33, "forearm": 0.30}

# Half the hip width and shoulder width (leg lengths): visible only while turning.
_HALF_WIDTH = {"hip": 0.1, "shoulder": 0.12, "head": 0.04}


def _body_frame(phase: np.ndarray, hip_amp: float, knee_amp: float, arm_amp: float) -> tuple[np.ndarray, np.ndarray]:
    """BODY_25 joints in a body frame: x forward, y up, z to the left; hips at the origin.

    Returns ``(xy, z)``: ``(T, 25, 2)`` and ``(25,)`` lateral offsets.
    """
    T = phase.size
    s = STICK_SEGMENTS
    xy = np.zeros((T, 25, 2))
    z = np.zeros(25)
    j = BODY25.index
    neck = np.array([0.0, s["torso"]])
    for side, offset, sign in (("left", 0.0, 1.0), ("right", np.pi, -1.0)):
        ph = phase + offset
        hip_angle = hip_amp * np.sin(ph)  # flexion positive (thigh forward)
        knee_flex = knee_amp * 0.5 * (1.0 + np.sin(ph + np.pi / 2))  # >= 0
        hip = np.zeros((T, 2))
        knee = hip + s["thigh"] * np.stack([np.sin(hip_angle), -np.cos(hip_angle)], axis=1)
        shank_angle = hip_angle - knee_flex
        ankle = knee + s["shank"] * np.stack([np.sin(shank_angle), -np.cos(shank_angle)], axis=1)
        xy[:, j(f"{side}_hip")] = hip
        xy[:, j(f"{side}_knee")] = knee
        xy[:, j(f"{side}_ankle")] = ankle
        xy[:, j(f"{side}_heel")] = ankle + [-0.06, -0.05]
        xy[:, j(f"{side}_big_toe")] = ankle + [0.15, -0.07]
        xy[:, j(f"{side}_small_toe")] = ankle + [0.13, -0.07]
        # Arms swing against the same-side leg.
        arm_angle = -arm_amp * np.sin(ph)
        shoulder = np.broadcast_to(neck, (T, 2))
        elbow = shoulder + s["upper_arm"] * np.stack([np.sin(arm_angle), -np.cos(arm_angle)], axis=1)
        fore = arm_angle + 0.3
        wrist = elbow + s["forearm"] * np.stack([np.sin(fore), -np.cos(fore)], axis=1)
        xy[:, j(f"{side}_shoulder")] = shoulder
        xy[:, j(f"{side}_elbow")] = elbow
        xy[:, j(f"{side}_wrist")] = wrist
        for name in ("hip", "knee", "ankle", "heel", "big_toe", "small_toe"):
            z[j(f"{side}_{name}")] = sign * _HALF_WIDTH["hip"]
        for name in ("shoulder", "elbow", "wrist"):
            z[j(f"{side}_{name}")] = sign * _HALF_WIDTH["shoulder"]
        z[j(f"{side}_eye")] = sign * _HALF_WIDTH["head"]
        z[j(f"{side}_ear")] = sign * 0.07
    xy[:, j("neck")] = neck
    xy[:, j("mid_hip")] = 0.0
    xy[:, j("nose")] = neck + [0.12, 0.26]
    xy[:, j("left_eye")] = xy[:, j("right_eye")] = neck + [0.10, 0.29]
    xy[:, j("left_ear")] = xy[:, j("right_ear")] = neck + [-0.02, 0.27]
    return xy, z


def stick_walker(
    n_frames: int = 300,
    *,
    fps: float = 30.0,
    layout: str = "body25",
    direction: int = 1,
    leg_px: float = 200.0,
    cadence: float = 120.0,
    step_length: float = 0.6,
    hip_amp_deg: float = 22.0,
    knee_amp_deg: float = 60.0,
    arm_amp_deg: float = 15.0,
    turn_at: int | None = None,
    turn_frames: int = 30,
    origin: tuple[float, float] = (300.0, 600.0),
    confidence: float = 0.9,
    patient_id: str | None = "p0",
    video_id: str | None = "walk0",
) -> PoseSequence:
    """A stick figure walking past a side camera, in image pixels.

    Parameters
    ----------
    n_frames : int
    fps : float
    layout : {"body25", "coco17"}
    direction : {+1, -1}
        Walking direction in the image at the start (+1: towards +x).
    leg_px : float
        Leg length (thigh + shank) in pixels.
    cadence : float
        Steps per minute (a stride is two steps).
    step_length : float
        Forward progression per step, in leg lengths.
    hip_amp_deg, knee_amp_deg, arm_amp_deg : float
        Amplitudes of the hip angle (+-), knee flexion (0..amp) and arm swing (+-).
    turn_at : int, optional
        Frame at which a turn about the vertical axis starts; the walker
        stands while turning for ``turn_frames`` frames, then walks back.
    origin : (float, float)
        Image position (px) of the hip midpoint at frame 0.
    confidence : float
        Confidence of every keypoint.

    Returns
    -------
    PoseSequence
        Image coordinates (y down). ``info["truth"]`` holds the true
        direction per frame (+1/-1, 0 while turning) and the leg length.
    """
    if direction not in (1, -1):
        raise ValueError("direction must be +1 or -1")
    t = np.arange(n_frames) / fps
    stride_hz = cadence / 120.0
    phase = 2 * np.pi * stride_hz * t
    xy, z = _body_frame(phase, np.radians(hip_amp_deg), np.radians(knee_amp_deg), np.radians(arm_amp_deg))

    # Heading angle phi: 0 walks towards +x (for direction=+1), pi the other way.
    phi = np.zeros(n_frames)
    truth_dir = np.full(n_frames, direction, dtype=np.int8)
    speed = step_length * cadence / 60.0  # leg lengths per second
    progress = speed * t
    if turn_at is not None:
        stop = min(n_frames, turn_at + turn_frames)
        k = np.arange(n_frames)
        ramp = np.clip((k - turn_at) / max(turn_frames, 1), 0.0, 1.0)
        phi = np.pi * ramp
        truth_dir[(k >= turn_at) & (k < stop)] = 0
        truth_dir[k >= stop] = -direction
        # Forward progress stops during the turn and reverses after it.
        t_turn = turn_at / fps
        after = np.clip(t - (turn_at + turn_frames) / fps, 0.0, None)
        progress = np.where(t < t_turn, speed * t, speed * t_turn - speed * after)
    # Project: rotation about the vertical axis by phi, then the image axis.
    x_body = xy[:, :, 0] * np.cos(phi)[:, None] + z[None, :] * np.sin(phi)[:, None]
    x_img = origin[0] + direction * leg_px * (x_body + progress[:, None])
    y_img = origin[1] - leg_px * xy[:, :, 1]
    kp = np.stack([x_img, y_img, np.full_like(x_img, confidence)], axis=-1)
    lay = get_layout(layout)
    kp = convert_keypoints(kp, BODY25, lay)
    info = {"truth": {"direction": truth_dir, "leg_px": leg_px, "cadence": cadence, "step_length": step_length}}
    return PoseSequence(kp, fps, lay.name, patient_id=patient_id, video_id=video_id, info=info)


def stick_walker_3d(
    n_frames: int = 300,
    *,
    fps: float = 30.0,
    leg_m: float = 0.8,
    cadence: float = 120.0,
    step_length: float = 0.6,
    turn_at: int | None = None,
    turn_frames: int = 30,
    heading_deg: float = 0.0,
    view: str = "lab",
    camera_pitch_deg: float = 8.0,
    units: str = "m",
    layout: str = "body25",
    trunk_lean_deg: float = 0.0,
    video_id: str | None = "walk3d",
) -> PoseSequence3D:
    """The stick walker of :func:`stick_walker` in 3-D, in metres, with known truth.

    Parameters
    ----------
    n_frames, fps, cadence, step_length, turn_at, turn_frames
        As in :func:`stick_walker` (``step_length`` in leg lengths).
    leg_m : float
        Leg length (m); heels are ``0.2 * leg_m`` apart sideways.
    heading_deg : float
        Direction of the walkway in the horizontal plane (degrees from +X).
    view : {"lab", "behind"}
        ``"lab"``: a Y-up laboratory frame (``vertical=(0, 1, 0)``);
        ``"behind"``: camera coordinates (x right, y down, z forward) of a
        camera 1 m high and 3 m behind the start, looking along the walkway
        and pitched down by ``camera_pitch_deg``; the vertical is not given.
    units : {"m", "mm"}
    layout : str
        Any layout; joints it lacks are absent.
    trunk_lean_deg : float
        Forward lean of the upper body (a shear of everything above the hips).

    Returns
    -------
    PoseSequence3D
        ``info["truth"]``: cadence (steps/min), step_length_m, stride_length_m,
        speed_m_s, step_width_m, the true up vector in the data's frame.
    """
    t = np.arange(n_frames) / fps
    phase = 2 * np.pi * cadence / 120.0 * t
    body, z_left = _body_frame(phase, np.radians(22.0), np.radians(60.0), np.radians(15.0))
    upper = body[:, :, 1] > 0.05
    body[:, :, 0] += np.where(upper, body[:, :, 1] * np.tan(np.radians(trunk_lean_deg)), 0.0)
    speed = step_length * cadence / 60.0
    phi = np.zeros(n_frames)
    progress = speed * t
    if turn_at is not None:
        k = np.arange(n_frames)
        phi = np.pi * np.clip((k - turn_at) / max(turn_frames, 1), 0.0, 1.0)
        t_turn = turn_at / fps
        after = np.clip(t - (turn_at + turn_frames) / fps, 0.0, None)
        progress = np.where(t < t_turn, speed * t, speed * t_turn - speed * after)
    c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
    fwd = progress[:, None] + body[:, :, 0] * c - z_left[None, :] * s  # along the walkway
    left = body[:, :, 0] * s + z_left[None, :] * c
    up = body[:, :, 1]
    # Walkway frame (X along, Y up, Z to the right of the outward walk), then rotated by the heading about Y.
    h = np.radians(heading_deg)
    world = np.stack([fwd * np.cos(h) + left * np.sin(h), up, fwd * np.sin(h) - left * np.cos(h)], axis=-1) * leg_m
    if view == "lab":
        positions, vertical = world, np.array([0.0, 1.0, 0.0])
    elif view == "behind":
        # Camera axes in world coordinates: forward along the walkway, pitched down; y down; x right.
        p = np.radians(camera_pitch_deg)
        walk = np.array([np.cos(h), 0.0, np.sin(h)])
        forward = np.cos(p) * walk - np.sin(p) * np.array([0.0, 1.0, 0.0])
        down = -np.cross(np.cross(forward, [0.0, 1.0, 0.0]), forward)
        down = down / np.linalg.norm(down)
        down = -down if down[1] > 0 else down
        right = np.cross(down, forward)
        centre = -3.0 * walk + np.array([0.0, 1.0 + 0.45 * leg_m, 0.0]) - np.array([0.0, 0.0, 0.0])
        rot = np.stack([right, down, forward])
        positions = (world - centre) @ rot.T
        vertical = rot @ np.array([0.0, 1.0, 0.0])
    else:
        raise ValueError(f"view must be 'lab' or 'behind', got {view!r}")
    scale = 1000.0 if units == "mm" else 1.0
    truth = {"cadence": cadence, "step_length_m": step_length * leg_m, "stride_length_m": 2 * step_length * leg_m,
             "speed_m_s": speed * leg_m, "step_width_m": 2 * _HALF_WIDTH["hip"] * leg_m, "leg_m": leg_m,
             "up": [float(v) for v in vertical]}
    seq = PoseSequence3D(positions * scale, fps, "body25", units=units,
                         vertical=vertical if view == "lab" else None, video_id=video_id, info={"truth": truth})
    return seq.to_layout(layout)


def _knee(hip: np.ndarray, ankle: np.ndarray, thigh: float, shank: float) -> np.ndarray:
    """Knee position (T, 2) of a two-link leg from hip to ankle, bending forward (x forward, y up)."""
    d = ankle - hip
    r = np.clip(np.hypot(d[:, 0], d[:, 1]), 1e-9, thigh + shank - 1e-9)
    along = (thigh**2 - shank**2 + r**2) / (2 * r)  # distance from the hip to the knee's foot point on hip-ankle
    h = np.sqrt(np.clip(thigh**2 - along**2, 0.0, None))
    u = d / r[:, None]
    normal = np.stack([-u[:, 1], u[:, 0]], axis=1)  # hip->ankle turned counter-clockwise
    normal *= np.where(normal[:, :1] >= 0, 1.0, -1.0)  # the knee bends forward (+x)
    return hip + along[:, None] * u + h[:, None] * normal


def rolling_walker(
    n_frames: int = 240,
    *,
    fps: float = 30.0,
    layout: str = "coco17",
    stride_length: float = 1.3,
    cadence: float = 110.0,
    stance: float = 0.6,
    roll: float = 0.15,
    leg_px: float = 200.0,
    pan: float = 0.0,
    patient_id: str | None = "p0",
    video_id: str | None = "roll0",
) -> PoseSequence:
    """A walker whose ankle rolls forward over the ground during stance, filmed from the side.

    Unlike a planted foot, each ankle moves forward by ``roll`` leg lengths
    between its heel strike and its toe-off (smoothly: heel rocker, heel
    rise), then swings forward by the rest of the stride. The pelvis moves at
    the constant speed ``stride_length * cadence / 120`` leg lengths/s, so
    every point of the body advances exactly one ``stride_length`` per stride:
    the known answer. A method that assumes the stance ankle stands still
    measures the stride about ``roll`` too short.

    Parameters
    ----------
    n_frames : int
    fps : float
    layout : {"coco17", "body25"}
    stride_length : float
        Leg lengths (thigh + shank = 1).
    cadence : float
        Steps per minute.
    stance : float
        Stance phase as a fraction of the gait cycle.
    roll : float
        Forward travel of the ankle during stance (leg lengths).
    leg_px : float
        Leg length in pixels.
    pan : float
        Fraction of the walker's progression the camera follows (0: static,
        1: the pelvis stays in the middle of the image).

    Returns
    -------
    PoseSequence
        Image coordinates (y down), walking towards +x; ``info["truth"]``
        holds ``stride_length``, ``cadence``, ``speed`` (leg lengths/s) and ``roll``.
    """
    if not 0.0 < stance < 1.0 or roll < 0 or roll >= stride_length:
        raise ValueError("need 0 < stance < 1 and 0 <= roll < stride_length")
    t = np.arange(n_frames) / fps
    stride_s = 120.0 / cadence
    speed = stride_length / stride_s
    s = STICK_SEGMENTS
    ankle_height = 0.08
    pelvis = np.stack([speed * t, np.full(n_frames, 0.86)], axis=1)
    j = BODY25.index
    xy = np.zeros((n_frames, 25, 2))
    for side, offset in (("left", 0.0), ("right", 0.5)):
        cycle = t / stride_s + offset
        k = np.floor(cycle)
        phi = cycle - k
        # Footprint of stride k: the ankle at heel strike, placed so that the ankle is
        # half a stride ahead of the pelvis at heel strike... minus the stance roll.
        start = speed * (k * stride_s - offset * stride_s) + 0.5 * stride_length - 0.5 * roll
        x = np.where(phi < stance, start + roll * _smooth(phi / stance),
                     start + roll + (stride_length - roll) * _smooth((phi - stance) / (1 - stance)))
        lift = np.where(phi < stance, 0.0, 0.12 * np.sin(np.pi * (phi - stance) / (1 - stance)))
        ankle = np.stack([x, ankle_height + lift], axis=1)
        hip = pelvis.copy()
        knee = _knee(hip, ankle, s["thigh"], s["shank"])
        xy[:, j(f"{side}_hip")] = hip
        xy[:, j(f"{side}_knee")] = knee
        xy[:, j(f"{side}_ankle")] = ankle
        xy[:, j(f"{side}_heel")] = ankle + [-0.07, -0.07]
        xy[:, j(f"{side}_big_toe")] = ankle + [0.2, -0.07]
        xy[:, j(f"{side}_small_toe")] = ankle + [0.17, -0.07]
        xy[:, j(f"{side}_shoulder")] = pelvis + [0.03, s["torso"]]
        xy[:, j(f"{side}_elbow")] = pelvis + [0.05, s["torso"] - s["upper_arm"]]
        xy[:, j(f"{side}_wrist")] = pelvis + [0.15, s["torso"] - s["upper_arm"] - 0.2]
        xy[:, j(f"{side}_ear")] = pelvis + [0.0, s["torso"] + 0.27]
        xy[:, j(f"{side}_eye")] = pelvis + [0.1, s["torso"] + 0.29]
    xy[:, j("neck")] = pelvis + [0.03, s["torso"]]
    xy[:, j("mid_hip")] = pelvis
    xy[:, j("nose")] = pelvis + [0.14, s["torso"] + 0.26]
    camera = pan * (pelvis[:, 0] - pelvis[0, 0])
    x_img = 100.0 + leg_px * (xy[:, :, 0] - camera[:, None])
    y_img = 600.0 - leg_px * xy[:, :, 1]
    kp = np.stack([x_img, y_img, np.full_like(x_img, 0.9)], axis=-1)
    lay = get_layout(layout)
    kp = convert_keypoints(kp, BODY25, lay)
    info = {"truth": {"stride_length": stride_length, "cadence": cadence, "speed": speed, "roll": roll,
                      "leg_px": leg_px}}
    return PoseSequence(kp, fps, lay.name, patient_id=patient_id, video_id=video_id, info=info)


def _smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep from 0 to 1 over [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
