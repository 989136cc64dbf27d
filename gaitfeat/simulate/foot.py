"""Two-segment ("honest") foot of the gait simulator: shape, toe joint, rolling ground contact.

The foot is a rigid rearfoot/midfoot from the heel to the metatarsal heads
and a toe segment hinged at the metatarsophalangeal (MTP) joint. Its sole is
the convex outline of three shapes, in the body's sagittal plane:

- the **heel**: a circular arc of radius ``heel_radius`` at the back-bottom
  of the rearfoot (heel rocker: the foot rolls over it after heel strike);
- the **MTP head**: a circle of radius ``mtp_radius`` around the MTP joint
  (the metatarsal head with its plantar pad; forefoot rocker);
- the **toe tip**: a point at the front-bottom of the toe segment.

The straight sole between heel and MTP head and the plantar side of the toe
are tangents of these shapes, so the lowest point of the whole outline is
always the lowest point of one of the three. :func:`rolling_contact` keeps
that point on the ground and moves the pelvis so that the foot rolls without
slipping: over an arc of radius r the body advances by r times the angle
rolled; over the toe tip (radius 0) it pivots.

Sources of the numbers: ``docs/simulator.md`` ("The foot").
"""

from __future__ import annotations

import numpy as np

from gaitfeat.simulate.curves import periodic_curve

__all__ = [
    "FOOT_RATIOS",
    "MTP_LANDMARKS",
    "MTP_MAX",
    "PARTS",
    "normative_mtp",
    "foot_pitch",
    "mtp_angle",
    "foot_shapes",
    "rolling_contact",
]

# Foot dimensions as fractions of stature H. Foot length 0.15 H and the ankle
# 0.035 H ahead of the heel, 0.039 H above the sole: Drillis & Contini (1966)
# as tabulated by Winter (2009) (the rigid foot used the same numbers).
FOOT_RATIOS = {
    "foot_length": 0.15,
    "ankle_to_heel": 0.035,
    "ankle_height": 0.039,
    # First MTP joint from the heel, as a fraction of foot length: 0.70-0.79
    # in 453 adult feet (3-D scans; "Flexion location of the first
    # metatarsophalangeal joint and the location of forefoot bend in
    # general-purpose women's footwear", J Foot Ankle Res); 0.72 is near the
    # lower-middle of that range.
    "mtp_from_heel": 0.72,
    # Fifth toe tip from the heel: 0.83 of foot length (Hawes et al. 1994,
    # "Ethnic differences in forefoot shape and the determination of shoe
    # comfort", Ergonomics: 82.6 % in North American men).
    "small_toe_from_heel": 0.83,
    # Heel radius (fraction of H): calcaneal tuberosity plus heel pad,
    # ~3 cm in a 1.75 m adult. An assumption from heel-pad thickness
    # (~1.5-2 cm unloaded) plus the tuberosity's curvature; no published
    # sagittal heel radius was verified for this value.
    "heel_radius": 0.017,
    # MTP joint axis above the sole: metatarsal-head radius (~1 cm, Caravaggi
    # et al. 2009, "A dynamic model of the windlass mechanism of the foot",
    # J Exp Biol 212:2491, measured by ultrasound) plus the plantar pad.
    "mtp_radius": 0.011,
}

#: Contact parts, in the order of :func:`foot_shapes` and ``frames["contact_part"]``.
PARTS = ("heel", "mtp", "toe")

# Normative first-MTP dorsiflexion (toe up relative to the metatarsals, deg)
# over the gait cycle (initial contact = 0, toe-off 0.62): toes extended
# before contact (~15 deg), ~0-5 deg from foot flat through mid-stance,
# rising with heel rise to a peak of ~45-50 deg in pre-swing (toe-off), back
# to ~15-20 deg in swing. Shape read off multi-segment foot studies: Leardini
# et al. (2007), "Rear-foot, mid-foot and fore-foot motion during the stance
# phase of gait", Gait & Posture 25:453; peak ~42 deg (Nawoczenski,
# Baumhauer & Umberger 1999, "Relationship between clinical measurements and
# motion of the first metatarsophalangeal joint during gait", J Bone Joint
# Surg Am 81:370).
MTP_LANDMARKS: tuple[tuple[float, float], ...] = (
    (0.00, 15.0), (0.05, 6.0), (0.10, 3.0), (0.30, 3.0), (0.40, 8.0), (0.50, 25.0),
    (0.58, 44.0), (0.62, 48.0), (0.67, 35.0), (0.73, 20.0), (0.85, 16.0), (0.95, 15.0),
)

