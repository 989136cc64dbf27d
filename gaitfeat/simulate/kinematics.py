"""Body model of the gait simulator: normative curves, anthropometry, forward kinematics.

Planar (sagittal) kinematic chain with lateral offsets: every joint has a
position in the body's sagittal plane (x forward, y up, metres) and a fixed
lateral offset z (positive = the child's left). The lateral offsets matter only
when the child turns towards the camera.
"""

from __future__ import annotations

import numpy as np

from gaitfeat.layouts import BODY25
from gaitfeat.simulate.curves import periodic_curve
from gaitfeat.simulate.foot import foot_shapes

__all__ = [
    "NORMATIVE_LANDMARKS",
    "TD_TOE_OFF",
    "normative_curve",
    "segment_lengths",
    "stature_for_age",
    "forward_kinematics",
    "ground_contact",
]

# Typically developing children's sagittal joint angles over one gait cycle
# (initial contact = 0 %), free walking speed, in degrees. Landmark values read
# off the normative curves of Schwartz, Rozumalski & Trost (2008), "The effect
# of walking speed on the gait of typically developing children", J Biomech
# 41:1639-1650 (Gillette's paediatric reference data) and Winter (2009),
# "Biomechanics and Motor Control of Human Movement", 4th ed., appendix A:
#   hip: ~35 deg flexion at contact, ~-10 deg peak extension in terminal
#        stance, ~37 deg peak flexion in terminal swing;
#   knee: ~5 deg at contact, ~18 deg loading-response peak, ~5 deg in
#        mid-stance, ~40 deg at toe-off, ~60-62 deg swing peak;
#   ankle (dorsiflexion +): ~0 deg at contact, ~-5 deg after contact, ~12 deg
#        peak dorsiflexion in terminal stance, ~-15 deg at toe-off.
# The hip angle is thigh relative to pelvis; the pelvis has ~10 deg anterior
# tilt, so the thigh's angle from vertical is hip angle minus tilt.
NORMATIVE_LANDMARKS: dict[str, tuple[tuple[float, float], ...]] = {
    "hip": (
        (0.00, 35.0), (0.10, 32.0), (0.20, 22.0), (0.30, 11.0), (0.40, 1.0), (0.50, -7.0),
        (0.55, -10.0), (0.62, -3.0), (0.70, 12.0), (0.80, 29.0), (0.87, 37.0), (0.94, 36.5),
    ),
    "knee": (
        (0.00, 5.0), (0.06, 12.0), (0.13, 18.0), (0.20, 15.0), (0.30, 8.0), (0.40, 5.0),
        (0.50, 10.0), (0.56, 24.0), (0.62, 40.0), (0.68, 56.0), (0.73, 61.0), (0.80, 54.0),
        (0.88, 30.0), (0.95, 9.0),
    ),
    "ankle": (
        (0.00, 1.0), (0.06, -5.0), (0.12, 0.0), (0.25, 6.0), (0.40, 10.0), (0.48, 12.0),
        (0.55, 5.0), (0.62, -15.0), (0.70, -9.0), (0.80, -1.0), (0.90, 1.5),
    ),
}

#: Toe-off of typically developing children, as a fraction of the gait cycle.
TD_TOE_OFF = 0.62

def normative_curve(name: str, q: np.ndarray) -> np.ndarray:
    """Normative joint angle (deg) of ``"hip"``, ``"knee"`` or ``"ankle"`` at gait-cycle phase ``q`` (0-1, periodic).

    A 6-harmonic Fourier series fitted through :data:`NORMATIVE_LANDMARKS`
    (:func:`gaitfeat.simulate.curves.periodic_curve`).
    """
    return periodic_curve(NORMATIVE_LANDMARKS[name], q)


# Segment lengths as fractions of stature (Drillis & Contini 1966, as tabulated
# in Winter 2009, fig. 4.1).
_RATIOS = {
    "thigh": 0.245,  # hip joint to knee
    "shank": 0.246,  # knee to ankle
    "ankle_height": 0.039,
    "foot_forward": 0.115,  # ankle to toe tip along the foot
    "foot_back": 0.035,  # ankle to heel
    "torso": 0.288,  # hip joint height 0.530 to shoulder height 0.818
    "upper_arm": 0.186,
    "forearm": 0.146,
    "neck_to_ear": 0.110,  # shoulder line to ear (ear ~0.93 of stature)
    "nose_ahead": 0.055,
    "eye_ahead": 0.045,
    "hip_half_width": 0.05,
    "shoulder_half_width": 0.10,
    "ear_half_width": 0.045,
    "eye_half_width": 0.02,
}


