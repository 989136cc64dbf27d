"""One simulated clinical gait video: walk across, turn, walk back; camera and detector noise.

Other camera placements and 3-D (lifter) output: :mod:`gaitfeat.simulate.views`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from gaitfeat.layouts import BODY25
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.simulate.gdi import gdi_from_params
from gaitfeat.simulate.detector import NOISE_LEVELS, observe as _observe
from gaitfeat.simulate.foot import foot_pitch, foot_shapes, mtp_angle, rolling_contact
from gaitfeat.simulate.kinematics import forward_kinematics, ground_contact, segment_lengths
from gaitfeat.simulate.pathology import ChildParams, draw_child, normative_phase, side_angles
from gaitfeat.simulate.taxonomy import affected_side_of, gait_class_of
from gaitfeat.simulate.views import CAMERAS, foot_lateral, render_view, step_widths, view_generator, world_skeleton

__all__ = ["simulate_walk", "SimulatedWalk", "NOISE_LEVELS", "FESTINATION_STEP_LOSS"]

@dataclass
class SimulatedWalk:
    """A simulated video and everything that is known about it."""

    sequence: PoseSequence | PoseSequence3D
    """What an OpenPose-like detector reports (BODY_25, pixels, noisy); with ``dims=3`` what a
    monocular 3-D lifter reports (BODY_25, camera coordinates in metres, noisy)."""
    clean: PoseSequence | PoseSequence3D
    """The true keypoints (no detector noise), same frames and camera."""
    frames: pd.DataFrame
    """Per-frame truth: walking, direction, phases, joint angles, trunk pitch, position, cadence."""
    events: pd.DataFrame
    """Heel strikes and toe-offs: side, event, frame, time_s, heel_m (position along the walkway)."""
    labels: dict
    """Per-video labels: gmfcs, gdi, speed, cadence, step length, knee flexion at max extension, ..."""
    params: ChildParams
    """The child's parameters."""
    world: np.ndarray | None = None
    """The true 3-D skeleton (T, 25, 3) in the world frame of :mod:`gaitfeat.simulate.views` (m):
    x along the walkway, y up, z towards the side camera; with the child's step width."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _stride_phase(n: int, fps: float, cadence: float, cv: float, rng: np.random.Generator,
                  ramp=None, rise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Gait phase in strides (monotone, 1 per stride) and the stride index per frame, with stride-time variability.

    With ``ramp`` (a function of time in s, 0-1) each stride's duration is divided by
    ``1 + rise * ramp(start of the stride)``: the cadence rises by up to ``rise`` (festination).
    Without it the strides are drawn exactly as they always were.
    """
    stride_s = 120.0 / cadence
    if ramp is None:
        n_strides = int(np.ceil(n / fps / stride_s * 1.3)) + 3
        durations = stride_s * np.clip(1.0 + cv * rng.standard_normal(n_strides), 0.6, 1.5)
        edges = np.concatenate(([0.0], np.cumsum(durations))) - rng.uniform(0, durations[0])
    else:
        n_strides = int(np.ceil(n / fps / stride_s * 1.3 * (1.0 + rise))) + 3
        durations = stride_s * np.clip(1.0 + cv * rng.standard_normal(n_strides), 0.6, 1.5)
        edges = np.empty(n_strides + 1)
        edges[0] = -rng.uniform(0, durations[0])
        for i, d in enumerate(durations):
            edges[i + 1] = edges[i] + d / (1.0 + rise * float(ramp(max(edges[i], 0.0))))
        durations = np.diff(edges)  # the quickened strides
    t = np.arange(n) / fps
    k = np.searchsorted(edges, t, side="right") - 1
    phase = k + (t - edges[k]) / durations[k]
    return phase, k


#: Share of the festination cadence rise that the hip and knee excursions lose (steps shorten as they quicken).
FESTINATION_STEP_LOSS = 0.5