#: Most MTP dorsiflexion (deg) a loaded toe takes before the toe itself tilts (peak of the curve).
MTP_MAX = 50.0

def normative_mtp(q: np.ndarray) -> np.ndarray:
    """Normative MTP dorsiflexion (deg) at normative gait phase ``q`` (0-1, toe-off at 0.62)."""
    return periodic_curve(MTP_LANDMARKS, q)


def foot_pitch(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, pelvic_tilt: np.ndarray) -> np.ndarray:
    """Rearfoot pitch (deg, toe up +, 0 = sole level) from the sagittal joint angles.

    Shank angle (from the downward vertical, forward +) is
    ``hip - pelvic_tilt - knee``; at 0 deg ankle the foot is perpendicular to
    the shank. Arrays broadcast; ``pelvic_tilt`` may be (T,) against (T, 2).
    """
    tilt = np.asarray(pelvic_tilt, dtype=np.float64)
    if tilt.ndim == 1 and np.ndim(hip) == 2:
        tilt = tilt[:, None]
    return hip - tilt - knee + ankle


def mtp_angle(q: np.ndarray, pitch: np.ndarray, stance: np.ndarray, toe_off: float = 0.62) -> np.ndarray:
    """MTP dorsiflexion (deg) of one leg per frame.

    While the leg is in stance and the forefoot is down, the toes are pressed
    flat on the floor: when the rearfoot pitches down (heel rise) the joint
    dorsiflexes by as much (``-pitch``) up to :data:`MTP_MAX`, beyond which
    the toe itself tilts and the foot pivots on the toe tip. While the
    forefoot is still up after heel strike the toes keep the normative
    extension, fading to flat as the forefoot lands. In swing the toe follows the normative curve,
    blended from its toe-off value over 8 % of the cycle (and towards the
    loaded value over the last 8 % before contact) so that it never jumps.

    Parameters
    ----------
    q : ndarray (T,)
        Normative gait phase (0-1; toe-off at ``toe_off``).
    pitch : ndarray (T,)
        Rearfoot pitch (deg, toe up +).
    stance : ndarray of bool (T,)
    """
    norm = normative_mtp(q)
    pitch = np.asarray(pitch, dtype=np.float64)
    # Forefoot down (pitch <= 0): toes flat on the floor, up to MTP_MAX.
    # Forefoot still up (heel rocker): the toes keep the normative extension,
    # fading to flat as the forefoot comes down (fully normative from 10 deg).
    loaded = np.where(pitch <= 0.0, np.minimum(-pitch, MTP_MAX), norm * np.clip(pitch / 10.0, 0.0, 1.0))
    q = np.asarray(q) % 1.0
    after = np.clip((q - toe_off) / 0.08, 0.0, 1.0)
    before = np.clip((q - 0.92) / 0.08, 0.0, 1.0)
    smooth = lambda x: x * x * (3.0 - 2.0 * x)  # noqa: E731
    w = np.where(stance, 1.0, np.maximum(1.0 - smooth(after), smooth(before)))
    return norm + w * (loaded - norm)


