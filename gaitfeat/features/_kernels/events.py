"""Numba kernels, step 2: gait events, walking stretches, heel strikes, steps and strides of one clip.

Every function reads the per-frame signals ``sig`` of
:func:`.signals.frame_signals` (rows named in ``contract.SIGNAL_ROWS``) and
works in frames; sub-frame event positions are floats.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gaitfeat.features._kernels.contract import (
    CAMERA_AUTO,
    CAMERA_MOVING,
    F_SPEED,
    PAN_MAX,
    Q_PAN,
    Q_SPATIAL,
    R_CONTACT,
    S_ADVANCE,
    S_CONTACT,
    S_STRIKE,
    S_TOE_OFF,
    SPATIAL_FOOT,
    SPATIAL_PELVIS,
)

_NAN = np.nan


@njit(cache=True)
def set_feature(feat, reason, k, value, code):
    """Write feature k and its NaN reason (0 when the value is known, else ``code``)."""
    feat[k] = value
    reason[k] = 0 if value == value else code


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
def interp(sig, f):
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
def gait_events(sig, fps, P, events, n_events):
    """Heel strikes and toe-offs of both feet: peaks of the strike and toe-off signals.

    Writes sub-frame positions to ``events`` (2 sides, 2 kinds [heel strike,
    toe-off], capacity) in time order and their counts to ``n_events`` (2, 2).
    Assumes the capacity is at least T // (peak window + 1) + 1, the most
    events the peak rule can find, and that the contact rows are filled
    (the velocity method keeps a heel strike only with the foot ahead of the
    hips, a toe-off only with it behind them).
    """
    w = max(1, int(round(P.peak_window_s * fps)))
    span = max(w, int(round(P.prominence_window_s * fps)))
    velocity = P.velocity_method
    prominence = P.velocity_prominence if velocity else P.prominence
    floor = 0.0 if velocity else -np.inf
    for s in range(2):
        n_events[s, 0] = _peaks(sig[S_STRIKE + s], w, span, prominence, floor, events[s, 0])
        n_events[s, 1] = _peaks(sig[S_TOE_OFF + s], w, span, prominence, floor, events[s, 1])
        if velocity:
            # Vertical foot speed has other extremes (the pelvis bobs); a heel strike
            # happens with the foot ahead of the hips, a toe-off with it behind them.
            for kind in range(2):
                kept = 0
                for e in range(n_events[s, kind]):
                    f = events[s, kind, e]
                    x = sig[S_CONTACT + s, int(round(f))]
                    if (kind == 0 and x > 0.0) or (kind == 1 and x < 0.0):
                        events[s, kind, kept] = f
                        kept += 1
                n_events[s, kind] = kept


@njit(cache=True)
def pelvis_path(sig, usable, root, pan, camera, quality):
    """Replace the foot-contact pelvis advance (row S_ADVANCE) by the pelvis path when the camera is static.

    ``root`` (T, 2) is the hip midpoint before centring (leg lengths, x along
    the walking direction), or has no rows when the caller has none; ``pan``
    the estimate of :func:`.signals.camera_pan` (NaN if unknown). Writes
    ``quality[Q_SPATIAL]`` (SPATIAL_FOOT or SPATIAL_PELVIS) and
    ``quality[Q_PAN]``. The path is used when at least half the usable frame
    pairs have it and, with ``camera`` CAMERA_AUTO, the pan is at most
    PAN_MAX; CAMERA_STATIC skips that check, CAMERA_MOVING never uses it.
    """
    T = sig.shape[1]
    quality[Q_SPATIAL] = SPATIAL_FOOT
    quality[Q_PAN] = pan
    if root.shape[0] != T or camera == CAMERA_MOVING:
        return
    pairs = 0
    known = 0
    for t in range(1, T):
        if usable[t] and usable[t - 1]:
            pairs += 1
            if root[t, 0] == root[t, 0] and root[t - 1, 0] == root[t - 1, 0]:
                known += 1
    if known < max(2, pairs // 2):
        return
    if camera == CAMERA_AUTO and not (pan <= PAN_MAX):
        return
    for t in range(T):
        sig[S_ADVANCE, t] = _NAN
        if t > 0 and usable[t] and usable[t - 1]:
            sig[S_ADVANCE, t] = root[t, 0] - root[t - 1, 0]
    quality[Q_SPATIAL] = SPATIAL_PELVIS


@njit(cache=True)
def walking_stretches(sig, usable, fps, min_frames, feat, reason):
    """Walking speed (feature), walking stretches and pelvis progression; returns (seg, prog).

    Speed is the mean pelvis advance over the frames where it is known (a
    planted foot point, or the pelvis path of :func:`pelvis_path`; NaN with
    fewer than max(2, min_frames // 2) such frames). A
    stretch is a run of usable frames: ``seg`` (T,) its id, -1 outside;
    ``prog`` (T,) the pelvis position along the ground from the stretch's
    first frame, frames without a planted point (a COCO-17 ankle rising in
    push-off) advancing it at the mean speed.
    """
    T = sig.shape[1]
    speed_sum = 0.0
    speed_n = 0
    for t in range(T):
        if sig[S_ADVANCE, t] == sig[S_ADVANCE, t]:
            speed_sum += sig[S_ADVANCE, t]
            speed_n += 1
    per_frame = speed_sum / speed_n if speed_n > 0 else _NAN
    speed = per_frame * fps if speed_n >= max(2, min_frames // 2) else _NAN
    set_feature(feat, reason, F_SPEED, speed, R_CONTACT)
    seg = np.full(T, -1, dtype=np.int64)
    prog = np.full(T, _NAN)
    n_seg = 0
    for t in range(T):
        if not usable[t]:
            continue
        if t > 0 and seg[t - 1] >= 0:
            seg[t] = seg[t - 1]
            prog[t] = prog[t - 1] + (sig[S_ADVANCE, t] if sig[S_ADVANCE, t] == sig[S_ADVANCE, t] else per_frame)
        else:
            seg[t] = n_seg
            n_seg += 1
            prog[t] = 0.0
    return seg, prog


@njit(cache=True)
def heel_strikes(sig, events, n_events, seg, prog):
    """Heel strikes of both feet in time order: (frame, side, stretch, ground position).

    The stretch is -1 when a strike is not inside one walking stretch; the
    position (leg lengths) is the foot's contact point plus the pelvis
    progression at the strike. Ties keep the left foot first (stable sort).
    """
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
    hs_pos = np.empty(n_hs)
    for e in range(n_hs):
        hs_seg[e] = _segment_of(seg, hs_f[e])
        hs_pos[e] = interp(sig[S_CONTACT + hs_s[e]], hs_f[e]) + interp(prog, hs_f[e])
    return hs_f, hs_s, hs_seg, hs_pos


@njit(cache=True)
def steps(hs_f, hs_s, hs_seg, hs_pos, fps):
    """Per side (the foot that lands): summed step times (s) and lengths, and their counts.

    A step ends at a heel strike inside a walking stretch whose previous heel
    strike was the other foot's, in the same stretch. Lengths are summed
    only where known. Returns (length_sum, length_n, time_sum, time_n), each (2,).
    """
    step_len = np.zeros(2)
    step_len_n = np.zeros(2)
    step_time = np.zeros(2)
    step_time_n = np.zeros(2)
    for e in range(1, hs_f.shape[0]):
        s = hs_s[e]
        if hs_seg[e] < 0:
            continue
        p = e - 1
        if hs_s[p] != s and hs_seg[p] == hs_seg[e]:
            step_time[s] += (hs_f[e] - hs_f[p]) / fps
            step_time_n[s] += 1
            length = hs_pos[e] - hs_pos[p]
            if length == length:
                step_len[s] += length
                step_len_n[s] += 1
    return step_len, step_len_n, step_time, step_time_n


@njit(cache=True)
def strides(hs_s, hs_seg):
    """Strides as (first, last): indices into the time-ordered heel strikes, in time order.

    A stride ends at a heel strike inside a walking stretch and starts at the
    same foot's previous strike in the same stretch, with at most one of the
    other foot's strikes between them (two would mean a missed strike of this foot).
    """
    n_hs = hs_s.shape[0]
    first = np.empty(n_hs, dtype=np.int64)
    last = np.empty(n_hs, dtype=np.int64)
    n = 0
    for e in range(1, n_hs):
        s = hs_s[e]
        if hs_seg[e] < 0:
            continue
        others = 0
        q = e - 1
        while q >= 0 and hs_s[q] != s:
            others += 1
            q -= 1
        if q < 0 or others > 1 or hs_seg[q] != hs_seg[e]:
            continue
        first[n] = q
        last[n] = e
        n += 1
    return first[:n], last[:n]


@njit(cache=True)
def strongest_toe_off(sig, events, n_events, s, start, stop):
    """Frame of foot s's toe-off between two frames with the largest toe-off signal (NaN if none)."""
    to = _NAN
    best = -np.inf
    for m in range(n_events[s, 1]):
        f = events[s, 1, m]
        if start < f < stop:
            v = interp(sig[S_TOE_OFF + s], f)
            if v > best or not (to == to):
                best = v
                to = f
    return to
