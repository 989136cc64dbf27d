"""Walkers of the gait classes of the pathology taxonomy (:data:`gaitfeat.labels.GAIT_CLASSES`).

:func:`draw_class` draws one subject of a class as a
:class:`~gaitfeat.simulate.pathology.ChildParams`, accepted by
``simulate_walk(params=...)``, :func:`~gaitfeat.simulate.next_visit` and
:func:`~gaitfeat.simulate.gdi_from_params`:

- ``typical``: a typically developing child or healthy adult (:func:`~gaitfeat.simulate.draw_walker`);
- ``cp_hemiplegic`` / ``cp_diplegic``: a child with cerebral palsy from the latent-severity model of
  :mod:`gaitfeat.simulate.cp` (GMFCS I-II, Winters types 1-4; GMFCS I-III, Rodda's bilateral patterns);
- the six other classes: an age- and sex-matched healthy walker changed by the class's sagittal
  signature, each effect scaled by a severity drawn per subject (0 mild, 1 severe) so that mild
  cases come close to typical gait or their clinical neighbours
  (:data:`~gaitfeat.simulate.taxonomy_params.CLASS_EFFECTS`); the few floors keep only a class's
  direction (and the toe walkers' toe strike), not a margin from typical gait.

The class, its severity and the class's own settings live in ``ChildParams.extra``:
``gait_class``, ``class_severity`` (NaN for the CP classes, whose severity is
``gait_severity``), ``affected_side`` (the painful leg of an antalgic walker),
``step_width_m`` (a wide base), ``festination`` and ``festination_s`` (a cadence
ramp over each straight pass, see :func:`gaitfeat.simulate.simulate_walk`).
Numbers and sources: ``docs/simulator.md`` ("Gait classes (pathology taxonomy)").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaitfeat.labels import GAIT_CLASSES, validate_gait_class
from gaitfeat.simulate.adults import draw_walker
from gaitfeat.simulate.pathology import ChildParams, draw_child
from gaitfeat.simulate.taxonomy_params import (
    AGE_RANGES,
    CLASS_EFFECTS,
    CP_LEVEL_SHARES,
    FESTINATION,
    ITW_EQUINUS_FLOOR,
    TAXONOMY_PREVALENCE,
)

__all__ = ["TAXONOMY_PREVALENCE", "draw_class", "gait_class_of", "affected_side_of", "class_name"]

# Effects on per-leg fields (left, right) and on single fields; anything else goes to ``extra``.
_PER_SIDE = {
    "rom": ("hip_rom_scale", "knee_rom_scale"), "hip_rom": ("hip_rom_scale",), "knee_rom": ("knee_rom_scale",),
    "crouch": ("crouch",), "equinus": ("equinus",), "stance": ("stance",), "stiff_knee": ("stiff_knee",),
    "swing_drop": ("swing_drop",), "knee_ic": ("knee_ic",),
}
_SCALAR = ("cadence", "stride_cv", "trunk_lean", "trunk_sway", "head_flexion", "pelvic_tilt", "arm_swing",
           "elbow_flexion", "stature")
# Valid ranges: those draw_child and draw_cp_fields clip to (stride_cv down to the adults' floor).
_RANGES = {
    "hip_rom_scale": (0.3, 1.25), "knee_rom_scale": (0.25, 1.25), "crouch": (-8.0, 60.0), "equinus": (-20.0, 35.0),
    "stance": (0.52, 0.78), "stiff_knee": (0.0, 0.7), "swing_drop": (0.0, 30.0), "knee_ic": (0.0, 40.0),
    "cadence": (55.0, 175.0), "stride_cv": (0.008, 0.2), "trunk_lean": (-20.0, 40.0), "trunk_sway": (0.3, 12.0),
    "head_flexion": (-10.0, 45.0), "pelvic_tilt": (0.0, 35.0), "arm_swing": (0.05, 1.5), "elbow_flexion": (5.0, 110.0),
    "stature": (0.8, 2.2),
}
#: Least stride-time CV of an ataxic walker: the top of the healthy range (about 0.015-0.03; the simulated
#: healthy walkers reach about 0.04), so the mildest ataxic walkers overlap the most variable healthy ones.
_ATAXIC_CV_FLOOR = 0.035
#: Least differences between the sound and the painful leg of an antalgic walker (stance fraction;
#: painful knee excursion as a share of the sound leg's): the side of the pain is always the side
#: with the shorter stance and the stiffer knee, but in the mildest walkers only just.
_ANTALGIC_STANCE_GAP, _ANTALGIC_KNEE_RATIO = 0.005, 0.99


def class_name(name: str) -> str:
    """The canonical gait-class name (``"Cervical myelopathy"`` -> ``"cervical_myelopathy"``).

    Raises
    ------
    gaitfeat.errors.LabelError
        (a ``ValueError``) for a name that is not one of :data:`gaitfeat.labels.GAIT_CLASSES`.
    TypeError
        For a name that is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"a gait class must be a string, one of {', '.join(GAIT_CLASSES)}; got {name!r}")
    return str(validate_gait_class([name], where="gait class").iloc[0])