def _festination(params: ChildParams, fps: float, turn_start: int, turn_len: int):
    """The festination ramp (a function of time, s -> 0-1) and its cadence rise, or (None, 0.0).

    ``params.extra["festination"]`` is the cadence rise (fraction) reached
    ``params.extra["festination_s"]`` seconds into each straight pass (smoothly); the
    ramp starts again after the turn, where the walker slows down.
    """
    rise = float(params.extra.get("festination", 0.0)) if isinstance(params.extra, dict) else 0.0
    if not rise > 0.0:
        return None, 0.0
    ramp_s = max(float(params.extra.get("festination_s", 4.0)), 1e-3)
    t_turn, t_back = turn_start / fps, (turn_start + turn_len) / fps

    def ramp(t):
        t = np.asarray(t, dtype=float)
        out = np.where(t < t_turn, _smoothstep(t / ramp_s), _smoothstep((t - t_back) / ramp_s))
        return np.where((t >= t_turn) & (t < t_back), 0.0, out)

    return ramp, rise


def simulate_walk(
    gmfcs: int | None = None,
    *,
    params: ChildParams | None = None,
    fps: float | None = None,
    duration: float | None = None,
    noise: str = "default",
    image_size: tuple[int, int] | None = None,
    pan: float | None = None,
    patient_id: str | None = "sim000",
    video_id: str | None = "sim000_v1",
    random_state: int | np.random.Generator | None = 0,
    foot: str = "honest",
    camera: str = "side",
    dims: int = 2,
) -> SimulatedWalk:
    """Simulate one clinical gait video of one child.

    The child walks across the camera's view, turns (a near-frontal turn of
    1-1.6 s, stepping on the spot), and walks back. The camera films from the
    side, partly panning to follow; its distance varies. The returned sequence
    is what an OpenPose-like detector would report, with noise set by
    ``noise``.

    Parameters
    ----------
    gmfcs : int, optional
        GMFCS level 1-4 (0 = typically developing); ignored when ``params``
        is given; drawn from the default prevalence when both are omitted.
    params : ChildParams, optional
        The child's parameters (see :func:`gaitfeat.simulate.draw_child`); ``params.extra``
        may add festination (:func:`gaitfeat.simulate.draw_class`, Parkinsonian walkers).
    fps : float, optional
        25, 29.97 or 30 by default (drawn).
    duration : float, optional
        Seconds; drawn from 8-20 s by default.
    noise : {"none", "default", "heavy"}
        Detector noise: pixel noise, single-frame outliers, lower confidence
        for far-side limbs and while turning, bursts of undetected joints,
        short left/right leg label swaps, frames without a person.
    image_size : (int, int), optional
        (width, height) in pixels; 640x480 (70 %) or 1280x720 by default.
    pan : float, optional
        How much the camera follows the child (0 = fixed camera, 1 = child
        stays centred); drawn from 0.5-0.95 by default. The 2-D side view
        only: the other views' cameras stand still.
    patient_id, video_id : str
    random_state : int, Generator or None
        Seed; the same seed gives the same video.
    foot : {"honest", "rigid"}
        ``"honest"``: two-segment feet that roll over a heel arc, the
        metatarsal heads and the toe tip (:mod:`gaitfeat.simulate.foot`);
        ``"rigid"``: the earlier rigid foot whose lowest heel or toe keypoint
        is the support point (same seed, same walk otherwise), kept to
        compare against.
    camera : {"side", "front", "back", "oblique"}
        Where the camera stands (:func:`gaitfeat.simulate.views.place_camera`); ``"side"``
        with ``dims=2`` is the panning side camera above, any other view a static pinhole
        camera. Walk, events and labels do not depend on the camera (its random numbers come
        from a generator derived from ``random_state``), except ``labels["px_per_m"]``.
    dims : {2, 3}
        2: pixels (detector noise). 3: a :class:`~gaitfeat.pose3d.PoseSequence3D` in camera
        coordinates (x right, y down, z forward, m; the true up vector in
        ``info["simulator"]["vertical"]``) with lifter noise (:data:`~gaitfeat.simulate.views.LIFTER_NOISE`).

    Returns
    -------
    SimulatedWalk
    """
    if noise not in NOISE_LEVELS:
        raise ValueError(f"noise must be one of {sorted(NOISE_LEVELS)}, got {noise!r}")
    if foot not in ("honest", "rigid"):
        raise ValueError(f"foot must be 'honest' or 'rigid', got {foot!r}")
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    view_rng = view_generator(rng)  # before any draw: the side video's stream is left as it was
    if params is None:
        level = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.38, 0.25, 0.02])) if gmfcs is None else int(gmfcs)
        params = draw_child(level, rng)
    fps = float(rng.choice([25.0, 29.97, 30.0], p=[0.2, 0.6, 0.2])) if fps is None else float(fps)
    duration = float(rng.uniform(8.0, 20.0)) if duration is None else float(duration)
    if image_size is None:
        image_size = (640, 480) if rng.uniform() < 0.7 else (1280, 720)
    if fps <= 0 or duration <= 0:
        raise ValueError("fps and duration must be positive")
    n = int(round(duration * fps))
    seg = segment_lengths(params.stature)
    leg_m = seg["thigh"] + seg["shank"]

    # --- timing: walk, turn, walk back -----------------------------------
    turn_s = float(rng.uniform(1.0, 1.6))
    turn_start = int(round(rng.uniform(0.4, 0.6) * n - 0.5 * turn_s * fps))
    turn_len = max(2, int(round(turn_s * fps)))
    k = np.arange(n)
    heading = np.pi * _smoothstep((k - turn_start) / turn_len)
    turning = (k >= turn_start) & (k < turn_start + turn_len)
    walking = ~turning
    after = k >= turn_start + turn_len

    # --- gait phase and joint angles ---------------------------------------
    ramp, rise = _festination(params, fps, turn_start, turn_len)
    stride, stride_idx = _stride_phase(n, fps, params.cadence, params.stride_cv, rng, ramp, rise)
    amp_per_stride = np.clip(1.0 + 0.5 * params.stride_cv * rng.standard_normal(stride_idx.max() + 2), 0.8, 1.2)
    amplitude = amp_per_stride[stride_idx]
    if ramp is not None:
        # Festinating steps shorten as they quicken.
        amplitude = amplitude * (1.0 - FESTINATION_STEP_LOSS * rise * ramp(k / fps))
    # Small steps on the spot while turning.
    amplitude = amplitude * np.where(turning, 0.35 + 0.65 * np.abs(np.cos(heading)), 1.0)
    phase_left = stride % 1.0
    phase_right = (stride + params.phase_offset) % 1.0
    hip = np.empty((n, 2))
    knee = np.empty((n, 2))
    ankle = np.empty((n, 2))
    for side, ph in ((0, phase_left), (1, phase_right)):
        hip[:, side], knee[:, side], ankle[:, side] = side_angles(params, side, ph, amplitude)
    step_phase = 2.0 * np.pi * 2.0 * stride
    trunk = params.trunk_lean + params.trunk_sway * np.sin(step_phase)
    neck = params.head_flexion + 2.0 * np.sin(step_phase + 1.0)
    arm_amp = 18.0 * params.arm_swing
    arm_offset = 30.0 if params.assistive_device else 0.0
    shoulder = np.stack([arm_offset - arm_amp * np.cos(2 * np.pi * (ph - 0.92)) for ph in (phase_left, phase_right)], axis=1)
    elbow = np.stack(
        [params.elbow_flexion + 0.3 * arm_amp * 0.5 * (1 + np.cos(2 * np.pi * (ph - 0.42))) for ph in (phase_left, phase_right)],
        axis=1,
    )
    tilt = np.full(n, params.pelvic_tilt)
    stance = np.stack([phase_left < params.stance[0], phase_right < params.stance[1]], axis=1)
    pitch = foot_pitch(hip, knee, ankle, tilt)
    if foot == "honest":
        mtp = np.stack([mtp_angle(normative_phase(params, s, ph), pitch[:, s], stance[:, s])
                        for s, ph in ((0, phase_left), (1, phase_right))], axis=1)
        xy_body, z = forward_kinematics(seg, hip, knee, ankle, tilt, trunk, neck, shoulder, elbow, mtp=mtp)
        shapes = tuple(foot_shapes(params.stature, xy_body[:, BODY25.index(f"{s}_ankle")], pitch[:, k], mtp[:, k])
                       for k, s in enumerate(("left", "right")))
        contact = rolling_contact(shapes, walking, stance)
        progress, height = contact["progress"], contact["height"]
        heel_x = {s: shapes[k]["centres"][:, 0, 0] for k, s in enumerate(("left", "right"))}  # under the heel arc
    else:
        mtp = np.zeros((n, 2))
        xy_body, z = forward_kinematics(seg, hip, knee, ankle, tilt, trunk, neck, shoulder, elbow)
        progress, height = ground_contact(xy_body, walking, stance)
        contact = None
        heel_x = {s: xy_body[:, BODY25.index(f"{s}_heel"), 0] for s in ("left", "right")}

    # --- world and camera -----------------------------------------------------
    d0 = 1.0 if rng.uniform() < 0.5 else -1.0
    direction = np.where(turning, 0, np.where(after, -d0, d0)).astype(np.int8)
    step = np.diff(progress, prepend=progress[0])
    pelvis_u = d0 * np.cumsum(np.where(after, -step, step))
    cos_h, sin_h = np.cos(heading), np.sin(heading)
    u = pelvis_u[:, None] + d0 * (xy_body[:, :, 0] * cos_h[:, None] + z[None, :] * sin_h[:, None])
    y = height[:, None] + xy_body[:, :, 1]
    # Which side is nearer the camera: the right side on the way out (d0 = +1), the left on the way back.
    nearness = d0 * (xy_body[:, :, 0] * sin_h[:, None] - z[None, :] * cos_h[:, None])

    W, H = image_size
    frac = float(rng.uniform(0.45, 0.75))
    pan = float(rng.uniform(0.5, 0.95)) if pan is None else float(pan)
    follow = uniform_filter1d(pelvis_u, max(1, int(fps)), mode="nearest")
    cam = pan * follow
    rel = pelvis_u - cam
    span = np.ptp(rel) + 0.6 * params.stature
    scale = min(frac * H / params.stature, 0.9 * W / max(span, 1e-6))
    centre = 0.5 * (rel.max() + rel.min())
    ground_px = H * float(rng.uniform(0.88, 0.95))
    x_px = 0.5 * W + scale * (u - cam[:, None] - centre)
    y_px = ground_px - scale * y
    clean_kp = np.stack([x_px, y_px, np.ones_like(x_px)], axis=-1)

    # --- detector -------------------------------------------------------------
    leg_px = leg_m * scale
    obs = _observe(clean_kp, nearness, turning, fps, leg_px, NOISE_LEVELS[noise], rng)

    # --- truth ----------------------------------------------------------------
    # Walkway positions (m) of body-frame x coordinates with the hip offsets of each side.
    def along(x: np.ndarray, side: str) -> np.ndarray:
        zs = z[BODY25.index(f"{side}_hip")]
        return pelvis_u + d0 * (x * cos_h + zs * sin_h)

    # True footprint positions: the heel's ground point (below the heel arc's
    # centre, whatever the foot's pitch) for the honest foot.
    heel_u = {s: along(heel_x[s], s) for s in ("left", "right")}
    if contact is not None:
        # A heel strike's footprint is where the heel first carries the body:
        # the driven leg reaches its phase-defined contact a few frames before
        # (or, with equinus, after) the heel becomes the lowest point.
        window = int(round(0.25 * fps * 120.0 / params.cadence))  # a quarter stride
        for side_k, s in enumerate(("left", "right")):
            touch = np.flatnonzero((contact["side"] == side_k) & (contact["part"] == 0))
            if touch.size == 0:
                continue
            nxt = touch[np.minimum(np.searchsorted(touch, k), touch.size - 1)]
            heel_u[s] = heel_u[s][np.where((nxt >= k) & (nxt - k <= window), nxt, k)]
    # Steps per minute: two steps per stride.
    cadence_inst = 120.0 * np.gradient(stride) * fps
    frames = pd.DataFrame(
        {
            "frame": k,
            "time_s": k / fps,
            "walking": walking,
            "direction": direction,
            "phase_left": phase_left,
            "phase_right": phase_right,
            "hip_left": hip[:, 0], "hip_right": hip[:, 1],
            "knee_left": knee[:, 0], "knee_right": knee[:, 1],
            "ankle_left": ankle[:, 0], "ankle_right": ankle[:, 1],
            "trunk_pitch": trunk,
            "pelvis_m": pelvis_u,
            "cadence": cadence_inst,
            "foot_pitch_left": pitch[:, 0], "foot_pitch_right": pitch[:, 1],
            "mtp_left": mtp[:, 0], "mtp_right": mtp[:, 1],
            "ankle_left_m": u[:, BODY25.index("left_ankle")], "ankle_right_m": u[:, BODY25.index("right_ankle")],
        }
    )
    # Which foot part carries the body (side 0 left / 1 right, part an index
    # into foot.PARTS; -1 for the rigid foot) and where that contact point is
    # on the walkway (m).
    if contact is not None:
        frames["contact_side"] = contact["side"]
        frames["contact_part"] = contact["part"]
        frames["contact_m"] = np.where(contact["side"] == 0, along(contact["contact_x"], "left"),
                                       along(contact["contact_x"], "right"))
    else:
        frames["contact_side"] = np.full(n, -1, dtype=np.int8)
        frames["contact_part"] = np.full(n, -1, dtype=np.int8)
        frames["contact_m"] = np.full(n, np.nan)
    events = _events(phase_left, phase_right, params, walking, direction, heel_u, fps, turn_start, turn_len)
    # 3-D truth: the skeleton with the child's own step width (the side video keeps its feet under the hips).
    world = world_skeleton(xy_body, z, seg["hip_half_width"], height, pelvis_u, heading, d0,
                           foot_lateral(params, stride, view_rng), stance)
    events["step_width_m"] = step_widths(world, events, heading)
    labels = _video_labels(params, frames, events, fps, leg_m, scale)
    info = {
        "simulator": {
            "noise": noise, "gmfcs": params.gmfcs, "px_per_m": scale, "leg_px": leg_px, "image_size": list(image_size),
            "pan": pan, "turn_start": int(turn_start), "turn_frames": int(turn_len), "start_direction": int(d0),
            "foot": foot, "camera": camera, "dims": dims,
        }
    }
    if camera == "side" and dims == 2:
        seq = PoseSequence(obs, fps, "body25", patient_id=patient_id, video_id=video_id, info=info)
        clean = PoseSequence(clean_kp, fps, "body25", patient_id=patient_id, video_id=video_id, direction=direction,
                             info=info)
    else:
        def detector(kp: np.ndarray, near: np.ndarray, leg: np.ndarray) -> np.ndarray:
            return _observe(kp, near, turning, fps, leg, NOISE_LEVELS[noise], view_rng)

        seq, clean = render_view(camera, dims, world, d0, image_size, fps, noise, leg_m, view_rng, detector,
                                 patient_id=patient_id, video_id=video_id, info=info)
        labels["px_per_m"] = info["simulator"]["px_per_m"]
    return SimulatedWalk(seq, clean, frames, events, labels, params, world)


