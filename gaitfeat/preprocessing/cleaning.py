"""Cleaning steps: confidence threshold, gap filling, zero-phase smoothing."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import robust_leg_length

__all__ = ["threshold_confidence", "reject_outliers", "fill_gaps", "smooth"]


def threshold_confidence(seq: PoseSequence, conf: float = 0.2) -> PoseSequence:
    """Mark detections with confidence below ``conf`` as missing.

    Parameters
    ----------
    seq : PoseSequence
    conf : float
        Confidence threshold in [0, 1]; 0.2 is the quality threshold of
        Yang, Chen & He ("Multimodal Fusion of Skeleton Dynamics and Clinical
        Gait Features for Video-Based Cerebral Palsy Severity Assessment")
        and a common OpenPose cut-off.

    Returns
    -------
    PoseSequence
        With ``info["threshold_confidence"] = {"conf", "removed"}``.
    """
    if not 0.0 <= conf <= 1.0:
        raise ValueError(f"conf must be in [0, 1], got {conf}")
    kp = seq.keypoints.copy()
    low = (kp[:, :, 2] < conf) & ~np.isnan(kp[:, :, 0])
    kp[low, 0:2] = np.nan
    kp[low, 2] = 0.0
    return seq.replace(keypoints=kp, info={"threshold_confidence": {"conf": conf, "removed": int(low.sum())}})


#: Longest run of frames (and largest gap around it) that :func:`reject_outliers` treats as an excursion.
MAX_EXCURSION_FRAMES = 3


def _excursions(xy: np.ndarray, limit: float, max_len: int = MAX_EXCURSION_FRAMES) -> np.ndarray:
    """``(T, V)`` bool: short runs of a point's positions that leave and come back.

    A run of at most ``max_len`` known positions of one point is an excursion
    when every position in it is farther than ``limit`` from the point's known
    positions just before and just after the run, while those two are within
    ``limit`` of each other and at most ``2 max_len + 1`` frames apart.
    """
    T, V, _ = xy.shape
    out = np.zeros((T, V), dtype=bool)
    for v in range(V):
        known = np.flatnonzero(~np.isnan(xy[:, v, 0]))
        p = xy[known, v]
        for length in range(1, max_len + 1):
            n = len(known) - length - 1
            if n <= 0:
                continue
            before, after = p[:n], p[length + 1 : length + 1 + n]
            far = (np.hypot(*(before - after).T) <= limit) & (known[length + 1 :][:n] - known[:n] <= 2 * max_len + 1)
            for j in range(length):
                run = p[1 + j : 1 + j + n]
                far &= (np.hypot(*(run - before).T) > limit) & (np.hypot(*(run - after).T) > limit)
            for j in range(length):
                out[known[np.flatnonzero(far) + 1 + j], v] = True
    return out


def reject_outliers(seq: PoseSequence, max_distance: float = 5.0, max_jump: float = 1.5) -> PoseSequence:
    """Mark physically impossible detections missing, before anything smooths them into their neighbours.

    A detector's wild value (a joint at 1e30, on the far side of the image for
    a frame or two, or a whole frame that jumps to another person) would
    otherwise be spread by the low-pass filter over a hundred frames and read
    as motion. Three rules, in leg lengths of this sequence (the robust median
    of thigh + shank, which a few bad frames do not move):

    * **impossible position**: farther than ``max_distance`` from the median
      position of the frame's detected joints (a body spans about three leg
      lengths from head to toe);
    * **frame excursion**: the frame's median joint position leaves by more
      than ``max_jump`` for at most :data:`MAX_EXCURSION_FRAMES` frames and
      comes back (the detector followed someone else): the whole frame;
    * **joint excursion**: the same for one joint (a joint cannot leave by
      1.5 leg lengths and come back within three frames: at 25 fps that is
      more than 12 leg lengths per second, about three times a foot's swing
      speed).

    Parameters
    ----------
    seq : PoseSequence
    max_distance, max_jump : float
        Limits in leg lengths (> 0).

    Returns
    -------
    PoseSequence
        With ``info["reject_outliers"] = {"impossible", "frames", "spikes",
        "max_distance", "max_jump"}`` (detections marked missing by each
        rule; ``frames`` counts frames); ``"skipped"`` says why nothing was
        checked when no leg length can be estimated.
    """
    if not (max_distance > 0 and max_jump > 0):
        raise ValueError(f"max_distance and max_jump must be positive, got {max_distance}, {max_jump}")
    report = {"impossible": 0, "frames": 0, "spikes": 0, "max_distance": max_distance, "max_jump": max_jump}
    xy = seq.xy.astype(np.float64)
    known = ~np.isnan(xy[:, :, 0])
    # A coordinate beyond every image (> 1e7 px) cannot be part of a leg or a frame's middle.
    sane_xy = np.where(np.abs(xy) < 1e7, xy, np.nan)
    leg = robust_leg_length(sane_xy, seq.skeleton) if known.any() else float("nan")
    if not np.isfinite(leg) or leg <= 0:
        report["skipped"] = "no leg length could be estimated"
        return seq.replace(info={"reject_outliers": report})
    kp = seq.keypoints.copy()

    def drop(mask):
        kp[mask, 0:2] = np.nan
        kp[mask, 2] = 0.0
        xy[mask] = np.nan

    def centres(points):
        any_known = ~np.isnan(points[:, :, 0]).all(axis=1)
        out = np.full((points.shape[0], 2), np.nan)
        out[any_known] = np.nanmedian(points[any_known], axis=1)  # (T, 2): the frame's middle
        return out

    distance = np.hypot(*(xy - centres(sane_xy)[:, None, :]).transpose(2, 0, 1))
    with np.errstate(invalid="ignore"):
        impossible = known & ~(distance <= max_distance * leg)
    drop(impossible)
    frames = _excursions(centres(xy)[:, None, :], max_jump * leg)[:, 0]
    drop(frames[:, None] & ~np.isnan(xy[:, :, 0]))
    spikes = _excursions(xy, max_jump * leg)
    drop(spikes)
    report.update(impossible=int(impossible.sum()), frames=int(frames.sum()), spikes=int(spikes.sum()))
    return seq.replace(keypoints=kp, info={"reject_outliers": report})


def fill_gaps(seq: PoseSequence, max_gap_s: float = 0.25) -> PoseSequence:
    """Fill short gaps in each joint's trajectory by linear interpolation.

    A gap is a run of missing frames with a known position on both sides.
    Gaps up to ``max_gap_s`` seconds are filled (filled values get confidence 0,
    marking them as not detected); longer gaps, and missing runs at the start
    or end of the sequence, stay missing and are counted.

    Parameters
    ----------
    seq : PoseSequence
    max_gap_s : float
        Longest gap to fill, in seconds (0.25 s is about a quarter of a stride
        at typical paediatric cadence; longer gaps would be filled with a
        straight line through a swing phase).

    Returns
    -------
    PoseSequence
        With ``info["fill_gaps"] = {"max_gap_frames", "filled_values",
        "filled_gaps", "unfilled_gaps", "unfilled_values"}``.
    """
    if max_gap_s < 0:
        raise ValueError(f"max_gap_s must be >= 0, got {max_gap_s}")
    max_gap = int(np.floor(max_gap_s * seq.fps + 1e-9))
    kp = seq.keypoints.copy()
    T = seq.n_frames
    missing = np.isnan(kp[:, :, 0])  # (T, V)
    t = np.arange(T)[:, None]
    # Index of the last known frame at or before t, and of the next known frame at or after t.
    prev = np.maximum.accumulate(np.where(missing, -1, t), axis=0)
    nxt = np.minimum.accumulate(np.where(missing, T, t)[::-1], axis=0)[::-1]
    length = nxt - prev - 1
    fill = missing & (prev >= 0) & (nxt < T) & (length <= max_gap)
    if fill.any():
        tt, vv = np.nonzero(fill)
        p, q = prev[tt, vv], nxt[tt, vv]
        w = ((tt - p) / (q - p))[:, None]
        kp[tt, vv, 0:2] = (1.0 - w) * kp[p, vv, 0:2] + w * kp[q, vv, 0:2]
        kp[tt, vv, 2] = 0.0
    run_start = missing & ~np.vstack([np.zeros((1, missing.shape[1]), bool), missing[:-1]])
    filled_gaps = int((run_start & fill).sum())
    filled_values = int(fill.sum())
    unfilled_gaps = int(run_start.sum()) - filled_gaps
    unfilled_values = int(missing.sum()) - filled_values
    report = {
        "max_gap_frames": max_gap,
        "filled_values": filled_values,
        "filled_gaps": filled_gaps,
        "unfilled_gaps": unfilled_gaps,
        "unfilled_values": unfilled_values,
    }
    return seq.replace(keypoints=kp, info={"fill_gaps": report})


def _run_end(missing: np.ndarray, start: int) -> int:
    """Last index of the known run that begins at ``start``."""
    after = np.flatnonzero(missing[start:])
    return start + (after[0] - 1 if after.size else missing.size - 1 - start)


def _run_start(missing: np.ndarray, stop: int) -> int:
    """First index of the known run that ends at ``stop``."""
    before = np.flatnonzero(missing[: stop + 1])
    return before[-1] + 1 if before.size else 0


def smooth(seq: PoseSequence, cutoff_hz: float = 6.0, order: int = 2) -> PoseSequence:
    """Zero-phase Butterworth low-pass filter of every joint trajectory.

    The filter runs forwards and backwards (no phase lag, so gait events are
    not shifted in time). Missing stretches stay missing: for the filter they
    are bridged by a straight line between the known positions on either side
    (and, before the first and after the last known position, by continuing
    the local slope, much as the filter's own edge padding does), the
    whole sequence is filtered in one pass, and the bridged frames are set
    back to missing. A straight bridge passes the filter unchanged, so values
    next to a gap are neither pulled towards zero nor extrapolated.

    Parameters
    ----------
    seq : PoseSequence
    cutoff_hz : float
        Cut-off frequency (Hz). 6 Hz is the usual choice for sagittal gait
        kinematics (Winter, *Biomechanics and Motor Control of Human
        Movement*): walking content lies below it, detector jitter above.
    order : int
        Butterworth order of each pass (the forward-backward filter has twice
        this order).

    Returns
    -------
    PoseSequence
        With ``info["smooth"] = {"cutoff_hz", "order", "filtered_values",
        "bridged_values"}``; when the cut-off is not below the Nyquist
        frequency, or the sequence is too short for the filter's edge
        padding, nothing is filtered and ``"skipped"`` says why.
    """
    nyquist = 0.5 * seq.fps
    if cutoff_hz <= 0:
        raise ValueError(f"cutoff_hz must be > 0, got {cutoff_hz}")
    if cutoff_hz >= 0.95 * nyquist:
        reason = f"cut-off {cutoff_hz} Hz is not below the Nyquist frequency {nyquist:g} Hz of {seq.fps:g} fps"
        return seq.replace(info={"smooth": {"cutoff_hz": cutoff_hz, "order": order, "skipped": reason}})
    sos = butter(order, cutoff_hz / nyquist, btype="low", output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    T, V = seq.n_frames, seq.n_joints
    if T <= padlen:
        reason = f"{T} frames is too short for the filter (needs more than {padlen})"
        return seq.replace(info={"smooth": {"cutoff_hz": cutoff_hz, "order": order, "skipped": reason}})
    kp = seq.keypoints.copy()
    xy = kp[:, :, 0:2].astype(np.float64).reshape(T, 2 * V)
    missing = np.isnan(xy)
    columns = [c for c in range(2 * V) if not missing[:, c].all()]
    t = np.arange(T)
    for c in columns:
        if missing[:, c].any():
            known = np.flatnonzero(~missing[:, c])
            col = np.interp(t, known, xy[known, c])
            # Before the first and after the last known value: continue the local
            # slope (over up to 5 known frames), so a straight trajectory stays straight.
            a, b = known[0], known[-1]
            ma = min(4, _run_end(missing[:, c], a) - a)
            mb = min(4, b - _run_start(missing[:, c], b))
            slope_a = (col[a + ma] - col[a]) / ma if ma > 0 else 0.0
            slope_b = (col[b] - col[b - mb]) / mb if mb > 0 else 0.0
            col[:a] = col[a] + slope_a * (t[:a] - a)
            col[b + 1 :] = col[b] + slope_b * (t[b + 1 :] - b)
            xy[:, c] = col
    if columns:
        xy[:, columns] = sosfiltfilt(sos, xy[:, columns], axis=0, padlen=padlen)
    xy[missing] = np.nan
    kp[:, :, 0:2] = xy.reshape(T, V, 2)
    report = {
        "cutoff_hz": cutoff_hz,
        "order": order,
        "filtered_values": int((~missing[:, columns]).sum() // 2) if columns else 0,
        "bridged_values": int(missing[:, columns].sum() // 2) if columns else 0,
    }
    return seq.replace(keypoints=kp, info={"smooth": report})
