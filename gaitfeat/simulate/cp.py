"""Gait parameters of a child with cerebral palsy: latent severity, gait pattern and individual effects.

Every continuous parameter is

    anchor(gait severity) + pattern effect + individual random effect,

where ``anchor`` interpolates :data:`gaitfeat.simulate.pathology.LEVEL_TABLE`'s
means between the typical value and the mean gait severity of each GMFCS
level (:func:`gaitfeat.simulate.severity.level_centres`), and the random
effects share two person factors (:data:`FACTOR_LOADINGS`) so that parameters
covary as they do clinically. The child's gait pattern
(:data:`PATTERN_PROBABILITIES`) adds the pattern's defining joint-angle
deviations (:data:`PATTERN_EFFECTS`). Reasoning and sources: ``docs/simulator.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaitfeat.simulate.kinematics import stature_for_age
from gaitfeat.simulate.severity import draw_severity, level_centres

if TYPE_CHECKING:
    from gaitfeat.simulate.pathology import ChildParams

__all__ = [
    "HEMIPLEGIC_PATTERNS", "BILATERAL_PATTERNS", "PATTERNS", "PATTERN_PROBABILITIES", "PATTERN_EFFECTS",
    "FACTOR_LOADINGS", "P_HEMIPLEGIC", "P_DEVICE", "TD_GAIT_SEVERITY", "draw_cp_fields", "param_columns", "pattern_floor",
]

#: Hemiplegic (unilateral) gait types of Winters, Gage & Hicks (1987).
HEMIPLEGIC_PATTERNS = ("hemiplegia_type_1", "hemiplegia_type_2", "hemiplegia_type_3", "hemiplegia_type_4")
#: Sagittal gait patterns of bilateral (diplegic) CP of Rodda et al. (2004).
BILATERAL_PATTERNS = ("true_equinus", "jump_gait", "apparent_equinus", "crouch_gait")
PATTERNS = HEMIPLEGIC_PATTERNS + BILATERAL_PATTERNS

#: Probability of unilateral (hemiplegic) involvement per GMFCS level I-IV.
P_HEMIPLEGIC = (0.55, 0.35, 0.12, 0.05)
#: Probability of walking with a hand-held mobility device per GMFCS level I-IV (part of the level's definition).
P_DEVICE = (0.0, 0.15, 0.75, 0.95)

#: P(pattern | level) among unilateral and among bilateral children, levels I-IV (rows), patterns in
#: the order of HEMIPLEGIC_PATTERNS / BILATERAL_PATTERNS. Sources: docs/simulator.md.
PATTERN_PROBABILITIES: dict[str, np.ndarray] = {
    "unilateral": np.array([
        [0.20, 0.45, 0.20, 0.15],
        [0.10, 0.35, 0.30, 0.25],
        [0.05, 0.25, 0.30, 0.40],
        [0.05, 0.25, 0.30, 0.40],
    ]),
    "bilateral": np.array([
        [0.35, 0.40, 0.20, 0.05],
        [0.20, 0.40, 0.25, 0.15],
        [0.05, 0.30, 0.35, 0.30],
        [0.02, 0.18, 0.35, 0.45],
    ]),
}

#: Gait severity at which a child would walk like a typically developing one: the anchors run from the
#: typical values here to GMFCS I's at level I's centre (two standard units milder).
TD_GAIT_SEVERITY = -3.2

#: Loadings of each parameter's random effect on two standard-normal person factors: "vigour" (a
#: faster, larger-stepping, freer-swinging walker) and "posture" (a more flexed posture: crouch,
#: trunk and head flexion, pelvic tilt). The rest of each random effect is the parameter's own.
FACTOR_LOADINGS: dict[str, tuple[float, float]] = {
    "cadence": (0.6, -0.2),
    "stride_cv": (-0.3, 0.0),
    "hip_rom_scale": (0.5, -0.2),
    "knee_rom_scale": (0.5, -0.3),
    "crouch": (-0.2, 0.6),
    "equinus": (0.0, -0.2),
    "pelvic_tilt": (0.0, 0.5),
    "trunk_lean": (-0.1, 0.6),
    "trunk_sway": (-0.2, 0.3),
    "head_flexion": (0.0, 0.5),
    "arm_swing": (0.5, -0.3),
    "elbow_flexion": (-0.3, 0.4),
    "stance": (-0.4, 0.2),
    "stature_z": (0.0, 0.0),
}

#: Each pattern's deviations, added on the affected side(s): (mean, sd) of extra knee flexion in stance
#: ("crouch", deg), extra knee flexion at initial contact fading by mid-stance ("knee_ic", deg), extra
#: plantarflexion ("equinus", deg), foot drop in swing ("swing_drop", deg), the share of swing knee
#: flexion lost ("stiff_knee"), multipliers of knee and hip excursion, extra pelvic tilt (deg).
PATTERN_EFFECTS: dict[str, dict[str, tuple[float, float]]] = {
    "hemiplegia_type_1": {"swing_drop": (14.0, 3.0)},
    "hemiplegia_type_2": {"equinus": (10.0, 3.0), "crouch": (-3.0, 2.0)},
    "hemiplegia_type_3": {"equinus": (10.0, 3.0), "crouch": (-2.0, 2.0), "stiff_knee": (0.35, 0.1),
                          "knee_rom": (0.9, 0.05)},
    "hemiplegia_type_4": {"equinus": (10.0, 3.0), "crouch": (8.0, 4.0), "stiff_knee": (0.35, 0.1),
                          "knee_rom": (0.9, 0.05), "hip_rom": (0.7, 0.08), "pelvic_tilt": (4.0, 2.0)},
    "true_equinus": {"equinus": (10.0, 3.0), "crouch": (-4.0, 2.0)},
    "jump_gait": {"knee_ic": (18.0, 4.0), "crouch": (4.0, 3.0), "equinus": (10.0, 3.0), "pelvic_tilt": (4.0, 2.0)},
    "apparent_equinus": {"knee_ic": (8.0, 3.0), "crouch": (13.0, 4.0), "equinus": (2.0, 3.0),
                         "pelvic_tilt": (3.0, 2.0)},
    "crouch_gait": {"knee_ic": (5.0, 3.0), "crouch": (30.0, 6.0), "equinus": (-5.0, 3.0), "knee_rom": (0.95, 0.05),
                    "pelvic_tilt": (2.0, 2.0)},
}

#: Lower bounds that keep a drawn child within its pattern's definition (e.g. crouch gait: knee flexion
#: above 30 deg throughout stance; true equinus: the ankle plantarflexed through stance).
_PATTERN_FLOORS = {
    ("true_equinus", "equinus"): 8.0, ("hemiplegia_type_2", "equinus"): 6.0, ("hemiplegia_type_3", "equinus"): 6.0,
    ("hemiplegia_type_4", "equinus"): 8.0, ("hemiplegia_type_3", "stiff_knee"): 0.2,
    ("hemiplegia_type_4", "stiff_knee"): 0.2, ("hemiplegia_type_1", "swing_drop"): 10.0,
    ("jump_gait", "knee_ic"): 15.0, ("jump_gait", "equinus"): 6.0, ("crouch_gait", "crouch"): 34.0,
    ("crouch_gait", "knee_ic"): 4.0, ("apparent_equinus", "crouch"): 8.0,
}


def pattern_floor(pattern: str, effect: str) -> float:
    """The least value of a parameter (e.g. ``"crouch"``, deg) that keeps a child within its gait pattern."""
    return _PATTERN_FLOORS.get((pattern, effect), -np.inf)
#: Cadence lost with a hand-held walking aid (steps/min).
DEVICE_CADENCE_DROP = 10.0
#: Trunk lean added per degree of stance knee flexion: a crouched child leans forward to keep the
#: centre of mass over the feet.
TRUNK_PER_CROUCH = 0.25


def _anchor(name: str, level_table: dict, gait: float) -> float:
    """The parameter's mean at a gait severity: piecewise linear through the typical value and the level anchors."""
    x = np.concatenate(([TD_GAIT_SEVERITY], level_centres()))
    y = [row[0] for row in level_table[name]]
    return float(np.interp(gait, x, y))