def _events(phase_left, phase_right, params, walking, direction, heel_u, fps, turn_start, turn_len) -> pd.DataFrame:
    """Heel strikes (phase wraps to 0) and toe-offs (phase crosses the stance fraction), away from the turn.

    Heel strikes carry the clinical (footprint) step length: the distance
    along the walking direction from the other foot's last heel strike to this
    one (m); and the stride length: from the same foot's last heel strike (m).
    Both are NaN for the first strikes after the start or the turn. The step
    width (``step_width_m``, m) is added by the caller from the 3-D skeleton.
    """
    margin = int(round(0.25 * fps))
    n = len(walking)
    clear = walking.copy()
    clear[max(0, turn_start - margin) : min(n, turn_start + turn_len + margin)] = False
    strikes = []
    for side, ph in (("left", phase_left), ("right", phase_right)):
        strikes += [(int(f), side) for f in np.flatnonzero(np.diff(ph) < -0.5) + 1]
    rows = []
    last: dict[str, float] = {}
    other = {"left": "right", "right": "left"}
    for f, side in sorted(strikes):
        if not clear[f]:
            last.clear()  # a new walking segment starts after the turn
            continue
        d = float(direction[f])
        heel = float(heel_u[side][f])
        step = d * (heel - last[other[side]]) if other[side] in last else np.nan
        stride = d * (heel - last[side]) if side in last else np.nan
        rows.append({"side": side, "event": "heel_strike", "frame": f, "time_s": f / fps,
                     "heel_m": heel, "step_length_m": step, "stride_length_m": stride})
        last[side] = heel
    for side, k, ph in (("left", 0, phase_left), ("right", 1, phase_right)):
        for f in np.flatnonzero((ph[:-1] < params.stance[k]) & (ph[1:] >= params.stance[k])) + 1:
            if clear[f]:
                rows.append({"side": side, "event": "toe_off", "frame": int(f), "time_s": f / fps,
                             "heel_m": float(heel_u[side][f]), "step_length_m": np.nan, "stride_length_m": np.nan})
    columns = ["side", "event", "frame", "time_s", "heel_m", "step_length_m", "stride_length_m"]
    ev = pd.DataFrame(rows, columns=columns)
    return ev.sort_values(["frame", "side"]).reset_index(drop=True)