def foot_shapes(stature: float, ankle_xy: np.ndarray, pitch: np.ndarray, mtp: np.ndarray) -> dict[str, np.ndarray]:
    """Contact shapes and keypoints of one foot.

    Parameters
    ----------
    stature : float
        m.
    ankle_xy : ndarray (T, 2)
        Ankle joint centre (m), x forward, y up.
    pitch, mtp : ndarray (T,)
        Rearfoot pitch and MTP dorsiflexion (deg).

    Returns
    -------
    dict
        ``centres`` (T, 3, 2): heel-arc centre, MTP joint centre, toe tip (m);
        ``radii`` (3,): heel radius, MTP-head radius, 0 (m); ``angles``
        (T, 3): the rotation (rad) of the segment each shape belongs to;
        ``heel``, ``big_toe``, ``small_toe`` (T, 2): keypoints (m).
    """
    H = stature
    r = {k: v * H for k, v in FOOT_RATIOS.items()}
    L = r["foot_length"]
    b = np.radians(pitch)
    e = np.stack([np.cos(b), np.sin(b)], axis=-1)  # along the rearfoot, forward
    n = np.stack([-np.sin(b), np.cos(b)], axis=-1)  # the rearfoot's "up"
    heel_back = -r["ankle_to_heel"]
    sole = -r["ankle_height"]
    rh, rm = r["heel_radius"], r["mtp_radius"]
    heel_c = ankle_xy + (heel_back + rh) * e + (sole + rh) * n
    joint = ankle_xy + (heel_back + FOOT_RATIOS["mtp_from_heel"] * L) * e + (sole + rm) * n
    t = b + np.radians(mtp)
    d = np.stack([np.cos(t), np.sin(t)], axis=-1)  # along the toe
    m = np.stack([-np.sin(t), np.cos(t)], axis=-1)
    toe_len = (1.0 - FOOT_RATIOS["mtp_from_heel"]) * L
    tip = joint + toe_len * d - rm * m  # front end of the toe's plantar side
    small = joint + (FOOT_RATIOS["small_toe_from_heel"] - FOOT_RATIOS["mtp_from_heel"]) * L * d - 0.5 * rm * m
    return {
        "centres": np.stack([heel_c, joint, tip], axis=1),
        "radii": np.array([rh, rm, 0.0]),
        "angles": np.stack([b, b, t], axis=1),
        # BODY_25 heel: the back-bottom of the heel, 45 deg round the arc.
        "heel": heel_c - rh * (e + n) / np.sqrt(2.0),
        "big_toe": tip,
        "small_toe": small,
    }


def rolling_contact(
    shapes: tuple[dict[str, np.ndarray], dict[str, np.ndarray]], walking: np.ndarray, stance: np.ndarray
) -> dict[str, np.ndarray]:
    """Pelvis progression and height for feet that roll on the ground without slipping.

    At every frame the contact is the lowest point of the stance feet's
    outlines (heel arc, MTP head, toe tip; any foot when neither is in
    stance). Its height is the ground (y = 0), which sets the pelvis height.
    While walking, between frames the pelvis advances by what keeps the
    contact shape rolling: ``-(dc_x + r * d_angle)`` for a shape of radius r
    whose centre moves by ``dc_x`` relative to the pelvis while its segment
    turns by ``d_angle`` (toe-down turning is negative and rolls the foot
    forward). A flat toe ties with the MTP head; the toe tip then wins, since
    toes pressed on the floor anchor the MTP joint (pivot at the tip).

    Parameters
    ----------
    shapes : (left, right) dicts from :func:`foot_shapes`
        Body-frame shapes (pelvis at the origin).
    walking : ndarray of bool (T,)
    stance : ndarray of bool (T, 2)

    Returns
    -------
    dict
        ``progress`` (T,) pelvis progression (m, from 0); ``height`` (T,)
        pelvis height (m); ``side`` (T,) 0 left / 1 right; ``part`` (T,)
        index into :data:`PARTS`; ``contact_x`` (T,) body-frame x of the
        contact point (m, relative to the pelvis).
    """
    centres = np.concatenate([s["centres"] for s in shapes], axis=1)  # (T, 6, 2)
    angles = np.concatenate([s["angles"] for s in shapes], axis=1)  # (T, 6)
    radii = np.concatenate([s["radii"] for s in shapes])  # (6,)
    T = centres.shape[0]
    in_stance = np.repeat(np.asarray(stance, dtype=bool), 3, axis=1)
    in_stance[~in_stance.any(axis=1)] = True
    bottom = centres[:, :, 1] - radii
    # A flat toe is level with the MTP head to rounding error: prefer the tip.
    bias = np.tile([0.0, 0.0, -1e-7], 2)
    lowest = np.argmin(np.where(in_stance, bottom + bias, np.inf), axis=1)
    rows = np.arange(T)
    height = -bottom[rows, lowest]
    step = np.zeros(T)
    if T > 1:
        k = lowest[1:]
        dc = centres[rows[1:], k, 0] - centres[rows[:-1], k, 0]
        da = angles[rows[1:], k] - angles[rows[:-1], k]
        step[1:] = np.where(walking[1:], -(dc + radii[k] * da), 0.0)
    return {
        "progress": np.cumsum(step),
        "height": height,
        "side": (lowest // 3).astype(np.int8),
        "part": (lowest % 3).astype(np.int8),
        "contact_x": centres[rows, lowest, 0],
    }
