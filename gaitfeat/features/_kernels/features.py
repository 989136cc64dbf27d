"""Numba kernels, step 3: the features of one clip, and the batch entry point.

``extract_batch`` runs ``clip_features`` on every clip (prange); that calls
:func:`.signals.frame_signals`, the event kernels of :mod:`.events`, the
feature groups below (angles, temporal, spatial, stance) and those of
:mod:`.extended` (per-side steps, foot contact, ankle), each writing its own
columns of ``feat`` and ``reason``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from gaitfeat.features._kernels.contract import (
    F_ARM_BODY,
    F_ARM_SWING,
    F_ARM_SYM,
    F_CADENCE,
    F_CV,
    F_CYCLE,
    F_DOUBLE,
    F_HIP_ROM,
    F_HIP_SYM,
    F_KNEE_IC,
    F_KNEE_MIN,
    F_KNEE_ROM,
    F_KNEE_SYM,
    F_NECK,
    F_STANCE_SWING,
    F_STEP,
    F_STEP_SIDE,
    F_STEP_SYM,
    F_STRIDE,
    F_SWAY,
    F_TIME_SYM,
    F_TRUNK,
    J_HEEL,
    J_TOE,
    MAX_COORDINATE,
    N_FOOT_ROWS,
    N_SIGNALS,
    Q_HS_L,
    Q_HS_R,
    Q_INFINITE,
    Q_STRIDES,
    Q_TO_L,
    Q_TO_R,
    Q_TURNING,
    Q_USABLE,
    R_FRAMES,
    R_NO_STRIKE,
    R_SIDES,
    R_STEPS,
    R_STRIDE,
    R_THREE,
    R_TOE_OFF,
    S_ARM,
    S_KNEE,
    S_NECK,
    S_THIGH,
    S_TRUNK,
)
from gaitfeat.features._kernels.events import (
    gait_events,
    heel_strikes,
    interp,
    pelvis_path,
    set_feature,
    steps,
    strides,
    strongest_toe_off,
    walking_stretches,
)
from gaitfeat.features._kernels.extended import ankle_features, foot_signals, step_features
from gaitfeat.features._kernels.signals import camera_pan, frame_signals

_NAN = np.nan


@njit(cache=True)
def _symmetry(left, right):
    """Symmetry index |L - R| / (0.5 (L + R)) x 100 (%), NaN if undefined."""
    mean = 0.5 * (left + right)
    if not (mean != 0.0) or not (left == left and right == right):
        return _NAN
    return abs(left - right) / abs(mean) * 100.0


@njit(cache=True)
def _angle_summary(values, min_frames):
    """(count, mean, sd, min, max) of the known values; mean etc. NaN when count < min_frames."""
    n = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for v in values:
        if v == v:
            n += 1
            total += v
            lo = min(lo, v)
            hi = max(hi, v)
    if n < max(min_frames, 2):
        return n, _NAN, _NAN, _NAN, _NAN
    mean = total / n
    ss = 0.0
    for v in values:
        if v == v:
            ss += (v - mean) * (v - mean)
    return n, mean, math.sqrt(ss / n), lo, hi


@njit(cache=True)
def angle_features(sig, min_frames, feat, reason):
    """Posture and joint-angle features: trunk, ranges of motion, neck, arms, and their symmetry.

    Assumes the angle rows of ``sig`` are NaN outside usable frames; a value
    needs at least ``min_frames`` known frames (else NaN, reason R_FRAMES).
    """
    _, mean, sd, _, _ = _angle_summary(sig[S_TRUNK], min_frames)
    set_feature(feat, reason, F_TRUNK, mean, R_FRAMES)
    set_feature(feat, reason, F_SWAY, math.sqrt(2.0) * sd, R_FRAMES)
    for s in range(2):
        _, _, _, lo, hi = _angle_summary(sig[S_THIGH + s], min_frames)
        set_feature(feat, reason, F_HIP_ROM[s], hi - lo, R_FRAMES)
        _, _, _, lo, hi = _angle_summary(sig[S_KNEE + s], min_frames)
        set_feature(feat, reason, F_KNEE_ROM[s], hi - lo, R_FRAMES)
        _, mean, _, _, _ = _angle_summary(sig[S_NECK + s], min_frames)
        set_feature(feat, reason, F_NECK[s], mean, R_FRAMES)
        _, mean, _, lo, hi = _angle_summary(sig[S_ARM + s], min_frames)
        set_feature(feat, reason, F_ARM_BODY[s], mean, R_FRAMES)
        set_feature(feat, reason, F_ARM_SWING[s], hi - lo, R_FRAMES)
    set_feature(feat, reason, F_HIP_SYM, _symmetry(feat[F_HIP_ROM[0]], feat[F_HIP_ROM[1]]), R_SIDES)
    set_feature(feat, reason, F_KNEE_SYM, _symmetry(feat[F_KNEE_ROM[0]], feat[F_KNEE_ROM[1]]), R_SIDES)
    set_feature(feat, reason, F_ARM_SYM, _symmetry(feat[F_ARM_SWING[0]], feat[F_ARM_SWING[1]]), R_SIDES)


@njit(cache=True)
def temporal_features(hs_f, first, last, step_time, step_time_n, fps, feat, reason):
    """Gait cycle duration, cadence, stride-time variability and step-timing symmetry.

    From the strides (``first``/``last`` of :func:`.events.strides`); without
    a stride, cadence from the steps (``step_time`` sums and counts per side
    from :func:`.events.steps`).
    """
    n_strides = first.shape[0]
    stride_times = np.empty(max(n_strides, 1))
    for i in range(n_strides):
        stride_times[i] = (hs_f[last[i]] - hs_f[first[i]]) / fps
    if n_strides > 0:
        cycle = 0.0
        for i in range(n_strides):
            cycle += stride_times[i]
        cycle /= n_strides
        set_feature(feat, reason, F_CYCLE, cycle, R_STRIDE)
        set_feature(feat, reason, F_CADENCE, 120.0 / cycle, R_STRIDE)
    else:
        set_feature(feat, reason, F_CYCLE, _NAN, R_STRIDE)
        n_steps = step_time_n[0] + step_time_n[1]
        if n_steps > 0:
            set_feature(feat, reason, F_CADENCE, 60.0 * n_steps / (step_time[0] + step_time[1]), R_STEPS)
        else:
            set_feature(feat, reason, F_CADENCE, _NAN, R_STEPS)
    if n_strides >= 3:
        mean = feat[F_CYCLE]
        ss = 0.0
        for i in range(n_strides):
            ss += (stride_times[i] - mean) ** 2
        set_feature(feat, reason, F_CV, math.sqrt(ss / (n_strides - 1)) / mean * 100.0, R_THREE)
    else:
        set_feature(feat, reason, F_CV, _NAN, R_THREE)
    left_time = step_time[0] / step_time_n[0] if step_time_n[0] > 0 else _NAN
    right_time = step_time[1] / step_time_n[1] if step_time_n[1] > 0 else _NAN
    set_feature(feat, reason, F_TIME_SYM, _symmetry(left_time, right_time), R_SIDES)


@njit(cache=True)
def spatial_features(hs_pos, first, last, step_len, step_len_n, feat, reason):
    """Step length (both feet and per foot), step-length symmetry and stride length.

    ``step_len`` sums and counts per side come from :func:`.events.steps`;
    stride lengths are the ground positions ``hs_pos`` at each stride's two
    strikes, where known.
    """
    n_len = step_len_n[0] + step_len_n[1]
    set_feature(feat, reason, F_STEP, (step_len[0] + step_len[1]) / n_len if n_len > 0 else _NAN, R_STEPS)
    for s in range(2):
        set_feature(feat, reason, F_STEP_SIDE[s], step_len[s] / step_len_n[s] if step_len_n[s] > 0 else _NAN, R_STEPS)
    set_feature(feat, reason, F_STEP_SYM, _symmetry(feat[F_STEP_SIDE[0]], feat[F_STEP_SIDE[1]]), R_SIDES)
    stride_len_sum = 0.0
    stride_len_n = 0
    for i in range(first.shape[0]):
        length = hs_pos[last[i]] - hs_pos[first[i]]
        if length == length:
            stride_len_sum += length
            stride_len_n += 1
    set_feature(feat, reason, F_STRIDE, stride_len_sum / stride_len_n if stride_len_n > 0 else _NAN, R_STRIDE)


@njit(cache=True)
def stance_features(sig, events, n_events, hs_f, hs_s, first, last, feat, reason):
    """Stance/swing ratio, least knee flexion in stance, double support, knee flexion at heel strike.

    Each stride's toe-off is the strongest toe-off event of that foot inside
    it (largest toe-off signal); strides without one are skipped. Stance is
    from the stride's first strike to the toe-off, swing from there to its
    last strike; double support counts the frames both feet are in stance
    among those where both feet's phase is known.
    """
    T = sig.shape[1]
    stance_sum = np.zeros(2)
    swing_sum = np.zeros(2)
    min_knee_sum = np.zeros(2)
    min_knee_n = np.zeros(2)
    state = np.full((2, T), -1, dtype=np.int8)  # 1 stance, 0 swing, -1 unknown
    for i in range(first.shape[0]):
        q, e = first[i], last[i]
        s = hs_s[e]
        to = strongest_toe_off(sig, events, n_events, s, hs_f[q], hs_f[e])
        if not (to == to):
            continue
        stance_sum[s] += to - hs_f[q]
        swing_sum[s] += hs_f[e] - to
        lo = np.inf
        for t in range(int(math.ceil(hs_f[q])), int(math.floor(to)) + 1):
            v = sig[S_KNEE + s, t]
            if v == v and v < lo:
                lo = v
        if lo < np.inf:
            min_knee_sum[s] += lo
            min_knee_n[s] += 1
        for t in range(int(math.ceil(hs_f[q])), min(T, int(math.ceil(hs_f[e])))):
            state[s, t] = 1 if t < to else 0
    for s in range(2):
        ratio = stance_sum[s] / swing_sum[s] if swing_sum[s] > 0 else _NAN
        set_feature(feat, reason, F_STANCE_SWING[s], ratio, R_TOE_OFF)
        set_feature(feat, reason, F_KNEE_MIN[s], min_knee_sum[s] / min_knee_n[s] if min_knee_n[s] > 0 else _NAN,
                    R_TOE_OFF)
        total = 0.0
        count = 0
        for e in range(n_events[s, 0]):
            v = interp(sig[S_KNEE + s], events[s, 0, e])
            if v == v:
                total += v
                count += 1
        set_feature(feat, reason, F_KNEE_IC[s], total / count if count > 0 else _NAN, R_NO_STRIKE)
    both = 0
    double = 0
    for t in range(T):
        if state[0, t] >= 0 and state[1, t] >= 0:
            both += 1
            if state[0, t] == 1 and state[1, t] == 1:
                double += 1
    set_feature(feat, reason, F_DOUBLE, double / both if both > 0 else _NAN, R_TOE_OFF)


@njit(cache=True)
def walk_rows(sig, events, n_events, hs_f, hs_s, hs_seg, hs_pos, first, last, stride_out, step_out, n_rows):
    """Per-stride and per-step rows (``contract.STRIDE_FIELDS``, ``STEP_FIELDS``) for walk-level features.

    Writes as many rows as fit (``stride_out`` (capacity, 5), ``step_out``
    (capacity, 4); a capacity of 0 writes none) and their counts to
    ``n_rows`` (2,). Steps and strides are those of :func:`.events.steps`
    and :func:`.events.strides`.
    """
    n = 0
    for i in range(first.shape[0]):
        if n >= stride_out.shape[0]:
            break
        q, e = first[i], last[i]
        s = hs_s[e]
        stride_out[n, 0] = s
        stride_out[n, 1] = hs_f[q]
        stride_out[n, 2] = hs_f[e]
        stride_out[n, 3] = hs_pos[e] - hs_pos[q]
        stride_out[n, 4] = strongest_toe_off(sig, events, n_events, s, hs_f[q], hs_f[e])
        n += 1
    n_rows[0] = n
    n = 0
    for e in range(1, hs_f.shape[0]):
        if n >= step_out.shape[0]:
            break
        s = hs_s[e]
        p = e - 1
        if hs_seg[e] < 0 or hs_s[p] == s or hs_seg[p] != hs_seg[e]:
            continue
        step_out[n, 0] = s
        step_out[n, 1] = hs_f[p]
        step_out[n, 2] = hs_f[e]
        step_out[n, 3] = hs_pos[e] - hs_pos[p]
        n += 1
    n_rows[1] = n


@njit(cache=True)
def clip_features(kp, fps, J, P, root, feat, reason, quality, events, n_events, stride_out, step_out, n_rows):
    """All features of one clip; also its events, and its strides and steps when asked.

    ``root`` (T, 2) is the clip's pelvis path (see :func:`.events.pelvis_path`),
    or an array with no rows when there is none. ``stride_out``, ``step_out``
    and ``n_rows`` receive the rows of :func:`walk_rows` (capacity 0: none).
    ``events`` (2 sides, 2 kinds [heel strike, toe-off], capacity) receives
    sub-frame event positions and ``n_events`` (2, 2) their counts; the
    capacity must be at least T // (peak window + 1) + 1, the most events the
    peak rule can find. ``quality`` receives the slots of ``contract.QUALITY_SLOTS``.
    """
    T = kp.shape[0]
    kp = kp.astype(np.float64)  # all arithmetic in double precision, as in the reference
    quality[Q_INFINITE] = 0.0
    for t in range(T):
        for v in range(kp.shape[1]):
            # abs(NaN) > bound is False: missing joints pass; inf and impossible magnitudes do not.
            if abs(kp[t, v, 0]) > MAX_COORDINATE or abs(kp[t, v, 1]) > MAX_COORDINATE:
                quality[Q_INFINITE] = 1.0
    usable = np.zeros(T, dtype=np.bool_)
    sig = np.empty((N_SIGNALS, T))
    n_turn = frame_signals(kp, fps, J, P, usable, sig)
    n_usable = 0
    for t in range(T):
        if usable[t]:
            n_usable += 1
    quality[Q_USABLE] = n_usable / T
    quality[Q_TURNING] = n_turn / T
    min_frames = max(2, int(round(P.min_usable_s * fps)))

    angle_features(sig, min_frames, feat, reason)
    gait_events(sig, fps, P, events, n_events)
    quality[Q_HS_L] = n_events[0, 0]
    quality[Q_HS_R] = n_events[1, 0]
    quality[Q_TO_L] = n_events[0, 1]
    quality[Q_TO_R] = n_events[1, 1]
    pelvis_path(sig, usable, root, camera_pan(kp, J, usable, root, fps), P.camera, quality)
    seg, prog = walking_stretches(sig, usable, fps, min_frames, feat, reason)
    hs_f, hs_s, hs_seg, hs_pos = heel_strikes(sig, events, n_events, seg, prog)
    first, last = strides(hs_s, hs_seg)
    quality[Q_STRIDES] = first.shape[0]
    step_len, step_len_n, step_time, step_time_n = steps(hs_f, hs_s, hs_seg, hs_pos, fps)
    temporal_features(hs_f, first, last, step_time, step_time_n, fps, feat, reason)
    spatial_features(hs_pos, first, last, step_len, step_len_n, feat, reason)
    stance_features(sig, events, n_events, hs_f, hs_s, first, last, feat, reason)
    # The extended features (definitions.EXTENDED_FEATURES) write only their own columns.
    foot = np.empty((N_FOOT_ROWS, T))
    foot_signals(kp, J, usable, foot)
    step_features(hs_f, hs_s, hs_seg, hs_pos, fps, feat, reason)
    ankle_features(foot, J[J_HEEL] >= 0 and J[J_TOE] >= 0, sig, events, n_events, hs_f, hs_s, first, last, fps,
                   feat, reason)
    walk_rows(sig, events, n_events, hs_f, hs_s, hs_seg, hs_pos, first, last, stride_out, step_out, n_rows)


@njit(parallel=True, cache=True)
def extract_batch(clips, fps, J, P, roots, feat, reason, quality, events, n_events, stride_out, step_out, n_rows):
    """Features of every clip (prange over clips); outputs are preallocated by the caller.

    ``roots`` is float64 (N, T, 2), the clips' pelvis paths, or (N, 0, 2) when there are none;
    ``stride_out`` (N, capacity, 5), ``step_out`` (N, capacity, 4) and ``n_rows`` (N, 2) receive
    each clip's strides and steps (capacity 0 when only the features are wanted).
    """
    for i in prange(clips.shape[0]):
        clip_features(clips[i], fps[i], J, P, roots[i], feat[i], reason[i], quality[i], events[i], n_events[i],
                      stride_out[i], step_out[i], n_rows[i])
