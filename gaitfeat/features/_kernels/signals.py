"""Numba kernels, step 1: the per-frame signals of one clip (angles, event signals, pelvis advance).

Assumptions are those of the package (:mod:`gaitfeat.features._kernels`);
here ``kp`` is one clip ``(T, V, C)`` already converted to float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gaitfeat.features._kernels.contract import (
    FACING_FRACTION,
    FACING_MIN,
    FOOT_ANKLE_HEIGHT,
    FOOT_HEEL,
    FOOT_TOE,
    GROUND_PERCENTILE,
    J_ANKLE,
    J_EAR,
    J_ELBOW,
    J_HEEL,
    J_HIP,
    J_KNEE,
    J_NOSE,
    J_SHOULDER,
    J_TOE,
    PAN_BAND,
    PAN_MIN_S,
    PLANT_BAND,
    S_ADVANCE,
    S_ARM,
    S_CONTACT,
    S_KNEE,
    S_NECK,
    S_STRIKE,
    S_THIGH,
    S_TOE_OFF,
    S_TRUNK,
)

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
def frame_signals(kp, fps, J, P, usable, sig):
    """Per-frame signals of one clip.

    Writes ``usable`` (T,) and ``sig`` (N_SIGNALS, T), rows named by
    ``contract.SIGNAL_ROWS``: trunk inclination, thigh, knee, neck and
    arm-body angles, the heel-strike and toe-off signals of the method
    ``P.velocity_method`` selects, the contact-point x (the heel, or for
    COCO-17 the modelled heel written by ``_progression_ankles``; relative to
    the hip midpoint) and the pelvis advance. All NaN where unknown or not
    usable. Returns the number of turning frames.

    Assumes ``kp`` float64 ``(T, V, C)``, ``fps`` > 0, ``J`` the joint table
    of ``contract.JOINT_SLOTS`` with the heel and toe slots both set or both -1.
    """
    T = kp.shape[0]
    has_feet = J[J_HEEL] >= 0 and J[J_TOE] >= 0
    velocity = P.velocity_method
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
        wide = width[t] - typical_width > P.turn_width
        frontal = typical_facing > FACING_MIN and facing[t] < FACING_FRACTION * typical_facing
        turn[t] = wide or frontal
    margin = int(round(P.turn_margin_s * fps))
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
        sig[S_TRUNK, t] = -_signed_angle(0.0, 1.0, sx - hx[t], sy - hy[t])
        for s in range(2):
            hip, knee, ankle = J[J_HIP + s], J[J_KNEE + s], J[J_ANKLE + s]
            sh, elbow, ear = J[J_SHOULDER + s], J[J_ELBOW + s], J[J_EAR + s]
            tx = kp[t, knee, 0] - kp[t, hip, 0]
            ty = kp[t, knee, 1] - kp[t, hip, 1]
            # Thigh: counter-clockwise (forward) angle from vertical down.
            sig[S_THIGH + s, t] = _signed_angle(0.0, -1.0, tx, ty)
            # Knee flexion: the shank turns clockwise (backwards) from the thigh line.
            sig[S_KNEE + s, t] = -_signed_angle(tx, ty, kp[t, ankle, 0] - kp[t, knee, 0],
                                                kp[t, ankle, 1] - kp[t, knee, 1])
            trx = kp[t, sh, 0] - kp[t, hip, 0]
            try_ = kp[t, sh, 1] - kp[t, hip, 1]
            sig[S_NECK + s, t] = -_signed_angle(trx, try_, kp[t, ear, 0] - kp[t, sh, 0], kp[t, ear, 1] - kp[t, sh, 1])
            sig[S_ARM + s, t] = _signed_angle(-trx, -try_, kp[t, elbow, 0] - kp[t, sh, 0],
                                              kp[t, elbow, 1] - kp[t, sh, 1])
            strike = J[J_HEEL + s] if has_feet else ankle
            if has_feet:
                sig[S_CONTACT + s, t] = kp[t, strike, 0] - hx[t]
            if not velocity:
                # Zeni et al. 2008: heel strike at the most anterior heel, toe-off at the most posterior toe.
                toe = J[J_TOE + s] if has_feet else ankle
                sig[S_STRIKE + s, t] = kp[t, strike, 0] - hx[t]
                sig[S_TOE_OFF + s, t] = -(kp[t, toe, 0] - hx[t])
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
                sig[S_STRIKE + s, t] = -v
                sig[S_TOE_OFF + s, t] = v
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
    """BODY_25: per-frame pelvis advance (row S_ADVANCE) from the heels and big toes.

    A point counts as planted when it is within PLANT_BAND of its lowest
    height in the clip and moves backwards relative to the pelvis (a dragging
    swing toe is low too, but moves forwards); the lowest planted point is used.
    Assumes the heel and toe slots of ``J`` are set.
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
        sig[S_ADVANCE, t] = -best_dx


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
    """COCO-17: per-frame pelvis advance (row S_ADVANCE) and contact points (rows S_CONTACT) from the ankles.

    Without heel and toe keypoints, each ankle carries a rigid foot of
    anthropometric proportions (FOOT_*). Heights are measured from the hip
    midpoint; the ground lies one ankle height below the GROUND_PERCENTILE-th
    percentile of the clip's ankle heights (their foot-flat cluster: the
    minimum would follow the lowest noisy detection); a foot ahead of the hips rolls over its heel
    (loading), one behind them over its toe (push-off); its contact point is
    where that heel or toe touches the ground given the ankle's height. Ankles
    only would miss the pelvis motion during heel and toe rocking (about a
    fifth of the step length).
    """
    T = kp.shape[0]
    # The lower GROUND_PERCENTILE-th percentile of the n known heights: the value of rank
    # k = floor(p (n - 1)), from a sorted buffer of the smallest heights, filled in one pass
    # (sized for n = 2T, the most there can be; cheaper than sorting all of them).
    low = np.full(int(GROUND_PERCENTILE / 100.0 * (2 * T - 1)) + 1, np.inf)
    last = low.shape[0] - 1
    n = 0
    for t in range(T):
        if usable[t]:
            for s in range(2):
                y = kp[t, J[J_ANKLE + s], 1] - hy[t]
                if not (y == y):
                    continue
                n += 1
                if y < low[last]:
                    i = last
                    while i > 0 and low[i - 1] > y:
                        low[i] = low[i - 1]
                        i -= 1
                    low[i] = y
    if n == 0:
        return
    k = int(GROUND_PERCENTILE / 100.0 * (n - 1))
    ground = low[k] - FOOT_ANKLE_HEIGHT
    for t in range(T):
        if not usable[t]:
            continue
        for s in range(2):
            a = J[J_ANKLE + s]
            x, _ = _pivot_x(kp[t, a, 0] - hx[t], kp[t, a, 1] - hy[t] - ground, True)
            sig[S_CONTACT + s, t] = x
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
        sig[S_ADVANCE, t] = -best_dx


