"""3-D pose sequences: joint positions from a lifter, a markerless multi-camera system or motion capture.

A :class:`PoseSequence3D` is what the 3-D readers return and what
:func:`gaitfeat.preprocessing.project_to_walking_plane` turns into the 2-D
:class:`~gaitfeat.pose.PoseSequence` that the rest of the toolkit analyses.
It is a sibling of the 2-D type rather than a mode of it, because the two
differ in what their numbers mean: pixels from one camera against positions
in a metric frame with units and, sometimes, a known vertical.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError
from gaitfeat.layouts import SkeletonLayout, absent_joints, get_layout, map_confidence, map_joints
from gaitfeat.pose import FPS_RANGE

__all__ = ["PoseSequence3D", "UNITS", "PLAUSIBLE_LEG_M"]

#: Length units a 3-D sequence may be in, and metres per unit.
UNITS: dict[str, float] = {"m": 1.0, "mm": 0.001}

#: Leg lengths (hip-knee + knee-ankle, m) that units can explain. People's legs measure
#: 0.2-1.3 m; the bounds leave a factor of about ten on each side for odd skeletons and
#: lifter errors, because their job is to catch the factor of 1000 of metres labelled mm
#: (or the reverse), not to judge poses.
PLAUSIBLE_LEG_M = (0.03, 10.0)


def _real_array(value: Any, name: str, where: str) -> np.ndarray:
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise PoseDataError(f"{where}: {name} must be a rectangular array: {exc}") from None
    if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
        raise PoseDataError(f"{where}: {name} must hold real numbers, got dtype {raw.dtype}")
    return np.array(raw, dtype=np.float64, copy=True)


@dataclasses.dataclass(frozen=True, eq=False)
class PoseSequence3D:
    """One person's 3-D joint positions over time, with units, layout and (optionally) the vertical.

    Parameters
    ----------
    positions : array_like, shape (T, V, 3)
        Joint positions in a right-handed metric frame, in ``units``. NaN
        marks a joint missing in that frame (a NaN in any coordinate makes
        the whole joint missing). Stored as float64.
    fps : float
        Frames per second, within :data:`gaitfeat.pose.FPS_RANGE`.
    layout : str or SkeletonLayout
        Any layout of :data:`gaitfeat.layouts.ALL_LAYOUTS` (``"body25"``,
        ``"coco17"``, ``"h36m17"``, ``"mpi_inf_3dhp_17"``, ``"mediapipe33"``,
        ``"halpe26"``); must match ``V``.
    confidence : array_like, shape (T, V), optional
        Per-joint confidence or validity in [0, 1]; by default 1 where the
        joint is present. Missing joints always get 0.
    units : {"m", "mm"}
        Length unit of ``positions``.
    vertical : array_like, shape (3,), optional
        The direction pointing **up** (against gravity) in the data's frame,
        normalised on construction: ``(0, 1, 0)`` for OpenSim/TRC files
        (Y up), ``(0, 0, 1)`` for Z-up laboratory frames, ``(0, -1, 0)`` for
        a level camera's coordinates (y down). ``None`` when unknown, e.g.
        a monocular lifter's camera coordinates with an unknown camera
        tilt; the projection then estimates it from the skeleton.
    patient_id, video_id : str, optional
        Identifiers, as for :class:`~gaitfeat.pose.PoseSequence`.
    info : dict, optional
        Provenance and processing reports (JSON-serialisable).

    Raises
    ------
    PoseDataError
        Wrong shapes, infinite values, confidences outside [0, 1], unknown
        units, a zero or non-finite vertical, a bad ``fps``.
    LayoutError
        Unknown layout, or ``V`` does not match it.
    """

    positions: np.ndarray
    fps: float
    layout: str = "body25"
    confidence: np.ndarray | None = None
    units: str = "m"
    vertical: np.ndarray | None = None
    patient_id: str | None = None
    video_id: str | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        name = self.video_id or "sequence"
        lay = get_layout(self.layout, pipeline=False)
        object.__setattr__(self, "layout", lay.name)

        pos = _real_array(self.positions, "positions", name)
        if pos.ndim != 3 or pos.shape[2] != 3:
            raise PoseDataError(f"{name}: positions must have shape (T, V, 3) = (frames, joints, x/y/z), got {pos.shape}")
        if pos.shape[0] == 0:
            raise PoseDataError(f"{name}: positions have no frames")
        if pos.shape[1] != lay.num_joints:
            raise LayoutError(f"{name}: positions have {pos.shape[1]} joints but layout {lay.name!r} has {lay.num_joints}")
        if np.isinf(pos).any():
            t, v, c = np.argwhere(np.isinf(pos))[0]
            raise PoseDataError(f"{name}: infinite value in frame {t}, joint {lay.joints[v]!r} ({'xyz'[c]}); "
                                "mark missing joints with NaN instead")
        missing = np.isnan(pos).any(axis=2)
        pos[missing] = np.nan
        object.__setattr__(self, "positions", pos)

        if self.confidence is None:
            conf = np.ones(pos.shape[:2])
        else:
            conf = _real_array(self.confidence, "confidence", name)
            if conf.shape != pos.shape[:2]:
                raise PoseDataError(f"{name}: confidence must have shape {pos.shape[:2]} (frames, joints), got {conf.shape}")
            conf = np.nan_to_num(conf, nan=0.0, posinf=np.inf, neginf=-np.inf)
            bad = (conf < 0.0) | (conf > 1.0)
            if bad.any():
                t, v = np.argwhere(bad)[0]
                raise PoseDataError(f"{name}: confidence {conf[t, v]:g} outside [0, 1] in frame {t}, joint {lay.joints[v]!r}")
        conf[missing] = 0.0
        object.__setattr__(self, "confidence", conf)

        if self.units not in UNITS:
            raise PoseDataError(f"{name}: units must be one of {sorted(UNITS)}, got {self.units!r}")

        if self.vertical is not None:
            up = _real_array(self.vertical, "vertical", name)
            norm = float(np.linalg.norm(up)) if up.shape == (3,) and np.isfinite(up).all() else 0.0
            if norm == 0.0:
                raise PoseDataError(f"{name}: vertical must be a finite, non-zero 3-vector (the up direction), "
                                    f"got {self.vertical!r}")
            object.__setattr__(self, "vertical", up / norm)

        try:
            if isinstance(self.fps, (bool, np.bool_, str, bytes)):
                raise TypeError
            fps = float(self.fps)
        except (TypeError, ValueError):
            raise PoseDataError(f"{name}: fps must be a number, got {self.fps!r}") from None
        if not np.isfinite(fps) or not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
            raise PoseDataError(f"{name}: fps {self.fps!r} is outside {FPS_RANGE[0]:g}-{FPS_RANGE[1]:g} frames/s")
        object.__setattr__(self, "fps", fps)

        for field in ("patient_id", "video_id"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, str(value))
        if not isinstance(self.info, dict):
            raise PoseDataError(f"{name}: info must be a dict, got {type(self.info).__name__}")
        object.__setattr__(self, "info", {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.info.items()})

    def replace(self, **changes: Any) -> PoseSequence3D:
        """A validated copy with some fields replaced (``info`` is merged, not replaced)."""
        info = dict(self.info)
        info.update(changes.pop("info", {}))
        return dataclasses.replace(self, info=info, **changes)

    @property
    def skeleton(self) -> SkeletonLayout:
        """The :class:`~gaitfeat.layouts.SkeletonLayout` object."""
        return get_layout(self.layout, pipeline=False)

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.positions.shape[0])

    @property
    def n_joints(self) -> int:
        """Number of joints ``V``."""
        return int(self.positions.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds (``T / fps``)."""
        return self.n_frames / self.fps

    def missing_mask(self) -> np.ndarray:
        """``(T, V)`` bool, True where the joint position is unknown (NaN)."""
        return np.isnan(self.positions[:, :, 0])

    def to_metres(self) -> PoseSequence3D:
        """The same sequence with positions in metres."""
        if self.units == "m":
            return self
        return self.replace(positions=self.positions * UNITS[self.units], units="m")

    def leg_length_m(self) -> float:
        """Median thigh + shank length over frames and sides, in metres (NaN without hips, knees and ankles)."""
        lay = self.skeleton
        pos = self.positions * UNITS[self.units]
        values = []
        for side in ("left", "right"):
            names = (f"{side}_hip", f"{side}_knee", f"{side}_ankle")
            if all(lay.has(n) for n in names):
                h, k, a = (pos[:, lay.index(n)] for n in names)
                values.append(np.linalg.norm(k - h, axis=1) + np.linalg.norm(a - k, axis=1))
        values = np.concatenate(values) if values else np.empty(0)
        values = values[np.isfinite(values)]
        return float(np.median(values)) if values.size >= 5 else float("nan")

    def check_units(self) -> None:
        """Refuse a body whose size says the ``units`` are wrong (e.g. metres labelled mm).

        Raises
        ------
        PoseDataError
            The leg length in metres lies outside :data:`PLAUSIBLE_LEG_M`; the
            message gives it and the units that would fit.
        """
        leg = self.leg_length_m()
        lo, hi = PLAUSIBLE_LEG_M
        if np.isfinite(leg) and not lo <= leg <= hi:
            fits = [u for u, f in UNITS.items() if lo <= leg / UNITS[self.units] * f <= hi]
            hint = f"; the values fit units {fits[0]!r}" if fits else ""
            raise PoseDataError(
                f"{self.video_id or 'sequence'}: the leg (hip-knee-ankle) is {leg:.4g} m long with units "
                f"{self.units!r}, outside {lo:g}-{hi:g} m for a person{hint}: are the units right?"
            )

    def to_layout(self, layout: str | SkeletonLayout) -> PoseSequence3D:
        """The same sequence in another layout (:func:`gaitfeat.layouts.map_joints`; never invents joints).

        Joints the source lacks are missing in every frame and listed in
        ``info["to_layout"]["absent_joints"]``.
        """
        target = get_layout(layout, pipeline=False)
        if target.name == self.layout:
            return self
        return self.replace(
            positions=map_joints(self.positions, self.layout, target),
            confidence=map_confidence(self.confidence, self.layout, target),
            layout=target.name,
            info={"to_layout": {"from": self.layout, "to": target.name,
                                "absent_joints": list(absent_joints(self.layout, target))}},
        )

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        ids = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("patient_id", "video_id") if getattr(self, k) is not None)
        ids = f", {ids}" if ids else ""
        return (f"PoseSequence3D({self.n_frames} frames x {self.n_joints} joints, {self.layout}, {self.units}, "
                f"{self.fps:g} fps{ids}, {100 * self.missing_mask().mean():.1f}% missing)")
