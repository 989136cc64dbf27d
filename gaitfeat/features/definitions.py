"""Names, units, body regions and one-line definitions of every clinical gait feature.

This module is the single place that says what each column of the feature
table means. :data:`FEATURES` (the 32 the models use) then
:data:`EXTENDED_FEATURES` is the column order of :func:`gaitfeat.extract_features`
and the order the kernels write in.

Conventions (the coordinates of preprocessed clips: hip midpoint at the origin,
x along the walking direction, y up, lengths in leg lengths):

* Angles are in degrees, computed per frame from two segment vectors with the
  law of cosines (eq. 1 of Yang, Chen & He, "Multimodal Fusion of Skeleton
  Dynamics and Clinical Gait Features for Video-Based Cerebral Palsy Severity
  Assessment"), ``acos(a.b / |a||b|)``; the sign comes from the 2-D cross
  product, so flexion and extension are told apart.
* Per-clip values use the clip's *usable* frames: frames whose hips are known
  and in which the child is not turning towards the camera.
* Symmetry index ``SI = |L - R| / (0.5 (L + R)) x 100 %`` (Robinson et al.
  1987): 0 % is perfect symmetry.
* Steps and strides follow the clinical footprint definitions: a step is
  from one foot's heel strike to the other foot's next heel strike, a stride
  from one heel strike to the same foot's next one. A step is the left (right)
  foot's when it ends with that foot's initial contact.
* Ankle angle (BODY_25 only): the foot (heel -> big toe) against the shank
  (knee -> ankle), 0 deg when they are perpendicular (clinical neutral),
  + = dorsiflexion, - = plantarflexion.
* Variability is the coefficient of variation ``CV = SD / mean x 100 %``
  (sample SD, n - 1), from at least three values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "FeatureInfo", "FEATURE_INFO", "FEATURES", "EXTENDED_FEATURES", "FEATURE_SETS", "METRE_FEATURES", "QUALITY_COLUMNS",
    "REGIONS", "NAN_REASONS", "JOINT_REGIONS", "REGION_SOURCE", "resolve_feature_set",
]


class FeatureInfo(NamedTuple):
    """Description of one feature."""

    name: str
    unit: str
    region: str
    definition: str


#: Body regions features are grouped by (Yang, Chen & He, Table 1, plus head and arm; "ankle" holds the
#: ankle angles and the foot-contact pattern of :data:`EXTENDED_FEATURES`).
REGIONS = ("head", "arm", "trunk", "hip", "knee", "ankle", "temporal", "spatial", "symmetry")

#: Joints (by name, either layout) that make up each body region, for attributions over joints
#: (Grad-CAM-guided feature selection). A joint may belong to two regions (shoulders: arm and trunk).
JOINT_REGIONS = {
    "head": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    "arm": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    "trunk": ("neck", "left_shoulder", "right_shoulder", "mid_hip", "left_hip", "right_hip"),
    "hip": ("mid_hip", "left_hip", "right_hip"),
    "knee": ("left_knee", "right_knee"),
    "foot": ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_big_toe", "right_big_toe",
             "left_small_toe", "right_small_toe"),
}

#: The joint region each feature region is measured from: the gait-cycle features (events, step
#: lengths and their symmetry) and the ankle features come from the feet.
REGION_SOURCE = {"head": "head", "arm": "arm", "trunk": "trunk", "hip": "hip", "knee": "knee", "ankle": "foot",
                 "temporal": "foot", "spatial": "foot", "symmetry": "foot"}

_ROWS = (
    # -- the 24 features of Yang, Chen & He ---------------------------------------
    ("neck_angle_left", "deg", "head",
     "mean forward flexion of the left ear-shoulder line relative to the hip-shoulder (trunk) line"),
    ("neck_angle_right", "deg", "head",
     "mean forward flexion of the right ear-shoulder line relative to the hip-shoulder (trunk) line"),
    ("arm_body_angle_left", "deg", "arm",
     "mean angle between the left upper arm (shoulder-elbow) and the trunk line; + = arm ahead of the trunk"),
    ("arm_body_angle_right", "deg", "arm",
     "mean angle between the right upper arm (shoulder-elbow) and the trunk line; + = arm ahead of the trunk"),
    ("arm_swing_left", "deg", "arm", "range (max - min) of the left arm-body angle: arm swing amplitude"),
    ("arm_swing_right", "deg", "arm", "range (max - min) of the right arm-body angle: arm swing amplitude"),
    ("arm_swing_symmetry", "%", "arm", "symmetry index of left and right arm swing"),
    ("trunk_inclination", "deg", "trunk",
     "mean forward lean of the hip-midpoint to shoulder-midpoint line from vertical"),
    ("trunk_sway", "deg", "trunk",
     "oscillation of the trunk inclination: sqrt(2) x its standard deviation (the amplitude of a sine)"),
    ("hip_rom_left", "deg", "hip",
     "range of the left thigh angle (hip-knee line from vertical, + = flexion) over the clip"),
    ("hip_rom_right", "deg", "hip",
     "range of the right thigh angle (hip-knee line from vertical, + = flexion) over the clip"),
    ("hip_rom_symmetry", "%", "hip", "symmetry index of left and right hip range of motion"),
    ("knee_rom_left", "deg", "knee", "range of left knee flexion (angle between thigh and shank) over the clip"),
    ("knee_rom_right", "deg", "knee", "range of right knee flexion (angle between thigh and shank) over the clip"),
    ("knee_rom_symmetry", "%", "knee", "symmetry index of left and right knee range of motion"),
    ("cadence", "steps/min", "temporal", "steps per minute: 120 / mean stride time (60 / mean step time without a full stride)"),
    ("gait_cycle_duration", "s", "temporal", "mean stride time: heel strike to the same foot's next heel strike"),
    ("stance_swing_ratio_left", "1", "temporal",
     "left stance time (heel strike to toe-off) over left swing time (toe-off to heel strike), complete strides"),
    ("stance_swing_ratio_right", "1", "temporal",
     "right stance time (heel strike to toe-off) over right swing time (toe-off to heel strike), complete strides"),
    ("step_length", "leg lengths", "spatial",
     "mean step length: forward distance between the feet's contact points at successive heel strikes"),
    ("stride_length", "leg lengths", "spatial",
     "mean stride length: forward distance a foot's contact point travels between its successive heel strikes"),
    ("walking_speed", "leg lengths/s", "spatial",
     "mean forward speed of the pelvis over the ground (from the planted foot's motion relative to the pelvis)"),
    ("step_length_symmetry", "%", "symmetry", "symmetry index of mean left and right step lengths"),
    ("step_timing_symmetry", "%", "symmetry", "symmetry index of mean left and right step times"),
    # -- additions: a clinically fuller set -------------------------------------
    ("knee_flexion_ic_left", "deg", "knee", "left knee flexion at initial contact (heel strike), mean over strikes"),
    ("knee_flexion_ic_right", "deg", "knee", "right knee flexion at initial contact (heel strike), mean over strikes"),
    ("knee_flexion_min_stance_left", "deg", "knee",
     "least left knee flexion in stance, mean over strides (> 30 deg: crouch gait)"),
    ("knee_flexion_min_stance_right", "deg", "knee",
     "least right knee flexion in stance, mean over strides (> 30 deg: crouch gait)"),
    ("step_length_left", "leg lengths", "spatial", "mean length of steps ending with a left heel strike"),
    ("step_length_right", "leg lengths", "spatial", "mean length of steps ending with a right heel strike"),
    ("double_support_fraction", "1", "temporal", "fraction of the gait cycle with both feet on the ground"),
    ("stride_time_cv", "%", "temporal", "stride-to-stride variability: coefficient of variation of stride times (>= 3 strides)"),
)

# -- extended: per-side timing and variability, foot contact, ankle (EXTENDED_FEATURES) ---------
_EXTENDED_ROWS = (
    ("step_time_left", "s", "temporal", "mean duration of steps ending with a left heel strike (initial contact)"),
    ("step_time_right", "s", "temporal", "mean duration of steps ending with a right heel strike (initial contact)"),
    ("step_time_cv_left", "%", "temporal",
     "coefficient of variation of the times of steps ending with a left heel strike (>= 3 steps; "
     "outliers beyond 3 scaled MADs of the median left out)"),
    ("step_time_cv_right", "%", "temporal",
     "coefficient of variation of the times of steps ending with a right heel strike (>= 3 steps; "
     "outliers beyond 3 scaled MADs of the median left out)"),
    ("step_length_cv_left", "%", "spatial",
     "coefficient of variation of the lengths of steps ending with a left heel strike (>= 3 steps; "
     "outliers beyond 3 scaled MADs of the median left out)"),
    ("step_length_cv_right", "%", "spatial",
     "coefficient of variation of the lengths of steps ending with a right heel strike (>= 3 steps; "
     "outliers beyond 3 scaled MADs of the median left out)"),
    ("heel_strike_fraction_left", "1", "ankle",
     "share of left initial contacts made heel first: heel keypoint at or below the big toe, on average over "
     "loading response (heel strike to the right toe-off, at most 0.2 s); BODY_25 only"),
    ("heel_strike_fraction_right", "1", "ankle",
     "share of right initial contacts made heel first: heel keypoint at or below the big toe, on average over "
     "loading response (heel strike to the left toe-off, at most 0.2 s); BODY_25 only"),
    ("ankle_angle_ic_left", "deg", "ankle",
     "left ankle angle at initial contact (heel strike), mean over strikes; + = dorsiflexion; BODY_25 only"),
    ("ankle_angle_ic_right", "deg", "ankle",
     "right ankle angle at initial contact (heel strike), mean over strikes; + = dorsiflexion; BODY_25 only"),
    ("ankle_dorsiflexion_max_stance_left", "deg", "ankle",
     "greatest left ankle dorsiflexion in stance, mean over strides (low or negative: equinus); BODY_25 only"),
    ("ankle_dorsiflexion_max_stance_right", "deg", "ankle",
     "greatest right ankle dorsiflexion in stance, mean over strides (low or negative: equinus); BODY_25 only"),
)

#: Every feature: name -> :class:`FeatureInfo` (also the ``*_m`` metre variants).
FEATURE_INFO: dict[str, FeatureInfo] = {name: FeatureInfo(name, unit, region, text)
                                        for name, unit, region, text in _ROWS + _EXTENDED_ROWS}

#: Length features also reported in metres (and m/s) when the caller gives the leg length or height.
METRE_FEATURES = {
    "step_length": "step_length_m", "stride_length": "stride_length_m", "walking_speed": "walking_speed_m",
    "step_length_left": "step_length_left_m", "step_length_right": "step_length_right_m",
}
for _src, _dst in METRE_FEATURES.items():
    _info = FEATURE_INFO[_src]
    FEATURE_INFO[_dst] = FeatureInfo(_dst, "m/s" if _src == "walking_speed" else "m", _info.region,
                                     _info.definition + " (in metres)")

#: The 32 clinical features, in the order of the first columns of every feature table (without the metre
#: variants): the 24 of Yang, Chen & He and 8 additions. The GMFCS models and every published number use these.
FEATURES: tuple[str, ...] = tuple(row[0] for row in _ROWS)

#: Features added for the gait-pathology taxonomy, in the order they follow :data:`FEATURES` in every
#: table: per-side step time and step time and length variability, heel-first contact and ankle angles
#: (the last six need heel and big-toe keypoints: NaN on COCO-17).
EXTENDED_FEATURES: tuple[str, ...] = tuple(row[0] for row in _EXTENDED_ROWS)

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    # The 24 clinical gait features of Yang, Chen & He.
    "paper24": FEATURES[:24],
    # Yang, Chen & He, Table 1: the Grad-CAM-guided, clinically curated 14.
    "paper14": (
        "hip_rom_left", "hip_rom_right", "hip_rom_symmetry",
        "knee_rom_left", "knee_rom_right", "knee_rom_symmetry",
        "trunk_inclination",
        "step_length", "stride_length", "walking_speed",
        "cadence", "gait_cycle_duration",
        "step_length_symmetry", "step_timing_symmetry",
    ),
    # The 32 of FEATURES: what the GMFCS models were trained on and every published number reports.
    "all": FEATURES,
    # The 32, then EXTENDED_FEATURES.
    "extended": FEATURES + EXTENDED_FEATURES,
}
"""Named feature subsets, each a tuple of column names in table order.

