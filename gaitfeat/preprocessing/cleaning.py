"""Cleaning steps: confidence threshold, gap filling, zero-phase smoothing."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing._common import runs

__all__ = ["threshold_confidence", "fill_gaps", "smooth"]


def threshold_confidence(seq: PoseSequence, conf: float = 0.2) -> PoseSequence:
    """Mark detections with confidence below ``conf`` as missing.

    Parameters
    ----------
    seq : PoseSequence
    conf : float
        Confidence threshold in [0, 1]; 0.2 is the seed paper's quality
        threshold and a common OpenPose cut-off.

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
    t_all = np.arange(seq.n_frames, dtype=np.float64)
    filled_values = filled_gaps = unfilled_gaps = unfilled_values = 0
    for v in range(seq.n_joints):
        missing = np.isnan(kp[:, v, 0])
        if not missing.any():
            continue
        known = np.flatnonzero(~missing)
        for start, stop in runs(missing):
            interior = start > 0 and stop < seq.n_frames
            length = stop - start
            if not interior or length > max_gap or known.size == 0:
                unfilled_gaps += 1
                unfilled_values += length
                continue
            t0, t1 = start - 1, stop
            w = (t_all[start:stop] - t0) / (t1 - t0)
            for c in (0, 1):
                kp[start:stop, v, c] = (1.0 - w) * kp[t0, v, c] + w * kp[t1, v, c]
            kp[start:stop, v, 2] = 0.0
            filled_gaps += 1
            filled_values += length
    report = {
        "max_gap_frames": max_gap,
        "filled_values": filled_values,
        "filled_gaps": filled_gaps,
        "unfilled_gaps": unfilled_gaps,
        "unfilled_values": unfilled_values,
    }
    return seq.replace(keypoints=kp, info={"fill_gaps": report})


def smooth(seq: PoseSequence, cutoff_hz: float = 6.0, order: int = 2) -> PoseSequence:
    """Zero-phase Butterworth low-pass filter of every joint trajectory.

    The filter runs forwards and backwards (no phase lag, so gait events are
    not shifted in time) over each stretch of consecutive known positions; it
    never filters across a missing frame. Stretches too short for the filter's
    edge padding are left as they are and counted.

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
        "short_runs_unfiltered"}``; when the cut-off is at or above the
        Nyquist frequency nothing is filtered and ``"skipped"`` says why.
    """
    nyquist = 0.5 * seq.fps
    if cutoff_hz <= 0:
        raise ValueError(f"cutoff_hz must be > 0, got {cutoff_hz}")
    if cutoff_hz >= 0.95 * nyquist:
        reason = f"cut-off {cutoff_hz} Hz is not below the Nyquist frequency {nyquist:g} Hz of {seq.fps:g} fps"
        return seq.replace(info={"smooth": {"cutoff_hz": cutoff_hz, "order": order, "skipped": reason}})
    sos = butter(order, cutoff_hz / nyquist, btype="low", output="sos")
    # sosfiltfilt pads the signal at both ends; a run must be longer than the pad.
    padlen = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    kp = seq.keypoints.copy()
    filtered = short = 0
    for v in range(seq.n_joints):
        for start, stop in runs(~np.isnan(kp[:, v, 0])):
            if stop - start <= padlen:
                short += 1
                continue
            seg = kp[start:stop, v, 0:2].astype(np.float64)
            kp[start:stop, v, 0:2] = sosfiltfilt(sos, seg, axis=0, padlen=padlen)
            filtered += stop - start
    report = {"cutoff_hz": cutoff_hz, "order": order, "filtered_values": filtered, "short_runs_unfiltered": short}
    return seq.replace(keypoints=kp, info={"smooth": report})
