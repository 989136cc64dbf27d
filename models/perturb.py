"""Kinematic perturbations of pose clips: time-warp body segments, scale joint rotations.

The geometry of K. N. Pellano et al., "Towards Biomarker Discovery for Early
Cerebral Palsy Detection: Evaluating Explanations Through Kinematic
Perturbations"; their protocol (reference ranges, sample-specific factors,
multipliers, response curves) is :mod:`models.perturb_response`, whose names
are also importable from here. Pure NumPy / SciPy.

* :func:`warp_velocity` — the segments containing the selected joints are
  time-warped: their bones are resampled at warped times in polar form
  (length, unwrapped angle) and the skeleton rebuilt from the segment's
  unwarped anchors (the joints it shares with the rest of the body, e.g. a
  limb's shoulder or hip; or the joint it hangs from when it shares none,
  e.g. the BODY_25 neck for the head). Bones keep their length, segments
  stay attached, segments hanging from a warped one are translated with it,
  everything else never moves.
* :func:`scale_angles` — each selected joint's bone angle (against the
  horizontal, as Pellano et al.) becomes ``theta(0) + factor (theta(t) -
  theta(0))``, every bone keeping its length frame by frame; the head turns
  as one rigid unit about its attachment.
* :func:`frame_speed`, :func:`frame_angle_change` — the per-frame quantities
  these scale, measured the same way.

The kinematic tree (:func:`kinematic_tree`) is the layout's bone tree
re-rooted at the pelvis where the layout has a pelvis joint (BODY_25
``mid_hip``, the origin of the normalised frame). COCO-17 has none and joins
its two sides only at the nose, so its tree keeps the nose as root: rooted at
a hip or shoulder, a head or shoulder rotation would swing the opposite side
of the body. COCO hips hang from the shoulders, so turning a COCO shoulder or
hip bone carries that side's leg along.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import map_coordinates
from scipy.sparse.csgraph import breadth_first_order

from gaitfeat.errors import LayoutError
from gaitfeat.layouts import SkeletonLayout, get_layout

__all__ = ["KinematicTree", "kinematic_tree", "frame_speed", "frame_angle_change", "perturbation_groups",
           "joint_indices", "warp_velocity", "scale_angles"]

#: Names of :mod:`models.perturb_response` that can be imported from here too.
_PROTOCOL = ("Reference", "SampleFactors", "velocity_reference", "angle_reference", "sample_factors", "kind_factors",
             "perturb", "response_curves", "SLOWDOWN_MULTIPLIERS", "SPEEDUP_MULTIPLIERS", "KINDS", "MODES")


def __getattr__(name: str):
    # Lazy: models.perturb_response imports this module, so it cannot be imported at the top.
    if name in _PROTOCOL:
        from models import perturb_response
        return getattr(perturb_response, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class KinematicTree:
    """The bone tree the perturbations work on (see the module docstring for the root).

    Attributes
    ----------
    root : int
    parents : array ``(V,)``
        Parent of each joint, -1 at the root.
    carry : array ``(V, V)``
        ``carry[j, a] = 1`` when the bone ending at ``a`` lies on the path
        from the root to ``j`` (``a`` is ``j`` or an ancestor, not the root):
        a change of that bone moves ``j``.
    owner : tuple
        Segment whose warp moves joint ``j``: owns the bone ending at ``j``
        (both ends in it, or ``j`` in it only); None for the root and joints
        shared by segments at a junction.
    vel_anchor : array ``(V,)``
        Joint that ``j``'s speed is measured against: the anchor its
        segment's warp keeps fixed (-1: speed in the normalised frame).
    head_unit, head_ref : tuple of int
        Joints rotated as one rigid head, and the joints whose bones give the
        head's angle (bones from the head's pivot).
    """

    root: int
    parents: np.ndarray
    carry: np.ndarray
    owner: tuple
    vel_anchor: np.ndarray
    head_unit: tuple
    head_ref: tuple


@lru_cache(maxsize=None)
def kinematic_tree(layout: str | SkeletonLayout) -> KinematicTree:
    """The kinematic tree of a layout, rooted at ``mid_hip`` when it has one, else at the layout's centre."""
    lay = get_layout(layout)
    v = lay.num_joints
    root = lay.index("mid_hip") if lay.has("mid_hip") else lay.center
    _, pred = breadth_first_order(lay.adjacency(), root, directed=False)
    parents = np.where(pred < 0, -1, pred)
    carry = np.zeros((v, v))
    for j in range(v):
        a = j
        while parents[a] >= 0:
            carry[j, a] = 1.0
            a = parents[a]
    segments = lay.segments
    owner = [None] * v
    for j in range(v):
        p = parents[j]
        if p < 0:
            continue
        inside = [s for s, js in segments.items() if j in js and p in js]
        mine = [s for s, js in segments.items() if j in js]
        if len(inside) > 1:
            raise LayoutError(f"layout {lay.name!r}: bone {lay.joints[p]}-{lay.joints[j]} lies in segments {inside}")
        owner[j] = inside[0] if inside else (mine[0] if len(mine) == 1 else None)
    anchor = np.full(v, -1)
    for j in range(v):
        if owner[j] is not None:
            a = parents[j]
            while owner[a] == owner[j]:
                a = parents[a]
            anchor[j] = a
    head = tuple(segments.get("head", ()))
    if root in head:                        # COCO-17: the nose is the root; eyes and ears turn about it
        unit = tuple(h for h in head if h != root)
        ref = tuple(h for h in unit if parents[h] == root)
    else:
        tops = [h for h in head if parents[h] not in head]
        if head and len(tops) != 1:
            raise LayoutError(f"layout {lay.name!r}: the head hangs from the body at {len(tops)} joints, need 1")
        unit, ref = head, tuple(tops)
    for arr in (parents, carry, anchor):
        arr.setflags(write=False)
    return KinematicTree(root, parents, carry, tuple(owner), anchor, unit, ref)


