"""Repair of short left/right leg label swaps.

In side views the far leg is partly hidden behind the near one, and OpenPose
regularly assigns the left-leg labels to the right leg (and vice versa) for a
few frames. Left-right features (knee ROM per side, symmetry indices, step
timing) are corrupted by such swaps, so they are found and undone here.

Method: between consecutive frames, compare how far the leg joints move if
labels are kept (``same``) with how far they move if the two legs' labels are
exchanged (``cross``). A label flip is declared where exchanging explains the
motion much better: ``cross < ratio * same`` and ``same - cross > min_sep``
leg lengths. Flips come in pairs (into the swap and back out of it); a pair
no more than ``max_swap_s`` apart is a short swap and the frames between are
relabelled. A flip without a partner within that time is left alone and
counted: a long stretch of exchanged labels cannot be told apart from correct
labels by continuity alone. The hips are swapped with the rest of the leg but
not used as evidence, since in a side view the two hips nearly coincide.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import robust_leg_length

__all__ = ["fix_leg_swaps", "find_leg_flips", "exchange_legs"]


def _leg_pairs(layout) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(all leg (left, right) pairs, the pairs used as evidence: legs without hips)."""
    left_leg = set(layout.segments["left_leg"])
    pairs = [(l, r) for l, r in layout.lr_pairs if l in left_leg]
    hips = set(layout.indices("left_hip", "right_hip"))
    evidence = [(l, r) for l, r in pairs if l not in hips]
    return pairs, evidence


def exchange_legs(keypoints: np.ndarray, start: int, stop: int, layout) -> None:
    """Exchange the left and right leg joints (hip to toes) of frames ``start:stop``, in place."""
    pairs, _ = _leg_pairs(layout)
    left = [l for l, _ in pairs]
    right = [r for _, r in pairs]
    block = keypoints[start:stop].copy()
    keypoints[start:stop, left] = block[:, right]
    keypoints[start:stop, right] = block[:, left]


def find_leg_flips(
    xy: np.ndarray, layout, leg_length: float, *, ratio: float = 0.5, min_sep: float = 0.1, max_lookback: int = 3
) -> np.ndarray:
    """Frames at which the leg labels flip relative to the previous frame with leg data.

    Parameters
    ----------
    xy : ndarray, shape (T, V, 2)
        Coordinates, NaN where missing.
    layout : SkeletonLayout
    leg_length : float
        Leg length in the units of ``xy`` (sets the scale of ``min_sep``).
    ratio, min_sep : float
        A flip needs ``cross < ratio * same`` and ``same - cross > min_sep * leg_length``.
    max_lookback : int
        How many frames back the comparison frame may lie (across missing frames).

    Returns
    -------
    ndarray of int
        Sorted frame indices ``t``: the labels of frame ``t`` are exchanged
        relative to the comparison frame before it.
    """
    _, evidence = _leg_pairs(layout)
    L = xy[:, [l for l, _ in evidence]]  # (T, P, 2)
    R = xy[:, [r for _, r in evidence]]
    usable = ~(np.isnan(L[..., 0]) | np.isnan(R[..., 0]))  # (T, P)
    frames = np.flatnonzero(usable.any(axis=1))
    if frames.size < 2:
        return np.empty(0, dtype=np.int64)
    # Each frame with leg data is compared with the previous one that has leg data.
    t, prev = frames[1:], frames[:-1]
    near = (t - prev) <= max_lookback
    t, prev = t[near], prev[near]
    both = usable[t] & usable[prev]  # (K, P)
    n = both.sum(axis=1)

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(both, np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1]), 0.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        same = (0.5 * (dist(L[t], L[prev]) + dist(R[t], R[prev]))).sum(axis=1) / n
        cross = (0.5 * (dist(L[t], R[prev]) + dist(R[t], L[prev]))).sum(axis=1) / n
    flip = (n > 0) & (cross < ratio * same) & (same - cross > min_sep * leg_length)
    return t[flip].astype(np.int64)


def fix_leg_swaps(seq: PoseSequence, max_swap_s: float = 0.25, *, ratio: float = 0.5, min_sep: float = 0.1) -> PoseSequence:
    """Undo short left/right leg label swaps.

    Parameters
    ----------
    seq : PoseSequence
    max_swap_s : float
        Longest swap to repair, in seconds.
    ratio, min_sep : float
        Flip detection thresholds, see :func:`find_leg_flips`.

    Returns
    -------
    PoseSequence
        With ``info["fix_leg_swaps"] = {"swaps_repaired", "frames_relabelled",
        "unpaired_flips"}`` (or ``"skipped"`` with the reason when the leg
        length cannot be estimated).
    """
    lay = seq.skeleton
    xy = seq.xy.astype(np.float64)
    leg = robust_leg_length(xy, lay)
    if not np.isfinite(leg):
        return seq.replace(info={"fix_leg_swaps": {"skipped": "too few frames with hip, knee and ankle to set a scale"}})
    max_swap = max(1, int(round(max_swap_s * seq.fps)))
    flips = list(find_leg_flips(xy, lay, leg, ratio=ratio, min_sep=min_sep))
    segments: list[tuple[int, int]] = []
    unpaired = 0
    # A swap that starts before the first frame shows as a lone flip near the start.
    if flips and flips[0] <= max_swap and (len(flips) == 1 or flips[1] - flips[0] > max_swap):
        segments.append((0, int(flips.pop(0))))
    i = 0
    while i < len(flips):
        if i + 1 < len(flips) and flips[i + 1] - flips[i] <= max_swap:
            segments.append((int(flips[i]), int(flips[i + 1])))
            i += 2
        elif i == len(flips) - 1 and seq.n_frames - flips[i] <= max_swap:
            segments.append((int(flips[i]), seq.n_frames))
            i += 1
        else:
            unpaired += 1
            i += 1
    kp = seq.keypoints.copy()
    relabelled = 0
    for start, stop in segments:
        exchange_legs(kp, start, stop, lay)
        relabelled += int(stop - start)
    report = {"swaps_repaired": len(segments), "frames_relabelled": relabelled, "unpaired_flips": unpaired}
    return seq.replace(keypoints=kp, info={"fix_leg_swaps": report})
