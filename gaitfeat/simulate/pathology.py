"""Per-child gait parameters conditioned on GMFCS level, and the joint-angle curves they produce.

Level 0 stands for typically developing (TD) children; it is the reference
population of the simulated GDI and is not part of the default cohorts.
The table :data:`LEVEL_TABLE` and ``docs/simulator.md`` give each parameter's
distribution per level and the reasoning or source behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from gaitfeat.simulate.kinematics import TD_TOE_OFF, normative_curve, stature_for_age

__all__ = ["LEVEL_TABLE", "ChildParams", "draw_child", "next_visit", "normative_phase", "side_angles"]

# Level 0 (typically developing): (mean, sd) of each parameter, drawn independently (the GDI reference
# population and draw_walker's children). Levels I-IV: (anchor, sd) used by gaitfeat.simulate.cp: the
# anchor is the parameter's mean at the level's mean gait severity, the sd that of a child's own random
# effect around it (the spread within a level is larger: severity and gait pattern add to it).
# Sources and reasoning: docs/simulator.md.
LEVEL_TABLE: dict[str, tuple[tuple[float, float], ...]] = {
    # Cadence at age 10 (steps/min); children slow by ~2 steps/min per year of age.
    "cadence": ((132, 9), (124, 10), (114, 11), (92, 12), (80, 12)),
    # Stride-time coefficient of variation.
    "stride_cv": ((0.025, 0.007), (0.035, 0.01), (0.05, 0.012), (0.07, 0.015), (0.09, 0.02)),
    # Multipliers of the normative hip and knee excursions.
    "hip_rom_scale": ((1.0, 0.07), (0.95, 0.07), (0.89, 0.08), (0.82, 0.09), (0.74, 0.09)),
    "knee_rom_scale": ((1.0, 0.07), (0.94, 0.07), (0.88, 0.08), (0.81, 0.09), (0.73, 0.09)),
    # Extra knee flexion in stance (deg), before the gait pattern's own.
    "crouch": ((0, 3), (1, 3), (3, 3), (5, 4), (7, 4)),
    # Extra plantarflexion (deg), before the gait pattern's own.
    "equinus": ((0, 3), (1, 3), (1, 3), (0, 3), (0, 3)),
    "pelvic_tilt": ((10, 3), (12, 3), (13, 4), (15, 4), (16, 4)),
    # Forward trunk lean from vertical and its oscillation amplitude at step frequency (deg).
    "trunk_lean": ((3, 2), (4, 3), (6, 3), (9, 4), (11, 5)),
    "trunk_sway": ((1.5, 0.5), (2.0, 0.7), (3.0, 1.0), (4.5, 1.2), (5.5, 1.5)),
    "head_flexion": ((5, 4), (7, 5), (10, 5), (14, 6), (17, 6)),
    # Arm swing amplitude as a fraction of the TD amplitude (18 deg), and elbow flexion (deg).
    "arm_swing": ((1.0, 0.15), (0.85, 0.18), (0.7, 0.18), (0.5, 0.18), (0.4, 0.15)),
    "elbow_flexion": ((20, 5), (25, 8), (32, 10), (42, 12), (50, 12)),
    # Stance phase as a fraction of the gait cycle.
    "stance": ((0.61, 0.015), (0.62, 0.015), (0.63, 0.02), (0.65, 0.02), (0.67, 0.02)),
    # Stature relative to the age median, in SD units of 4.5 % of stature.
    "stature_z": ((0.0, 1.0), (-0.3, 1.0), (-0.6, 1.0), (-1.0, 1.0), (-1.3, 1.0)),
}

_TD_ARM_AMPLITUDE = 18.0  # deg, shoulder flexion-extension amplitude of TD children


@dataclass(frozen=True)
class ChildParams:
    """Gait parameters of one walker (a child, or an adult from ``draw_walker``) at one visit.

    Angles in degrees; per-side values are (left, right); stature in m,
    cadence in steps/min, age in years.
    """

    gmfcs: int
    age: float
    stature: float
    cadence: float
    stride_cv: float
    pelvic_tilt: float
    trunk_lean: float
    trunk_sway: float
    head_flexion: float
    arm_swing: float
    elbow_flexion: float
    assistive_device: bool
    hemiplegic_side: str  # "left", "right" or "none"
    hip_rom_scale: tuple[float, float]
    knee_rom_scale: tuple[float, float]
    crouch: tuple[float, float]
    equinus: tuple[float, float]
    stance: tuple[float, float]
    phase_offset: float = 0.5
    extra: dict = field(default_factory=dict, compare=False)
    sex: str = "unknown"  # "male", "female" (adults from draw_walker) or "unknown"
    # Cerebral palsy only (gaitfeat.simulate.cp); typical values otherwise.
    gait_pattern: str = "typical"  # one of gaitfeat.simulate.cp.PATTERNS, or "typical"
    motor_severity: float = float("nan")  # latent gross motor function (gaitfeat.simulate.severity)
    gait_severity: float = float("nan")  # latent gait impairment
    knee_ic: tuple[float, float] = (0.0, 0.0)  # extra knee flexion at initial contact, fading by mid-stance (deg)
    swing_drop: tuple[float, float] = (0.0, 0.0)  # extra plantarflexion in swing: foot drop (deg)
    stiff_knee: tuple[float, float] = (0.0, 0.0)  # share of the swing knee flexion lost (0-1)


def _draw(name: str, level: int, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    mean, sd = LEVEL_TABLE[name][level]
    return rng.normal(mean, sd, size=size)


def draw_child(level: int, rng: np.random.Generator, *, age: float | None = None) -> ChildParams:
    """Draw one child's parameters at a GMFCS level (0 = typically developing).

    Typically developing children (level 0) draw every parameter
    independently from :data:`LEVEL_TABLE`'s first row. Children with cerebral
    palsy (levels 1-4) come from the latent-severity model of
    :mod:`gaitfeat.simulate.cp`: a motor severity consistent with the rated
    level, a gait severity, a gait pattern, and correlated individual effects.

    Parameters
    ----------
    level : int
        0 (TD), or GMFCS 1-4.
    rng : numpy.random.Generator
    age : float, optional
        Age in years; drawn uniformly from 5 to 17 when omitted.
    """
    if level not in (0, 1, 2, 3, 4):
        raise ValueError(f"level must be 0 (TD) or a GMFCS level 1-4, got {level}")
    if level > 0:
        from gaitfeat.simulate.cp import draw_cp_fields  # cp builds on this module's table and class

        return ChildParams(**draw_cp_fields(level, rng, LEVEL_TABLE, age=age))
    age = float(rng.uniform(5.0, 17.0)) if age is None else float(age)
    stature = float(stature_for_age(age) * (1.0 + 0.045 * _draw("stature_z", level, rng)))
    cadence = float(np.clip(_draw("cadence", level, rng) - 2.0 * (age - 10.0), 55.0, 175.0))
    # Typically developing children are never hemiplegic and use no aid; the two draws keep their stream.
    rng.uniform()
    rng.uniform()

    def bilateral(name: str, lo: float, hi: float) -> tuple[float, float]:
        base = _draw(name, level, rng)
        spread = 0.15 * LEVEL_TABLE[name][level][1]
        vals = np.clip(base + rng.normal(0.0, spread, size=2), lo, hi)
        return float(vals[0]), float(vals[1])

    hip = bilateral("hip_rom_scale", 0.3, 1.25)
    knee = bilateral("knee_rom_scale", 0.25, 1.25)
    crouch = bilateral("crouch", -4.0, 60.0)
    equinus = bilateral("equinus", -8.0, 30.0)
    stance = bilateral("stance", 0.54, 0.75)
    lean = float(np.clip(_draw("trunk_lean", level, rng), -2.0, 40.0))
    arm = float(np.clip(_draw("arm_swing", level, rng), 0.05, 1.5))
    elbow = float(np.clip(_draw("elbow_flexion", level, rng), 5.0, 110.0))
    return ChildParams(
        gmfcs=level,
        age=age,
        stature=stature,
        cadence=cadence,
        stride_cv=float(np.clip(_draw("stride_cv", level, rng), 0.01, 0.2)),
        pelvic_tilt=float(np.clip(_draw("pelvic_tilt", level, rng), 0.0, 35.0)),
        trunk_lean=lean,
        trunk_sway=float(np.clip(_draw("trunk_sway", level, rng), 0.3, 12.0)),
        head_flexion=float(np.clip(_draw("head_flexion", level, rng), -10.0, 45.0)),
        arm_swing=arm,
        elbow_flexion=elbow,
        assistive_device=False,
        hemiplegic_side="none",
        hip_rom_scale=hip,
        knee_rom_scale=knee,
        crouch=crouch,
        equinus=equinus,
        stance=(float(np.clip(stance[0], 0.52, 0.78)), float(np.clip(stance[1], 0.52, 0.78))),
    )


def next_visit(p: ChildParams, rng: np.random.Generator) -> ChildParams:
    """The same child at a later visit: older, taller, with small changes in gait.

    GMFCS level is stable between visits (as it is clinically after age 5);
    continuous parameters drift by a fraction of their between-child spread.
    """
    years = float(rng.uniform(0.5, 2.5))
    # Children grow until 18 (the stature reference ends there); adults age on at constant stature.
    age = min(p.age + years, 18.0) if p.age < 18.0 else p.age + years
    growth = float(stature_for_age(age) / stature_for_age(p.age))

    def jitter(value: float, name: str, frac: float = 0.25) -> float:
        return float(value + rng.normal(0.0, frac * LEVEL_TABLE[name][p.gmfcs][1]))

    def jitter2(values: tuple[float, float], name: str) -> tuple[float, float]:
        d = rng.normal(0.0, 0.25 * LEVEL_TABLE[name][p.gmfcs][1])
        return float(values[0] + d), float(values[1] + d)

    # (Draws in the order they always had: cadence, crouch, knee, hip, trunk, head.)
    cadence = float(np.clip(jitter(p.cadence, "cadence") - 2.0 * (age - p.age), 55.0, 175.0))
    crouch = jitter2(p.crouch, "crouch")
    if p.gmfcs > 0:
        from gaitfeat.simulate.cp import pattern_floor  # cp builds on this module

        # The gait pattern is stable between visits: the drift never takes a child out of its definition.
        floor = pattern_floor(p.gait_pattern, "crouch")
        crouch = (max(crouch[0], floor), max(crouch[1], floor))

    return replace(
        p,
        age=age,
        stature=p.stature * growth,
        cadence=cadence,
        crouch=crouch,
        knee_rom_scale=tuple(float(np.clip(v, 0.25, 1.25)) for v in jitter2(p.knee_rom_scale, "knee_rom_scale")),
        hip_rom_scale=tuple(float(np.clip(v, 0.3, 1.25)) for v in jitter2(p.hip_rom_scale, "hip_rom_scale")),
        trunk_lean=jitter(p.trunk_lean, "trunk_lean"),
        head_flexion=jitter(p.head_flexion, "head_flexion"),
    )


_HIP_MEAN = float(np.mean(normative_curve("hip", np.arange(100) / 100)))
_KNEE_MIN = 5.0


def _warp(p: np.ndarray, stance: float) -> np.ndarray:
    """Map a leg's own cycle phase to the normative phase so that its toe-off lands on the TD toe-off."""
    p = np.asarray(p) % 1.0
    return np.where(
        p < stance,
        p * (TD_TOE_OFF / stance),
        TD_TOE_OFF + (p - stance) * ((1.0 - TD_TOE_OFF) / (1.0 - stance)),
    )


