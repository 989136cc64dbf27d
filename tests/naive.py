"""Plain-NumPy reference of the feature engine: slow, one clip at a time, written to be read.

It implements the algorithm of ``gaitfeat/features/_kernels/`` step by step
with array operations and plain Python, so that the numba kernels can be
checked against it (tests/test_features.py) and their speed compared
(benchmarks/bench_features.py). It shares nothing with the kernels except the
feature names, the defaults table and the documented constants.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.features import EXTENDED_FEATURES, FEATURES
from gaitfeat.features._kernels import (
    FACING_FRACTION,
    FACING_MIN,
    FOOT_ANKLE_HEIGHT,
    FOOT_HEEL,
    FOOT_TOE,
    GROUND_PERCENTILE,
    LOADING_MAX_S,
    MAD_TO_SD,
    PAN_BAND,
    PAN_MAX,
    PAN_MIN_S,
    PLANT_BAND,
    STEP_OUTLIER_FLOOR,
    STEP_OUTLIER_MADS,
)
from gaitfeat.features._kernels import DEFAULTS as _DEFAULTS
from gaitfeat.layouts import get_layout

#: The engine's defaults (one table: ``gaitfeat.features._kernels.DEFAULTS``), as keyword arguments.
DEFAULTS = _DEFAULTS._asdict()


def signed_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counter-clockwise angle from vectors a to b, (..., 2) each, in degrees; NaN if either is zero or unknown."""
    na = np.hypot(a[..., 0], a[..., 1])
    nb = np.hypot(b[..., 0], b[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip((a * b).sum(-1) / (na * nb), -1.0, 1.0)
    angle = np.degrees(np.arccos(cos))
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    angle = np.where(cross < 0, -angle, angle)
    return np.where((na > 0) & (nb > 0), angle, np.nan)


def pair_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, 0.5 * (a + b)))


def symmetry(left: float, right: float) -> float:
    mean = 0.5 * (left + right)
    if np.isnan(left) or np.isnan(right) or mean == 0:
        return np.nan
    return abs(left - right) / abs(mean) * 100.0


def peaks(sig: np.ndarray, w: int, span: int, prominence: float, floor: float) -> list[float]:
    """Local maxima as documented in the kernels' ``_peaks``."""
    out = []
    T = len(sig)
    for i in range(w, T - w):
        v = sig[i]
        if np.isnan(v) or v < floor:
            continue
        window = sig[i - w : i + w + 1]
        if np.isnan(window).any() or (sig[i - w : i] >= v).any() or (sig[i + 1 : i + w + 1] > v).any():
            continue
        lows = []
        for direction in (-1, 1):
            low, j = v, i + direction
            while 0 <= j < T and abs(j - i) <= span and not np.isnan(sig[j]):
                low = min(low, sig[j])
                j += direction
            lows.append(low)
        if v - max(lows) < prominence:
            continue
        a, c = sig[i - 1], sig[i + 1]
        den = a - 2 * v + c
        d = 0.5 * (a - c) / den if den < 0 else 0.0
        out.append(i + float(np.clip(d, -0.5, 0.5)))
    return out


def interp(sig: np.ndarray, f: float) -> float:
    i = int(np.floor(f))
    if i < 0 or i >= len(sig):
        return np.nan
    if f == i:
        return sig[i]
    if i + 1 >= len(sig):
        return np.nan
    return sig[i] + (f - i) * (sig[i + 1] - sig[i])


def segment_of(seg: np.ndarray, f: float) -> int:
    i = int(np.floor(f))
    if i < 0 or i >= len(seg):
        return -1
    k = min(i + 1, len(seg) - 1) if f > i else i
    return int(seg[i]) if seg[i] >= 0 and seg[i] == seg[k] else -1


def pivot(ax: float, height: float, heel: bool) -> tuple[float, bool]:
    h = max(height, FOOT_ANKLE_HEIGHT)
    reach = FOOT_HEEL if heel else FOOT_TOE
    r2 = FOOT_ANKLE_HEIGHT**2 + reach**2
    off = np.sqrt(max(r2 - h * h, 0.0))
    return (ax - off if heel else ax + off), h * h <= r2


