"""Per-clip truth of a simulated cohort and the exact allocation of its subjects to groups.

Split out of :mod:`gaitfeat.simulate.cohort`: :func:`clip_truth` summarises each clip's true gait
parameters from the per-frame truth and the true events; :func:`allocate` turns shares into exact
counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["TRUTH_COLUMNS", "allocate", "clip_truth"]

#: Per-clip truth columns (units in docs/simulator.md).
TRUTH_COLUMNS = (
    "walking_fraction", "n_heel_strikes", "cadence", "step_length", "stride_length", "step_length_m",
    "stride_length_m", "speed", "speed_ll", "hip_rom_left", "hip_rom_right", "knee_rom_left", "knee_rom_right",
    "trunk_inclination", "step_width_m",
)


def allocate(n: int, shares, *, what: str = "prevalence", expected: int | None = 4) -> np.ndarray:
    """Exact counts for ``n`` subjects by largest remainder (so small cohorts match the configuration).

    Parameters
    ----------
    n : int
        Number of subjects.
    shares : sequence of float
        Non-negative shares (any scale) of each group, in order.
    what : str
        What the shares are, for the error message.
    expected : int, optional
        The number of groups required (4: GMFCS I-IV); ``None`` accepts any number.

    Raises
    ------
    ValueError
        Shares that are not ``expected`` non-negative finite numbers with a positive sum.
    """
    try:
        p = np.asarray(shares, dtype=float)
    except (TypeError, ValueError):
        p = np.full(1, np.nan)
    bad = p.ndim != 1 or p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0
    if expected == 4 and (bad or p.shape != (4,)):
        raise ValueError(f"{what} must be four non-negative numbers for GMFCS I-IV, got {shares}")
    if bad or (expected is not None and p.shape != (expected,)):
        raise ValueError(f"{what} must be {expected or 'some'} non-negative numbers with a positive sum, got {shares}")
    p = p / p.sum()
    raw = n * p
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def clip_truth(clip_meta: pd.DataFrame, frames: dict[str, pd.DataFrame], events: pd.DataFrame, videos: pd.DataFrame) -> pd.DataFrame:
    """True gait parameters over each clip's walking frames (vectorised per video)."""
    cols = {c: np.full(len(clip_meta), np.nan) for c in TRUTH_COLUMNS}
    leg = videos.set_index("video_id")["leg_length_m"]
    hs = events[events["event"] == "heel_strike"]
    hs_by_video = {v: g for v, g in hs.groupby("video_id", sort=False)}
    positions = np.arange(len(clip_meta))
    for video_id, rows in clip_meta.groupby("video_id", sort=False):
        f = frames[video_id]
        idx = positions[clip_meta.index.get_indexer(rows.index)]
        window = int((rows["clip_stop"] - rows["clip_start"]).iloc[0])
        starts = rows["clip_start"].to_numpy()
        walk = sliding_window_view(f["walking"].to_numpy(), window)[starts]
        n_walk = walk.sum(axis=1)
        ok = n_walk > 0

        def wmean(values: np.ndarray) -> np.ndarray:
            w = sliding_window_view(values, window)[starts]
            return np.where(ok, (w * walk).sum(axis=1) / np.maximum(n_walk, 1), np.nan)

        def wrange(values: np.ndarray) -> np.ndarray:
            w = sliding_window_view(values, window)[starts]
            hi = np.where(walk, w, -np.inf).max(axis=1)
            lo = np.where(walk, w, np.inf).min(axis=1)
            return np.where(ok, hi - lo, np.nan)

        fps = float(rows["fps"].iloc[0])
        cols["walking_fraction"][idx] = n_walk / window
        cols["cadence"][idx] = wmean(f["cadence"].to_numpy())
        cols["trunk_inclination"][idx] = wmean(f["trunk_pitch"].to_numpy())
        cols["speed"][idx] = wmean(np.abs(np.gradient(f["pelvis_m"].to_numpy())) * fps)
        cols["speed_ll"][idx] = cols["speed"][idx] / leg[video_id]
        for joint in ("hip", "knee"):
            for side in ("left", "right"):
                cols[f"{joint}_rom_{side}"][idx] = wrange(f[f"{joint}_{side}"].to_numpy())
        v_hs = hs_by_video.get(video_id)
        if v_hs is None:
            cols["n_heel_strikes"][idx] = 0
            continue
        order = np.argsort(v_hs["frame"].to_numpy(), kind="stable")
        hs_frames = v_hs["frame"].to_numpy()[order]
        lo = np.searchsorted(hs_frames, starts, side="left")
        hi = np.searchsorted(hs_frames, starts + window, side="left")
        cols["n_heel_strikes"][idx] = hi - lo
        for name in ("step_length_m", "stride_length_m", "step_width_m"):
            values = v_hs[name].to_numpy()[order]
            finite = np.isfinite(values)
            total = np.concatenate(([0.0], np.cumsum(np.where(finite, values, 0.0))))
            count = np.concatenate(([0], np.cumsum(finite)))
            k = count[hi] - count[lo]
            with np.errstate(invalid="ignore", divide="ignore"):
                cols[name][idx] = np.where(k > 0, (total[hi] - total[lo]) / np.maximum(k, 1), np.nan)
        cols["step_length"][idx] = cols["step_length_m"][idx] / leg[video_id]
        cols["stride_length"][idx] = cols["stride_length_m"][idx] / leg[video_id]
    return pd.DataFrame(cols)