def gait_class_of(p: ChildParams) -> str:
    """The gait class of a walker: ``extra["gait_class"]`` when drawn by :func:`draw_class`; otherwise
    ``"typical"`` for GMFCS 0 and ``"cp_hemiplegic"``/``"cp_diplegic"`` by the hemiplegic side."""
    name = p.extra.get("gait_class") if isinstance(p.extra, dict) else None
    if name:
        return str(name)
    if p.gmfcs == 0:
        return "typical"
    return "cp_hemiplegic" if p.hemiplegic_side != "none" else "cp_diplegic"


def affected_side_of(p: ChildParams) -> str:
    """The affected leg ("left", "right" or "none"): the painful leg (antalgic), the hemiplegic side (CP)."""
    side = p.extra.get("affected_side") if isinstance(p.extra, dict) else None
    return str(side) if side else p.hemiplegic_side


def _age(name: str, rng: np.random.Generator, age: float | None) -> float:
    lo, hi, kind, a, b = AGE_RANGES[name]
    if age is not None:
        age = float(age)
        if not lo <= age <= hi:
            raise ValueError(f"age of a {name!r} walker must be within {lo:g}-{hi:g} years, got {age}")
        return age
    if kind == "uniform":
        return float(rng.uniform(lo, hi))
    if kind == "mixed":  # half children, half adults
        return float(rng.uniform(5.0, 18.0)) if rng.uniform() < 0.5 else float(rng.uniform(18.0, 80.0))
    while True:  # truncated normal
        value = float(rng.normal(a, b))
        if lo <= value <= hi:
            return value


def _healthy(rng: np.random.Generator, age: float, sex: str | None = None) -> ChildParams:
    """The age- and sex-matched healthy walker a class starts from (past 80: an 80-year-old's gait)."""
    return replace(draw_walker(min(age, 80.0), rng, sex=sex), age=age)


def _combine(mode: str, base: float, value: float) -> float:
    return base * value if mode == "x" else base + value if mode == "+" else value


def _apply(p: ChildParams, effects: dict, severity: float, rng: np.random.Generator,
           painful: int | None = None) -> tuple[ChildParams, dict]:
    """``p`` with the class effects at ``severity`` applied (clipped to valid ranges), and the effects on ``extra``."""
    sides = {f: list(getattr(p, f)) for names in _PER_SIDE.values() for f in names}
    scalars = {name: float(getattr(p, name)) for name in _SCALAR}
    extra = {}
    for key, (mode, mild, severe, sd) in effects.items():
        name, _, leg = key.partition(":")
        value = mild + severity * (severe - mild) + sd * float(rng.normal())
        if name in _PER_SIDE:
            if leg:
                legs = {painful if leg == "painful" else 1 - painful: value}
            else:  # one value per subject, a small difference between the legs
                d = rng.normal(0.0, 0.15 * sd, size=2)
                legs = {0: value + float(d[0]), 1: value + float(d[1])}
            for f in _PER_SIDE[name]:
                for k, v in legs.items():
                    sides[f][k] = _combine(mode, sides[f][k], v)
        elif name in scalars:
            scalars[name] = _combine(mode, scalars[name], value)
        else:
            extra[name] = value
    fields = {f: tuple(float(np.clip(v, *_RANGES[f])) for v in vals) for f, vals in sides.items()}
    fields.update({f: float(np.clip(v, *_RANGES[f])) for f, v in scalars.items()})
    return replace(p, **fields), extra


def _tag(p: ChildParams, name: str, severity: float, **extra) -> ChildParams:
    return replace(p, extra={**p.extra, "gait_class": name, "class_severity": float(severity), **extra})


def _cp(name: str, rng: np.random.Generator, age: float | None) -> ChildParams:
    shares = np.asarray(CP_LEVEL_SHARES[name])
    level = int(rng.choice(np.arange(1, len(shares) + 1), p=shares / shares.sum()))
    hemiplegic = name == "cp_hemiplegic"
    # The CP model draws the topography with the level's own probability: keep the first child of the
    # wanted topography (its level, severity and pattern then follow that model's conditional distribution).
    for _ in range(1000):
        child = draw_child(level, rng, age=age)
        if (child.hemiplegic_side != "none") == hemiplegic:
            return _tag(child, name, np.nan)
    raise RuntimeError(f"no {name} child drawn at GMFCS {level}")  # probability below 1e-90


