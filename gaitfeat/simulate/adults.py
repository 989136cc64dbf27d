"""Typically developing walkers of any age from 5 to 80: children and adults.

Children (under 18) are drawn exactly as :func:`gaitfeat.simulate.draw_child`
draws level 0 (typically developing). Adults get a stature from a national
anthropometric reference by age and sex, a comfortable walking speed from a
meta-analysis by age decade and sex, and a cadence that, with the step length
the simulated body produces, gives that speed. Sources: ``docs/simulator.md``
("Adults").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaitfeat.simulate.pathology import ChildParams, draw_child

__all__ = ["ADULT_STATURE", "ADULT_SPEED", "adult_stature", "adult_speed", "draw_walker"]

_DECADE_MID = np.array([25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0])

# Mean stature (m) of US adults by decade of age (20-29, ..., 80+): Fryar, Gu
# & Ogden (2012), "Anthropometric reference data for children and adults:
# United States, 2007-2010", Vital Health Stat 11(252). Between-person SD
# about 7.5 cm (men) and 7 cm (women).
ADULT_STATURE: dict[str, np.ndarray] = {
    "male": np.array([1.767, 1.770, 1.769, 1.762, 1.752, 1.731, 1.704]),
    "female": np.array([1.632, 1.633, 1.630, 1.621, 1.610, 1.588, 1.556]),
}
_STATURE_SD = {"male": 0.075, "female": 0.070}

# Comfortable walking speed (m/s) by decade (20-29, ..., 80-99): Bohannon &
# Andrews (2011), "Normal walking speed: a descriptive meta-analysis",
# Physiotherapy 97:182-189 (41 studies, 23,111 adults; 1.434 m/s for men
# 40-49 down to 0.943 m/s for women 80-99).
ADULT_SPEED: dict[str, np.ndarray] = {
    "male": np.array([1.358, 1.433, 1.434, 1.433, 1.339, 1.262, 0.968]),
    "female": np.array([1.341, 1.337, 1.390, 1.401, 1.313, 1.132, 0.943]),
}
#: Between-person SD of comfortable speed (m/s) used for drawing.
SPEED_SD = 0.15

# Step length / stature that the simulated body produces at a given multiplier
# of the normative hip and knee excursions (honest foot, TD curves, measured
# on simulated walks; nearly independent of cadence). Used to pick the cadence
# that gives the drawn speed.
_ROM = np.array([0.7, 0.8, 0.9, 1.0, 1.1])
_STEP_PER_STATURE = np.array([0.304, 0.358, 0.393, 0.423, 0.454])


def adult_stature(age: float | np.ndarray, sex: str) -> np.ndarray:
    """Mean adult stature (m) at an age (years, 18-80+) for ``sex`` "male" or "female"."""
    return np.interp(age, _DECADE_MID, ADULT_STATURE[sex])


def adult_speed(age: float | np.ndarray, sex: str) -> np.ndarray:
    """Mean comfortable walking speed (m/s) at an age (years) for ``sex`` "male" or "female"."""
    return np.interp(age, _DECADE_MID, ADULT_SPEED[sex])


def draw_walker(age: float, rng: np.random.Generator, sex: str | None = None) -> ChildParams:
    """Draw one typically developing walker (level 0) aged 5-80 years.

    Parameters
    ----------
    age : float
        Years, 5-80. Under 18 the walker is drawn by ``draw_child(0, rng,
        age=age)`` (children unchanged); from 18 on as an adult.
    rng : numpy.random.Generator
    sex : {"male", "female"}, optional
        Drawn 50/50 when omitted. Children's stature reference averages the
        sexes, so for them it is only recorded.

    Returns
    -------
    ChildParams
        ``gmfcs`` 0 and ``sex`` set; accepted by ``simulate_walk(params=...)``.
    """
    age = float(age)
    if not 5.0 <= age <= 80.0:
        raise ValueError(f"age must be within 5-80 years, got {age}")
    sex = sex if sex is not None else ("male" if rng.uniform() < 0.5 else "female")
    if sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    if age < 18.0:
        return replace(draw_child(0, rng, age=age), sex=sex)
    older = max(0.0, age - 60.0)
    stature = float(adult_stature(age, sex) + rng.normal(0.0, _STATURE_SD[sex]))
    speed = float(max(0.5, adult_speed(age, sex) + rng.normal(0.0, SPEED_SD)))
    # Older adults shorten their steps: smaller hip (and knee) excursions,
    # notably less hip extension (Kerrigan et al. 1998, "Biomechanical gait
    # alterations independent of speed in the healthy elderly: evidence for
    # specific limiting impairments", Arch Phys Med Rehabil 79:317), and more
    # anterior pelvic tilt.
    rom = float(np.clip(rng.normal(1.0 - 0.006 * older, 0.05), 0.7, 1.1))
    step = float(np.interp(rom, _ROM, _STEP_PER_STATURE)) * stature
    cadence = float(np.clip(60.0 * speed / step, 70.0, 150.0))
    stance = float(np.clip(rng.normal(0.60 + 0.0008 * older, 0.015), 0.55, 0.7))
    side = rng.normal(0.0, 0.01, size=2)
    return ChildParams(
        gmfcs=0,
        age=age,
        stature=stature,
        cadence=cadence,
        # Stride-time CV ~2 % in young adults, rising to ~2.5-3 % past 70
        # (Hollman, McDade & Petersen 2011, "Normative spatiotemporal gait
        # parameters in older adults", Gait & Posture 34:111).
        stride_cv=float(np.clip(rng.normal(0.02 + 0.0003 * older, 0.005), 0.008, 0.08)),
        pelvic_tilt=float(np.clip(rng.normal(10.0 + 0.1 * older, 3.0), 0.0, 30.0)),
        trunk_lean=float(np.clip(rng.normal(3.0 + 0.1 * older, 2.0), -2.0, 25.0)),
        trunk_sway=float(np.clip(rng.normal(1.5, 0.5), 0.3, 6.0)),
        head_flexion=float(np.clip(rng.normal(5.0, 4.0), -10.0, 30.0)),
        arm_swing=float(np.clip(rng.normal(1.0 - 0.005 * older, 0.15), 0.2, 1.5)),
        elbow_flexion=float(np.clip(rng.normal(20.0, 5.0), 5.0, 60.0)),
        assistive_device=False,
        hemiplegic_side="none",
        hip_rom_scale=(rom + float(side[0]), rom - float(side[0])),
        knee_rom_scale=(rom + float(side[1]), rom - float(side[1])),
        crouch=tuple(float(v) for v in np.clip(rng.normal(0.0, 3.0, size=2), -4.0, 10.0)),
        equinus=tuple(float(v) for v in np.clip(rng.normal(0.0, 3.0, size=2), -8.0, 10.0)),
        stance=(stance, stance),
        phase_offset=0.5,
        sex=sex,
    )