def camera_pan(x, y, root, usable, fps, ankles) -> float:
    """The share of the walker's progression the camera follows, from the image motion of flat feet."""
    T = len(root)
    inner = np.zeros(T, dtype=bool)
    inner[1:-1] = usable[:-2] & usable[1:-1] & usable[2:]
    pelvis = np.full(T, np.nan)
    pelvis[1:-1] = 0.5 * fps * (root[2:, 0] - root[:-2, 0])
    feet = []
    for a in ankles:
        heights = y[usable, a]
        heights = heights[~np.isnan(heights)]
        if heights.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            flat = inner & (y[:, a] <= np.percentile(heights, 5) + PAN_BAND)
        image = root[:, 0] + x[:, a]
        v = np.full(T, np.nan)
        v[1:-1] = 0.5 * fps * (image[2:] - image[:-2])
        feet.append(v[flat])
    feet = np.concatenate(feet) if feet else np.empty(0)
    feet = feet[~np.isnan(feet)]
    pelvis = pelvis[inner & ~np.isnan(pelvis)]
    min_frames = max(3, int(round(PAN_MIN_S * fps)))
    if feet.size < min_frames or pelvis.size < min_frames:
        return np.nan
    a, b = np.median(feet), np.median(pelvis)
    return -a / (b - a) if b - a > 0 else np.nan