def _adult_class(name: str, rng: np.random.Generator, age: float | None) -> ChildParams:
    age = _age(name, rng, age)
    base = _healthy(rng, age)
    severity = float(rng.uniform())
    extra: dict = {}
    painful = None
    if name == "antalgic":
        painful = int(rng.uniform() < 0.5)  # 0 left, 1 right
        extra["affected_side"] = ("left", "right")[painful]
    p, effects = _apply(base, CLASS_EFFECTS[name], severity, rng, painful=painful)
    if "step_width_m" in effects:
        extra["step_width_m"] = float(np.clip(effects["step_width_m"], 0.05, 0.35))
    if name == "antalgic":
        # The sound leg swings through quickly while the painful leg bears weight: the step onto the
        # sound leg (painful heel strike to sound heel strike) is the short one.
        shift = float(np.clip(effects["phase_shift"], 0.005, 0.09))
        sound = 1 - painful
        stance, knee = list(p.stance), list(p.knee_rom_scale)
        stance[painful] = min(stance[painful], stance[sound] - _ANTALGIC_STANCE_GAP)
        knee[painful] = min(knee[painful], _ANTALGIC_KNEE_RATIO * knee[sound])
        p = replace(p, phase_offset=0.5 + (shift if painful == 0 else -shift), stance=tuple(stance),
                    knee_rom_scale=tuple(knee))
    elif name == "ataxic":
        p = replace(p, stride_cv=max(p.stride_cv, _ATAXIC_CV_FLOOR))
    elif name == "parkinsonian":
        lo, hi = FESTINATION["p"]
        if rng.uniform() < lo + severity * (hi - lo):
            mild, severe, sd = FESTINATION["rise"]
            extra["festination"] = float(np.clip(mild + severity * (severe - mild) + sd * rng.normal(), 0.05, 0.4))
            extra["festination_s"] = float(rng.uniform(*FESTINATION["ramp_s"]))
    return _tag(p, name, severity, **extra)


def _child_class(name: str, rng: np.random.Generator, age: float | None) -> ChildParams:
    age = _age(name, rng, age)
    if name == "myopathic":
        # Duchenne muscular dystrophy (boys) worsens with age until walking is lost (about 10-13 years).
        base = _healthy(rng, age, sex="male")
        severity = float(np.clip(0.6 * (age - 5.0) / 7.0 + 0.4 * rng.uniform(), 0.0, 1.0))
    else:
        base = _healthy(rng, age)
        severity = float(rng.uniform())
    p, effects = _apply(base, CLASS_EFFECTS[name], severity, rng)
    extra = {}
    if "step_width_m" in effects:
        extra["step_width_m"] = float(np.clip(effects["step_width_m"], 0.05, 0.35))
    if name == "idiopathic_toe_walking":
        # No heel strike is the class's definition: every child keeps the forefoot first.
        p = replace(p, equinus=tuple(max(v, ITW_EQUINUS_FLOOR) for v in p.equinus))
    return _tag(p, name, severity, **extra)


def draw_class(name: str, rng: np.random.Generator, *, age: float | None = None) -> ChildParams:
    """Draw one walker of a gait class.

    Parameters
    ----------
    name : str
        One of :data:`gaitfeat.labels.GAIT_CLASSES` (any case; spaces or hyphens for ``_``).
    rng : numpy.random.Generator
        The only source of randomness.
    age : float, optional
        Years, within the class's range (:data:`~gaitfeat.simulate.taxonomy_params.AGE_RANGES`:
        typical 5-80, CP 5-17, idiopathic toe walking and myopathic 5-12, antalgic 20-80,
        ataxic 20-75, cervical myelopathy 45-80, Parkinsonian 55-85); drawn when omitted.

    Returns
    -------
    ChildParams
        ``gmfcs`` the GMFCS level for the CP classes and 0 otherwise; the class in
        ``extra["gait_class"]`` (see the module docstring). Angles in degrees, cadence in
        steps/min, stature in m.

    Raises
    ------
    gaitfeat.errors.LabelError
        An unknown class (a ``ValueError``).
    ValueError
        An age outside the class's range.
    TypeError
        A name that is not a string, an ``rng`` that is not a Generator.
    """
    name = class_name(name)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if name in CP_LEVEL_SHARES:
        if age is not None:
            _age(name, rng, age)  # checks the range only
        return _cp(name, rng, age)
    if name == "typical":
        age = _age(name, rng, age)
        return _tag(draw_walker(age, rng), name, 0.0)
    if name in ("idiopathic_toe_walking", "myopathic"):
        return _child_class(name, rng, age)
    return _adult_class(name, rng, age)
