"""Sagittal joint-angle curves per gait cycle: each angle over a stride, time-normalised to 0-100 %.

The input of the joint-angle networks of Z. Lan, M. Lempereur,
A. Aïssa-El-Bey et al., "Quantitative comparison of explainable AI methods
for interpreting deep learning-based classification of 3D gait kinematics"
(Sci Rep 2026): every angle of one gait cycle resampled to 101 points, here
from 2-D side-view pose clips instead of 3-D motion capture.

Angles (degrees, flexion positive; :data:`CHANNEL_INFO`) are those of the
feature engine where it has them: trunk inclination, knee flexion and
shoulder (arm-body) angle are the engine's per-frame signals
(``_kernels.signals.frame_signals``, called as it is, so every definition,
sign and the "usable frame" rule — hips known, not turning — are shared);
hip flexion is the engine's thigh angle (hip->knee from the downward
vertical) plus its trunk inclination, i.e. the thigh against the trunk line
extended downwards. Elbow flexion and ankle dorsiflexion, which the engine's
per-frame signals do not hold, use the engine's construction (size by the
law of cosines, sign from the 2-D cross product) in NumPy; the ankle is the
angle of the extended features' kernel (``_kernels.extended.foot_signals``).

Cycles are the engine's complete strides (:func:`gaitfeat.detect_events`'s
heel strikes, paired by the kernel that pairs them for the stride features:
a stride starts at a heel strike and ends at the same foot's next one in the
same walking stretch, never across a turn or a missed strike). Each side's
angles are averaged over that side's strides; the trunk over both sides'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError
from gaitfeat.features import _kernels as K
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features._kernels.signals import frame_signals
from gaitfeat.features.engine import _joint_table, _params, _run, _validate
from gaitfeat.layouts import get_layout
from gaitfeat.preprocessing.checks import MAX_COORDINATE

__all__ = ["AngleCurves", "angle_curves", "frame_angles", "angle_channels", "channel_indices", "CHANNEL_INFO",
           "MIN_KNOWN_FRACTION", "MAX_GAP_FRACTION"]

#: What each angle measures (degrees); sided angles become ``left_<name>`` and ``right_<name>`` channels.
CHANNEL_INFO = {
    "trunk": "forward lean of the hip-midpoint -> shoulder-midpoint line from vertical; + = forward",
    "hip": "hip flexion: the thigh (hip -> knee) against the trunk line extended downwards; + = flexion",
    "knee": "knee flexion: the shank (knee -> ankle) against the thigh line; + = flexion",
    "ankle": "ankle dorsiflexion: the foot (heel -> big toe) against the perpendicular to the shank; "
             "+ = dorsiflexion, - = plantarflexion (layouts with heel and big-toe keypoints only)",
    "shoulder": "shoulder flexion: the upper arm (shoulder -> elbow) against the same side's trunk line "
                "(shoulder -> hip); + = arm ahead of the trunk",
    "elbow": "elbow flexion: the forearm (elbow -> wrist) against the upper-arm line; + = flexion",
}
_SIDED = ("hip", "knee", "ankle", "shoulder", "elbow")

#: A stride counts for an angle when at least this share of its frames has that angle ...
MIN_KNOWN_FRACTION = 0.8
#: ... and no run of frames without it is longer than this share of the stride (gaps are filled linearly).
MAX_GAP_FRACTION = 0.15


@dataclass(frozen=True, eq=False)
class AngleCurves:
    """Per-clip mean joint-angle curves over a gait cycle.

    Attributes
    ----------
    curves : ndarray float32 (N, A, points)
        Angle (deg) at 0-100 % of the cycle (heel strike to the same foot's
        next heel strike), mean over the clip's strides; NaN where the clip
        has no usable stride for that channel's side.
    channels : tuple of str
        Channel names, e.g. ``"trunk"``, ``"left_hip"``, ``"right_knee"``.
    n_strides : ndarray int64 (N, 2)
        Complete strides of the (left, right) foot in each clip.
    n_used : ndarray int64 (N, A)
        Strides averaged into each curve (fewer than the side's strides
        where the angle was missing in too many of a stride's frames).
    layout : str
        The clips' skeleton layout.
    """

    curves: np.ndarray
    channels: tuple[str, ...]
    n_strides: np.ndarray
    n_used: np.ndarray
    layout: str

    def __post_init__(self):
        curves = np.asarray(self.curves)
        if curves.ndim != 3 or curves.shape[2] < 2 or not np.issubdtype(curves.dtype, np.floating):
            raise ValueError(f"curves must be a float array (N, A, points >= 2), got {curves.dtype} {curves.shape}")
        n, a = curves.shape[:2]
        if len(self.channels) != a or not all(isinstance(c, str) for c in self.channels):
            raise ValueError(f"channels must name the {a} curves' channels, got {self.channels!r}")
        if np.shape(self.n_strides) != (n, 2) or np.shape(self.n_used) != (n, a):
            raise ValueError(f"n_strides must be ({n}, 2) and n_used ({n}, {a}), got {np.shape(self.n_strides)} "
                             f"and {np.shape(self.n_used)}")

    def __len__(self) -> int:
        return int(self.curves.shape[0])

    @property
    def points(self) -> int:
        """Samples per cycle."""
        return int(self.curves.shape[2])

    @property
    def n_without_strides(self) -> int:
        """Clips with no complete stride of either foot (all their curves are NaN)."""
        return int((self.n_strides.sum(axis=1) == 0).sum())

    def take(self, rows) -> AngleCurves:
        """The curves of some clips (an index array, a boolean mask or a slice)."""
        if isinstance(rows, slice):
            idx = rows
        else:
            idx = np.asarray(rows)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise ValueError(f"a boolean mask must have {len(self)} entries, got shape {idx.shape}")
            elif not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"rows must be integer indices, a boolean mask or a slice, got {idx.dtype}")
        return AngleCurves(self.curves[idx], self.channels, self.n_strides[idx], self.n_used[idx], self.layout)

    def select(self, channels) -> AngleCurves:
        """The named channels only, in the order given."""
        idx = channel_indices(self.channels, channels)
        return AngleCurves(self.curves[:, idx], tuple(self.channels[i] for i in idx), self.n_strides,
                           self.n_used[:, idx], self.layout)


def channel_indices(available, channels) -> list[int]:
    """Positions of ``channels`` in ``available``; ValueError naming unknown or repeated ones."""
    if isinstance(channels, str):
        channels = [channels]
    names = list(channels)
    if not names:
        raise ValueError("channels is empty; name at least one angle channel")
    unknown = [c for c in names if c not in available]
    if unknown:
        raise ValueError(f"unknown angle channels {unknown}; available: {list(available)}")
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ValueError(f"angle channels given more than once: {repeated}")
    return [list(available).index(c) for c in names]


def _has_feet(lay) -> bool:
    return all(lay.has(f"{s}_{j}") for s in ("left", "right") for j in ("heel", "big_toe"))


def angle_channels(layout) -> tuple[str, ...]:
    """Channel names for a layout: trunk, then each sided angle left and right (ankle only with foot keypoints)."""
    lay = get_layout(layout)
    names = ["trunk"]
    for angle in _SIDED:
        if angle == "ankle" and not _has_feet(lay):
            continue
        names += [f"left_{angle}", f"right_{angle}"]
    return tuple(names)


def _signed_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counter-clockwise angle (deg) from vectors ``a`` to ``b`` (..., 2); the engine's ``_signed_angle``, vectorised.

    Size by the law of cosines, sign from the cross product; NaN where a
    vector is unknown or has zero length.
    """
    na = np.hypot(a[..., 0], a[..., 1])
    nb = np.hypot(b[..., 0], b[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]) / (na * nb)
        angle = np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))
    angle = np.where(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0] < 0.0, -angle, angle)
    return np.where((na > 0) & (nb > 0), angle, np.nan)


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles (deg) wrapped into [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0


def _prepare(clips, fps, layout):
    """Validated clips, frame rates, layout, the kernels' joint table and settings."""
    arr, rates, lay = _validate(clips, fps, layout)
    with np.errstate(invalid="ignore"):
        if (np.abs(arr[..., :2]) > MAX_COORDINATE).any():       # NaN compares False: missing joints pass
            raise PoseDataError(f"clips contain infinite or impossible coordinates (|x| or |y| > {MAX_COORDINATE:g} "
                                "leg lengths); preprocess the poses and mark missing joints with NaN")
    for side in ("left", "right"):
        if not lay.has(f"{side}_wrist"):
            raise LayoutError(f"layout {lay.name!r} lacks {side}_wrist, which elbow flexion needs")
    params = _params(**DEFAULTS._asdict())
    return arr, rates, lay, _joint_table(lay), params


def _clip_angles(kp: np.ndarray, fps: float, J: np.ndarray, params, lay, channels) -> np.ndarray:
    """Per-frame angles ``(A, T)`` of one clip ``(T, V, C)`` float64; NaN where unknown or not usable."""
    T = kp.shape[0]
    usable = np.zeros(T, dtype=np.bool_)
    sig = np.empty((K.N_SIGNALS, T))
    frame_signals(kp, fps, J, params, usable, sig)
    xy = kp[:, :, :2]

    def vec(a: str, b: str) -> np.ndarray:
        return xy[:, lay.index(b)] - xy[:, lay.index(a)]

    out = np.full((len(channels), T), np.nan)
    for c, name in enumerate(channels):
        if name == "trunk":
            out[c] = sig[K.S_TRUNK]
            continue
        side, angle = name.split("_", 1)
        s = 0 if side == "left" else 1
        if angle == "hip":
            out[c] = _wrap(sig[K.S_THIGH + s] + sig[K.S_TRUNK])
        elif angle == "knee":
            out[c] = sig[K.S_KNEE + s]
        elif angle == "shoulder":
            out[c] = sig[K.S_ARM + s]
        elif angle == "elbow":
            out[c] = _signed_angle(vec(f"{side}_shoulder", f"{side}_elbow"), vec(f"{side}_elbow", f"{side}_wrist"))
        else:  # ankle: the foot lies 90 deg counter-clockwise of the shank at neutral
            out[c] = _wrap(_signed_angle(vec(f"{side}_knee", f"{side}_ankle"),
                                         vec(f"{side}_heel", f"{side}_big_toe")) - 90.0)
    out[:, ~usable] = np.nan           # the engine's rule: hips known, not near a turn
    return out


def frame_angles(clips, fps, layout=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-frame sagittal angles of every clip (the signals :func:`angle_curves` cuts into cycles).

    Parameters
    ----------
    clips : array (N, T, V, C)
        Preprocessed clips (hip-centred, x along the walking direction, y up,
        leg lengths); NaN for missing keypoints. As in the feature engine,
        the confidence channel is not read: gaps that :func:`gaitfeat.preprocess`
        filled (confidence 0, interpolated coordinates) are used.
    fps : float or array (N,)
        Frame rate(s), frames/s.
    layout : {"coco17", "body25"}, optional
        Inferred from V when omitted.

    Returns
    -------
    angles : ndarray float64 (N, A, T)
        Degrees (:data:`CHANNEL_INFO`); NaN where a joint is missing or the
        frame is not usable (hips unknown, or near a turn).
    channels : tuple of str
    """
    arr, rates, lay, J, params = _prepare(clips, fps, layout)
    channels = angle_channels(lay)
    out = np.empty((arr.shape[0], len(channels), arr.shape[1]))
    for i in range(arr.shape[0]):
        out[i] = _clip_angles(np.ascontiguousarray(arr[i], dtype=np.float64), float(rates[i]), J, params, lay,
                              channels)
    return out, channels


def _longest_gaps(missing: np.ndarray) -> np.ndarray:
    """Length of the longest run of True values in each row of ``missing`` (A, F)."""
    out = np.zeros(missing.shape[0], dtype=np.int64)
    for a in np.flatnonzero(missing.any(axis=1)):
        edges = np.diff(np.concatenate(([0], missing[a].astype(np.int8), [0])))
        out[a] = (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max()
    return out


def _add_stride(angles: np.ndarray, start: float, end: float, grid: np.ndarray, rows: np.ndarray,
                total: np.ndarray, count: np.ndarray) -> None:
    """Add the stride from sub-frame ``start`` to ``end`` to the running sums of channels ``rows``.

    ``angles`` (A, T) per-frame angles; ``grid`` the cycle fractions (0-1);
    ``total`` (A, points) and ``count`` (A,) the sums and stride counts. A
    channel's stride counts when at least :data:`MIN_KNOWN_FRACTION` of the
    stride's frames have the angle and no gap exceeds :data:`MAX_GAP_FRACTION`
    of them; gaps are filled linearly, positions between frames interpolated.
    """
    T = angles.shape[1]
    frames = np.arange(max(0, int(np.floor(start))), min(T - 1, int(np.ceil(end))) + 1)
    if frames.size < 2:
        return
    values = angles[rows][:, frames]
    known = ~np.isnan(values)
    ok = (known.sum(axis=1) >= MIN_KNOWN_FRACTION * frames.size) & \
        (_longest_gaps(~known) <= MAX_GAP_FRACTION * frames.size)
    at = start + (end - start) * grid
    for r in np.flatnonzero(ok):
        total[rows[r]] += np.interp(at, frames[known[r]], values[r, known[r]])
        count[rows[r]] += 1


def angle_curves(clips, fps, layout=None, *, points: int = 101) -> AngleCurves:
    """Mean sagittal joint-angle curve of each clip over its gait cycles, time-normalised to ``points`` samples.

    Parameters
    ----------
    clips : array (N, T, V, C)
        Preprocessed clips (hip-centred, x along the walking direction, y up,
        leg lengths); NaN for missing keypoints. As in the feature engine,
        the confidence channel is not read: gaps that :func:`gaitfeat.preprocess`
        filled (confidence 0, interpolated coordinates) are used.
    fps : float or array (N,)
        Frame rate(s), frames/s.
    layout : {"coco17", "body25"}, optional
        Inferred from V when omitted. BODY_25 adds the ankle channels.
    points : int
        Samples per cycle, from heel strike (0 %) to the same foot's next
        heel strike (100 %) inclusive; 101 gives 1 % steps (Lan et al.).

    Returns
    -------
    AngleCurves
        ``curves`` float32 ``(N, A, points)``: per side, each angle over
        that side's strides (linear interpolation at sub-frame positions,
        ``np.interp``), averaged; the trunk over both sides' strides. A
        stride counts for an angle when at least :data:`MIN_KNOWN_FRACTION`
        of its frames have it and no gap exceeds :data:`MAX_GAP_FRACTION`
        of the stride. NaN where nothing counts; clips without any complete
        stride are counted by ``n_without_strides``.

    Raises
    ------
    PoseDataError, LayoutError
        As :func:`gaitfeat.extract_features` (shape, pixels instead of leg
        lengths, infinite values, a layout that does not fit V).
    ValueError
        ``points`` is not an integer >= 2.
    """
    if isinstance(points, (bool, np.bool_)) or not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    arr, rates, lay, J, params = _prepare(clips, fps, layout)
    channels = angle_channels(lay)
    N = arr.shape[0]
    *_, (stride_out, _, n_rows) = _run(arr, rates, lay.name, params, rows=True)
    curves = np.full((N, len(channels), points), np.nan, dtype=np.float32)
    n_used = np.zeros((N, len(channels)), dtype=np.int64)
    n_strides = np.zeros((N, 2), dtype=np.int64)
    side = np.array([-1 if c == "trunk" else (0 if c.startswith("left_") else 1) for c in channels])
    rows_of = [np.flatnonzero((side == s) | (side < 0)) for s in range(2)]   # a stride's side, and the trunk
    grid = np.linspace(0.0, 1.0, points)
    for i in range(N):
        strides = stride_out[i, :n_rows[i, 0]]
        sides = strides[:, 0].astype(np.int64)
        n_strides[i] = np.bincount(sides, minlength=2)[:2]
        if not len(strides):
            continue
        angles = _clip_angles(np.ascontiguousarray(arr[i], dtype=np.float64), float(rates[i]), J, params, lay,
                              channels)
        total = np.zeros((len(channels), points))
        for s, start, end in zip(sides, strides[:, 1], strides[:, 2]):
            _add_stride(angles, start, end, grid, rows_of[s], total, n_used[i])
        seen = n_used[i] > 0
        curves[i, seen] = total[seen] / n_used[i, seen, None]
    return AngleCurves(curves, channels, n_strides, n_used, lay.name)