def normative_phase(p: ChildParams, side: int, phase: np.ndarray) -> np.ndarray:
    """The normative gait phase (toe-off at the TD toe-off) of one leg at its own phase (0-1)."""
    return _warp(phase, p.stance[side])


def side_angles(
    p: ChildParams, side: int, phase: np.ndarray, amplitude: np.ndarray | float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hip, knee and ankle angles (deg) of one side at its own gait phase (0-1).

    Parameters
    ----------
    p : ChildParams
    side : int
        0 = left, 1 = right.
    phase : ndarray
        The leg's gait-cycle phase (initial contact at 0).
    amplitude : ndarray or float
        Extra multiplier of the hip and knee excursions (stride-to-stride
        variation; small steps while turning).
    """
    q = _warp(phase, p.stance[side])
    hip_n = normative_curve("hip", q)
    knee_n = normative_curve("knee", q)
    ankle_n = normative_curve("ankle", q)
    # Crouch acts throughout the cycle, most in stance: weight 1 at mid-stance
    # (30 %), about 0.75 at initial contact, 0.6 in mid-swing (80 %).
    w = 0.6 + 0.2 * (1.0 + np.cos(2.0 * np.pi * (q - 0.3)))
    crouch = p.crouch[side]
    hip = _HIP_MEAN + amplitude * p.hip_rom_scale[side] * (hip_n - _HIP_MEAN) + 0.5 * crouch * w
    hip = hip + 0.5 * (p.pelvic_tilt - 10.0)
    knee_swing = amplitude * p.knee_rom_scale[side] * (knee_n - _KNEE_MIN)
    knee = _KNEE_MIN + knee_swing + crouch * w
    ankle = p.knee_rom_scale[side] * ankle_n - p.equinus[side] + 0.3 * crouch * w
    # Gait-pattern terms (zero for typical walkers, which leaves their curves bit for bit as they were).
    w_ic, w_swing, w_drop = _pattern_weights(q)
    knee = knee + p.knee_ic[side] * w_ic - p.stiff_knee[side] * knee_swing * w_swing
    hip = hip + 0.5 * p.knee_ic[side] * w_ic
    ankle = ankle - p.swing_drop[side] * w_drop
    return hip, knee, ankle


def _pattern_weights(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase weights (0-1) of the gait-pattern terms at normative phase ``q``.

    ``w_ic``: 1 at initial contact, fading to 0 by 30 % of the cycle (mid-stance) and
    rising again over terminal swing (85-100 %): a knee that does not extend
    before contact and extends in stance (jump gait). ``w_swing``: a bump over
    swing (50-100 %, peak at 75 %, near the normal peak knee flexion): lost
    swing flexion of a stiff knee. ``w_drop``: a bump from toe-off (60 %) to
    early loading (10 %), peak in mid-swing: foot drop.
    """
    w_ic = np.where(q < 0.3, 0.5 * (1.0 + np.cos(np.pi * q / 0.3)), 0.0)
    w_ic = np.where(q > 0.85, 0.5 * (1.0 - np.cos(np.pi * (q - 0.85) / 0.15)), w_ic)
    w_swing = np.where(q > 0.5, 0.5 * (1.0 - np.cos(2.0 * np.pi * (q - 0.5) / 0.5)), 0.0)
    qd = np.where(q < 0.1, q + 1.0, q)
    w_drop = np.where(qd > 0.6, 0.5 * (1.0 - np.cos(2.0 * np.pi * (qd - 0.6) / 0.5)), 0.0)
    return w_ic, w_swing, w_drop
