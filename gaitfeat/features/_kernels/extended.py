"""Numba kernels of the extended features: per-side step timing and variability, foot contact, ankle angles.

Called by :func:`.features.clip_features` after the 32 features, from the
same events, heel strikes, steps and strides; they write only the columns of
``definitions.EXTENDED_FEATURES`` (indices ``F_STEP_TIME_SIDE`` ...
``F_ANKLE_MAX`` of the contract), so the 32 stay as they were.

* :func:`foot_signals`: the per-frame ankle angle and heel-minus-toe height
  (rows ``contract.FOOT_ROWS``), BODY_25 only.
* :func:`step_features`: mean step time and the coefficients of variation of
  step time and length, per side (the foot whose heel strike ends the step).
* :func:`ankle_features`: heel-first share of the initial contacts, ankle
  angle at initial contact and greatest dorsiflexion in stance.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gaitfeat.features._kernels.contract import (
    A_ANKLE,
    A_HEEL_TOE,
    F_ANKLE_IC,
    F_ANKLE_MAX,
    F_HEEL_FIRST,
    F_STEP_LEN_CV,
    F_STEP_TIME_CV,
    F_STEP_TIME_SIDE,
    J_ANKLE,
    J_HEEL,
    J_KNEE,
    J_TOE,
    LOADING_MAX_S,
    MAD_TO_SD,
    R_FRAMES,
    R_NO_FEET,
    R_NO_STRIKE,
    R_STEPS,
    R_THREE_STEPS,
    R_TOE_OFF,
    STEP_OUTLIER_FLOOR,
    STEP_OUTLIER_MADS,
)
from gaitfeat.features._kernels.events import interp, set_feature, strongest_toe_off
from gaitfeat.features._kernels.signals import _signed_angle

_NAN = np.nan


@njit(cache=True)
def foot_signals(kp, J, usable, foot):
    """Per-frame ankle angle (deg) and heel-minus-toe height (leg lengths) of both feet.

    Writes ``foot`` (N_FOOT_ROWS, T), rows ``contract.FOOT_ROWS``: the angle
    from the shank (knee -> ankle) to the foot (heel -> big toe) less 90 deg
    (0 = perpendicular, + = dorsiflexion: with x along the walking direction
    and y up, a foot that turns toe-up turns counter-clockwise), wrapped to
    (-180, 180]; and the heel's height above the big toe's. NaN where a
    keypoint is unknown, the frame is not usable, or (all rows) the layout
    has no heel and big-toe keypoints. Assumes ``kp`` float64 (T, V, C) and
    the joint table of ``contract.JOINT_SLOTS``.
    """
    foot[:, :] = _NAN
    if not (J[J_HEEL] >= 0 and J[J_TOE] >= 0):
        return
    for t in range(kp.shape[0]):
        if not usable[t]:
            continue
        for s in range(2):
            knee, ankle, heel, toe = J[J_KNEE + s], J[J_ANKLE + s], J[J_HEEL + s], J[J_TOE + s]
            a = _signed_angle(kp[t, ankle, 0] - kp[t, knee, 0], kp[t, ankle, 1] - kp[t, knee, 1],
                              kp[t, toe, 0] - kp[t, heel, 0], kp[t, toe, 1] - kp[t, heel, 1]) - 90.0
            foot[A_ANKLE + s, t] = a + 360.0 if a <= -180.0 else a
            foot[A_HEEL_TOE + s, t] = kp[t, heel, 1] - kp[t, toe, 1]


@njit(cache=True)
def _robust_cv(values, n):
    """Coefficient of variation (%) of values[:n] without outliers (see STEP_OUTLIER_MADS).

    Values farther from the median than max(STEP_OUTLIER_MADS x MAD_TO_SD x
    MAD, STEP_OUTLIER_FLOOR x |median|) are left out; of the rest, sample SD
    (n - 1) over |mean|. NaN when fewer than three remain or the mean is 0.
    """
    if n < 3:
        return _NAN
    v = values[:n]
    median = np.median(v)
    dev = np.abs(v - median)
    limit = max(STEP_OUTLIER_MADS * MAD_TO_SD * np.median(dev), STEP_OUTLIER_FLOOR * abs(median))
    kept = 0
    mean = 0.0
    for i in range(n):
        if dev[i] <= limit:
            kept += 1
            mean += v[i]
    if kept < 3:
        return _NAN
    mean /= kept
    if mean == 0.0:
        return _NAN
    ss = 0.0
    for i in range(n):
        if dev[i] <= limit:
            ss += (v[i] - mean) ** 2
    return math.sqrt(ss / (kept - 1)) / abs(mean) * 100.0


@njit(cache=True)
def step_features(hs_f, hs_s, hs_seg, hs_pos, fps, feat, reason):
    """Per side: mean step time (s), CV of step times and of step lengths (%).

    The steps are those of :func:`.events.steps` (a heel strike inside a
    walking stretch whose previous strike was the other foot's, in the same
    stretch), listed by the foot that lands; times are summed in the same
    order, so the mean equals the one the step-timing symmetry uses (every
    step, no outlier rule). Lengths count where known. No step: NaN
    (R_STEPS); fewer than three, or than three left after the outlier rule
    of :func:`_robust_cv`: NaN CV (R_THREE_STEPS).
    """
    n_hs = hs_f.shape[0]
    times = np.empty((2, max(n_hs, 1)))
    lengths = np.empty((2, max(n_hs, 1)))
    n_t = np.zeros(2, dtype=np.int64)
    n_l = np.zeros(2, dtype=np.int64)
    for e in range(1, n_hs):
        s = hs_s[e]
        if hs_seg[e] < 0:
            continue
        p = e - 1
        if hs_s[p] != s and hs_seg[p] == hs_seg[e]:
            times[s, n_t[s]] = (hs_f[e] - hs_f[p]) / fps
            n_t[s] += 1
            length = hs_pos[e] - hs_pos[p]
            if length == length:
                lengths[s, n_l[s]] = length
                n_l[s] += 1
    for s in range(2):
        total = 0.0
        for i in range(n_t[s]):
            total += times[s, i]
        set_feature(feat, reason, F_STEP_TIME_SIDE[s], total / n_t[s] if n_t[s] > 0 else _NAN, R_STEPS)
        set_feature(feat, reason, F_STEP_TIME_CV[s], _robust_cv(times[s], n_t[s]), R_THREE_STEPS)
        set_feature(feat, reason, F_STEP_LEN_CV[s], _robust_cv(lengths[s], n_l[s]), R_THREE_STEPS)


@njit(cache=True)
def _loading_heel_toe(foot_row, events, n_events, other, f, fps):
    """Mean heel-minus-toe height over loading response after a heel strike at frame f (NaN if unknown).

    The window runs from f to the other foot's first toe-off after it, or
    LOADING_MAX_S seconds, whichever comes first: the value at f
    (interpolated) and at every whole frame after f up to the window's end.
    """
    end = f + LOADING_MAX_S * fps
    for m in range(n_events[other, 1]):  # in time order
        g = events[other, 1, m]
        if g > f:
            end = min(end, g)
            break
    T = foot_row.shape[0]
    total = 0.0
    count = 0
    v = interp(foot_row, f)
    if v == v:
        total += v
        count += 1
    for t in range(int(math.floor(f)) + 1, min(T, int(math.floor(end)) + 1)):
        v = foot_row[t]
        if v == v:
            total += v
            count += 1
    return total / count if count > 0 else _NAN


@njit(cache=True)
def ankle_features(foot, has_feet, sig, events, n_events, hs_f, hs_s, first, last, fps, feat, reason):
    """Heel-first share of initial contacts, ankle angle at initial contact, greatest dorsiflexion in stance.

    Per foot, over its heel strikes (all of them, as the knee flexion at
    initial contact): a strike is heel first when the heel is at or below the
    big toe on average over loading response (:func:`_loading_heel_toe`);
    the ankle angle is read at the strike. Over its strides with a toe-off
    (the strongest, as for stance/swing): the largest ankle angle from the
    first strike to the toe-off. NaN without foot keypoints (R_NO_FEET),
    heel strikes (R_NO_STRIKE) or strides with a toe-off (R_TOE_OFF), or when
    the foot keypoints are unknown at all of them (R_FRAMES).
    """
    if not has_feet:
        for s in range(2):
            for k in (F_HEEL_FIRST[s], F_ANKLE_IC[s], F_ANKLE_MAX[s]):
                set_feature(feat, reason, k, _NAN, R_NO_FEET)
        return
    T = foot.shape[1]
    for s in range(2):
        n_strikes = n_events[s, 0]
        heel_first = 0
        judged = 0
        ic_sum = 0.0
        ic_n = 0
        for e in range(n_strikes):
            f = events[s, 0, e]
            v = interp(foot[A_ANKLE + s], f)
            if v == v:
                ic_sum += v
                ic_n += 1
            d = _loading_heel_toe(foot[A_HEEL_TOE + s], events, n_events, 1 - s, f, fps)
            if d == d:
                judged += 1
                if d <= 0.0:
                    heel_first += 1
        code = R_NO_STRIKE if n_strikes == 0 else R_FRAMES
        set_feature(feat, reason, F_HEEL_FIRST[s], heel_first / judged if judged > 0 else _NAN, code)
        set_feature(feat, reason, F_ANKLE_IC[s], ic_sum / ic_n if ic_n > 0 else _NAN, code)
    peak_sum = np.zeros(2)
    peak_n = np.zeros(2, dtype=np.int64)
    with_toe_off = np.zeros(2, dtype=np.int64)
    for i in range(first.shape[0]):
        q, e = first[i], last[i]
        s = hs_s[e]
        to = strongest_toe_off(sig, events, n_events, s, hs_f[q], hs_f[e])
        if not (to == to):
            continue
        with_toe_off[s] += 1
        hi = -np.inf
        for t in range(int(math.ceil(hs_f[q])), min(T, int(math.floor(to)) + 1)):
            v = foot[A_ANKLE + s, t]
            if v == v and v > hi:
                hi = v
        if hi > -np.inf:
            peak_sum[s] += hi
            peak_n[s] += 1
    for s in range(2):
        code = R_TOE_OFF if with_toe_off[s] == 0 else R_FRAMES
        set_feature(feat, reason, F_ANKLE_MAX[s], peak_sum[s] / peak_n[s] if peak_n[s] > 0 else _NAN, code)