def _check(clips, layout) -> tuple[np.ndarray, SkeletonLayout, KinematicTree]:
    lay = get_layout(layout)
    x = np.asarray(clips)
    if x.ndim != 4 or x.shape[-1] < 2 or 0 in x.shape:
        raise ValueError(f"clips must be a non-empty (N, T, V, C) array with C >= 2 (x, y[, confidence]), "
                         f"got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"clips must be a floating-point array, got dtype {x.dtype}")
    if x.shape[2] != lay.num_joints:
        raise ValueError(f"clips have {x.shape[2]} joints but layout {lay.name!r} has {lay.num_joints}")
    return x, lay, kinematic_tree(lay)


def _positions(x: np.ndarray) -> np.ndarray:
    """Positions float64 ``(N, T, V, 2)``, NaN where a keypoint is missing (x or y NaN, or confidence not > 0)."""
    xy = x[..., :2].astype(np.float64)
    if x.shape[-1] >= 3:
        xy[~(x[..., 2] > 0)] = np.nan               # a lost detection's coordinates are not measurements
    return xy


def joint_indices(joints, layout) -> np.ndarray:
    """Selected joints as sorted unique indices, from names, indices or a boolean mask ``(V,)``."""
    lay = get_layout(layout)
    if isinstance(joints, (str, int, np.integer)):
        joints = [joints]
    try:
        arr = np.asarray(list(joints), dtype=object)
    except TypeError:
        raise ValueError(f"joints must be joint names, indices or a boolean mask, got {joints!r}") from None
    if arr.shape == (lay.num_joints,) and all(isinstance(j, (bool, np.bool_)) for j in arr):
        arr = np.flatnonzero(arr.astype(bool)).astype(object)
    if arr.size == 0:
        raise ValueError("joints is empty: select at least one joint to perturb")
    out = set()
    for j in arr.ravel():
        if isinstance(j, str):
            out.add(lay.index(j))
        elif isinstance(j, (int, np.integer)) and not isinstance(j, (bool, np.bool_)) and 0 <= j < lay.num_joints:
            out.add(int(j))
        else:
            raise ValueError(f"bad joint {j!r}: use joint names or indices in [0, {lay.num_joints}) "
                             f"of layout {lay.name!r}")
    return np.array(sorted(out))


def _factors(factor, n: int, v: int) -> np.ndarray:
    """A factor as ``(N, V)`` float64: a scalar, one per clip ``(N,)`` or one per clip and joint ``(N, V)``."""
    try:
        f = np.asarray(factor, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"factor must be a number or an array of numbers, got {type(factor).__name__}") from None
    if f.ndim == 0 or f.shape == (n,):
        f = np.broadcast_to(f.reshape(-1, 1) if f.ndim else f, (n, v))
    elif f.shape != (n, v):
        raise ValueError(f"factor must be a scalar, (N,) = ({n},) or (N, V) = ({n}, {v}), got shape {f.shape}")
    if not (np.isfinite(f) & (f > 0)).all():
        raise ValueError("factor must be finite and > 0 (1 leaves the clip unchanged)")
    return f


def _bones(xy: np.ndarray, tree: KinematicTree) -> np.ndarray:
    """Bone vectors parent -> joint ``(N, T, V, 2)``; NaN at the root and where either end is missing."""
    b = xy - xy[:, :, np.maximum(tree.parents, 0)]
    b[:, :, tree.root] = np.nan
    return b


def _fill_gaps(y: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN gaps along axis 1 (ends held), for all series at once; all-NaN stays NaN."""
    valid, size = ~np.isnan(y), y.shape[1]
    t = np.arange(size).reshape((1, -1) + (1,) * (y.ndim - 2))
    prev = np.maximum.accumulate(np.where(valid, t, -1), axis=1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(valid, t, size), axis=1), axis=1), axis=1)
    p = np.where(prev >= 0, prev, nxt).clip(0, size - 1)
    q = np.where(nxt < size, nxt, prev).clip(0, size - 1)
    yp, yq = np.take_along_axis(y, p, axis=1), np.take_along_axis(y, q, axis=1)
    w = np.where(q > p, (t - p) / np.maximum(q - p, 1), 0.0)
    return yp + w * (yq - yp)


def _unwrapped(theta: np.ndarray) -> np.ndarray:
    """Angles unwrapped along axis 1 across NaN gaps, gaps then filled linearly (all-NaN series stay NaN)."""
    valid = ~np.isnan(theta)
    t = np.arange(theta.shape[1]).reshape((1, -1) + (1,) * (theta.ndim - 2))
    # Hold the last valid angle over gaps (the first one before it) so the only step across a gap
    # is the valid-to-valid one, which np.unwrap then corrects like any other.
    last = np.maximum.accumulate(np.where(valid, t, -1), axis=1)
    idx = np.where(last >= 0, last, np.expand_dims(valid.argmax(axis=1), 1))
    u = np.unwrap(np.take_along_axis(theta, idx, axis=1), axis=1)
    return _fill_gaps(np.where(valid, u, np.nan))


def frame_speed(clips, layout) -> np.ndarray:
    """Per-frame speed of each joint relative to the anchor of its segment, ``(N, T-1, V)``.

    ``|delta (p_j - p_a)|`` between consecutive frames (leg lengths per
    frame), ``a`` = :attr:`KinematicTree.vel_anchor` (the joint the velocity
    warp of ``j``'s segment keeps fixed): exactly the quantity the warp
    scales. Joints no segment warp moves (the root, COCO-17 shoulders) get
    their speed in the normalised frame. NaN when a needed keypoint is
    missing in either frame.
    """
    x, _, tree = _check(clips, layout)
    xy = _positions(x)
    rel = xy - np.where((tree.vel_anchor >= 0)[:, None], xy[:, :, np.maximum(tree.vel_anchor, 0)], 0.0)
    return np.linalg.norm(np.diff(rel, axis=1), axis=-1)


def frame_angle_change(clips, layout) -> np.ndarray:
    """Per-frame absolute change of each joint's bone angle (parent -> joint), radians, ``(N, T-1, V)``.

    The angle is taken against the horizontal axis (Pellano et al.); the
    change is wrapped to [0, pi]. NaN at the root and where the bone is
    missing in either frame.
    """
    x, _, tree = _check(clips, layout)
    b = _bones(_positions(x), tree)
    d = np.diff(np.arctan2(b[..., 1], b[..., 0]), axis=1)
    return np.abs((d + np.pi) % (2 * np.pi) - np.pi)


def perturbation_groups(kind: str, joints, layout) -> list[np.ndarray]:
    """Joints perturbed together with one factor when ``joints`` are selected (``kind`` "velocity" or "angle").

    Velocity: each segment containing a selected joint, as the joints its
    warp moves (its anchors stay). Angle: the head unit if a head joint is
    selected, then each other selected joint that has a bone (not the root).
    """
    if kind not in ("velocity", "angle"):
        raise ValueError(f"kind must be 'velocity' or 'angle', got {kind!r}")
    lay = get_layout(layout)
    tree = kinematic_tree(lay)
    chosen = set(joint_indices(joints, lay).tolist())
    if kind == "velocity":
        names = [s for s, js in lay.segments.items() if chosen & set(js)]
        groups = [np.array([j for j in range(lay.num_joints) if tree.owner[j] == s]) for s in names]
    else:
        head = set(lay.segments.get("head", ()))
        groups = [np.array(tree.head_unit)] if chosen & head and tree.head_unit else []
        groups += [np.array([j]) for j in sorted(chosen - head) if tree.parents[j] >= 0]
    return [g for g in groups if g.size]


def _group_factor(f: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The factor ``(N,)`` of a group; ``f[:, group]`` must agree within it."""
    if not (f[:, group] == f[:, group[:1]]).all():
        raise ValueError(f"factor must be equal for joints perturbed together (joints {group.tolist()}); "
                         f"use sample_factors, which applies the segment constraint")
    return f[:, group[0]]


def _apply(x: np.ndarray, tree: KinematicTree, d_bone: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Move every joint by the bone changes ``d_bone`` ``(N, T, K, 2)`` of bones ``cols`` on its root path.

    NaN changes (bones that cannot be measured) count as none. NaN keypoints
    stay NaN; lost ones with coordinates (confidence 0), never measured,
    are carried along like the rest, so every bone keeps its length. Clips
    without any change come back bitwise equal.
    """
    disp = np.matmul(tree.carry[:, cols], np.nan_to_num(d_bone, nan=0.0))   # (V, K) @ (N, T, K, 2)
    out = x.copy()
    moved = np.abs(disp).sum(axis=(1, 2, 3)) > 0
    out[moved, ..., :2] = (x[moved, ..., :2].astype(np.float64) + disp[moved]).astype(x.dtype)
    return out


def _warp_times(f: np.ndarray, size: int) -> np.ndarray:
    """Warped (fractional) frame of each output frame ``(N, T, K)`` for speed factors ``f`` ``(N, K)``.

    ``tau = c + f (t - c)`` about the clip's middle ``c``, folded back into
    the clip by reflection at its ends (a triangle wave, as many times as a
    speedup needs).
    """
    c = (size - 1) / 2
    tau = c + f[:, None, :] * (np.arange(size)[None, :, None] - c)
    period = 2.0 * (size - 1)
    u = np.mod(tau, period)
    return np.where(u > size - 1, period - u, u)


def warp_velocity(clips, joints, factor, layout) -> np.ndarray:
    """Speed up (``factor > 1``) or slow down (``< 1``) the segments that contain the selected joints.

    Each bone a selected segment's warp moves (:attr:`KinematicTree.owner`)
    is resampled at frame ``tau(t) = c + factor (t - c)`` (``c`` the clip's
    middle), by linear interpolation of its length and unwrapped angle
    (:func:`scipy.ndimage.map_coordinates`, order 1, = ``np.interp``), and
    the skeleton is rebuilt from the unwarped anchors: the speed of every
    moved joint relative to its anchor (:func:`frame_speed`) is multiplied
    by ``factor``, bones keep their length (their length at ``tau(t)``), the
    segment stays attached. Joints that hang from a warped segment are
    translated with it; all others never move.

    Beyond the clip's ends (speedup) the warped time is reflected back into
    the clip: positions stay continuous and every frame-to-frame speed is
    ``factor`` times an original one (except the frame of each turn), and
    the clip shows only poses it had — the property Pellano et al. give
    velocity perturbation. Wrapping round periodically would put a jump at
    each seam (a clip is rarely a whole number of strides), a spike in the
    velocity the models see; holding the last pose would make the speed 0.
    The price: after a turn the motion runs backwards in time.

    Parameters
    ----------
    clips : array ``(N, T, V, C)``
        Normalised-frame clips; missing keypoints NaN (or confidence 0).
    joints : sequence of int or str
    factor : float, array ``(N,)`` or ``(N, V)``
        Speed factor (> 0); ``(N, V)`` as from :func:`sample_factors`, equal
        within each segment.
    layout : str or SkeletonLayout

    Returns
    -------
    array
        Same shape and dtype; confidences unchanged, so missing keypoints
        stay missing (NaN stays NaN); a present one whose warped time falls
        in a gap gets the interpolated pose. Clips with factor 1 are bitwise
        equal.
    """
    x, lay, tree = _check(clips, layout)
    n, size, v, _ = x.shape
    f = _factors(factor, n, v)
    groups = perturbation_groups("velocity", joints, lay)
    if not groups or size < 2 or (f == 1).all():
        return x.copy()
    cols = np.concatenate(groups)
    fk = np.concatenate([np.repeat(_group_factor(f, g)[:, None], g.size, axis=1) for g in groups], axis=1)
    b = _bones(_positions(x), tree)[:, :, cols]                               # (N, T, K, 2)
    length = _fill_gaps(np.linalg.norm(b, axis=-1))
    angle = _unwrapped(np.arctan2(b[..., 1], b[..., 0]))
    tau = _warp_times(fk, size)
    grid = np.meshgrid(np.arange(n), np.arange(size), np.arange(cols.size), indexing="ij")
    coords = np.stack([grid[0], tau, grid[2]])

    def resample(y):
        return map_coordinates(np.nan_to_num(y), coords, order=1, mode="nearest")

    new_len, new_ang = resample(length), resample(angle)
    d_bone = (np.stack([new_len * np.cos(new_ang), new_len * np.sin(new_ang)], axis=-1)
              - np.stack([length * np.cos(angle), length * np.sin(angle)], axis=-1))
    d_bone[(fk == 1)[:, None, :].repeat(size, axis=1)] = 0.0
    return _apply(x, tree, d_bone, cols)


def scale_angles(clips, joints, factor, layout) -> np.ndarray:
    """Shrink (``factor < 1``) or amplify (``> 1``) the angular motion of the selected joints' bones.

    Each selected joint's bone (from its parent in :func:`kinematic_tree`)
    gets the angle ``theta(0) + factor (theta(t) - theta(0))`` (unwrapped,
    against the horizontal; ``theta(0)`` = its first measured frame): every
    frame-to-frame change is multiplied by ``factor``. Positions are rebuilt
    from the root outwards, so every bone keeps its length in every frame;
    unselected descendants keep their own bone vector (carried along
    rigidly, by translation), selected ones are scaled by their own factor,
    independently of their parent's. So every unselected bone's angle is
    untouched and every selected bone's angle change is scaled exactly by
    its factor, as the P5 / P95 factors of Pellano et al. assume. The head (``layout.segments["head"]``) turns as one
    rigid unit about its attachment (BODY_25: the neck; COCO-17, whose root
    is the nose: eyes and ears about the nose) by the scaled change of the
    mean angle of its bones from that pivot. The root itself has no bone and
    does not turn. A bone whose end or parent is missing in a frame is not
    turned in that frame.

    Parameters
    ----------
    clips : array ``(N, T, V, C)``
    joints : sequence of int or str
    factor : float, array ``(N,)`` or ``(N, V)``
        Scale (> 0) of the angle changes; ``(N, V)`` as from
        :func:`sample_factors` (equal over the head unit).
    layout : str or SkeletonLayout

    Returns
    -------
    array
        Same shape and dtype; confidences unchanged, so missing keypoints
        stay missing (NaN stays NaN); clips with factor 1 bitwise equal.
    """
    x, lay, tree = _check(clips, layout)
    n, size, v, _ = x.shape
    f = _factors(factor, n, v)
    groups = perturbation_groups("angle", joints, lay)
    if not groups or (f == 1).all():
        return x.copy()
    b = _bones(_positions(x), tree)
    angle = _unwrapped(np.arctan2(b[..., 1], b[..., 0]))
    dev = angle - angle[:, :1]                                     # theta(t) - theta(first measured frame)
    delta = np.zeros((n, size, v))
    for g in groups:
        scale = _group_factor(f, g)[:, None] - 1.0
        if g[0] in tree.head_unit:                                 # the head: one rigid turn
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                turn = np.nan_to_num(np.nanmean(dev[..., list(tree.head_ref)], axis=-1))
            delta[..., g] = (scale * turn)[..., None]
        else:
            delta[..., g] = scale[..., None] * dev[..., g]
    cos, sin = np.cos(delta), np.sin(delta)
    turned = np.stack([cos * b[..., 0] - sin * b[..., 1], sin * b[..., 0] + cos * b[..., 1]], axis=-1)
    return _apply(x, tree, turned - b, np.arange(v))


