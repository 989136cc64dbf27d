"""Numba kernels of the feature engine.

Private: :mod:`gaitfeat.features.engine` validates and converts the input and
is the public entry point. Every kernel here assumes

* ``clips`` is C-contiguous float32 ``(N, T, V, C)``, ``C >= 2``, in the
  coordinates of :func:`gaitfeat.preprocess` (hip midpoint at the origin, x
  along the walking direction, y up, leg lengths), NaN for missing joints;
  the confidence channel, if any, is not read;
* ``fps`` is a float64 ``(N,)`` array of positive frame rates;
* ``joints`` is the int64 joint-index table built by ``engine._joint_table``
  (-1 where the layout lacks a joint: heels and toes in COCO-17);
* ``params`` is the float64 parameter vector built by ``engine._params``.

``tests/naive.py`` holds a plain-NumPy version of the same algorithm; the
tests compare the two.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from gaitfeat.features.definitions import FEATURES

# Joint-table slots.
J_SHOULDER, J_HIP, J_KNEE, J_ANKLE, J_ELBOW, J_EAR, J_HEEL, J_TOE, J_NOSE = 0, 2, 4, 6, 8, 10, 12, 14, 16
N_JOINT_SLOTS = 17

# Turn detection by the facing cue: the nose is ahead of the ears by at least
# FACING_MIN leg lengths in a typical frame of a side view, and a frame whose
# cue falls below FACING_FRACTION of the clip's median faces the camera.
FACING_MIN = 0.05
FACING_FRACTION = 0.35

# Parameter slots.
P_TURN_WIDTH, P_TURN_MARGIN_S, P_MIN_USABLE_S, P_PEAK_WINDOW_S, P_PROM_WINDOW_S, P_PROMINENCE, P_METHOD, \
    P_VELOCITY_PROMINENCE = range(8)
N_PARAMS = 8

#: Height above its lowest position (leg lengths) within which a foot point can be planted.
PLANT_BAND = 0.06

# A rigid foot for COCO-17 (no heel or toe keypoints), in leg lengths (hip to ankle =
# 0.491 of stature): ankle height 0.039, ankle to heel 0.035 and ankle to toe 0.115
# of stature (Drillis & Contini; Winter 2009, fig. 4.1).
FOOT_ANKLE_HEIGHT = 0.039 / 0.491
FOOT_HEEL = 0.035 / 0.491
FOOT_TOE = 0.115 / 0.491

# Quality slots (the last one flags infinite coordinates, which the wrapper refuses).
Q_HS_L, Q_HS_R, Q_TO_L, Q_TO_R, Q_STRIDES, Q_USABLE, Q_TURNING, Q_INFINITE = range(8)
N_QUALITY = 8

# NaN reason codes (texts in definitions.NAN_REASONS).
R_FRAMES, R_STEPS, R_STRIDE, R_TOE_OFF, R_SIDES, R_THREE, R_CONTACT, R_NO_STRIKE = 1, 2, 3, 4, 5, 6, 7, 8

_F = {name: i for i, name in enumerate(FEATURES)}
F_NECK = (_F["neck_angle_left"], _F["neck_angle_right"])
F_ARM_BODY = (_F["arm_body_angle_left"], _F["arm_body_angle_right"])
F_ARM_SWING = (_F["arm_swing_left"], _F["arm_swing_right"])
F_ARM_SYM = _F["arm_swing_symmetry"]
F_TRUNK, F_SWAY = _F["trunk_inclination"], _F["trunk_sway"]
F_HIP_ROM = (_F["hip_rom_left"], _F["hip_rom_right"])
F_HIP_SYM = _F["hip_rom_symmetry"]
F_KNEE_ROM = (_F["knee_rom_left"], _F["knee_rom_right"])
F_KNEE_SYM = _F["knee_rom_symmetry"]
F_CADENCE, F_CYCLE = _F["cadence"], _F["gait_cycle_duration"]
F_STANCE_SWING = (_F["stance_swing_ratio_left"], _F["stance_swing_ratio_right"])
F_STEP, F_STRIDE, F_SPEED = _F["step_length"], _F["stride_length"], _F["walking_speed"]
F_STEP_SYM, F_TIME_SYM = _F["step_length_symmetry"], _F["step_timing_symmetry"]
F_KNEE_IC = (_F["knee_flexion_ic_left"], _F["knee_flexion_ic_right"])
F_KNEE_MIN = (_F["knee_flexion_min_stance_left"], _F["knee_flexion_min_stance_right"])
F_STEP_SIDE = (_F["step_length_left"], _F["step_length_right"])
F_DOUBLE, F_CV = _F["double_support_fraction"], _F["stride_time_cv"]
N_FEATURES = len(FEATURES)

_NAN = np.nan


@njit(cache=True)
def _pair_mean(a, b):
    """Mean of two values, or the known one, or NaN."""
    if a == a and b == b:
        return 0.5 * (a + b)
    if a == a:
        return a
    return b


@njit(cache=True)
def _signed_angle(ax, ay, bx, by):
    """Counter-clockwise angle from vector a to vector b (deg).

    Size by the law of cosines, acos(a.b / |a||b|); sign from the cross
    product. NaN when either vector is unknown or has zero length.
    """
    na = math.sqrt(ax * ax + ay * ay)
    nb = math.sqrt(bx * bx + by * by)
    if not (na > 0.0 and nb > 0.0):
        return _NAN
    c = (ax * bx + ay * by) / (na * nb)
    c = min(1.0, max(-1.0, c))
    angle = math.degrees(math.acos(c))
    if ax * by - ay * bx < 0.0:
        return -angle
    return angle


@njit(cache=True)
def _nanmedian(values):
    """Median of the known values (NaN if none)."""
    n = 0
    for v in values:
        if v == v:
            n += 1
    if n == 0:
        return _NAN
    known = np.empty(n)
    k = 0
    for v in values:
        if v == v:
            known[k] = v
            k += 1
    return np.median(known)


@njit(cache=True)
def _symmetry(left, right):
    """Symmetry index |L - R| / (0.5 (L + R)) x 100 (%), NaN if undefined."""
    mean = 0.5 * (left + right)
    if not (mean != 0.0) or not (left == left and right == right):
        return _NAN
    return abs(left - right) / abs(mean) * 100.0


@njit(cache=True)
def _peaks(sig, w, span, prominence, floor, out):
    """Sub-frame positions of the local maxima of ``sig``; returns how many were written.

    A frame i is a peak when every frame within +-w is known (not NaN), all
    earlier ones are strictly lower and no later one is higher (the first
    frame of a plateau), the signal falls by at least ``prominence`` within
    ``span`` frames on both sides (not crossing an unknown frame), and the
    value is at least ``floor``. The position is refined by a parabola
    through the peak and its neighbours.
    """
    T = sig.shape[0]
    n = 0
    for i in range(w, T - w):
        v = sig[i]
        if not (v == v) or v < floor:
            continue
        good = True
        for j in range(i - w, i + w + 1):
            s = sig[j]
            if not (s == s) or (j < i and s >= v) or (j > i and s > v):
                good = False
                break
        if not good:
            continue
        low_left = v
        j = i - 1
        while j >= 0 and j >= i - span and sig[j] == sig[j]:
            low_left = min(low_left, sig[j])
            j -= 1
        low_right = v
        j = i + 1
        while j < T and j <= i + span and sig[j] == sig[j]:
            low_right = min(low_right, sig[j])
            j += 1
        if v - max(low_left, low_right) < prominence:
            continue
        a, c = sig[i - 1], sig[i + 1]
        den = a - 2.0 * v + c
        d = 0.5 * (a - c) / den if den < 0.0 else 0.0
        d = min(0.5, max(-0.5, d))
        if n < out.shape[0]:
            out[n] = i + d
            n += 1
    return n


@njit(cache=True)
def _interp(sig, f):
    """Linear interpolation of ``sig`` at fractional frame f (NaN if a neighbour is unknown)."""
    i = int(math.floor(f))
    if i < 0 or i >= sig.shape[0]:
        return _NAN
    t = f - i
    if t == 0.0:
        return sig[i]
    if i + 1 >= sig.shape[0]:
        return _NAN
    return sig[i] + t * (sig[i + 1] - sig[i])


@njit(cache=True)
def _segment_of(seg, f):
    """Segment id at fractional frame f, or -1 if its two neighbouring frames are not in one segment."""
    i = int(math.floor(f))
    if i < 0 or i >= seg.shape[0]:
        return -1
    k = min(i + 1, seg.shape[0] - 1) if f > i else i
    if seg[i] < 0 or seg[i] != seg[k]:
        return -1
    return seg[i]


@njit(cache=True)
def _frame_signals(kp, fps, J, P, usable, sig):
    """Per-frame signals of one clip.

    Writes ``usable`` (T,) and ``sig`` (16, T), rows: 0 trunk inclination,
    1-2 hip (thigh) angle L/R, 3-4 knee flexion L/R, 5-6 neck angle L/R,
    7-8 arm-body angle L/R, 9-10 heel-strike signal L/R, 11-12 toe-off
    signal L/R, 13-14 contact-point x L/R (the heel, or for COCO-17 the
    modelled heel written by ``_progression_ankles``; relative to the hip
    midpoint), 15 pelvis progression increment. All NaN where unknown or
    not usable. Returns the number of turning frames.
    """
    T = kp.shape[0]
    has_feet = J[J_HEEL] >= 0 and J[J_TOE] >= 0
    velocity = P[P_METHOD] == 1.0
    hx = np.empty(T)
    hy = np.empty(T)
    width = np.empty(T)
    facing = np.empty(T)
    for t in range(T):
        hx[t] = _pair_mean(kp[t, J[J_HIP], 0], kp[t, J[J_HIP + 1], 0])
        hy[t] = _pair_mean(kp[t, J[J_HIP], 1], kp[t, J[J_HIP + 1], 1])
        # Seen from the side, the left and right shoulders (hips) nearly share an x;
        # turning towards the camera separates them.
        width[t] = abs(kp[t, J[J_SHOULDER], 0] - kp[t, J[J_SHOULDER + 1], 0])
        if not (width[t] == width[t]):
            width[t] = 2.0 * abs(kp[t, J[J_HIP], 0] - kp[t, J[J_HIP + 1], 0])
        facing[t] = kp[t, J[J_NOSE], 0] - _pair_mean(kp[t, J[J_EAR], 0], kp[t, J[J_EAR + 1], 0])
    # Relative to the clip's typical frame: detectors place the two shoulders and
    # hips apart even in a clean side view, by an amount that depends on the camera.
    typical_width = _nanmedian(width)
    typical_facing = _nanmedian(facing)
    turn = np.zeros(T, dtype=np.bool_)
    for t in range(T):
        wide = width[t] - typical_width > P[P_TURN_WIDTH]
        frontal = typical_facing > FACING_MIN and facing[t] < FACING_FRACTION * typical_facing
        turn[t] = wide or frontal
    margin = int(round(P[P_TURN_MARGIN_S] * fps))
    n_turn = 0
    for t in range(T):
        near_turn = False
        for k in range(max(0, t - margin), min(T, t + margin + 1)):
            if turn[k]:
                near_turn = True
                break
        if turn[t]:
            n_turn += 1
        usable[t] = (not near_turn) and hx[t] == hx[t]
    sig[:, :] = _NAN
    for t in range(T):
        if not usable[t]:
            continue
        sx = _pair_mean(kp[t, J[J_SHOULDER], 0], kp[t, J[J_SHOULDER + 1], 0])
        sy = _pair_mean(kp[t, J[J_SHOULDER], 1], kp[t, J[J_SHOULDER + 1], 1])
        # Trunk: clockwise (forward) angle from vertical up to hip->shoulder.
        sig[0, t] = -_signed_angle(0.0, 1.0, sx - hx[t], sy - hy[t])
        for s in range(2):
            hip, knee, ankle = J[J_HIP + s], J[J_KNEE + s], J[J_ANKLE + s]
            sh, elbow, ear = J[J_SHOULDER + s], J[J_ELBOW + s], J[J_EAR + s]
            tx = kp[t, knee, 0] - kp[t, hip, 0]
            ty = kp[t, knee, 1] - kp[t, hip, 1]
            # Thigh: counter-clockwise (forward) angle from vertical down.
            sig[1 + s, t] = _signed_angle(0.0, -1.0, tx, ty)
            # Knee flexion: the shank turns clockwise (backwards) from the thigh line.
            sig[3 + s, t] = -_signed_angle(tx, ty, kp[t, ankle, 0] - kp[t, knee, 0], kp[t, ankle, 1] - kp[t, knee, 1])
            trx = kp[t, sh, 0] - kp[t, hip, 0]
            try_ = kp[t, sh, 1] - kp[t, hip, 1]
            sig[5 + s, t] = -_signed_angle(trx, try_, kp[t, ear, 0] - kp[t, sh, 0], kp[t, ear, 1] - kp[t, sh, 1])
            sig[7 + s, t] = _signed_angle(-trx, -try_, kp[t, elbow, 0] - kp[t, sh, 0], kp[t, elbow, 1] - kp[t, sh, 1])
            strike = J[J_HEEL + s] if has_feet else ankle
            if has_feet:
                sig[13 + s, t] = kp[t, strike, 0] - hx[t]
            if not velocity:
                # Zeni et al. 2008: heel strike at the most anterior heel, toe-off at the most posterior toe.
                toe = J[J_TOE + s] if has_feet else ankle
                sig[9 + s, t] = kp[t, strike, 0] - hx[t]
                sig[11 + s, t] = -(kp[t, toe, 0] - hx[t])
    if velocity:
        # Foot-centre vertical velocity (O'Connor et al. 2007): heel strike at its
        # most negative value (the foot landing), toe-off at its peak (lift-off).
        for s in range(2):
            ankle = J[J_ANKLE + s]
            for t in range(1, T - 1):
                if not (usable[t - 1] and usable[t] and usable[t + 1]):
                    continue
                if has_feet:
                    y0 = 0.5 * (kp[t - 1, J[J_HEEL + s], 1] + kp[t - 1, J[J_TOE + s], 1]) - hy[t - 1]
                    y1 = 0.5 * (kp[t + 1, J[J_HEEL + s], 1] + kp[t + 1, J[J_TOE + s], 1]) - hy[t + 1]
                else:
                    y0 = kp[t - 1, ankle, 1] - hy[t - 1]
                    y1 = kp[t + 1, ankle, 1] - hy[t + 1]
                v = 0.5 * (y1 - y0) * fps
                sig[9 + s, t] = -v
                sig[11 + s, t] = v
    # Pelvis progression. A planted foot point does not move over the ground, so
    # the pelvis moves forward by as much as that point moves back relative to
    # the pelvis.
    if has_feet:
        _progression_feet(kp, J, usable, hx, hy, sig)
    else:
        _progression_ankles(kp, J, usable, hx, hy, sig)
    return n_turn


@njit(cache=True)
def _progression_feet(kp, J, usable, hx, hy, sig):
    """BODY_25: per-frame pelvis advance (sig[15]) from the heels and big toes.

    A point counts as planted when it is within PLANT_BAND of its lowest
    height in the clip and moves backwards relative to the pelvis (a dragging
    swing toe is low too, but moves forwards); the lowest planted point is used.
    """
    T = kp.shape[0]
    points = np.empty(4, dtype=np.int64)
    for p in range(4):
        points[p] = J[J_HEEL + p // 2] if p % 2 == 0 else J[J_TOE + p // 2]
    ground = np.full(4, np.inf)
    for t in range(T):
        if usable[t]:
            for p in range(4):
                y = kp[t, points[p], 1] - hy[t]
                if y < ground[p]:
                    ground[p] = y
    for t in range(1, T):
        if not (usable[t] and usable[t - 1]):
            continue
        best_y = np.inf
        best_dx = _NAN
        for p in range(4):
            v = points[p]
            y = kp[t, v, 1] - hy[t]
            dx = (kp[t, v, 0] - hx[t]) - (kp[t - 1, v, 0] - hx[t - 1])
            if y <= ground[p] + PLANT_BAND and dx <= 0.0 and y < best_y:
                best_y = y
                best_dx = dx
        sig[15, t] = -best_dx


@njit(cache=True)
def _pivot_x(ax, height, heel):
    """Horizontal position of a rigid foot's ground contact from its ankle (see FOOT_*).

    ``height`` is the ankle's height above the ground; the foot rolls over
    the heel (``heel=True``) or the toe, which stays on the ground.
    """
    h = max(height, FOOT_ANKLE_HEIGHT)
    if heel:
        r2 = FOOT_ANKLE_HEIGHT ** 2 + FOOT_HEEL ** 2
        return ax - math.sqrt(max(r2 - h * h, 0.0)), h * h <= r2
    r2 = FOOT_ANKLE_HEIGHT ** 2 + FOOT_TOE ** 2
    return ax + math.sqrt(max(r2 - h * h, 0.0)), h * h <= r2


@njit(cache=True)
def _progression_ankles(kp, J, usable, hx, hy, sig):
    """COCO-17: per-frame pelvis advance (sig[15]) and contact points (sig[13:15]) from the ankles.

    Without heel and toe keypoints, each ankle carries a rigid foot of
    anthropometric proportions (FOOT_*). The ground lies one ankle height below
    the lowest ankle of the clip; a foot ahead of the hips rolls over its heel
    (loading), one behind them over its toe (push-off); its contact point is
    where that heel or toe touches the ground given the ankle's height. Ankles
    only would miss the pelvis motion during heel and toe rocking (about a
    fifth of the step length).
    """
    T = kp.shape[0]
    low = np.inf
    for t in range(T):
        if usable[t]:
            for s in range(2):
                y = kp[t, J[J_ANKLE + s], 1] - hy[t]
                if y < low:
                    low = y
    ground = low - FOOT_ANKLE_HEIGHT
    for t in range(T):
        if not usable[t]:
            continue
        for s in range(2):
            a = J[J_ANKLE + s]
            x, _ = _pivot_x(kp[t, a, 0] - hx[t], kp[t, a, 1] - hy[t] - ground, True)
            sig[13 + s, t] = x
    for t in range(1, T):
        if not (usable[t] and usable[t - 1]):
            continue
        best_y = np.inf
        best_dx = _NAN
        for s in range(2):
            a = J[J_ANKLE + s]
            ax1 = kp[t, a, 0] - hx[t]
            y1 = kp[t, a, 1] - hy[t] - ground
            heel = ax1 >= 0.0
            x1, on1 = _pivot_x(ax1, y1, heel)
            x0, on0 = _pivot_x(kp[t - 1, a, 0] - hx[t - 1], kp[t - 1, a, 1] - hy[t - 1] - ground, heel)
            dx = x1 - x0
            if on1 and on0 and dx <= 0.0 and y1 < best_y:
                best_y = y1
                best_dx = dx
        sig[15, t] = -best_dx


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
def _set(feat, reason, k, value, code):
    feat[k] = value
    reason[k] = 0 if value == value else code


@njit(cache=True)
def _clip_features(kp, fps, J, P, feat, reason, quality, events, n_events):
    """All features of one clip; also its events.

    ``events`` (2 sides, 2 kinds [heel strike, toe-off], capacity) receives
    sub-frame event positions and ``n_events`` (2, 2) their counts; the
    capacity must be at least T // (peak window + 1) + 1, the most events the
    peak rule can find.
    """
    T = kp.shape[0]
    kp = kp.astype(np.float64)  # all arithmetic in double precision, as in the reference
    quality[Q_INFINITE] = 0.0
    for t in range(T):
        for v in range(kp.shape[1]):
            if math.isinf(kp[t, v, 0]) or math.isinf(kp[t, v, 1]):
                quality[Q_INFINITE] = 1.0
    usable = np.zeros(T, dtype=np.bool_)
    sig = np.empty((16, T))
    n_turn = _frame_signals(kp, fps, J, P, usable, sig)
    n_usable = 0
    for t in range(T):
        if usable[t]:
            n_usable += 1
    quality[Q_USABLE] = n_usable / T
    quality[Q_TURNING] = n_turn / T
    min_frames = max(2, int(round(P[P_MIN_USABLE_S] * fps)))

    # --- posture and joint angles --------------------------------------------
    _, mean, sd, _, _ = _angle_summary(sig[0], min_frames)
    _set(feat, reason, F_TRUNK, mean, R_FRAMES)
    _set(feat, reason, F_SWAY, math.sqrt(2.0) * sd, R_FRAMES)
    for s in range(2):
        _, _, _, lo, hi = _angle_summary(sig[1 + s], min_frames)
        _set(feat, reason, F_HIP_ROM[s], hi - lo, R_FRAMES)
        _, _, _, lo, hi = _angle_summary(sig[3 + s], min_frames)
        _set(feat, reason, F_KNEE_ROM[s], hi - lo, R_FRAMES)
        _, mean, _, _, _ = _angle_summary(sig[5 + s], min_frames)
        _set(feat, reason, F_NECK[s], mean, R_FRAMES)
        _, mean, _, lo, hi = _angle_summary(sig[7 + s], min_frames)
        _set(feat, reason, F_ARM_BODY[s], mean, R_FRAMES)
        _set(feat, reason, F_ARM_SWING[s], hi - lo, R_FRAMES)
    _set(feat, reason, F_HIP_SYM, _symmetry(feat[F_HIP_ROM[0]], feat[F_HIP_ROM[1]]), R_SIDES)
    _set(feat, reason, F_KNEE_SYM, _symmetry(feat[F_KNEE_ROM[0]], feat[F_KNEE_ROM[1]]), R_SIDES)
    _set(feat, reason, F_ARM_SYM, _symmetry(feat[F_ARM_SWING[0]], feat[F_ARM_SWING[1]]), R_SIDES)

    # --- gait events ----------------------------------------------------------
    w = max(1, int(round(P[P_PEAK_WINDOW_S] * fps)))
    span = max(w, int(round(P[P_PROM_WINDOW_S] * fps)))
    velocity = P[P_METHOD] == 1.0
    prominence = P[P_VELOCITY_PROMINENCE] if velocity else P[P_PROMINENCE]
    floor = 0.0 if velocity else -np.inf
    for s in range(2):
        n_events[s, 0] = _peaks(sig[9 + s], w, span, prominence, floor, events[s, 0])
        n_events[s, 1] = _peaks(sig[11 + s], w, span, prominence, floor, events[s, 1])
        if velocity:
            # Vertical foot speed has other extremes (the pelvis bobs); a heel strike
            # happens with the foot ahead of the hips, a toe-off with it behind them.
            for kind in range(2):
                kept = 0
                for e in range(n_events[s, kind]):
                    f = events[s, kind, e]
                    x = sig[13 + s, int(round(f))]
                    if (kind == 0 and x > 0.0) or (kind == 1 and x < 0.0):
                        events[s, kind, kept] = f
                        kept += 1
                n_events[s, kind] = kept
    quality[Q_HS_L] = n_events[0, 0]
    quality[Q_HS_R] = n_events[1, 0]
    quality[Q_TO_L] = n_events[0, 1]
    quality[Q_TO_R] = n_events[1, 1]

    # --- walking stretches and pelvis progression --------------------------------
    # Speed from the frames with a planted foot point; frames without one (a
    # COCO-17 ankle rising in push-off) advance the pelvis at that mean speed.
    speed_sum = 0.0
    speed_n = 0
    for t in range(T):
        if sig[15, t] == sig[15, t]:
            speed_sum += sig[15, t]
            speed_n += 1
    per_frame = speed_sum / speed_n if speed_n > 0 else _NAN
    speed = per_frame * fps if speed_n >= max(2, min_frames // 2) else _NAN
    _set(feat, reason, F_SPEED, speed, R_CONTACT)
    seg = np.full(T, -1, dtype=np.int64)
    prog = np.full(T, _NAN)
    n_seg = 0
    for t in range(T):
        if not usable[t]:
            continue
        if t > 0 and seg[t - 1] >= 0:
            seg[t] = seg[t - 1]
            prog[t] = prog[t - 1] + (sig[15, t] if sig[15, t] == sig[15, t] else per_frame)
        else:
            seg[t] = n_seg
            n_seg += 1
            prog[t] = 0.0

    # --- steps and strides from heel strikes ----------------------------------
    n_hs = n_events[0, 0] + n_events[1, 0]
    hs_f = np.empty(n_hs)
    hs_s = np.empty(n_hs, dtype=np.int64)
    k = 0
    for s in range(2):
        for e in range(n_events[s, 0]):
            hs_f[k] = events[s, 0, e]
            hs_s[k] = s
            k += 1
    order = np.argsort(hs_f, kind="mergesort")
    hs_f = hs_f[order]
    hs_s = hs_s[order]
    hs_seg = np.empty(n_hs, dtype=np.int64)
    hs_pos = np.empty(n_hs)  # contact point along the ground (leg lengths)
    for e in range(n_hs):
        hs_seg[e] = _segment_of(seg, hs_f[e])
        hs_pos[e] = _interp(sig[13 + hs_s[e]], hs_f[e]) + _interp(prog, hs_f[e])

    step_len = np.zeros(2)
    step_len_n = np.zeros(2)
    step_time = np.zeros(2)
    step_time_n = np.zeros(2)
    stride_len_sum = 0.0
    stride_len_n = 0
    stride_times = np.empty(max(n_hs, 1))
    n_strides = 0
    stance_sum = np.zeros(2)
    swing_sum = np.zeros(2)
    min_knee_sum = np.zeros(2)
    min_knee_n = np.zeros(2)
    state = np.full((2, T), -1, dtype=np.int8)  # 1 stance, 0 swing, -1 unknown
    for e in range(1, n_hs):
        s = hs_s[e]
        if hs_seg[e] < 0:
            continue
        # A step: the previous heel strike was the other foot's, in the same walking stretch.
        p = e - 1
        if hs_s[p] != s and hs_seg[p] == hs_seg[e]:
            step_time[s] += (hs_f[e] - hs_f[p]) / fps
            step_time_n[s] += 1
            length = hs_pos[e] - hs_pos[p]
            if length == length:
                step_len[s] += length
                step_len_n[s] += 1
        # A stride: the same foot's previous strike, with at most one of the other foot's between
        # (two would mean a missed strike of this foot).
        others = 0
        q = e - 1
        while q >= 0 and hs_s[q] != s:
            others += 1
            q -= 1
        if q < 0 or others > 1 or hs_seg[q] != hs_seg[e]:
            continue
        stride_times[n_strides] = (hs_f[e] - hs_f[q]) / fps
        n_strides += 1
        length = hs_pos[e] - hs_pos[q]
        if length == length:
            stride_len_sum += length
            stride_len_n += 1
        # Toe-off of this foot inside the stride: of several candidates, the
        # strongest (most posterior toe, or fastest lift-off).
        to = _NAN
        best = -np.inf
        for m in range(n_events[s, 1]):
            f = events[s, 1, m]
            if hs_f[q] < f < hs_f[e]:
                v = _interp(sig[11 + s], f)
                if v > best or not (to == to):
                    best = v
                    to = f
        if not (to == to):
            continue
        stance_sum[s] += to - hs_f[q]
        swing_sum[s] += hs_f[e] - to
        lo = np.inf
        for t in range(int(math.ceil(hs_f[q])), int(math.floor(to)) + 1):
            v = sig[3 + s, t]
            if v == v and v < lo:
                lo = v
        if lo < np.inf:
            min_knee_sum[s] += lo
            min_knee_n[s] += 1
        for t in range(int(math.ceil(hs_f[q])), min(T, int(math.ceil(hs_f[e])))):
            state[s, t] = 1 if t < to else 0
    quality[Q_STRIDES] = n_strides

    if n_strides > 0:
        cycle = 0.0
        for i in range(n_strides):
            cycle += stride_times[i]
        cycle /= n_strides
        _set(feat, reason, F_CYCLE, cycle, R_STRIDE)
        _set(feat, reason, F_CADENCE, 120.0 / cycle, R_STRIDE)
    else:
        _set(feat, reason, F_CYCLE, _NAN, R_STRIDE)
        n_steps = step_time_n[0] + step_time_n[1]
        if n_steps > 0:
            _set(feat, reason, F_CADENCE, 60.0 * n_steps / (step_time[0] + step_time[1]), R_STEPS)
        else:
            _set(feat, reason, F_CADENCE, _NAN, R_STEPS)
    if n_strides >= 3:
        mean = feat[F_CYCLE]
        ss = 0.0
        for i in range(n_strides):
            ss += (stride_times[i] - mean) ** 2
        _set(feat, reason, F_CV, math.sqrt(ss / (n_strides - 1)) / mean * 100.0, R_THREE)
    else:
        _set(feat, reason, F_CV, _NAN, R_THREE)

    n_len = step_len_n[0] + step_len_n[1]
    _set(feat, reason, F_STEP, (step_len[0] + step_len[1]) / n_len if n_len > 0 else _NAN, R_STEPS)
    for s in range(2):
        _set(feat, reason, F_STEP_SIDE[s], step_len[s] / step_len_n[s] if step_len_n[s] > 0 else _NAN, R_STEPS)
    _set(feat, reason, F_STEP_SYM, _symmetry(feat[F_STEP_SIDE[0]], feat[F_STEP_SIDE[1]]), R_SIDES)
    left_time = step_time[0] / step_time_n[0] if step_time_n[0] > 0 else _NAN
    right_time = step_time[1] / step_time_n[1] if step_time_n[1] > 0 else _NAN
    _set(feat, reason, F_TIME_SYM, _symmetry(left_time, right_time), R_SIDES)
    _set(feat, reason, F_STRIDE, stride_len_sum / stride_len_n if stride_len_n > 0 else _NAN, R_STRIDE)

    for s in range(2):
        ratio = stance_sum[s] / swing_sum[s] if swing_sum[s] > 0 else _NAN
        _set(feat, reason, F_STANCE_SWING[s], ratio, R_TOE_OFF)
        _set(feat, reason, F_KNEE_MIN[s], min_knee_sum[s] / min_knee_n[s] if min_knee_n[s] > 0 else _NAN, R_TOE_OFF)
        total = 0.0
        count = 0
        for e in range(n_events[s, 0]):
            v = _interp(sig[3 + s], events[s, 0, e])
            if v == v:
                total += v
                count += 1
        _set(feat, reason, F_KNEE_IC[s], total / count if count > 0 else _NAN, R_NO_STRIKE)
    both = 0
    double = 0
    for t in range(T):
        if state[0, t] >= 0 and state[1, t] >= 0:
            both += 1
            if state[0, t] == 1 and state[1, t] == 1:
                double += 1
    _set(feat, reason, F_DOUBLE, double / both if both > 0 else _NAN, R_TOE_OFF)


@njit(parallel=True, cache=True)
def extract_batch(clips, fps, J, P, feat, reason, quality, events, n_events):
    """Features of every clip (prange over clips); outputs are preallocated by the caller."""
    for i in prange(clips.shape[0]):
        _clip_features(clips[i], fps[i], J, P, feat[i], reason[i], quality[i], events[i], n_events[i])
