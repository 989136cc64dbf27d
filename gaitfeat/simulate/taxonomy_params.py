"""Numbers of the gait classes of :mod:`gaitfeat.simulate.taxonomy`: ages, shares and effect sizes.

Every effect is given at the mild (severity 0) and the severe (severity 1) end of its class, with
the SD of a subject's own deviation around the value at the subject's severity. How an effect acts
on the age- and sex-matched healthy walker it starts from is its mode:

- ``"x"``: multiplies the walker's value (``rom``: hip and knee excursions; ``cadence``; ``arm_swing``; ...);
- ``"+"``: is added to it (angles in degrees, stance as a fraction of the cycle);
- ``"="``: replaces it (``stride_cv``; ``step_width_m``, metres).

A name with ``:painful`` or ``:sound`` acts on that leg only (antalgic gait); every other per-leg
effect acts on both legs (one draw per subject, a small difference between the legs). Sources and
reasoning for each number: ``docs/simulator.md`` ("Gait classes (pathology taxonomy)").
"""

from __future__ import annotations

from gaitfeat.labels import GAIT_CLASSES

__all__ = ["TAXONOMY_PREVALENCE", "AGE_RANGES", "CP_LEVEL_SHARES", "CLASS_EFFECTS", "FESTINATION", "ITW_EQUINUS_FLOOR"]

#: Default class shares of a taxonomy cohort: balanced, so that every class has as many subjects
#: and per-class accuracies are comparable (clinical prevalences differ by orders of magnitude).
TAXONOMY_PREVALENCE: dict[str, float] = {name: 1.0 / len(GAIT_CLASSES) for name in GAIT_CLASSES}

#: Age range (years) of each class: (low, high, kind, a, b), drawn uniformly on [low, high] when
#: ``kind`` is "uniform", from a normal (mean a, sd b) truncated to [low, high] when "normal";
#: "typical" is half children (5-18) and half adults (18-80).
AGE_RANGES: dict[str, tuple[float, float, str, float, float]] = {
    "typical": (5.0, 80.0, "mixed", 0.0, 0.0),
    "antalgic": (20.0, 80.0, "uniform", 0.0, 0.0),
    "cp_hemiplegic": (5.0, 17.0, "uniform", 0.0, 0.0),
    "cp_diplegic": (5.0, 17.0, "uniform", 0.0, 0.0),
    "idiopathic_toe_walking": (5.0, 12.0, "uniform", 0.0, 0.0),
    "myopathic": (5.0, 12.0, "uniform", 0.0, 0.0),
    "ataxic": (20.0, 75.0, "normal", 48.0, 13.0),
    "cervical_myelopathy": (45.0, 80.0, "normal", 60.0, 9.0),
    "parkinsonian": (55.0, 85.0, "normal", 68.0, 8.0),
}

#: GMFCS level shares (I, II, III) of the CP classes: hemiplegic children are mostly level I,
#: bilateral (diplegic) children spread over I-III.
CP_LEVEL_SHARES: dict[str, tuple[float, ...]] = {
    "cp_hemiplegic": (0.7, 0.3),
    "cp_diplegic": (0.3, 0.4, 0.3),
}

#: Least bilateral equinus (deg) of an idiopathic toe walker: with less, the simulated heel (not the
#: forefoot) of a child's typical sagittal curves touches down first.
ITW_EQUINUS_FLOOR = 17.0

#: Festination of Parkinsonian walkers: probability at severity 0 and 1, cadence rise (fraction) at
#: the end of the ramp (mild, severe, sd), and the ramp's duration (s, uniform low-high).
FESTINATION = {"p": (0.1, 0.5), "rise": (0.10, 0.25, 0.03), "ramp_s": (3.0, 6.0)}

_E = tuple[str, float, float, float]

