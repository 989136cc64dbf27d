"""Camera views of a simulated walk: the skeleton in 3-D, cameras around the walkway, a lifter's noise.

The side video of :func:`gaitfeat.simulate.simulate_walk` is an orthographic
projection of the walk onto its sagittal plane. This module builds the same
walk as 3-D joint positions in a **world frame** (metres, right-handed): x
along the walkway (the axis of ``frames["pelvis_m"]``), y up, z horizontal
towards the side camera. From there a camera at the side, in front, behind or
at an oblique angle sees it either as a monocular 3-D lifter would report it
(camera coordinates: x right, y down, z forward, metres, as MeTRAbs-style
absolute pose estimators give them) or as a 2-D detector would (a pinhole
projection to pixels).

Step width
    The side view's feet sit at the hip joints' lateral offsets. In 3-D each
    child walks on a base of support of its own: the heel-to-heel step width
    of typically developing children is about 9 cm and nearly constant from
    1 to 10 years (Dusing & Thorpe, "A normative sample of temporal and
    spatial gait parameters in children using the GAITRite electronic
    walkway"; Lythgo, Wilson & Galea, "Basic gait and symmetry measures for
    primary school-aged children and young adults whilst walking barefoot and
    with shoes", report a similar support base). Children with CP walk on a
    wider base; the widening with GMFCS level in :data:`STEP_WIDTH` is an
    assumption of this simulator (no per-level table was found), as is the
    step-to-step variability :data:`STEP_WIDTH_SD`. Each leg is rotated about
    its hip's forward axis (so segment lengths stay exact) to put the heel
    where the step width wants it; the new lateral position is reached
    during swing and held through stance.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gaitfeat.errors import GaitError, ReaderError
from gaitfeat.layouts import BODY25
from gaitfeat.preprocessing.swaps import exchange_legs

__all__ = [
    "CAMERAS", "LIFTER_NOISE", "STEP_WIDTH", "STEP_WIDTH_SD", "Camera", "view_generator", "child_step_width",
    "foot_lateral", "world_skeleton", "step_widths", "place_camera", "lifter_observe", "render_view",
    "write_sequences3d", "read_sequences3d",
]

#: Camera placements of :func:`gaitfeat.simulate.simulate_walk`.
CAMERAS = ("side", "front", "back", "oblique")

#: Heel-to-heel step width (m) between children: (mean, sd) for level 0 (TD) and GMFCS I-IV.
STEP_WIDTH = ((0.09, 0.025), (0.10, 0.03), (0.12, 0.03), (0.15, 0.035), (0.18, 0.04))
#: Step-to-step SD (m) of the step width within one walk, per level.
STEP_WIDTH_SD = (0.015, 0.018, 0.022, 0.027, 0.032)

#: Noise of a monocular 3-D lifter (metres; rates per joint and second unless stated):
#: ``jitter_m`` independent per-joint, per-axis noise; ``depth_drift_m`` a slow error of the whole
#: body's distance along the viewing ray (sd, time scale ``drift_s``); ``joint_depth_m`` slow
#: per-joint depth errors (the relative depth a single view cannot see well); bursts of missing
#: joints; ``swap_rate`` left/right leg swaps per second of video; ``empty_frame_rate`` per frame.
LIFTER_NOISE: dict[str, dict[str, float]] = {
    "none": {"jitter_m": 0.0, "depth_drift_m": 0.0, "joint_depth_m": 0.0, "drift_s": 1.5, "burst_rate": 0.0,
             "swap_rate": 0.0, "empty_frame_rate": 0.0},
    # 0.009 m per axis: ~1.5 cm RMS 3-D jitter per joint.
    "default": {"jitter_m": 0.009, "depth_drift_m": 0.04, "joint_depth_m": 0.02, "drift_s": 1.5, "burst_rate": 0.03,
                "swap_rate": 0.03, "empty_frame_rate": 0.003},
    "heavy": {"jitter_m": 0.018, "depth_drift_m": 0.08, "joint_depth_m": 0.04, "drift_s": 1.0, "burst_rate": 0.1,
              "swap_rate": 0.1, "empty_frame_rate": 0.01},
}

_J = BODY25.index
_MID_HIP = _J("mid_hip")
_LEG = ("knee", "ankle", "heel", "big_toe", "small_toe")
_FOOT = ("heel", "big_toe", "small_toe")
#: Farthest the walk should be from the camera (m) when its length allows it.
_FAR_M = 9.0


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def view_generator(rng: np.random.Generator) -> np.random.Generator:
    """A generator for the 3-D view's random numbers, derived from ``rng``'s state without drawing from it.

    ``rng`` stays where it was, so the side video (and, in a cohort, every
    later video of the child) is the same whatever the camera.
    """
    state = json.dumps(rng.bit_generator.state, sort_keys=True,
                       default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
    digest = hashlib.sha256(state.encode()).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))


def _level(params) -> int:
    return int(min(max(int(params.gmfcs), 0), 4))


def child_step_width(params) -> float:
    """The child's mean heel-to-heel step width (m): ``params.extra["step_width_m"]`` or drawn per child.

    The draw is seeded by the parameters that stay fixed between visits
    (:func:`gaitfeat.simulate.next_visit` leaves them alone), so a child keeps
    its base of support from visit to visit and no random number is taken
    from the walk's generator.
    """
    if "step_width_m" in params.extra:
        return float(params.extra["step_width_m"])
    key = repr((params.gmfcs, params.stride_cv, params.pelvic_tilt, params.trunk_sway, params.arm_swing,
                params.elbow_flexion, params.stance, params.equinus, params.phase_offset, params.hemiplegic_side,
                params.assistive_device, params.sex))
    z = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")).standard_normal()
    mean, sd = STEP_WIDTH[_level(params)]
    return float(np.clip(mean + sd * z, 0.04, 0.30))


def foot_lateral(params, stride: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lateral heel offsets (m, outwards from the body's midline) per frame, ``(T, 2)`` for (left, right).

    Each stride of each leg gets its own placement (half the child's step
    width plus step-to-step noise); the foot moves to it during swing and
    keeps it through stance.
    """
    half = 0.5 * child_step_width(params)
    sd = STEP_WIDTH_SD[_level(params)] / np.sqrt(2.0)  # two feet make one step width
    out = np.empty((len(stride), 2))
    for k, shift in enumerate((0.0, params.phase_offset)):
        s = stride + shift
        idx = np.floor(s).astype(np.int64)
        phase = s - idx
        lo = int(idx.min())
        values = half + rng.normal(0.0, sd, size=int(idx.max()) - lo + 2)
        cur, nxt = values[idx - lo], values[idx - lo + 1]
        stance = params.stance[k]
        out[:, k] = cur + _smoothstep((phase - stance) / (1.0 - stance)) * (nxt - cur)
    return np.maximum(out, 0.01)


