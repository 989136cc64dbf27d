"""Marker names of 3-D trajectory files (TRC) and the joints they denote.

Markerless pipelines write their 3-D keypoints as OpenSim marker files
(``.trc``) under the detector's keypoint names; :func:`plan_markers` decides,
for each of our snake_case joints, which marker column (or pair of columns)
provides it. The name sets, and where they come from:

**Our joint names** (priority 0)
    The snake_case names of every layout in :data:`gaitfeat.layouts.ALL_LAYOUTS`
    (``right_knee``, ``mid_hip``, ``head_top`` ...); what
    :func:`gaitfeat.io.trc.write_trc` writes by default.
**OpenPose / OpenCap keypoint names** (:data:`OPENPOSE_MARKERS`, priority 0)
    OpenPose BODY_25's CamelCase names (OpenPose ``doc/02_output.md``:
    ``Nose``, ``Neck``, ``RShoulder`` ... ``MidHip`` ... ``RHeel``). OpenCap
    (Uhlrich et al., "OpenCap: Human movement dynamics from smartphone
    videos") writes its triangulated video keypoints under these names,
    spelling the pelvis centre ``midHip`` and leaving out the five face points.
**Pose2Sim names** (:data:`POSE2SIM_MARKERS`, priority 0)
    Pose2Sim (Pagnon et al., "Pose2Sim: An open-source Python package for
    multiview markerless kinematics") names keypoints as OpenPose does, plus:
    ``Hip`` (Halpe-26/COCO-17/BlazePose pelvis centre, also the hip midpoint
    its marker augmentation adds), ``CHip`` (BODY_25, BODY_25B, COCO, MPII
    pelvis centre), ``Head`` (Halpe-26 "head" and BODY_25B "HeadTop": the
    top of the head), ``RThumb``/``RIndex``/``RPinky`` (BlazePose's hand
    landmarks; in Halpe-68/136 files they are hand-model points). Its
    BlazePose ``RBigToe`` is MediaPipe's foot index, which we treat as the
    big toe (:data:`gaitfeat.layouts.mapping.EQUIVALENT_NAMES`).
**MeTRAbs short names** (priority 0)
    ``htop``, ``rsho``, ``lkne``, ``pelv``, ``spin`` ... of the MPI-INF-3DHP
    joints (:data:`gaitfeat.layouts.extra.MPI_INF_3DHP_17_SHORT_NAMES`).
**OpenCap's augmented "_study" markers** (priorities 1-3)
    OpenCap's marker augmenter (an LSTM trained on motion-capture marker sets;
    Uhlrich et al., above) adds 35 (lower body) and 8 (arms) anatomical
    markers; their sites are defined on the bodies of the ``LaiUhlrich2022``
    OpenSim model (``opensimPipeline/Models/LaiUhlrich2022_markers_augmenter.xml``
    of the OpenCap repository; Pose2Sim uses the same augmenter and names).
    Only three kinds become joints:

    * ``RHJC_study``/``LHJC_study`` **are** the hip joint centres (a marker on
      the pelvis at the model's hip joint): ``right_hip``/``left_hip``
      (priority 1).
    * Lateral/medial landmark pairs whose **midpoint** is the joint centre in
      the ISB recommendations (Wu et al., "ISB recommendation on definitions
      of joint coordinate system of various joints for the reporting of human
      joint motion - part I: ankle, hip, and spine"; Wu et al., "... - Part
      II: shoulder, elbow, wrist and hand") (:data:`OPENCAP_MIDPOINT_PAIRS`,
      priority 2): knee = femoral epicondyles (``r_knee_study``,
      ``r_mknee_study``), ankle = malleoli (``r_ankle_study``,
      ``r_mankle_study``), elbow = humeral epicondyles (``r_lelbow_study``,
      ``r_melbow_study``), wrist = radial and ulnar styloids
      (``r_lwrist_study``, ``r_mwrist_study``); left side with ``L_``.
    * ``r_calc_study``/``L_calc_study`` sit on the posterior calcaneus, the
      landmark OpenPose calls the heel (priority 3).

    Deliberately **not** mapped (:data:`OPENCAP_UNMAPPED_MARKERS`): the pelvis
    landmarks ``r.ASIS_study``/``r.PSIS_study`` (a hip centre from them needs a
    regression, i.e. an estimate, not a measurement), ``r_shoulder_study``
    (the acromion, not the shoulder joint), ``C7_study``, ``r_toe_study``
    and ``r_5meta_study`` (forefoot markers, not the big or small toe tip),
    and the thigh and shank cluster markers.

A joint is taken from the lowest-priority source present in the file, for
the whole file: a direct keypoint before a joint-centre marker before a
midpoint before a landmark, never a per-frame mixture of sources (that would
make the trajectory jump where one source drops out). Names match exactly
first; a name that matches no table exactly is matched ignoring case and
the separators ``_``, ``-``, ``.`` and spaces (Pose2Sim's BlazePose writes
``Lknee``), unless that loose form is ambiguous (``Head`` is Pose2Sim's head
top, ``head`` our Human3.6M head joint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from gaitfeat.layouts.extra import MPI_INF_3DHP_17, MPI_INF_3DHP_17_SHORT_NAMES
from gaitfeat.layouts.skeleton import SkeletonLayout

__all__ = [
    "OPENPOSE_MARKERS",
    "POSE2SIM_MARKERS",
    "METRABS_MARKERS",
    "OPENCAP_JOINT_CENTRE_MARKERS",
    "OPENCAP_MIDPOINT_PAIRS",
    "OPENCAP_LANDMARK_MARKERS",
    "OPENCAP_UNMAPPED_MARKERS",
    "JOINT_TO_OPENPOSE",
    "MarkerPlan",
    "plan_markers",
    "marker_names_for",
    "marker_key",
]

_SIDES = {"R": "right", "L": "left"}

#: OpenPose BODY_25 keypoint names (and OpenCap's ``midHip``) -> our joint names.
OPENPOSE_MARKERS: dict[str, str] = {
    "Nose": "nose", "Neck": "neck", "MidHip": "mid_hip", "midHip": "mid_hip",
    **{f"{s}{part}": f"{side}_{joint}" for s, side in _SIDES.items() for part, joint in (
        ("Shoulder", "shoulder"), ("Elbow", "elbow"), ("Wrist", "wrist"), ("Hip", "hip"), ("Knee", "knee"),
        ("Ankle", "ankle"), ("Eye", "eye"), ("Ear", "ear"), ("BigToe", "big_toe"), ("SmallToe", "small_toe"),
        ("Heel", "heel"))},
}

#: Pose2Sim's names beyond OpenPose's (``Pose2Sim/skeletons.py``) -> our joint names.
POSE2SIM_MARKERS: dict[str, str] = {
    "Hip": "mid_hip", "CHip": "mid_hip", "Head": "head_top",
    **{f"{s}{part}": f"{side}_{part.lower()}" for s, side in _SIDES.items() for part in ("Thumb", "Index", "Pinky")},
}

#: MeTRAbs's short MPI-INF-3DHP joint names -> our joint names.
METRABS_MARKERS: dict[str, str] = dict(zip(MPI_INF_3DHP_17_SHORT_NAMES, MPI_INF_3DHP_17.joints))

# MediaPipe's own names where ours differ (ours put the side first so that left/right pair up).
_MEDIAPIPE_MARKERS = {"mouth_left": "left_mouth", "mouth_right": "right_mouth"}

_STUDY_SIDES = {"r": "right", "L": "left"}  # OpenCap writes r_... but L_... (upper-case L)

#: OpenCap markers that are joint centres themselves.
OPENCAP_JOINT_CENTRE_MARKERS: dict[str, str] = {"RHJC_study": "right_hip", "LHJC_study": "left_hip"}

#: Joint -> (lateral, medial) OpenCap landmarks whose midpoint is the joint centre (ISB).
OPENCAP_MIDPOINT_PAIRS: dict[str, tuple[str, str]] = {
    f"{side}_{joint}": (f"{s}_{lat}_study", f"{s}_{med}_study")
    for s, side in _STUDY_SIDES.items()
    for joint, lat, med in (("knee", "knee", "mknee"), ("ankle", "ankle", "mankle"),
                            ("elbow", "lelbow", "melbow"), ("wrist", "lwrist", "mwrist"))
}

#: OpenCap landmarks that are the same anatomical point as one of our joints.
OPENCAP_LANDMARK_MARKERS: dict[str, str] = {"r_calc_study": "right_heel", "L_calc_study": "left_heel"}

#: OpenCap markers recognised but never used as a joint, with the reason.
OPENCAP_UNMAPPED_MARKERS: dict[str, str] = {
    **{f"{s}.{lm}_study": "pelvis landmark; a hip joint centre from it would need a regression"
       for s in ("r", "L") for lm in ("ASIS", "PSIS")},
    **{f"{s}_shoulder_study": "acromion marker, not the shoulder joint centre" for s in ("r", "L")},
    "C7_study": "C7 spinous process marker, not a joint of our layouts",
    **{f"{s}_toe_study": "forefoot marker, not the big-toe tip" for s in ("r", "L")},
    **{f"{s}_5meta_study": "fifth metatarsal head, not the small-toe tip" for s in ("r", "L")},
    **{f"{s}_{seg}{k}_study": "segment cluster marker" for s in ("r", "L") for seg in ("thigh", "sh") for k in (1, 2, 3)},
}

#: Our BODY_25 joint names -> the OpenPose names OpenCap writes (what ``write_trc(..., marker_names="openpose")`` uses).
JOINT_TO_OPENPOSE: dict[str, str] = {joint: name for name, joint in OPENPOSE_MARKERS.items() if name != "MidHip"}


def marker_key(name: str) -> str:
    """The loose form of a marker name: lower case without ``_ - .`` and spaces."""
    return re.sub(r"[_\-. ]", "", name).lower()


@dataclass(frozen=True)
class _Entry:
    joint: str
    priority: int  # 0 direct keypoint, 1 joint-centre marker, 2 midpoint pair member, 3 landmark, 9 never used
    role: int = 0  # for pair members: 0 lateral, 1 medial
    why: str = ""


def _build() -> tuple[dict[str, _Entry], dict[str, _Entry]]:
    from gaitfeat.layouts import ALL_LAYOUTS  # the package imports this module lazily

    exact: dict[str, _Entry] = {}
    for lay in ALL_LAYOUTS.values():
        for joint in lay.joints:
            exact[joint] = _Entry(joint, 0)
    for table in (OPENPOSE_MARKERS, POSE2SIM_MARKERS, METRABS_MARKERS, _MEDIAPIPE_MARKERS):
        for name, joint in table.items():
            exact.setdefault(name, _Entry(joint, 0))
    for name, joint in OPENCAP_JOINT_CENTRE_MARKERS.items():
        exact[name] = _Entry(joint, 1)
    for joint, pair in OPENCAP_MIDPOINT_PAIRS.items():
        for role, name in enumerate(pair):
            exact[name] = _Entry(joint, 2, role)
    for name, joint in OPENCAP_LANDMARK_MARKERS.items():
        exact[name] = _Entry(joint, 3)
    for name, why in OPENCAP_UNMAPPED_MARKERS.items():
        exact[name] = _Entry("", 9, why=why)
    loose: dict[str, _Entry] = {}
    clashes: set[str] = set()
    for name, entry in exact.items():
        key = marker_key(name)
        if key in loose and loose[key] != entry:
            clashes.add(key)
        loose.setdefault(key, entry)
    for key in clashes:
        del loose[key]
    return exact, loose


_TABLES: list[tuple[dict[str, _Entry], dict[str, _Entry]]] = []


def _lookup(name: str) -> _Entry | None:
    if not _TABLES:
        _TABLES.append(_build())
    exact, loose = _TABLES[0]
    return exact.get(name) or loose.get(marker_key(name))


@dataclass
class MarkerPlan:
    """Where each joint comes from in a file with the given marker columns.

    Attributes
    ----------
    sources : dict of str to tuple of int
        Joint -> column indices of the markers: one index (the marker is the
        joint) or two (the joint is their midpoint).
    descriptions : dict of str to str
        Joint -> a readable account of its source (``"RKnee"``, ``"midpoint of
        r_knee_study and r_mknee_study"``), for reader reports.
    unknown : list of str
        Markers no table knows, in file order.
    unused : dict of str to str
        Known markers not used, with the reason (a better source for the same
        joint, an incomplete lateral/medial pair, a landmark that is no joint).
    """

    sources: dict[str, tuple[int, ...]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    unused: dict[str, str] = field(default_factory=dict)


def plan_markers(names: list[str] | tuple[str, ...]) -> MarkerPlan:
    """Decide which marker column(s) give each joint (see the module notes for the rules).

    Parameters
    ----------
    names : sequence of str
        The file's marker names in column order (assumed unique).

    Returns
    -------
    MarkerPlan
    """
    plan = MarkerPlan()
    candidates: dict[str, list[tuple[int, tuple[int, ...], str]]] = {}
    pairs: dict[str, list[int | None]] = {}
    for i, name in enumerate(names):
        entry = _lookup(name)
        if entry is None:
            plan.unknown.append(name)
        elif entry.priority == 9:
            plan.unused[name] = entry.why
        elif entry.priority == 2:
            pairs.setdefault(entry.joint, [None, None])[entry.role] = i
        else:
            candidates.setdefault(entry.joint, []).append((entry.priority, (i,), name))
    for joint, (lat, med) in pairs.items():
        if lat is not None and med is not None:
            text = f"midpoint of {names[lat]} and {names[med]}"
            candidates.setdefault(joint, []).append((2, (lat, med), text))
        else:
            have = names[lat if lat is not None else med]
            partner = "medial" if lat is not None else "lateral"
            plan.unused[have] = f"its {partner} partner is missing, so {joint} cannot be derived"
    for joint, options in candidates.items():
        # Lowest priority first; within one priority the first column in the file wins.
        options.sort(key=lambda o: (o[0], o[1][0]))
        _, cols, text = options[0]
        plan.sources[joint] = cols
        plan.descriptions[joint] = text
        for _, other, other_text in options[1:]:
            for c in other:
                plan.unused[names[c]] = f"{joint} is taken from {text}"
    return plan


def marker_names_for(
    layout: SkeletonLayout,
    marker_names: str | Sequence[str] | dict[str, str] | None,
    *,
    who: str = "marker_names_for",
) -> list[str]:
    """Marker names for a layout's joints, as a TRC writer needs them.

    Parameters
    ----------
    layout : SkeletonLayout
    marker_names : None, "joints", "openpose", sequence of str or dict
        ``None``/``"joints"``: the joint names; ``"openpose"``: the names of
        :data:`JOINT_TO_OPENPOSE` where there is one, else the joint name; a
        sequence of one name per joint; a dict ``{joint: name}`` for some joints.
    who : str
        The caller's name, for messages.

    Raises
    ------
    ValueError
        Not one name per joint, a dict naming joints the layout lacks, a name
        that is empty or contains blanks (TRC readers split on them), or
        repeated names.
    """
    joints = list(layout.joints)
    if marker_names is None or (isinstance(marker_names, str) and marker_names == "joints"):
        names = joints
    elif isinstance(marker_names, str) and marker_names == "openpose":
        names = [JOINT_TO_OPENPOSE.get(j, j) for j in joints]
    elif isinstance(marker_names, dict):
        unknown = sorted(set(marker_names) - set(joints))
        if unknown:
            raise ValueError(f"{who}: marker_names has joints {unknown} that layout {layout.name!r} lacks")
        names = [marker_names.get(j, j) for j in joints]
    elif isinstance(marker_names, str):
        raise ValueError(f"{who}: marker_names must be None, 'joints', 'openpose', a list or a dict, "
                         f"got {marker_names!r:.40}")
    else:
        names = list(marker_names)
        if len(names) != len(joints):
            raise ValueError(f"{who}: {len(names)} marker names for the {len(joints)} joints of layout {layout.name!r}")
    for name in names:
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
            raise ValueError(f"{who}: marker name {name!r:.40} must be a non-empty string without blanks or tabs")
    if len(set(names)) != len(names):
        raise ValueError(f"{who}: duplicate marker names {sorted({n for n in names if names.count(n) > 1})}")
    return names