* ``"paper24"``: the 24 clinical gait features of Yang, Chen & He.
* ``"paper14"``: their Grad-CAM-guided, clinically curated 14 (Table 1).
* ``"all"``: exactly the 32 of :data:`FEATURES` and nothing else. The GMFCS
  models and all published numbers use this set, so it does **not** grow
  when features are added.
* ``"extended"``: ``FEATURES + EXTENDED_FEATURES`` (44): the 32, then the
  per-side step timing, variability, foot-contact and ankle features.
"""


def resolve_feature_set(features: str | Iterable[str]) -> list[str]:
    """The feature columns a feature-set specification names, in order.

    Parameters
    ----------
    features : str or sequence of str
        A name of :data:`FEATURE_SETS` ("all", "extended", "paper24",
        "paper14"), or column names from :data:`FEATURES` and
        :data:`EXTENDED_FEATURES` (any order, each at most once).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        An unknown set name, an empty list, unknown or repeated column names.
    TypeError
        ``features`` is neither a string nor an iterable of strings.

    Examples
    --------
    >>> resolve_feature_set("paper14")[:3]
    ['hip_rom_left', 'hip_rom_right', 'hip_rom_symmetry']
    >>> resolve_feature_set(["cadence", "step_time_left"])
    ['cadence', 'step_time_left']
    """
    known = FEATURE_SETS["extended"]
    if isinstance(features, str):
        if features in FEATURE_SETS:
            return list(FEATURE_SETS[features])
        hint = f" (for the single column, pass [{features!r}])" if features in known else ""
        raise ValueError(f"unknown feature set {features!r}{hint}; choose from {sorted(FEATURE_SETS)} "
                         "or give a list of names from gaitfeat.FEATURES and gaitfeat.EXTENDED_FEATURES")
    if not isinstance(features, Iterable):
        raise TypeError(f"features must be a feature-set name {sorted(FEATURE_SETS)} or a sequence of "
                        f"feature names, got {type(features).__name__}")
    names = list(features)
    if not names:
        raise ValueError("features is empty; give a feature-set name or at least one name from gaitfeat.FEATURES")
    unknown = [n for n in names if not (isinstance(n, str) and n in known)]
    if unknown:
        raise ValueError(f"unknown feature names {unknown}; choose from gaitfeat.FEATURES and "
                         "gaitfeat.EXTENDED_FEATURES")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"feature names given more than once: {repeated}")
    return [str(n) for n in names]


#: Per-clip quality columns appended after the features.
QUALITY_COLUMNS = (
    "n_heel_strikes_left", "n_heel_strikes_right", "n_toe_offs_left", "n_toe_offs_right", "n_strides",
    "usable_fraction", "turning_fraction", "spatial_method", "camera_pan", "nan_reason",
)

#: Why a feature is NaN, by the code the kernels write (0 = computed).
NAN_REASONS = {
    1: "too few usable frames with the joints it needs",
    2: "fewer than two heel strikes in one walking stretch",
    3: "no complete stride",
    4: "no stride with a toe-off",
    5: "a left or right value is missing, or their mean is zero",
    6: "fewer than three strides",
    7: "too few usable frame pairs to follow the planted foot",
    8: "no heel strike of this foot",
    9: "fewer than three steps ending with this foot's heel strike (after leaving out outlying steps)",
    10: "no foot keypoints (heel and big toe) in the layout, as in COCO-17",
}
