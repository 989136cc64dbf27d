"""Is this a batch of preprocessed pose clips? The one check every pose-clip consumer runs.

Preprocessed clips (:func:`gaitfeat.preprocess` then :func:`gaitfeat.make_clips`)
are hip-centred and in leg lengths, so a typical coordinate is about one and
none is far beyond a few. Pixel coordinates, or a stray 1e30, would give any
model or feature a number built on meaningless input; they are refused here
with a message that says what to do.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.errors import PoseDataError
from gaitfeat.preprocessing._scan import ClipScan, scan_clips

__all__ = ["check_pose_clips", "scan_pose_clips", "PIXEL_MEDIAN", "MAX_COORDINATE"]

#: Median |coordinate| above which clips are taken for raw pixels (leg lengths).
PIXEL_MEDIAN = 10.0
#: Largest |coordinate| a preprocessed clip can hold (leg lengths): a body spans about
#: three leg lengths; this leaves room for a far-off detection, not for impossible values.
MAX_COORDINATE = 1000.0


def check_pose_clips(clips, *, what: str = "clips", min_channels: int = 2, scan_all: bool = True) -> np.ndarray:
    """Validate preprocessed pose clips and return them as C-contiguous float32 ``(N, T, V, C)``.

    Parameters
    ----------
    clips : array_like (N, T, V, C) or (T, V, C)
        x, y (leg lengths, hip-centred) and optionally confidence; NaN = missing.
    what : str
        Name used in messages.
    min_channels : int
        Fewest channels C (2: x and y).
    scan_all : bool
        Check every value for infinities and impossible magnitudes (> MAX_COORDINATE).
        The feature engine passes False: its kernels flag such values in the same pass
        as their own work.

    Raises
    ------
    PoseDataError
        Ragged or non-numeric input, a wrong shape, no frames, infinite or impossible
        values, or coordinates that look like raw pixels (median |x, y| > PIXEL_MEDIAN).
    """
    if scan_all:
        return scan_pose_clips(clips, what=what, min_channels=min_channels)[0]
    arr = _as_clips(clips, what, min_channels)
    _check_pixels(arr, what)
    return arr


def scan_pose_clips(clips, *, what: str = "clips", min_channels: int = 2) -> tuple[np.ndarray, ClipScan]:
    """:func:`check_pose_clips` with every value scanned, and the scan's per-clip counts for further checks.

    Returns the float32 clips and their :class:`~gaitfeat.preprocessing._scan.ClipScan`
    (observed keypoints, spread, first bad confidence per clip), from one pass over the data.
    """
    arr = _as_clips(clips, what, min_channels)
    scan = scan_clips(arr, MAX_COORDINATE)
    bad = np.flatnonzero(scan.first_impossible >= 0)
    if bad.size:
        n = int(bad[0])
        t, v = divmod(int(scan.first_impossible[n]), arr.shape[2])
        raise PoseDataError(
            f"{what}: impossible coordinate {arr[n, t, v, :2].tolist()} (clip {n}, frame {t}, joint {v}); "
            f"preprocessed clips are in leg lengths (|x|, |y| <= {MAX_COORDINATE:g}); mark missing joints "
            "with NaN"
        )
    _check_pixels(arr, what)
    return arr, scan


def _as_clips(clips, what: str, min_channels: int) -> np.ndarray:
    """Shape and dtype checks; the clips as C-contiguous float32 ``(N, T, V, C)``."""
    try:
        arr = np.asarray(clips)
    except ValueError as exc:  # ragged nested lists
        raise PoseDataError(f"{what} must be a rectangular numeric array (N, T, V, C): {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise PoseDataError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise PoseDataError(f"{what} must have shape (N, T, V, C), got {arr.shape}")
    N, T, V, C = arr.shape
    if C < min_channels:
        raise PoseDataError(f"{what} need x and y channels (C >= {min_channels}), got C = {C}")
    if N and (T == 0 or V == 0):
        raise PoseDataError(f"{what} have no frames or no joints: shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_pixels(arr: np.ndarray, what: str) -> None:
    if not arr.shape[0]:
        return
    sample = arr[:: max(1, arr.shape[0] // 64), ..., :2]
    finite = np.abs(sample[np.isfinite(sample)])
    if finite.size and np.median(finite) > PIXEL_MEDIAN:
        raise PoseDataError(
            f"{what} look like raw pixel coordinates (median |coordinate| {np.median(finite):.0f}); "
            "run gaitfeat.preprocess first (hip-centred, in leg lengths)"
        )
