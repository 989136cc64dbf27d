"""Small array helpers shared by the preprocessing steps."""

from __future__ import annotations

import numpy as np

from gaitfeat.layouts import SkeletonLayout


def nanmean_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise mean of two arrays, using whichever is finite; NaN if neither is."""
    out = np.where(np.isnan(a), b, np.where(np.isnan(b), a, 0.5 * (a + b)))
    return out


def hip_midpoint(xy: np.ndarray, layout: SkeletonLayout) -> np.ndarray:
    """Hip midpoint ``(T, 2)`` from ``(T, V, 2)`` coordinates.

    The mean of the two hips where both are known; in a side view the hips
    nearly coincide, so one hip stands in when the other is missing; BODY_25's
    ``mid_hip`` is the last resort.
    """
    left, right = layout.indices("left_hip", "right_hip")
    mid = nanmean_pair(xy[:, left], xy[:, right])
    if layout.has("mid_hip"):
        m = layout.index("mid_hip")
        mid = np.where(np.isnan(mid), xy[:, m], mid)
    return mid


def leg_lengths_per_frame(xy: np.ndarray, layout: SkeletonLayout) -> np.ndarray:
    """Thigh + shank length per frame and side ``(T, 2)`` (NaN where a joint is missing)."""
    out = np.full((xy.shape[0], 2), np.nan)
    for k, side in enumerate(("left", "right")):
        h, kn, a = layout.indices(f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        thigh = np.hypot(*(xy[:, h] - xy[:, kn]).T)
        shank = np.hypot(*(xy[:, kn] - xy[:, a]).T)
        out[:, k] = thigh + shank
    return out


def robust_leg_length(xy: np.ndarray, layout: SkeletonLayout, min_values: int = 5) -> float:
    """Median thigh + shank length over all frames and both sides; NaN if fewer than ``min_values`` are known."""
    values = leg_lengths_per_frame(xy, layout).ravel()
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < min_values:
        return float("nan")
    return float(np.median(values))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of the True runs of a 1-D bool array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def fill_nearest(values: np.ndarray, empty: int = 0) -> np.ndarray:
    """Replace ``empty`` entries of a 1-D int array by the nearest other entry (ties: the earlier one)."""
    values = np.asarray(values)
    known = np.flatnonzero(values != empty)
    if known.size == 0:
        return values.copy()
    idx = np.arange(values.size)
    pos = np.searchsorted(known, idx)
    before = known[np.clip(pos - 1, 0, known.size - 1)]
    after = known[np.clip(pos, 0, known.size - 1)]
    nearest = np.where(np.abs(idx - before) <= np.abs(after - idx), before, after)
    return values[nearest]
