"""The pose data model shared by every part of the toolkit."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError
from gaitfeat.layouts import SkeletonLayout, convert_keypoints, get_layout

__all__ = ["PoseSequence", "openpose_undetected", "FPS_RANGE"]

#: Frame rates a pose sequence may have (frames/s): below 1 a stride spans at most two frames,
#: above 1000 no camera a gait lab uses; a value outside is a unit or parsing mistake.
FPS_RANGE = (1.0, 1000.0)


def openpose_undetected(keypoints: np.ndarray) -> np.ndarray:
    """Mask ``(..., V)`` of joints OpenPose did not detect: zero confidence, or both coordinates exactly 0."""
    return (keypoints[..., 2] <= 0) | ((keypoints[..., 0] == 0) & (keypoints[..., 1] == 0))


@dataclasses.dataclass(frozen=True, eq=False)
class PoseSequence:
    """One video's 2-D keypoints of one person, with its sampling rate and layout.

    Parameters
    ----------
    keypoints : array_like, shape (T, V, 3)
        Per frame and joint: x (px), y (px) and detector confidence in
        [0, 1]. Stored as float32.
    fps : float
        Frames per second (> 0).
    layout : str or SkeletonLayout
        ``"body25"`` or ``"coco17"``; must match ``V``.
    patient_id, video_id : str, optional
        Identifiers carried into clip metadata. Patient IDs are what every
        train/test split is made by.
    direction : array_like of int, shape (T,), optional
        Walking direction in the original image per frame: +1 towards +x,
        -1 towards -x, 0 while turning or unknown. Set by
        :func:`gaitfeat.preprocessing.orient`.
    root : array_like, shape (T, 2), optional
        Where the hip midpoint was before :func:`gaitfeat.preprocessing.centre_on_hips`
        moved it to the origin: the pelvis path in the sequence's current
        units (leg lengths after preprocessing), x accumulated along the
        walking direction (after :func:`~gaitfeat.preprocessing.orient` it
        grows through the whole walk, the turn included), y up; NaN where the
        hips were missing. Set by preprocessing, ``None`` before centring.
        With a static camera it is the walker's progression over the ground;
        with a panning camera it is not, which the feature engine detects
        (see :func:`gaitfeat.extract_features`, ``spatial_method``).
    info : dict, optional
        Provenance and processing reports (JSON-serialisable): reader counts,
        each preprocessing step's counts.

    Notes
    -----
    Encoding of missing data, used everywhere in gaitfeat:

    * a joint whose position is unknown has ``x = y = NaN`` and confidence 0;
      on construction, a NaN in x, y or confidence marks the whole joint
      missing in that frame;
    * confidence 0 with finite coordinates marks a value that was not
      detected but filled in (e.g. interpolated across a short gap).

    OpenPose writes undetected joints as ``(0, 0, 0)``; readers convert that
    to NaN (see :meth:`from_openpose_array`). Infinite values and confidences
    outside [0, 1] are errors.
    """

    keypoints: np.ndarray
    fps: float
    layout: str = "body25"
    patient_id: str | None = None
    video_id: str | None = None
    direction: np.ndarray | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    root: np.ndarray | None = None

    def __post_init__(self) -> None:
        name = self.video_id or "sequence"
        lay = get_layout(self.layout)
        object.__setattr__(self, "layout", lay.name)

        try:
            raw = np.asarray(self.keypoints)
        except ValueError as exc:  # ragged nested lists: frames or joints of different lengths
            raise PoseDataError(f"{name}: keypoints must be a rectangular array (T, V, 3): {exc}") from None
        if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
            raise PoseDataError(f"{name}: keypoints must hold real numbers, got dtype {raw.dtype}")
        kp = np.array(raw, dtype=np.float32, copy=True)
        if kp.ndim != 3 or kp.shape[2] != 3:
            raise PoseDataError(f"{name}: keypoints must have shape (T, V, 3) = (frames, joints, x/y/confidence), got {kp.shape}")
        if kp.shape[0] == 0:
            raise PoseDataError(f"{name}: keypoints have no frames")
        if kp.shape[1] != lay.num_joints:
            raise LayoutError(
                f"{name}: keypoints have {kp.shape[1]} joints but layout {lay.name!r} has {lay.num_joints}"
            )
        bad = np.isinf(kp)
        if bad.any():
            t, v, c = np.argwhere(bad)[0]
            raise PoseDataError(
                f"{name}: infinite value in frame {t}, joint {lay.joints[v]!r} ({'xyc'[c]}); "
                "mark undetected joints with NaN instead"
            )
        missing = np.isnan(kp).any(axis=2)
        kp[missing, 0:2] = np.nan
        kp[missing, 2] = 0.0
        conf = kp[:, :, 2]
        out_of_range = (conf < 0.0) | (conf > 1.0)
        if out_of_range.any():
            t, v = np.argwhere(out_of_range)[0]
            raise PoseDataError(
                f"{name}: confidence {conf[t, v]:g} outside [0, 1] in frame {t}, joint {lay.joints[v]!r}"
            )
        object.__setattr__(self, "keypoints", kp)

        try:
            if isinstance(self.fps, (bool, np.bool_, str, bytes)):
                raise TypeError
            fps = float(self.fps)
        except (TypeError, ValueError):
            raise PoseDataError(f"{name}: fps must be a number, got {self.fps!r}") from None
        if not np.isfinite(fps) or fps <= 0:
            raise PoseDataError(f"{name}: fps must be a positive finite number, got {self.fps!r}")
        if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
            raise PoseDataError(f"{name}: fps {fps:g} is outside {FPS_RANGE[0]:g}-{FPS_RANGE[1]:g} frames/s; "
                                "check its units")
        object.__setattr__(self, "fps", fps)

        for field in ("patient_id", "video_id"):
            value = getattr(self, field)
            if value is not None:
                if isinstance(value, float) and np.isnan(value):
                    value = None
                else:
                    value = str(value)
                object.__setattr__(self, field, value)

        if self.direction is not None:
            d = np.asarray(self.direction)
            if d.shape != (kp.shape[0],):
                raise PoseDataError(f"{name}: direction must have shape ({kp.shape[0]},), got {d.shape}")
            if not np.isin(d, (-1, 0, 1)).all():
                raise PoseDataError(f"{name}: direction values must be -1, 0 or +1")
            object.__setattr__(self, "direction", d.astype(np.int8))

        if self.root is not None:
            raw = np.asarray(self.root)
            if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
                raise PoseDataError(f"{name}: root must hold real numbers (x, y per frame), got dtype {raw.dtype}")
            r = np.array(raw, dtype=np.float64, copy=True)
            if r.shape != (kp.shape[0], 2):
                raise PoseDataError(f"{name}: root must have shape ({kp.shape[0]}, 2) = (frames, x/y), got {r.shape}")
            if np.isinf(r).any():
                raise PoseDataError(f"{name}: root has infinite values; mark unknown frames with NaN")
            r[np.isnan(r).any(axis=1)] = np.nan
            object.__setattr__(self, "root", r)

        if not isinstance(self.info, dict):
            raise PoseDataError(f"{name}: info must be a dict, got {type(self.info).__name__}")
        # Copy two levels deep (the step reports); deeper values are treated as read-only.
        object.__setattr__(self, "info", {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.info.items()})

    # -- construction helpers -------------------------------------------------

    @classmethod
    def from_openpose_array(cls, keypoints: np.ndarray, fps: float, layout: str = "body25", **kwargs: Any) -> PoseSequence:
        """Build from an array in OpenPose's encoding, where ``(0, 0, 0)`` means not detected.

        Joints with zero confidence, or with both coordinates exactly 0, are
        marked missing (NaN).
        """
        kp = np.array(keypoints, dtype=np.float32, copy=True)
        if kp.ndim != 3 or kp.shape[-1] != 3:
            raise PoseDataError(f"keypoints must have shape (T, V, 3), got {kp.shape}")
        kp[openpose_undetected(kp)] = np.nan
        return cls(kp, fps, layout, **kwargs)

    def replace(self, **changes: Any) -> PoseSequence:
        """A validated copy with some fields replaced (``info`` is merged, not replaced)."""
        info = dict(self.info)
        info.update(changes.pop("info", {}))
        return dataclasses.replace(self, info=info, **changes)

    # -- views ----------------------------------------------------------------

    @property
    def skeleton(self) -> SkeletonLayout:
        """The :class:`~gaitfeat.layouts.SkeletonLayout` object."""
        return get_layout(self.layout)

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.keypoints.shape[0])

    @property
    def n_joints(self) -> int:
        """Number of joints ``V``."""
        return int(self.keypoints.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds (``T / fps``)."""
        return self.n_frames / self.fps

    @property
    def xy(self) -> np.ndarray:
        """Coordinates ``(T, V, 2)`` (a view; do not modify)."""
        return self.keypoints[:, :, :2]

    @property
    def confidence(self) -> np.ndarray:
        """Confidences ``(T, V)`` (a view; do not modify)."""
        return self.keypoints[:, :, 2]

    def missing_mask(self) -> np.ndarray:
        """``(T, V)`` bool, True where the joint position is unknown (NaN)."""
        return np.isnan(self.keypoints[:, :, 0])

    def detected_mask(self, conf: float = 0.2) -> np.ndarray:
        """``(T, V)`` bool, True where the joint was detected with confidence >= ``conf``."""
        return self.keypoints[:, :, 2] >= conf

    def to_layout(self, layout: str | SkeletonLayout) -> PoseSequence:
        """The same sequence in another skeleton layout.

        Only ``body25`` -> ``coco17`` (and identity) are possible: each COCO-17
        joint is taken from the BODY_25 joint of the same name
        (:data:`gaitfeat.layouts.BODY25_TO_COCO17`).
        """
        target = get_layout(layout)
        kp = convert_keypoints(self.keypoints, self.layout, target)
        return self.replace(keypoints=kp, layout=target.name)

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        ids = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("patient_id", "video_id") if getattr(self, k) is not None)
        ids = f", {ids}" if ids else ""
        return (
            f"PoseSequence({self.n_frames} frames x {self.n_joints} joints, {self.layout}, "
            f"{self.fps:g} fps{ids}, {100 * self.missing_mask().mean():.1f}% missing)"
        )