@njit(cache=True)
def camera_pan(kp, J, usable, root, fps):
    """Fraction of the walker's progression the camera follows (NaN when it cannot be told; see PAN_BAND).

    Image velocities (central differences, leg lengths/s) of each ankle
    (``root`` x + ankle x) in the frames where that ankle is within PAN_BAND
    of its 5th-percentile height (a foot on the floor), and of the pelvis
    (``root`` x) in all usable frames: pan = -a / (b - a) from their medians
    a (ankles) and b (pelvis). Needs PAN_MIN_S seconds of ankle frames and b > a.
    Assumes ``root`` (T, 2) or no rows (then NaN).
    """
    T = kp.shape[0]
    if root.shape[0] != T or T < 3:
        return _NAN
    ankle_v = np.empty(2 * T)
    pelvis_v = np.empty(T)
    n_a = 0
    n_p = 0
    heights = np.empty(T)
    for s in range(2):
        a = J[J_ANKLE + s]
        n_h = 0
        for t in range(T):
            if usable[t] and kp[t, a, 1] == kp[t, a, 1]:
                heights[n_h] = kp[t, a, 1]
                n_h += 1
        if n_h == 0:
            continue
        low = np.percentile(heights[:n_h], 5.0)
        for t in range(1, T - 1):
            if not (usable[t - 1] and usable[t] and usable[t + 1]) or not (kp[t, a, 1] <= low + PAN_BAND):
                continue
            v = 0.5 * fps * ((root[t + 1, 0] + kp[t + 1, a, 0]) - (root[t - 1, 0] + kp[t - 1, a, 0]))
            if v == v:
                ankle_v[n_a] = v
                n_a += 1
    for t in range(1, T - 1):
        if usable[t - 1] and usable[t] and usable[t + 1]:
            v = 0.5 * fps * (root[t + 1, 0] - root[t - 1, 0])
            if v == v:
                pelvis_v[n_p] = v
                n_p += 1
    min_frames = max(3, int(round(PAN_MIN_S * fps)))
    if n_a < min_frames or n_p < min_frames:
        return _NAN
    a_med = np.median(ankle_v[:n_a])
    p_med = np.median(pelvis_v[:n_p])
    if not (p_med - a_med > 0.0):
        return _NAN
    return -a_med / (p_med - a_med)