def _video_labels(params: ChildParams, frames: pd.DataFrame, events: pd.DataFrame, fps: float, leg_m: float, scale: float) -> dict:
    walk = frames["walking"].to_numpy()
    vel = np.abs(np.gradient(frames["pelvis_m"].to_numpy())) * fps
    speed = float(vel[walk].mean())
    cadence = float(frames["cadence"].to_numpy()[walk].mean())
    hs = events[events["event"] == "heel_strike"]
    step_m = float(hs["step_length_m"].mean()) if hs["step_length_m"].notna().any() else float("nan")
    stride_m = float(hs["stride_length_m"].mean()) if hs["stride_length_m"].notna().any() else float("nan")
    width_m = float(hs["step_width_m"].median()) if hs["step_width_m"].notna().any() else float("nan")
    gdi_left, gdi_right = gdi_from_params(params)
    # Knee flexion at maximum extension: the least knee flexion in stance of the child's mean cycle.
    kfme = []
    for side in (0, 1):
        q = np.linspace(0, params.stance[side], 60, endpoint=False)
        _, knee, _ = side_angles(params, side, q)
        kfme.append(float(knee.min()))
    # Knee flexion at initial contact of the mean cycle.
    kic = [float(side_angles(params, side, np.zeros(1))[1][0]) for side in (0, 1)]
    return {
        "gmfcs": params.gmfcs,
        "gdi": 0.5 * (gdi_left + gdi_right),
        "gdi_left": gdi_left,
        "gdi_right": gdi_right,
        "speed": speed,
        "cadence": cadence,
        "step_length_m": step_m,
        "stride_length_m": stride_m,
        "step_width_m": width_m,
        "step_length": step_m / leg_m,
        "stride_length": stride_m / leg_m,
        "knee_flex_max_extension_left": kfme[0],
        "knee_flex_max_extension_right": kfme[1],
        "knee_flex_ic_left": kic[0],
        "knee_flex_ic_right": kic[1],
        "hemiplegic_side": params.hemiplegic_side,
        "gait_pattern": params.gait_pattern,
        "gait_class": gait_class_of(params),
        "affected_side": affected_side_of(params),
        "assistive_device": params.assistive_device,
        "age": params.age,
        "height": params.stature,
        "leg_length_m": leg_m,
        "fps": fps,
        "px_per_m": scale,
        "n_frames": len(frames),
    }
