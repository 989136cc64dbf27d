"""One pass over a batch of pose clips: what the clip checks need, and zeroing of missing keypoints.

The checks at the door of every model (:func:`gaitfeat.preprocessing.check_pose_clips`,
:func:`models.checks.check_clips`, :func:`models.deep.prepare_clips`) used to
make several NumPy passes with full-size temporaries (a float64 copy, NaN
masks, min/max copies): about 0.6 s and 400 MB per network fit on the default
cohort's training fold, repeated by every network of every fold. These
kernels read each value once, in parallel over clips, and allocate per clip.

Assumptions (the wrappers ensure them): ``clips`` is a C-contiguous float32
array ``(N, T, V, C)`` with ``C >= 2``; channel 2, when present, is the
detector confidence. A keypoint is *missing* when x or y is NaN or, with a
confidence channel, the confidence is not > 0 (NaN included).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

__all__ = ["ClipScan", "scan_clips", "zero_missing"]


class ClipScan(NamedTuple):
    """Per-clip results of :func:`scan_clips` (each an array of length N).

    first_impossible : int64
        Flat index ``t * V + v`` of the clip's first keypoint with an
        infinite x or y or one beyond ``max_coordinate`` in magnitude; -1 if none.
    first_bad_confidence : int64
        Flat index of the first confidence outside [0, 1] (NaN is not bad); -1 if none.
    observed : int64
        Keypoints not missing.
    spread : float64
        Largest extent, in one frame, of the observed joints along x or y
        (``max(x) - min(x)`` or the same for y); ``-inf`` when nothing is observed.
    """

    first_impossible: np.ndarray
    first_bad_confidence: np.ndarray
    observed: np.ndarray
    spread: np.ndarray


class _ScanParams(NamedTuple):
    max_coordinate: float
    has_confidence: bool


@njit(parallel=True, cache=True)
def _scan_kernel(clips, params, first_impossible, first_bad_confidence, observed, spread):
    n, t_len, v_len, _ = clips.shape
    limit = params.max_coordinate
    for i in prange(n):
        impossible, bad_conf, count, widest = -1, -1, 0, -np.inf
        for t in range(t_len):
            x_lo, x_hi, y_lo, y_hi = np.inf, -np.inf, np.inf, -np.inf
            seen = False
            for v in range(v_len):
                x = np.float64(clips[i, t, v, 0])
                y = np.float64(clips[i, t, v, 1])
                if impossible < 0 and ((not np.isnan(x) and not abs(x) <= limit)
                                       or (not np.isnan(y) and not abs(y) <= limit)):
                    impossible = t * v_len + v
                missing = np.isnan(x) or np.isnan(y)
                if params.has_confidence:
                    c = np.float64(clips[i, t, v, 2])
                    if bad_conf < 0 and not np.isnan(c) and not (0.0 <= c <= 1.0):
                        bad_conf = t * v_len + v
                    if not c > 0.0:
                        missing = True
                if missing:
                    continue
                count += 1
                seen = True
                x_lo, x_hi = min(x_lo, x), max(x_hi, x)
                y_lo, y_hi = min(y_lo, y), max(y_hi, y)
            if seen:
                widest = max(widest, max(x_hi - x_lo, y_hi - y_lo))
        first_impossible[i] = impossible
        first_bad_confidence[i] = bad_conf
        observed[i] = count
        spread[i] = widest


def scan_clips(clips: np.ndarray, max_coordinate: float) -> ClipScan:
    """Scan float32 clips ``(N, T, V, C)`` once (see :class:`ClipScan`); the caller has checked shape and dtype."""
    n = clips.shape[0]
    out = ClipScan(np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64))
    if n:
        _scan_kernel(np.ascontiguousarray(clips, dtype=np.float32),
                     _ScanParams(float(max_coordinate), clips.shape[-1] >= 3), *out)
    return out


@njit(parallel=True, cache=True)
def _zero_kernel(clips, has_confidence, counts):
    n, t_len, v_len, c_len = clips.shape
    for i in prange(n):
        count = 0
        for t in range(t_len):
            for v in range(v_len):
                missing = np.isnan(clips[i, t, v, 0]) or np.isnan(clips[i, t, v, 1])
                if has_confidence and not clips[i, t, v, 2] > 0.0:
                    missing = True
                if missing:
                    count += 1
                    for c in range(c_len):
                        clips[i, t, v, c] = 0.0
        counts[i] = count


def zero_missing(clips: np.ndarray) -> int:
    """Set every channel of every missing keypoint to 0, in place (C-contiguous float32); return how many there were."""
    if not (clips.dtype == np.float32 and clips.flags.c_contiguous and clips.flags.writeable and clips.ndim == 4):
        raise ValueError("zero_missing needs a writeable C-contiguous float32 array (N, T, V, C)")
    counts = np.zeros(clips.shape[0], np.int64)
    if clips.shape[0]:
        _zero_kernel(clips, clips.shape[-1] >= 3, counts)
    return int(counts.sum())