def world_skeleton(xy: np.ndarray, z: np.ndarray, hip_half: float, height: np.ndarray, pelvis_u: np.ndarray,
                   heading: np.ndarray, d0: float, lateral: np.ndarray, stance: np.ndarray) -> np.ndarray:
    """BODY_25 positions ``(T, 25, 3)`` in the world frame (m): x along the walkway, y up, z towards the side camera.

    Parameters
    ----------
    xy, z : body-frame positions (T, 25, 2) and lateral offsets (25,) of
        :func:`gaitfeat.simulate.kinematics.forward_kinematics`.
    hip_half : float
        Lateral offset of the hip joints (m).
    height, pelvis_u, heading : ndarray (T,)
        Pelvis height (m), position along the walkway (m), heading (rad; 0 =
        the first walking direction ``d0``, pi = walking back).
    d0 : {1, -1}
    lateral : ndarray (T, 2)
        Heel offsets from the midline (m), :func:`foot_lateral`.
    stance : ndarray of bool (T, 2)
        Legs in stance: their lowest foot point stays at the ground.
    """
    T = xy.shape[0]
    y = xy[..., 1].copy()
    zz = np.broadcast_to(z, (T, z.size)).copy()
    ref = float(np.median(height))  # hip height: the leg's lever from the hip to the ground
    feet = []
    for k, side in enumerate(("left", "right")):
        sign = 1.0 if side == "left" else -1.0
        sin_a = np.clip((lateral[:, k] - hip_half) / ref, -0.5, 0.5)  # > 0: the leg abducted
        cos_a = np.sqrt(1.0 - sin_a**2)
        hip_z = z[_J(f"{side}_hip")]
        for name in _LEG:
            j = _J(f"{side}_{name}")
            out = sign * (z[j] - hip_z)  # outward offset from the hip (the small toe's only)
            yj = xy[:, j, 1]  # hips at the body-frame origin
            y[:, j] = yj * cos_a + out * sin_a
            zz[:, j] = hip_z + sign * (out * cos_a - yj * sin_a)
        feet += [_J(f"{side}_{name}") for name in _FOOT]
    # The rotation lifts the feet slightly (a leg's vertical reach is L cos a): keep the support on the ground.
    support = np.repeat(np.asarray(stance, dtype=bool), len(_FOOT), axis=1)
    support[~support.any(axis=1)] = True
    before = np.where(support, xy[:, feet, 1], np.inf).min(axis=1)
    after = np.where(support, y[:, feet], np.inf).min(axis=1)
    y += (before - after)[:, None]
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    x = xy[..., 0]
    return np.stack([pelvis_u[:, None] + d0 * (x * c + zz * s), height[:, None] + y, d0 * (x * s - zz * c)], axis=-1)


