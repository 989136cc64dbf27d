"""The kernels' contract: signal rows, joint slots, parameters, defaults, output slots.

Plain Python (no numba): every number the kernels index by, and every setting
they take, is named here once. The numba modules (:mod:`.signals`,
:mod:`.features`) import these names; numba freezes module-level ints and
tuples as compile-time constants, so naming them costs nothing at run time.
:mod:`gaitfeat.features.engine` builds the kernels' inputs from the same
names, and ``tests/naive.py`` reads :data:`DEFAULTS` and the documented
constants from here.

At import, the output slots are checked against
:mod:`gaitfeat.features.definitions` (:data:`QUALITY_COLUMNS`,
:data:`NAN_REASONS`); a disagreement raises :class:`RuntimeError`.
"""

from __future__ import annotations

from typing import NamedTuple

from gaitfeat.features.definitions import EXTENDED_FEATURES, FEATURES, NAN_REASONS, QUALITY_COLUMNS
from gaitfeat.preprocessing.checks import MAX_COORDINATE  # noqa: F401  (the kernels flag larger |x|, |y|)

# --- joint table --------------------------------------------------------------

#: Order of the joint-index table the kernels read (``engine._joint_table``):
#: one layout index per slot, -1 where the layout lacks the joint. Paired
#: joints are left then right, so slot ``J_X + side`` (0 left, 1 right).
JOINT_SLOTS = (
    "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_elbow", "right_elbow", "left_ear", "right_ear",
    "left_heel", "right_heel", "left_big_toe", "right_big_toe", "nose",
)
N_JOINT_SLOTS = len(JOINT_SLOTS)
J_SHOULDER = JOINT_SLOTS.index("left_shoulder")
J_HIP = JOINT_SLOTS.index("left_hip")
J_KNEE = JOINT_SLOTS.index("left_knee")
J_ANKLE = JOINT_SLOTS.index("left_ankle")
J_ELBOW = JOINT_SLOTS.index("left_elbow")
J_EAR = JOINT_SLOTS.index("left_ear")
J_HEEL = JOINT_SLOTS.index("left_heel")
J_TOE = JOINT_SLOTS.index("left_big_toe")
J_NOSE = JOINT_SLOTS.index("nose")
#: Slots a layout may lack (COCO-17 has no heels or toes): the kernels then use the ankles.
#: Heels and toes are used together or not at all.
FOOT_SLOTS = (J_HEEL, J_HEEL + 1, J_TOE, J_TOE + 1)

# --- per-frame signals --------------------------------------------------------

#: Rows of the per-frame signal matrix ``sig`` (N_SIGNALS, T) that ``signals.frame_signals``
#: writes and the feature kernels read; NaN where unknown or the frame is not usable.
#: Angles in degrees, positions in leg lengths relative to the hip midpoint.
SIGNAL_ROWS = (
    "trunk_inclination",                # forward lean of hip->shoulder midpoints from vertical
    "thigh_left", "thigh_right",        # hip->knee from vertical down, + = flexion
    "knee_left", "knee_right",          # knee flexion, shank against the thigh line
    "neck_left", "neck_right",          # ear-shoulder line against the trunk line, + = forward
    "arm_left", "arm_right",            # upper arm against the trunk line, + = ahead
    "strike_left", "strike_right",      # heel-strike signal: its peaks are heel strikes
    "toe_off_left", "toe_off_right",    # toe-off signal: its peaks are toe-offs
    "contact_left", "contact_right",    # x of the foot's ground contact point (heel; COCO-17: modelled heel)
    "advance",                          # pelvis progression since the previous frame
)
N_SIGNALS = len(SIGNAL_ROWS)
S_TRUNK = SIGNAL_ROWS.index("trunk_inclination")
S_THIGH = SIGNAL_ROWS.index("thigh_left")
S_KNEE = SIGNAL_ROWS.index("knee_left")
S_NECK = SIGNAL_ROWS.index("neck_left")
S_ARM = SIGNAL_ROWS.index("arm_left")
S_STRIKE = SIGNAL_ROWS.index("strike_left")
S_TOE_OFF = SIGNAL_ROWS.index("toe_off_left")
S_CONTACT = SIGNAL_ROWS.index("contact_left")
S_ADVANCE = SIGNAL_ROWS.index("advance")

#: Rows of the per-frame foot matrix ``foot`` (N_FOOT_ROWS, T) that ``extended.foot_signals`` writes
#: (BODY_25; all NaN without heel and big-toe keypoints), NaN where unknown or the frame is not usable.
FOOT_ROWS = (
    "ankle_left", "ankle_right",                  # foot (heel->big toe) against the shank, 0 = perpendicular, + = up
    "heel_minus_toe_left", "heel_minus_toe_right",  # heel height minus big-toe height (leg lengths)
)
N_FOOT_ROWS = len(FOOT_ROWS)
A_ANKLE = FOOT_ROWS.index("ankle_left")
A_HEEL_TOE = FOOT_ROWS.index("heel_minus_toe_left")

# --- parameters and defaults --------------------------------------------------