#: Per class: effect name -> (mode, mild, severe, sd). See the module docstring.
CLASS_EFFECTS: dict[str, dict[str, _E]] = {
    "parkinsonian": {
        "rom": ("x", 0.93, 0.70, 0.04),          # short steps (hypokinesia)
        "knee_rom": ("x", 1.0, 0.90, 0.03),      # and a smaller knee excursion
        "cadence": ("x", 1.00, 1.06, 0.04),      # cadence kept or raised
        "stride_cv": ("=", 0.028, 0.06, 0.005),  # about twice the age-matched healthy CV at median severity
        "stance": ("+", 0.02, 0.06, 0.008),      # longer double support
        "crouch": ("+", 3.0, 10.0, 2.0),         # flexed knees
        "trunk_lean": ("+", 4.0, 16.0, 3.0),     # stooped trunk
        "head_flexion": ("+", 4.0, 14.0, 3.0),
        "pelvic_tilt": ("+", 0.0, 3.0, 1.5),
        "arm_swing": ("x", 0.75, 0.25, 0.08),
        "elbow_flexion": ("+", 5.0, 20.0, 4.0),
        "trunk_sway": ("x", 1.0, 0.7, 0.08),     # axial rigidity
        "stiff_knee": ("+", 0.05, 0.2, 0.03),    # low foot clearance: less swing knee flexion ...
        "swing_drop": ("+", 2.0, 6.0, 1.5),      # ... and less swing dorsiflexion
        "equinus": ("+", 0.0, 4.0, 1.5),         # flat-foot landing
    },
    "ataxic": {
        "stride_cv": ("=", 0.038, 0.08, 0.007),  # irregular step timing (and, through it, step length), floored
        "cadence": ("x", 0.92, 0.80, 0.04),
        "rom": ("x", 0.95, 0.80, 0.04),
        "stance": ("+", 0.02, 0.06, 0.008),
        "trunk_sway": ("+", 1.5, 4.5, 0.8),
        "trunk_lean": ("+", 0.0, 3.0, 1.5),
        "arm_swing": ("x", 1.0, 0.8, 0.1),
        "elbow_flexion": ("+", 5.0, 15.0, 4.0),  # arms held out for balance
        "step_width_m": ("=", 0.13, 0.21, 0.02),  # wide base (frontal: 3-D and front views only)
    },
    "cervical_myelopathy": {
        "cadence": ("x", 0.95, 0.83, 0.04),
        "hip_rom": ("x", 0.95, 0.77, 0.04),      # short steps
        "knee_rom": ("x", 0.98, 0.92, 0.03),
        "stiff_knee": ("+", 0.0, 0.18, 0.03),    # stiff-knee swing (spasticity): none in the mildest
        "stance": ("+", 0.02, 0.06, 0.008),
        "stride_cv": ("=", 0.03, 0.07, 0.006),   # a spastic-ataxic gait
        "trunk_lean": ("+", 2.0, 6.0, 2.0),
        "arm_swing": ("x", 1.0, 0.7, 0.1),
        "step_width_m": ("=", 0.15, 0.18, 0.02),  # Lee et al. (2021): 15.9 cm without, 17.2 cm with gait symptoms
    },
    "myopathic": {
        "trunk_lean": ("=", -2.0, -14.0, 2.0),   # trunk behind the hips (lumbar lordosis); near upright when mild
        "pelvic_tilt": ("+", 4.0, 12.0, 2.0),    # anterior pelvic tilt
        "equinus": ("+", 3.0, 12.0, 2.0),        # plantarflexion contracture: toe walking when severe
        "swing_drop": ("+", 2.0, 8.0, 1.5),      # foot plantarflexed in swing
        "crouch": ("+", -1.0, -5.0, 1.0),        # knee held extended in stance
        "knee_rom": ("x", 0.97, 0.80, 0.04),     # little knee flexion
        "rom": ("x", 1.0, 0.90, 0.04),           # shorter strides ...
        "cadence": ("x", 1.06, 0.95, 0.04),      # ... made up by cadence until the disease progresses
        "trunk_sway": ("x", 1.2, 1.8, 0.15),
        "stance": ("+", 0.0, 0.02, 0.008),
        "stature": ("x", 0.98, 0.94, 0.02),      # short stature (and corticosteroids)
        "step_width_m": ("=", 0.11, 0.16, 0.02),
    },
    "idiopathic_toe_walking": {
        "equinus": ("+", 18.0, 28.0, 3.0),       # bilateral equinus through stance (floored, see above)
        "crouch": ("+", 0.0, -4.0, 1.5),         # knee typical when mild, hyperextended when severe
    },
    "antalgic": {
        "stance:painful": ("+", -0.012, -0.06, 0.008),  # quick off the painful leg ...
        "stance:sound": ("+", 0.008, 0.04, 0.006),      # ... and longer on the sound one
        "phase_shift": ("=", 0.01, 0.05, 0.006),        # short single support on the painful leg
        "knee_rom:painful": ("x", 0.93, 0.70, 0.03),    # guarded, less flexed knee
        "hip_rom:painful": ("x", 0.95, 0.85, 0.03),
        "crouch:painful": ("+", 0.5, 3.0, 1.0),
        "rom": ("x", 0.98, 0.92, 0.03),
        "cadence": ("x", 0.97, 0.88, 0.04),
        "stride_cv": ("=", 0.025, 0.035, 0.005),
        "arm_swing": ("x", 1.0, 0.8, 0.1),
    },
}