def step_widths(world: np.ndarray, events, heading: np.ndarray) -> np.ndarray:
    """Step width (m) at each heel strike of ``events`` (NaN for other events).

    The lateral distance between the striking heel and the other one (the
    foot in stance, as on an instrumented walkway), horizontal and
    perpendicular to the walking direction, from the world skeleton.
    """
    out = np.full(len(events), np.nan)
    strike = (events["event"] == "heel_strike").to_numpy()
    if not strike.any():
        return out
    frames = events["frame"].to_numpy()[strike].astype(np.int64)
    sides = events["side"].to_numpy()[strike]
    own = np.array([_J(f"{s}_heel") for s in sides])
    other = np.array([_J(f"{'right' if s == 'left' else 'left'}_heel") for s in sides])
    h = heading[frames]
    perp = np.stack([-np.sin(h), np.zeros_like(h), np.cos(h)], axis=-1)
    out[strike] = np.abs(np.sum((world[frames, own] - world[frames, other]) * perp, axis=-1))
    return out


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in the world frame.

    ``rotation`` rows are the camera's x (right), y (down) and z (forward)
    axes in world coordinates, a proper rotation: camera coordinates are
    ``rotation @ (p - position)``.
    """

    name: str
    position: np.ndarray
    rotation: np.ndarray
    focal_px: float
    image_size: tuple[int, int]
    details: dict

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        """World positions (..., 3) in camera coordinates (m; x right, y down, z forward)."""
        return (world - self.position) @ self.rotation.T

    @property
    def vertical(self) -> np.ndarray:
        """The world's up direction in camera coordinates."""
        return self.rotation[:, 1].copy()

    def project(self, cam: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of camera-coordinate points (principal point at the image centre)."""
        W, H = self.image_size
        return np.stack([0.5 * W + self.focal_px * cam[..., 0] / cam[..., 2],
                         0.5 * H + self.focal_px * cam[..., 1] / cam[..., 2]], axis=-1)

    def describe(self) -> dict:
        """JSON-ready description (recorded in the sequence's ``info``)."""
        return {"position_m": [float(v) for v in self.position], "rotation": self.rotation.tolist(),
                "focal_px": float(self.focal_px), "image_size": [int(v) for v in self.image_size],
                "vertical": [float(v) for v in self.vertical], **self.details}


def _segment_distance(points: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Horizontal distance of points (N, 2) = (x, z) to the walkway segment x in [lo, hi], z = 0."""
    dx = np.maximum(0.0, np.maximum(lo - points[:, 0], points[:, 0] - hi))
    return np.hypot(dx, points[:, 1])


def place_camera(name: str, world: np.ndarray, d0: float, image_size: tuple[int, int],
                 rng: np.random.Generator) -> Camera:
    """A camera filming the walk from the ``name`` position (one of :data:`CAMERAS`).

    ``"side"``: square to the walkway on the side the 2-D side view is filmed
    from. ``"front"``: on the walkway's axis, the child walking towards it
    first, then (after the turn) away; ``"back"``: the reverse, walking away
    first. ``"oblique"``: the optical axis at 30-60 deg to the walkway, from
    either side and end. The camera is 0.8-1.2 m high, pitched 0-10 deg down,
    rolled by less than 3 deg, aimed at the walk's middle to within 3 deg.
    Its distance puts the nearest point of the pelvis path 4-4.8 m away and,
    where the walk is short enough, the farthest within 9 m (a front or back
    camera sees a walk of length L over 4 to 4 + L m). The focal length is
    about the image width, shorter (a wider lens) when the whole walk would
    not fit in the image otherwise.
    """
    if name not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {name!r}")
    pelvis = world[:, _MID_HIP]
    lo, hi = float(pelvis[:, 0].min()), float(pelvis[:, 0].max())
    centre = np.array([0.5 * (lo + hi), 0.0])  # (x, z): horizontal
    cam_height = float(rng.uniform(0.8, 1.2))
    pitch, roll, yaw = np.radians([rng.uniform(0.0, 10.0), rng.uniform(-3.0, 3.0), rng.uniform(-3.0, 3.0)])
    near = float(rng.uniform(4.0, 4.8))
    spread = float(rng.uniform())
    offset = np.zeros(2)
    details: dict = {"camera": name}
    if name == "side":
        out = np.array([0.0, 1.0])
    elif name in ("front", "back"):
        out = np.array([d0 if name == "front" else -d0, 0.0])
        offset = np.array([0.0, rng.uniform(-0.3, 0.3)])  # a little off the walkway's axis
    else:
        angle = float(rng.uniform(30.0, 60.0))
        su, sz = (1.0 if rng.uniform() < 0.5 else -1.0), (1.0 if rng.uniform() < 0.5 else -1.0)
        out = np.array([su * np.cos(np.radians(angle)), sz * np.sin(np.radians(angle))])
        details["angle_deg"] = angle
    grid = np.arange(0.5, 40.0, 0.01)
    spots = centre + offset + grid[:, None] * out
    nearest = _segment_distance(spots, lo, hi)
    farthest = np.maximum(np.hypot(spots[:, 0] - lo, spots[:, 1]), np.hypot(spots[:, 0] - hi, spots[:, 1]))
    i_min = int(np.argmax(nearest >= near)) if (nearest >= near).any() else len(grid) - 1
    fits = np.flatnonzero(farthest <= _FAR_M)
    i_max = max(i_min, int(fits[-1])) if fits.size else i_min
    dist = float(grid[i_min] + spread * (grid[i_max] - grid[i_min]))
    spot = centre + offset + dist * out
    position = np.array([spot[0], cam_height, spot[1]])
    look = centre - spot
    look = look / np.linalg.norm(look)
    c, s = np.cos(yaw), np.sin(yaw)
    fwd = np.array([c * look[0] - s * look[1], 0.0, s * look[0] + c * look[1]])
    down = np.array([0.0, -1.0, 0.0])
    right = np.cross(down, fwd)
    fwd, down = np.cos(pitch) * fwd + np.sin(pitch) * down, np.cos(pitch) * down - np.sin(pitch) * fwd
    right, down = np.cos(roll) * right + np.sin(roll) * down, np.cos(roll) * down - np.sin(roll) * right
    rotation = np.stack([right, down, fwd])
    details.update({"height_m": cam_height, "pitch_deg": float(np.degrees(pitch)), "roll_deg": float(np.degrees(roll)),
                    "distance_m": dist})
    W, H = image_size
    cam = (world - position) @ rotation.T
    ratio = np.abs(cam[..., :2] / cam[..., 2:3])
    focal = float(min(W * rng.uniform(0.9, 1.1), 0.46 * W / ratio[..., 0].max(), 0.46 * H / ratio[..., 1].max()))
    nearest_cam = np.linalg.norm(pelvis - position, axis=1)
    details.update({"pelvis_distance_m": [float(nearest_cam.min()), float(nearest_cam.max())]})
    return Camera(name, position, rotation, focal, (int(W), int(H)), details)


def _slow_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian noise smoothed along axis 0 over ``sigma`` frames, rescaled to unit sd."""
    white = rng.standard_normal(shape)
    if sigma <= 0:
        return white
    delta = np.zeros(int(8 * sigma) + 1)
    delta[len(delta) // 2] = 1.0
    gain = np.sqrt(np.sum(gaussian_filter1d(delta, sigma) ** 2))
    return gaussian_filter1d(white, sigma, axis=0, mode="reflect") / gain


def lifter_observe(cam: np.ndarray, fps: float, noise: str, rng: np.random.Generator) -> np.ndarray:
    """What a monocular 3-D lifter reports for true camera-coordinate positions ``(T, 25, 3)`` (NaN = missing)."""
    cfg = LIFTER_NOISE[noise]
    out = cam.copy()
    if all(cfg[k] == 0 for k in cfg if k != "drift_s"):
        return out
    T, V, _ = out.shape
    sigma = cfg["drift_s"] * fps
    # A single view judges distance worst: the whole body slides along the viewing ray...
    ray = cam[:, _MID_HIP] / np.linalg.norm(cam[:, _MID_HIP], axis=1, keepdims=True)
    out += (cfg["depth_drift_m"] * _slow_noise(rng, (T,), sigma))[:, None, None] * ray[:, None, :]
    # ...and each joint's depth relative to the others wanders.
    out[..., 2] += cfg["joint_depth_m"] * _slow_noise(rng, (T, V), sigma)
    out += rng.normal(0.0, cfg["jitter_m"], size=(T, V, 3))
    for t in rng.integers(0, T, size=rng.poisson(cfg["swap_rate"] * T / fps)):
        exchange_legs(out, int(t), min(T, int(t) + int(rng.integers(1, 4))), BODY25)
    starts = rng.uniform(size=(T, V)) < cfg["burst_rate"] / fps
    for t, v in zip(*np.nonzero(starts)):
        out[t: t + int(rng.integers(1, 9)), v] = np.nan
    out[rng.uniform(size=T) < cfg["empty_frame_rate"]] = np.nan
    return out


def render_view(camera: str, dims: int, world: np.ndarray, d0: float, image_size: tuple[int, int], fps: float,
                noise: str, leg_m: float, rng: np.random.Generator, detector, *, patient_id: str | None,
                video_id: str | None, info: dict):
    """The (observed, clean) sequences of a camera other than the 2-D side view.

    ``dims=3``: :class:`~gaitfeat.pose3d.PoseSequence3D` in camera coordinates
    with :func:`lifter_observe` noise. ``dims=2``: pixels of a pinhole camera
    through ``detector(keypoints, nearness, leg_px)`` (the 2-D detector
    model), with the joints behind the pelvis (seen from the camera) as the
    far, occluded side. ``info["simulator"]`` gets the camera
    (:meth:`Camera.describe`) and ``px_per_m``: focal length over the
    pelvis's median distance, NaN for 3-D output.
    """
    from gaitfeat.pose import PoseSequence
    from gaitfeat.pose3d import PoseSequence3D

    cam = place_camera(camera, world, d0, image_size, rng)
    info["simulator"].update(cam.describe())
    xyz = cam.to_camera(world)
    ids = {"patient_id": patient_id, "video_id": video_id, "info": info}
    if dims == 3:
        info["simulator"].update({"px_per_m": float("nan"), "leg_px": float("nan")})
        return (PoseSequence3D(lifter_observe(xyz, fps, noise, rng), fps, "body25", **ids),
                PoseSequence3D(xyz, fps, "body25", **ids))
    depth = xyz[:, _MID_HIP, 2]
    leg_px = (leg_m * cam.focal_px / depth)[:, None, None]
    clean = np.concatenate([cam.project(xyz), np.ones(xyz.shape[:2] + (1,))], axis=-1)
    obs = detector(clean, depth[:, None] - xyz[..., 2], leg_px)
    info["simulator"].update({"px_per_m": float(cam.focal_px / np.median(depth)), "leg_px": float(np.median(leg_px))})
    return PoseSequence(obs, fps, "body25", **ids), PoseSequence(clean, fps, "body25", **ids)


# --- storage of 3-D sequences (a cohort's raw lifter output) ----------------------------------

_FORMAT_3D = "gaitfeat.sequences3d"


def write_sequences3d(path: str | Path, sequences) -> Path:
    """Store PoseSequence3D objects (positions, confidence, metadata; no pickle) in one ``.npz`` file."""
    arrays: dict[str, np.ndarray] = {}
    records = []
    for i, seq in enumerate(sequences):
        arrays[f"positions_{i}"] = seq.positions
        arrays[f"confidence_{i}"] = seq.confidence
        records.append({"fps": seq.fps, "layout": seq.layout, "units": seq.units, "patient_id": seq.patient_id,
                        "video_id": seq.video_id, "info": seq.info,
                        "vertical": None if seq.vertical is None else [float(v) for v in seq.vertical]})
    meta = json.dumps({"format": _FORMAT_3D, "version": 1, "sequences": records}, default=str)
    arrays["__meta__"] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(Path(path), **arrays)
    return Path(path)


def read_sequences3d(path: str | Path) -> list:
    """Read :func:`write_sequences3d` files; anything malformed is a ReaderError naming the file."""
    from gaitfeat.io._frames import read_regular_file
    from gaitfeat.io.npz import MAX_NPZ_BYTES
    from gaitfeat.pose3d import PoseSequence3D

    from gaitfeat.io.npz import _array, _check_members

    path = Path(path)
    data = read_regular_file(path, MAX_NPZ_BYTES, what="a 3-D sequence file")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            _check_members(path, npz)  # duplicate members, claimed sizes (zip bombs)
            arrays = {k: _array(path, npz, k) for k in npz.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, AttributeError,
            RecursionError) as exc:
        if isinstance(exc, ReaderError):
            raise
        raise ReaderError(f"{path}: not a readable 3-D sequence file ({type(exc).__name__}: {str(exc)[:200]})",
                          path) from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_3D or not isinstance(meta.get("sequences"), list):
        raise ReaderError(f"{path}: not a gaitfeat 3-D sequence file", path)
    out = []
    for i, rec in enumerate(meta["sequences"]):
        try:
            if not isinstance(rec, dict):
                raise GaitError("metadata is not an object")
            out.append(PoseSequence3D(arrays[f"positions_{i}"], rec["fps"], rec["layout"],
                                      confidence=arrays[f"confidence_{i}"], units=rec["units"],
                                      vertical=rec.get("vertical"), patient_id=rec.get("patient_id"),
                                      video_id=rec.get("video_id"), info=rec.get("info") or {}))
        except (GaitError, KeyError, TypeError) as exc:
            raise ReaderError(f"{path}: sequence {i}: {exc}", path) from None
    return out