class KernelParams(NamedTuple):
    """The kernels' settings (numba passes a NamedTuple of floats and a bool by value).

    Built and validated by ``engine._params`` from the public keywords of
    :func:`gaitfeat.extract_features`; the floats must be Python floats (an
    int would make numba compile another specialisation).
    """

    turn_width: float
    turn_margin_s: float
    min_usable_s: float
    peak_window_s: float
    prominence_window_s: float
    prominence: float
    velocity_prominence: float
    velocity_method: bool  # True: "velocity" event detection, False: "coordinate"
    camera: int  # index into CAMERAS: 0 "auto", 1 "static", 2 "moving"


#: Event-detection methods, by their public name (``method=``).
METHODS = ("coordinate", "velocity")
#: What the caller says about the camera (``camera=``): "auto" decides per clip from the data.
CAMERAS = ("auto", "static", "moving")
CAMERA_AUTO, CAMERA_STATIC, CAMERA_MOVING = range(3)
#: How a clip's distances were measured (quality column ``spatial_method``), by code.
SPATIAL_METHODS = ("foot_contact", "pelvis_path")
SPATIAL_FOOT, SPATIAL_PELVIS = range(2)


class FeatureOptions(NamedTuple):
    """The public settings of :func:`gaitfeat.extract_features` and :func:`gaitfeat.detect_events`."""

    method: str = "coordinate"
    turn_width: float = 0.15
    turn_margin_s: float = 0.15
    min_usable_s: float = 1.0
    peak_window_s: float = 0.2
    prominence_window_s: float = 0.6
    prominence: float = 0.05
    velocity_prominence: float = 0.5
    camera: str = "auto"


#: The one table of defaults: the keyword defaults of ``extract_features``,
#: ``detect_events`` and ``GaitFeatureExtractor``, and of ``tests/naive.py``.
DEFAULTS = FeatureOptions()

# --- constants of the algorithm -----------------------------------------------

# Turn detection by the facing cue: the nose is ahead of the ears by at least
# FACING_MIN leg lengths in a typical frame of a side view, and a frame whose
# cue falls below FACING_FRACTION of the clip's median faces the camera.
FACING_MIN = 0.05
FACING_FRACTION = 0.35

#: Height above its lowest position (leg lengths) within which a foot point can be planted.
PLANT_BAND = 0.06

#: COCO-17: the floor lies one ankle height below this (lower) percentile of the clip's ankle
#: heights, the value of rank floor(p/100 (n - 1)) (in the ankles' foot-flat cluster; the minimum
#: would follow the lowest noisy detection).
GROUND_PERCENTILE = 5.0

# A rigid foot for COCO-17 (no heel or toe keypoints), in leg lengths (hip to ankle =
# 0.491 of stature): ankle height 0.039, ankle to heel 0.035 and ankle to toe 0.115
# of stature (Drillis & Contini; Winter 2009, fig. 4.1).
FOOT_ANKLE_HEIGHT = 0.039 / 0.491
FOOT_HEEL = 0.035 / 0.491
FOOT_TOE = 0.115 / 0.491

# Static-camera check (camera="auto"). A foot that is flat on the floor stands still
# over the ground, so in the image it moves only as much as the camera does: a
# camera that follows the walker by a fraction p of its progression moves it
# backwards at p times the walking speed. Over the frames where an ankle is within
# PAN_BAND leg lengths of its low (5th percentile) height, the median image velocity
# of the ankles, a, against that of the pelvis, b, gives the pan p = -a / (b - a)
# (quality column ``camera_pan``). A foot model is not needed, but the estimate
# assumes the low ankle stands still: an ankle that rolls forward in stance, or a
# 3-D lifter's sliding foot, lowers it (a static camera reads -0.06 on the
# simulator's feet, -0.04 to -0.06 on motion capture, below -0.2 on a lifter's
# output), so a camera following up to about PAN_MAX + 0.06 of the progression
# can pass for static. The pelvis path is used when p <= PAN_MAX, from at least
# PAN_MIN_S seconds of such frames.
PAN_BAND = 0.05
PAN_MAX = 0.05
PAN_MIN_S = 0.3

# Heel-first contact: the heel is compared with the big toe over loading response, from the heel
# strike to the other foot's next toe-off (the first double support), but for at most LOADING_MAX_S
# seconds when that toe-off comes late or is not detected. A heel strike keeps the heel below the toe
# while the foot rolls over the heel (heel rocker, about the first tenth of the cycle); a foot that
# lands flat or on its forefoot has the toe down over that time, even where it meets the ground
# still pitched a little toe-up (docs/features.md, "Extended features").
LOADING_MAX_S = 0.2

# Step variability: a missed, spurious or left/right-swapped heel strike makes a step far shorter or
# longer than the walk's others, and one such step can triple a coefficient of variation. Before the
# CV, steps whose time (length) lies more than STEP_OUTLIER_MADS scaled median absolute deviations
# (MAD x MAD_TO_SD, the SD of a normal sample) from the side's median are left out, but never those
# within STEP_OUTLIER_FLOOR of the median (Leys et al. 2013, "Detecting outliers: do not use standard
# deviation around the mean, use absolute deviation around the median"; 3 is their conservative cut).
STEP_OUTLIER_MADS = 3.0
MAD_TO_SD = 1.4826
STEP_OUTLIER_FLOOR = 0.1