def clip_features(kp: np.ndarray, fps: float, layout: str, root: np.ndarray | None = None,
                  **options) -> tuple[dict, dict]:
    """Features and events of one clip ``(T, V, C)``: (features by name, {(side, kind): [frames]}).

    ``root`` (T, 2): the clip's pelvis path, if any.
    """
    o = {**DEFAULTS, **options}
    lay = get_layout(layout)
    x = kp[:, :, 0].astype(np.float64)
    y = kp[:, :, 1].astype(np.float64)
    T = len(x)
    j = lay.index
    sides = ("left", "right")
    has_feet = lay.has("left_heel") and lay.has("left_big_toe")

    hx = pair_mean(x[:, j("left_hip")], x[:, j("right_hip")])
    hy = pair_mean(y[:, j("left_hip")], y[:, j("right_hip")])
    width = np.abs(x[:, j("left_shoulder")] - x[:, j("right_shoulder")])
    width = np.where(np.isnan(width), 2 * np.abs(x[:, j("left_hip")] - x[:, j("right_hip")]), width)
    facing = x[:, j("nose")] - pair_mean(x[:, j("left_ear")], x[:, j("right_ear")])
    typical_width = np.median(width[~np.isnan(width)]) if (~np.isnan(width)).any() else np.nan
    typical_facing = np.median(facing[~np.isnan(facing)]) if (~np.isnan(facing)).any() else np.nan
    with np.errstate(invalid="ignore"):
        turn = (width - typical_width > o["turn_width"]) | (
            (typical_facing > FACING_MIN) & (facing < FACING_FRACTION * typical_facing))
    margin = int(round(o["turn_margin_s"] * fps))
    near = np.array([turn[max(0, t - margin) : t + margin + 1].any() for t in range(T)])
    usable = ~near & ~np.isnan(hx)
    min_frames = max(2, int(round(o["min_usable_s"] * fps)))

    def vec(a: str, b: str) -> np.ndarray:
        return np.stack([x[:, j(b)] - x[:, j(a)], y[:, j(b)] - y[:, j(a)]], axis=-1)

    def masked(values: np.ndarray) -> np.ndarray:
        return np.where(usable, values, np.nan)

    up, down = np.array([0.0, 1.0]), np.array([0.0, -1.0])
    sx = pair_mean(x[:, j("left_shoulder")], x[:, j("right_shoulder")])
    sy = pair_mean(y[:, j("left_shoulder")], y[:, j("right_shoulder")])
    trunk = masked(-signed_angle(np.broadcast_to(up, (T, 2)), np.stack([sx - hx, sy - hy], axis=-1)))
    hip, knee, neck, arm = {}, {}, {}, {}
    for s in sides:
        thigh = vec(f"{s}_hip", f"{s}_knee")
        hip[s] = masked(signed_angle(np.broadcast_to(down, (T, 2)), thigh))
        knee[s] = masked(-signed_angle(thigh, vec(f"{s}_knee", f"{s}_ankle")))
        trunk_s = vec(f"{s}_hip", f"{s}_shoulder")
        neck[s] = masked(-signed_angle(trunk_s, vec(f"{s}_shoulder", f"{s}_ear")))
        arm[s] = masked(signed_angle(-trunk_s, vec(f"{s}_shoulder", f"{s}_elbow")))

    # Ankle (BODY_25): the foot (heel -> big toe) against the shank, less 90 deg, wrapped to (-180, 180].
    ankle = {s: np.full(T, np.nan) for s in sides}
    for s in sides if has_feet else ():
        a = signed_angle(vec(f"{s}_knee", f"{s}_ankle"), vec(f"{s}_heel", f"{s}_big_toe")) - 90.0
        ankle[s] = masked(np.where(a <= -180.0, a + 360.0, a))

    f: dict[str, float] = {}
    reasons: dict[str, int] = {}

    def put(name: str, value: float, code: int) -> None:
        f[name] = float(value)
        reasons[name] = 0 if np.isfinite(value) else code

    def summary(values: np.ndarray):
        v = values[~np.isnan(values)]
        if len(v) < min_frames:
            return np.nan, np.nan, np.nan
        return v.mean(), v.std(), v.max() - v.min()

    mean, sd, _ = summary(trunk)
    put("trunk_inclination", mean, 1)
    put("trunk_sway", np.sqrt(2) * sd, 1)
    for s in sides:
        put(f"hip_rom_{s}", summary(hip[s])[2], 1)
        put(f"knee_rom_{s}", summary(knee[s])[2], 1)
        put(f"neck_angle_{s}", summary(neck[s])[0], 1)
        m, _, r = summary(arm[s])
        put(f"arm_body_angle_{s}", m, 1)
        put(f"arm_swing_{s}", r, 1)
    for name in ("hip_rom", "knee_rom", "arm_swing"):
        out = "arm_swing_symmetry" if name == "arm_swing" else f"{name}_symmetry"
        put(out, symmetry(f[f"{name}_left"], f[f"{name}_right"]), 5)

    # Event signals.
    velocity = o["method"] == "velocity"
    hs_sig, to_sig, contact = {}, {}, {}
    for s in sides:
        hs_pt = f"{s}_heel" if has_feet else f"{s}_ankle"
        to_pt = f"{s}_big_toe" if has_feet else f"{s}_ankle"
        if has_feet:
            contact[s] = masked(x[:, j(hs_pt)] - hx)
        if not velocity:
            hs_sig[s] = masked(x[:, j(hs_pt)] - hx)
            to_sig[s] = masked(-(x[:, j(to_pt)] - hx))
        else:
            if has_feet:
                foot_y = 0.5 * (y[:, j(f"{s}_heel")] + y[:, j(f"{s}_big_toe")]) - hy
            else:
                foot_y = y[:, j(f"{s}_ankle")] - hy
            v = np.full(T, np.nan)
            ok = usable[:-2] & usable[1:-1] & usable[2:]
            v[1:-1] = np.where(ok, 0.5 * (foot_y[2:] - foot_y[:-2]) * fps, np.nan)
            hs_sig[s], to_sig[s] = -v, v

    # Pelvis advance per frame.
    advance = np.full(T, np.nan)
    if has_feet:
        names = [f"{s}_{p}" for s in sides for p in ("heel", "big_toe")]
        fy = np.stack([y[:, j(n)] - hy for n in names], axis=1)
        fx = np.stack([x[:, j(n)] - hx for n in names], axis=1)
        ground = np.array([np.nanmin(np.where(usable, fy[:, p], np.inf)) for p in range(4)])
        for t in range(1, T):
            if not (usable[t] and usable[t - 1]):
                continue
            dx = fx[t] - fx[t - 1]
            with np.errstate(invalid="ignore"):
                ok = (fy[t] <= ground + PLANT_BAND) & (dx <= 0)
            if ok.any():
                candidates = np.flatnonzero(ok)
                advance[t] = -dx[candidates[np.argmin(fy[t, candidates])]]
    else:
        ay = np.stack([y[:, j(f"{s}_ankle")] - hy for s in sides], axis=1)
        ax = np.stack([x[:, j(f"{s}_ankle")] - hx for s in sides], axis=1)
        heights = ay[usable].ravel()
        heights = heights[~np.isnan(heights)]
        # The lower 5th percentile: the value of rank floor(0.05 (n - 1)).
        rank = int(GROUND_PERCENTILE / 100.0 * (heights.size - 1))
        ground = np.sort(heights)[rank] - FOOT_ANKLE_HEIGHT if heights.size else np.nan
        for k, s in enumerate(sides):
            contact[s] = np.array([pivot(ax[t, k], ay[t, k] - ground, True)[0] if usable[t] else np.nan
                                   for t in range(T)])
        for t in range(1, T):
            if not (usable[t] and usable[t - 1]):
                continue
            best = (np.inf, np.nan)
            for k in range(2):
                heel = ax[t, k] >= 0
                x1, on1 = pivot(ax[t, k], ay[t, k] - ground, heel)
                x0, on0 = pivot(ax[t - 1, k], ay[t - 1, k] - ground, heel)
                if on1 and on0 and x1 - x0 <= 0 and ay[t, k] - ground < best[0]:
                    best = (ay[t, k] - ground, x1 - x0)
            advance[t] = -best[1]

    # The pelvis path replaces the foot method's advance when the camera is static.
    spatial, pan = "foot_contact", np.nan
    if root is not None:
        pan = camera_pan(x, y, root, usable, fps, [j(f"{s}_ankle") for s in sides])
    if root is not None and o["camera"] != "moving":
        pairs = np.zeros(T, dtype=bool)
        pairs[1:] = usable[1:] & usable[:-1]
        d = np.full(T, np.nan)
        d[1:] = root[1:, 0] - root[:-1, 0]
        d[~pairs] = np.nan
        enough = (~np.isnan(d)).sum() >= max(2, pairs.sum() // 2)
        if enough and (o["camera"] == "static" or pan <= PAN_MAX):
            advance, spatial = d, "pelvis_path"

    # Events.
    w = max(1, int(round(o["peak_window_s"] * fps)))
    span = max(w, int(round(o["prominence_window_s"] * fps)))
    prom = o["velocity_prominence"] if velocity else o["prominence"]
    floor = 0.0 if velocity else -np.inf
    events = {}
    for s in sides:
        events[(s, "heel_strike")] = peaks(hs_sig[s], w, span, prom, floor)
        events[(s, "toe_off")] = peaks(to_sig[s], w, span, prom, floor)
        if velocity:
            events[(s, "heel_strike")] = [f for f in events[(s, "heel_strike")] if contact[s][int(round(f))] > 0]
            events[(s, "toe_off")] = [f for f in events[(s, "toe_off")] if contact[s][int(round(f))] < 0]

    # Speed and progression.
    planted = advance[~np.isnan(advance)]
    per_frame = planted.mean() if len(planted) else np.nan
    speed = per_frame * fps if len(planted) >= max(2, min_frames // 2) else np.nan
    put("walking_speed", speed, 7)
    seg = np.full(T, -1)
    prog = np.full(T, np.nan)
    n_seg = 0
    for t in range(T):
        if not usable[t]:
            continue
        if t > 0 and seg[t - 1] >= 0:
            seg[t] = seg[t - 1]
            prog[t] = prog[t - 1] + (advance[t] if not np.isnan(advance[t]) else per_frame)
        else:
            seg[t], prog[t] = n_seg, 0.0
            n_seg += 1

    # Steps and strides.
    strikes = sorted([(fr, k) for k, s in enumerate(sides) for fr in events[(s, "heel_strike")]])
    steps = {0: [], 1: []}  # (time, length)
    strides = []  # (time, length)
    stride_rows, step_rows = [], []  # the rows of the kernels' walk_rows (STRIDE_FIELDS, STEP_FIELDS)
    stance = {0: [], 1: []}  # (stance, swing, min knee)
    ankle_peak = {0: [], 1: []}  # greatest ankle angle of each stride with a toe-off
    state = -np.ones((2, T), dtype=int)
    for e in range(1, len(strikes)):
        fe, s = strikes[e]
        seg_e = segment_of(seg, fe)
        if seg_e < 0:
            continue
        pos_e = interp(contact[sides[s]], fe) + interp(prog, fe)
        fp, sp = strikes[e - 1]
        if sp != s and segment_of(seg, fp) == seg_e:
            steps[s].append(((fe - fp) / fps, pos_e - (interp(contact[sides[sp]], fp) + interp(prog, fp))))
            step_rows.append((s, fp, fe, steps[s][-1][1]))
        previous = [q for q in range(e) if strikes[q][1] == s]
        if not previous:
            continue
        q = previous[-1]
        fq = strikes[q][0]
        if e - q - 1 > 1 or segment_of(seg, fq) != seg_e:
            continue
        strides.append(((fe - fq) / fps, pos_e - (interp(contact[sides[s]], fq) + interp(prog, fq))))
        toe_offs = [t for t in events[(sides[s], "toe_off")] if fq < t < fe]
        if not toe_offs:
            stride_rows.append((s, fq, fe, strides[-1][1], np.nan))
            continue
        strength = [interp(to_sig[sides[s]], t) for t in toe_offs]
        to = toe_offs[0]
        for t, v in zip(toe_offs, strength):
            if v > strength[toe_offs.index(to)]:
                to = t
        stride_rows.append((s, fq, fe, strides[-1][1], to))
        window = knee[sides[s]][int(np.ceil(fq)) : int(np.floor(to)) + 1]
        low = np.nanmin(window) if np.isfinite(window).any() else np.nan
        stance[s].append((to - fq, fe - to, low))
        peaks_s = ankle[sides[s]][int(np.ceil(fq)) : int(np.floor(to)) + 1] if has_feet else np.full(1, np.nan)
        ankle_peak[s].append(np.nanmax(peaks_s) if np.isfinite(peaks_s).any() else np.nan)
        for t in range(int(np.ceil(fq)), min(T, int(np.ceil(fe)))):
            state[s, t] = 1 if t < to else 0

    times = np.array([t for t, _ in strides])
    if len(times):
        put("gait_cycle_duration", times.mean(), 3)
        put("cadence", 120.0 / times.mean(), 3)
    else:
        put("gait_cycle_duration", np.nan, 3)
        step_times = [t for s in (0, 1) for t, _ in steps[s]]
        put("cadence", 60.0 * len(step_times) / sum(step_times) if step_times else np.nan, 2)
    put("stride_time_cv", times.std(ddof=1) / times.mean() * 100 if len(times) >= 3 else np.nan, 6)
    lengths = {s: [v for _, v in steps[s] if np.isfinite(v)] for s in (0, 1)}
    both = lengths[0] + lengths[1]
    put("step_length", np.mean(both) if both else np.nan, 2)
    for s in (0, 1):
        put(f"step_length_{sides[s]}", np.mean(lengths[s]) if lengths[s] else np.nan, 2)
    put("step_length_symmetry", symmetry(f["step_length_left"], f["step_length_right"]), 5)
    step_time = [np.mean([t for t, _ in steps[s]]) if steps[s] else np.nan for s in (0, 1)]
    put("step_timing_symmetry", symmetry(*step_time), 5)
    stride_lengths = [v for _, v in strides if np.isfinite(v)]
    put("stride_length", np.mean(stride_lengths) if stride_lengths else np.nan, 3)
    for s in (0, 1):
        rows = stance[s]
        swing = sum(r[1] for r in rows)
        put(f"stance_swing_ratio_{sides[s]}", sum(r[0] for r in rows) / swing if swing > 0 else np.nan, 4)
        lows = [r[2] for r in rows if np.isfinite(r[2])]
        put(f"knee_flexion_min_stance_{sides[s]}", np.mean(lows) if lows else np.nan, 4)
        at_ic = [interp(knee[sides[s]], fr) for fr in events[(sides[s], "heel_strike")]]
        at_ic = [v for v in at_ic if np.isfinite(v)]
        put(f"knee_flexion_ic_{sides[s]}", np.mean(at_ic) if at_ic else np.nan, 8)
    known = (state[0] >= 0) & (state[1] >= 0)
    put("double_support_fraction", ((state[0] == 1) & (state[1] == 1) & known).sum() / known.sum()
        if known.any() else np.nan, 4)
    extended_features(put, steps, events, ankle, ankle_peak, has_feet, np.where(usable[:, None], y, np.nan), j, fps)
    quality = {
        "n_heel_strikes_left": len(events[("left", "heel_strike")]),
        "n_heel_strikes_right": len(events[("right", "heel_strike")]),
        "n_toe_offs_left": len(events[("left", "toe_off")]),
        "n_toe_offs_right": len(events[("right", "toe_off")]),
        "n_strides": len(strides),
        "usable_fraction": usable.mean(),
        "turning_fraction": turn.mean(),
        "spatial_method": spatial,
        "camera_pan": pan,
    }
    assert set(f) == set(FEATURES + EXTENDED_FEATURES)
    return {**{k: f[k] for k in FEATURES + EXTENDED_FEATURES}, **quality, "_reasons": reasons,
            "_stride_rows": stride_rows, "_step_rows": step_rows}, events


def extract_features(clips: np.ndarray, fps: float, layout: str, root: np.ndarray | None = None,
                     **options) -> list[dict]:
    """:func:`clip_features` of every clip (``root`` (N, T, 2): their pelvis paths, if any)."""
    return [clip_features(c, fps, layout, None if root is None else root[i], **options)[0]
            for i, c in enumerate(clips)]


def cv(values) -> float:
    """Coefficient of variation (%), sample SD over |mean|, of three or more values left after dropping those
    beyond max(3 scaled MADs, 10 % of the median) from the median (else NaN)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 3:
        return np.nan
    dev = np.abs(v - np.median(v))
    v = v[dev <= max(STEP_OUTLIER_MADS * MAD_TO_SD * np.median(dev), STEP_OUTLIER_FLOOR * abs(np.median(v)))]
    return v.std(ddof=1) / abs(v.mean()) * 100.0 if len(v) >= 3 and v.mean() != 0 else np.nan


def extended_features(put, steps, events, ankle, ankle_peak, has_feet, y, j, fps) -> None:
    """The extended features: per landing foot from :func:`clip_features`' steps ((time, length) each),
    events, ankle angles and per-stride ankle peaks, and the heights ``y`` (NaN in unusable frames)."""
    sides = ("left", "right")
    for k, s in enumerate(sides):
        times = [t for t, _ in steps[k]]
        put(f"step_time_{s}", np.mean(times) if times else np.nan, 2)
        put(f"step_time_cv_{s}", cv(times), 9)
        put(f"step_length_cv_{s}", cv([v for _, v in steps[k] if np.isfinite(v)]), 9)
        if not has_feet:
            for name in ("heel_strike_fraction", "ankle_angle_ic", "ankle_dorsiflexion_max_stance"):
                put(f"{name}_{s}", np.nan, 10)
            continue
        # Heel first: heel at or below the big toe on average over loading response (to the other toe-off).
        drop = y[:, j(f"{s}_heel")] - y[:, j(f"{s}_big_toe")]
        strikes = events[(s, "heel_strike")]
        other_toe_offs = np.array(events[(sides[1 - k], "toe_off")])
        verdicts = []
        for fr in strikes:
            later = other_toe_offs[other_toe_offs > fr]
            end = min(later[0], fr + LOADING_MAX_S * fps) if later.size else fr + LOADING_MAX_S * fps
            window = np.concatenate([[interp(drop, fr)], drop[int(np.floor(fr)) + 1 : int(np.floor(end)) + 1]])
            if np.isfinite(window).any():
                verdicts.append(np.nanmean(window) <= 0)
        at_ic = [v for v in (interp(ankle[s], fr) for fr in strikes) if np.isfinite(v)]
        put(f"heel_strike_fraction_{s}", np.mean(verdicts) if verdicts else np.nan, 8 if not strikes else 1)
        put(f"ankle_angle_ic_{s}", np.mean(at_ic) if at_ic else np.nan, 8 if not strikes else 1)
        peaks = [v for v in ankle_peak[k] if np.isfinite(v)]
        put(f"ankle_dorsiflexion_max_stance_{s}", np.mean(peaks) if peaks else np.nan, 1 if ankle_peak[k] else 4)