def draw_cp_fields(level: int, rng: np.random.Generator, level_table: dict, *, age: float | None = None) -> dict:
    """The fields of a :class:`~gaitfeat.simulate.pathology.ChildParams` for one child rated at a GMFCS level.

    Parameters
    ----------
    level : int
        GMFCS level 1-4 the child is rated at.
    rng : numpy.random.Generator
        The only source of randomness.
    level_table : dict
        :data:`gaitfeat.simulate.pathology.LEVEL_TABLE` (anchors and random-effect SDs).
    age : float, optional
        Years; drawn uniformly from 5 to 17 when omitted.

    Returns
    -------
    dict
        Keyword arguments of ``ChildParams``: angles in degrees, cadence in
        steps/min (with the age trend and the walking aid applied), stature in m.
    """
    sev = draw_severity(rng, level)
    g = sev.gait
    age = float(rng.uniform(5.0, 17.0)) if age is None else float(age)
    factors = rng.normal(size=2)

    def draw(name: str) -> float:
        a, b = FACTOR_LOADINGS[name]
        own = np.sqrt(max(0.0, 1.0 - a * a - b * b))
        z = a * factors[0] + b * factors[1] + own * rng.normal()
        return _anchor(name, level_table, g) + level_table[name][level][1] * float(z)

    hemi = "none"
    if rng.uniform() < P_HEMIPLEGIC[level - 1]:
        hemi = "left" if rng.uniform() < 0.5 else "right"
    topography = "unilateral" if hemi != "none" else "bilateral"
    names = HEMIPLEGIC_PATTERNS if hemi != "none" else BILATERAL_PATTERNS
    pattern = str(names[int(rng.choice(4, p=PATTERN_PROBABILITIES[topography][level - 1]))])
    device = bool(rng.uniform() < P_DEVICE[level - 1])

    stature = float(stature_for_age(age) * (1.0 + 0.045 * draw("stature_z")))
    cadence = float(np.clip(draw("cadence") - 2.0 * (age - 10.0), 55.0, 175.0))
    values = {n: draw(n) for n in ("hip_rom_scale", "knee_rom_scale", "crouch", "equinus", "stance")}
    spread = {n: 0.15 * level_table[n][level][1] for n in values}
    sides = {n: [values[n] + float(rng.normal(0.0, spread[n])) for _ in range(2)] for n in values}
    sides["knee_ic"], sides["swing_drop"], sides["stiff_knee"] = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    pelvic_tilt = draw("pelvic_tilt")
    affected = (0, 1) if hemi == "none" else ((0,) if hemi == "left" else (1,))
    # Milder children show milder forms of their pattern: the deviations grow with gait severity up to
    # GMFCS II's centre (the floors keep every child within its pattern's definition).
    strength = float(np.clip(1.0 + 0.3 * (g - level_centres()[1]), 0.5, 1.0))
    for effect, (mean, sd) in PATTERN_EFFECTS[pattern].items():
        # One draw per child (bilateral patterns are near-symmetric), a small difference between sides.
        if effect in ("knee_rom", "hip_rom"):
            base = 1.0 - strength * (1.0 - float(rng.normal(mean, sd)))
        else:
            base = strength * float(rng.normal(mean, sd))
        if effect == "pelvic_tilt":
            pelvic_tilt += base
            continue
        for k in affected:
            value = base + (float(rng.normal(0.0, 0.15 * sd)) if len(affected) == 2 else 0.0)
            if effect in ("knee_rom", "hip_rom"):
                sides[f"{effect}_scale"][k] *= value
            else:
                sides[effect][k] = max(sides[effect][k] + value, pattern_floor(pattern, effect))
    offset = 0.5
    if hemi != "none":
        k = affected[0]
        other = 1 - k
        # The unaffected side is near typical, bears weight longer and swings a little more.
        sides["hip_rom_scale"][other] = min(1.15, sides["hip_rom_scale"][other] * 1.05 + 0.05)
        sides["knee_rom_scale"][other] = min(1.15, sides["knee_rom_scale"][other] * 1.08 + 0.05)
        sides["crouch"][other] *= 0.5
        sides["equinus"][other] *= 0.5
        sides["stance"][k] -= 0.035
        sides["stance"][other] += 0.025
        offset = 0.5 + (1 if k == 0 else -1) * float(rng.uniform(0.01, 0.04))
    lean = draw("trunk_lean") + TRUNK_PER_CROUCH * max(0.0, float(np.mean(sides["crouch"])))
    arm = float(np.clip(draw("arm_swing"), 0.05, 1.5))
    elbow = float(np.clip(draw("elbow_flexion"), 5.0, 110.0))
    if device:
        # A walker or crutches slow the steps (children walking with support: below 0.45 m/s, Drouin et al. 1996).
        cadence = float(np.clip(cadence - DEVICE_CADENCE_DROP, 55.0, 175.0))
        lean += 5.0
        arm *= 0.25
        elbow = max(elbow, 70.0)

    def pair(name: str, lo: float, hi: float) -> tuple[float, float]:
        return float(np.clip(sides[name][0], lo, hi)), float(np.clip(sides[name][1], lo, hi))

    return dict(
        gmfcs=level, age=age, stature=stature, cadence=cadence,
        stride_cv=float(np.clip(draw("stride_cv"), 0.01, 0.2)),
        pelvic_tilt=float(np.clip(pelvic_tilt, 0.0, 35.0)),
        trunk_lean=float(np.clip(lean, -2.0, 40.0)),
        trunk_sway=float(np.clip(draw("trunk_sway"), 0.3, 12.0)),
        head_flexion=float(np.clip(draw("head_flexion"), -10.0, 45.0)),
        arm_swing=arm, elbow_flexion=elbow, assistive_device=device, hemiplegic_side=hemi,
        hip_rom_scale=pair("hip_rom_scale", 0.3, 1.25), knee_rom_scale=pair("knee_rom_scale", 0.25, 1.25),
        crouch=pair("crouch", -8.0, 60.0), equinus=pair("equinus", -20.0, 35.0), stance=pair("stance", 0.52, 0.78),
        knee_ic=pair("knee_ic", 0.0, 40.0), swing_drop=pair("swing_drop", 0.0, 30.0),
        stiff_knee=pair("stiff_knee", 0.0, 0.7), phase_offset=offset, gait_pattern=pattern,
        motor_severity=sev.motor, gait_severity=g,
    )


def param_columns(p: ChildParams) -> dict:
    """A child's drawn parameters as flat ``param_*`` columns (per side ``_left``/``_right``), for tables."""
    row = {}
    for name in ("crouch", "hip_rom_scale", "knee_rom_scale", "equinus", "stance", "knee_ic", "swing_drop",
                 "stiff_knee"):
        row[f"param_{name}_left"], row[f"param_{name}_right"] = getattr(p, name)
    for name in ("trunk_lean", "trunk_sway", "head_flexion", "arm_swing", "elbow_flexion", "pelvic_tilt", "stride_cv",
                 "cadence", "stature", "phase_offset", "motor_severity", "gait_severity"):
        row[f"param_{name}"] = getattr(p, name)
    row["param_assistive_device"] = bool(p.assistive_device)
    row["gait_pattern"] = p.gait_pattern
    return row