# --- outputs -------------------------------------------------------------------

#: Per-clip quality slots the kernels write, in order: the columns of
#: :data:`~gaitfeat.features.definitions.QUALITY_COLUMNS` before ``nan_reason``,
#: then a flag for infinite or impossible (> MAX_COORDINATE) coordinates, which the engine refuses.
QUALITY_SLOTS = (
    "n_heel_strikes_left", "n_heel_strikes_right", "n_toe_offs_left", "n_toe_offs_right", "n_strides",
    "usable_fraction", "turning_fraction", "spatial_method", "camera_pan", "infinite_coordinates",
)
N_QUALITY = len(QUALITY_SLOTS)
Q_HS_L, Q_HS_R, Q_TO_L, Q_TO_R, Q_STRIDES, Q_USABLE, Q_TURNING, Q_SPATIAL, Q_PAN, Q_INFINITE = range(N_QUALITY)

#: Per-stride rows (walk-level features): the foot, the frames of its two heel strikes,
#: the stride length (leg lengths) and the frame of its toe-off in between (NaN if none).
STRIDE_FIELDS = ("side", "start_frame", "end_frame", "length", "toe_off_frame")
#: Per-step rows: the foot that lands, the frames of the previous (other foot's) and this heel strike, the length.
STEP_FIELDS = ("side", "start_frame", "end_frame", "length")

# NaN reason codes the kernels write (0 = computed); their texts are definitions.NAN_REASONS.
(R_FRAMES, R_STEPS, R_STRIDE, R_TOE_OFF, R_SIDES, R_THREE, R_CONTACT, R_NO_STRIKE, R_THREE_STEPS,
 R_NO_FEET) = range(1, 11)
#: What each code means, as words its NAN_REASONS text must contain (checked at import).
REASON_KEYWORDS = {
    R_FRAMES: "usable frames", R_STEPS: "two heel strikes", R_STRIDE: "complete stride",
    R_TOE_OFF: "toe-off", R_SIDES: "left or right", R_THREE: "three strides",
    R_CONTACT: "planted foot", R_NO_STRIKE: "no heel strike", R_THREE_STEPS: "three steps",
    R_NO_FEET: "no foot keypoints",
}

# Feature columns (the order of definitions.FEATURES, then EXTENDED_FEATURES); pairs are (left, right).
#: The columns the kernels write, in order.
COLUMNS = FEATURES + EXTENDED_FEATURES
N_FEATURES = len(COLUMNS)
_F = {name: i for i, name in enumerate(COLUMNS)}
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
F_STEP_TIME_SIDE = (_F["step_time_left"], _F["step_time_right"])
F_STEP_TIME_CV = (_F["step_time_cv_left"], _F["step_time_cv_right"])
F_STEP_LEN_CV = (_F["step_length_cv_left"], _F["step_length_cv_right"])
F_HEEL_FIRST = (_F["heel_strike_fraction_left"], _F["heel_strike_fraction_right"])
F_ANKLE_IC = (_F["ankle_angle_ic_left"], _F["ankle_angle_ic_right"])
F_ANKLE_MAX = (_F["ankle_dorsiflexion_max_stance_left"], _F["ankle_dorsiflexion_max_stance_right"])


def check_contract(quality_columns=QUALITY_COLUMNS, nan_reasons=NAN_REASONS) -> None:
    """Raise RuntimeError if the kernels' slots disagree with the feature definitions.

    Called at import with :data:`~gaitfeat.features.definitions.QUALITY_COLUMNS`
    and :data:`~gaitfeat.features.definitions.NAN_REASONS`.
    """
    problems = []
    if tuple(quality_columns) != QUALITY_SLOTS[:Q_INFINITE] + ("nan_reason",):
        problems.append(f"QUALITY_COLUMNS {tuple(quality_columns)} != the kernels' quality slots "
                        f"{QUALITY_SLOTS[:Q_INFINITE]} + ('nan_reason',)")
    if set(nan_reasons) != set(REASON_KEYWORDS):
        problems.append(f"NAN_REASONS codes {sorted(nan_reasons)} != the kernels' codes {sorted(REASON_KEYWORDS)}")
    else:
        for code, words in REASON_KEYWORDS.items():
            if words not in nan_reasons[code]:
                problems.append(f"NAN_REASONS[{code}] = {nan_reasons[code]!r} does not say {words!r}, "
                                "the meaning the kernels give this code")
    for slots, kind in ((JOINT_SLOTS, "joint"), (SIGNAL_ROWS, "signal"), (FOOT_ROWS, "foot signal")):
        for i, name in enumerate(slots):
            if name.startswith("left_") and slots[i + 1] != "right_" + name[5:] or \
                    name.endswith("_left") and slots[i + 1] != name[:-5] + "_right":
                problems.append(f"{kind} slot {name!r} is not followed by its right-side twin")
    if problems:
        raise RuntimeError("gaitfeat.features._kernels disagrees with gaitfeat.features.definitions: "
                           + "; ".join(problems))


check_contract()