def segment_lengths(stature: float) -> dict[str, float]:
    """Segment lengths (m) for a walker of the given stature (m); ``"stature"`` itself is included."""
    return {**{k: v * stature for k, v in _RATIOS.items()}, "stature": float(stature)}


# Median stature (m) by age, both sexes averaged: WHO/CDC growth references,
# rounded. Children with CP are on average shorter; the pathology model
# applies that per GMFCS level.
_STATURE_AGE = np.array([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18], dtype=float)
_STATURE_M = np.array([1.03, 1.10, 1.16, 1.22, 1.28, 1.33, 1.39, 1.44, 1.50, 1.57, 1.63, 1.67, 1.70, 1.72, 1.73])


def stature_for_age(age: float | np.ndarray) -> np.ndarray:
    """Median stature (m) at an age in years (4-18)."""
    return np.interp(age, _STATURE_AGE, _STATURE_M)


def forward_kinematics(
    seg: dict[str, float],
    hip: np.ndarray,
    knee: np.ndarray,
    ankle: np.ndarray,
    pelvic_tilt: np.ndarray,
    trunk_pitch: np.ndarray,
    neck_flexion: np.ndarray,
    shoulder: np.ndarray,
    elbow: np.ndarray,
    mtp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BODY_25 joint positions in the body frame, hip joint centres at the origin.

    Parameters
    ----------
    seg : dict
        Segment lengths (m), from :func:`segment_lengths`.
    hip, knee, ankle : ndarray, shape (T, 2)
        Sagittal angles (deg) for the (left, right) side: hip flexion +, knee
        flexion +, ankle dorsiflexion +.
    pelvic_tilt : ndarray (T,)
        Anterior pelvic tilt (deg); the thigh's angle from vertical is
        ``hip - pelvic_tilt``.
    trunk_pitch : ndarray (T,)
        Forward lean of the hip-shoulder line from vertical (deg).
    neck_flexion : ndarray (T,)
        Forward flexion of the head relative to the trunk (deg).
    shoulder, elbow : ndarray, shape (T, 2)
        Shoulder flexion (+ = arm forward) and elbow flexion (deg), (left, right).
    mtp : ndarray, shape (T, 2), optional
        MTP dorsiflexion (deg). When given, the feet are the two-segment
        feet of :mod:`gaitfeat.simulate.foot` (heel keypoint at the back-bottom
        of the heel arc, big toe at the tip of the hinged toe); when omitted,
        the rigid foot (heel and toes at fixed offsets from the ankle).

    Returns
    -------
    xy : ndarray (T, 25, 2)
        x forward, y up (m), origin at the hip joint centres.
    z : ndarray (25,)
        Lateral offsets (m), + = the child's left.
    """
    T = hip.shape[0]
    j = BODY25.index
    xy = np.zeros((T, 25, 2))
    z = np.zeros(25)
    for k, side in enumerate(("left", "right")):
        sign = 1.0 if side == "left" else -1.0
        thigh_angle = np.radians(hip[:, k] - pelvic_tilt)
        shank_angle = thigh_angle - np.radians(knee[:, k])
        # Segment angles are measured from the downward vertical, forward positive.
        knee_pos = seg["thigh"] * np.stack([np.sin(thigh_angle), -np.cos(thigh_angle)], axis=-1)
        ankle_pos = knee_pos + seg["shank"] * np.stack([np.sin(shank_angle), -np.cos(shank_angle)], axis=-1)
        # Foot axis: perpendicular to the shank at neutral ankle angle; toe-up positive.
        foot_angle = shank_angle + np.radians(ankle[:, k])
        xy[:, j(f"{side}_knee")] = knee_pos
        xy[:, j(f"{side}_ankle")] = ankle_pos
        if mtp is not None:
            shape = foot_shapes(seg["stature"], ankle_pos, np.degrees(foot_angle), mtp[:, k])
            for name in ("heel", "big_toe", "small_toe"):
                xy[:, j(f"{side}_{name}")] = shape[name]
        else:
            _rigid_foot(xy, seg, side, ankle_pos, foot_angle)
        for name in ("hip", "knee", "ankle", "heel", "big_toe"):
            z[j(f"{side}_{name}")] = sign * seg["hip_half_width"]
        z[j(f"{side}_small_toe")] = sign * 1.5 * seg["hip_half_width"]

    pitch = np.radians(trunk_pitch)
    trunk_dir = np.stack([np.sin(pitch), np.cos(pitch)], axis=-1)
    neck = seg["torso"] * trunk_dir
    xy[:, j("neck")] = neck
    xy[:, j("mid_hip")] = 0.0
    for k, side in enumerate(("left", "right")):
        sign = 1.0 if side == "left" else -1.0
        arm = np.radians(shoulder[:, k]) - pitch  # relative to the trunk line, which points down and back from the neck
        elbow_pos = neck + seg["upper_arm"] * np.stack([np.sin(arm), -np.cos(arm)], axis=-1)
        fore = arm + np.radians(elbow[:, k])
        wrist_pos = elbow_pos + seg["forearm"] * np.stack([np.sin(fore), -np.cos(fore)], axis=-1)
        xy[:, j(f"{side}_shoulder")] = neck
        xy[:, j(f"{side}_elbow")] = elbow_pos
        xy[:, j(f"{side}_wrist")] = wrist_pos
        for name in ("shoulder", "elbow", "wrist"):
            z[j(f"{side}_{name}")] = sign * seg["shoulder_half_width"]
        z[j(f"{side}_ear")] = sign * seg["ear_half_width"]
        z[j(f"{side}_eye")] = sign * seg["eye_half_width"]

    head = pitch + np.radians(neck_flexion)
    head_up = np.stack([np.sin(head), np.cos(head)], axis=-1)
    head_fwd = np.stack([np.cos(head), -np.sin(head)], axis=-1)
    ear = neck + seg["neck_to_ear"] * head_up
    for side in ("left", "right"):
        xy[:, j(f"{side}_ear")] = ear
        xy[:, j(f"{side}_eye")] = ear + seg["eye_ahead"] * head_fwd + 0.012 * head_up
    xy[:, j("nose")] = ear + seg["nose_ahead"] * head_fwd - 0.012 * head_up
    return xy, z


def _rigid_foot(xy: np.ndarray, seg: dict[str, float], side: str, ankle_pos: np.ndarray, foot_angle: np.ndarray) -> None:
    """The rigid foot: heel and toes at fixed offsets from the ankle along the foot axis (``foot="rigid"``)."""
    j = BODY25.index
    # Foot axis: perpendicular to the shank at neutral ankle angle; toe-up positive.
    along = np.stack([np.cos(foot_angle), np.sin(foot_angle)], axis=-1)
    normal = np.stack([-np.sin(foot_angle), np.cos(foot_angle)], axis=-1)  # "up" of the foot
    sole = -seg["ankle_height"] * normal
    xy[:, j(f"{side}_heel")] = ankle_pos + sole - seg["foot_back"] * along
    xy[:, j(f"{side}_big_toe")] = ankle_pos + sole + seg["foot_forward"] * along
    xy[:, j(f"{side}_small_toe")] = ankle_pos + sole + 0.85 * seg["foot_forward"] * along


_FOOT_POINTS = ("left_heel", "left_big_toe", "right_heel", "right_big_toe")


def ground_contact(xy: np.ndarray, walking: np.ndarray, stance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis progression and height that keep the supporting foot point still on the ground.

    At every frame the support point is the lowest heel or toe of the leg(s)
    in stance. Its height is the ground (y = 0), which sets the pelvis height;
    while walking, the pelvis moves forward by exactly as much as the support
    point moves back relative to the pelvis, so the support point does not
    slide. When another point becomes the support (heel strike, roll-over to
    the toe), it is anchored where it is.

    Parameters
    ----------
    xy : ndarray (T, 25, 2)
        Body-frame positions (pelvis at the origin).
    walking : ndarray of bool (T,)
        Frames in which the child progresses (False while turning on the spot).
    stance : ndarray of bool (T, 2)
        Whether the (left, right) leg is in stance.

    Returns
    -------
    progress : ndarray (T,)
        Forward progression of the pelvis (m), starting at 0.
    height : ndarray (T,)
        Pelvis height above the ground (m).
    """
    idx = [BODY25.index(n) for n in _FOOT_POINTS]
    feet = xy[:, idx]  # (T, 4, 2): left heel, left toe, right heel, right toe
    in_stance = np.repeat(np.asarray(stance, dtype=bool), 2, axis=1)
    in_stance[~in_stance.any(axis=1)] = True  # flight (never in walking) or odd frames: any foot
    lowest = np.argmin(np.where(in_stance, feet[:, :, 1], np.inf), axis=1)
    height = -feet[np.arange(len(lowest)), lowest, 1]
    T = xy.shape[0]
    step = np.zeros(T)
    if T > 1:
        # Displacement of the current support point between consecutive frames.
        same_point = feet[np.arange(1, T), lowest[1:], 0] - feet[np.arange(0, T - 1), lowest[1:], 0]
        step[1:] = np.where(walking[1:], -same_point, 0.0)
    return np.cumsum(step), height
