"""Joint mappings between layouts that never invent a joint.

A target joint is taken from the source joint of the same name, or of an
equivalent name (:data:`EQUIVALENT_NAMES`). Two joints that several formats
lack are **derived** from joints the source has, because they are defined as
a midpoint and not as an anatomical landmark of their own (:data:`DERIVED`):
OpenPose's ``neck`` (between the shoulders) and ``mid_hip`` (between the
hips). Every other target joint the source lacks is **absent**: NaN
positions and zero confidence in every frame, listed by
:func:`absent_joints`, so that the features needing it are NaN with a
reason instead of computed from a made-up point.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from gaitfeat.errors import LayoutError
from gaitfeat.layouts.skeleton import SkeletonLayout

__all__ = ["EQUIVALENT_NAMES", "DERIVED", "map_joints", "map_confidence", "absent_joints", "pipeline_layout_for",
           "joint_sources"]

#: Joint names of other formats that denote the same anatomical point as ours.
EQUIVALENT_NAMES: dict[str, tuple[str, ...]] = {
    # MediaPipe's "foot index" is the tip of the foot at the big toe.
    "left_big_toe": ("left_foot_index",),
    "right_big_toe": ("right_foot_index",),
}

_REVERSE: dict[str, tuple[str, ...]] = {}
for _ours, _theirs in EQUIVALENT_NAMES.items():
    for _name in _theirs:
        _REVERSE[_name] = (*_REVERSE.get(_name, ()), _ours)

#: Joints defined as the midpoint of two others; derived only when the source lacks them.
DERIVED: dict[str, tuple[str, str]] = {
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}


def _layout(layout: str | SkeletonLayout) -> SkeletonLayout:
    from gaitfeat.layouts import get_layout

    return get_layout(layout, pipeline=False)


@lru_cache(maxsize=64)
def _plan(source: str, target: str) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    src, dst = _layout(source), _layout(target)
    plan, absent = [], []
    for name in dst.joints:
        candidates = (name, *EQUIVALENT_NAMES.get(name, ()), *_REVERSE.get(name, ()))
        found = next((c for c in candidates if src.has(c)), None)
        if found is not None:
            plan.append((src.index(found),))
        elif name in DERIVED and all(src.has(p) for p in DERIVED[name]):
            plan.append(src.indices(*DERIVED[name]))
        else:
            plan.append(())
            absent.append(name)
    return tuple(plan), tuple(absent)


def joint_sources(source: str | SkeletonLayout, target: str | SkeletonLayout) -> dict[str, tuple[str, ...]]:
    """Where each target joint comes from: ``{target joint: source joints}`` (empty tuple = absent)."""
    src, dst = _layout(source), _layout(target)
    plan, _ = _plan(src.name, dst.name)
    return {name: tuple(src.joints[i] for i in idx) for name, idx in zip(dst.joints, plan)}


def absent_joints(source: str | SkeletonLayout, target: str | SkeletonLayout) -> tuple[str, ...]:
    """Target joints that ``source`` can never provide (always NaN after :func:`map_joints`)."""
    return _plan(_layout(source).name, _layout(target).name)[1]


def _check(values: np.ndarray, src: SkeletonLayout, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim < (2 if what == "values" else 1):
        raise LayoutError(f"{what} must have a joint axis, got shape {arr.shape}")
    axis = -2 if what == "values" else -1
    if arr.shape[axis] != src.num_joints:
        raise LayoutError(f"{what} have {arr.shape[axis]} joints but layout {src.name!r} has {src.num_joints}")
    return arr.astype(np.float64, copy=False)


def map_joints(values: np.ndarray, source: str | SkeletonLayout, target: str | SkeletonLayout) -> np.ndarray:
    """Re-index coordinates ``(..., V_source, C)`` to ``(..., V_target, C)`` (float64).

    Same-name (or equivalent) joints are copied; a derived joint
    (:data:`DERIVED`) is the mean of its two source joints, NaN where either
    is NaN; every other joint the source lacks is NaN.

    Raises
    ------
    LayoutError
        Unknown layout name, or the joint axis does not match ``source``.
    """
    src, dst = _layout(source), _layout(target)
    arr = _check(values, src, "values")
    plan, _ = _plan(src.name, dst.name)
    out = np.full((*arr.shape[:-2], dst.num_joints, arr.shape[-1]), np.nan)
    for j, idx in enumerate(plan):
        if len(idx) == 1:
            out[..., j, :] = arr[..., idx[0], :]
        elif len(idx) == 2:
            out[..., j, :] = 0.5 * (arr[..., idx[0], :] + arr[..., idx[1], :])
    return out


def map_confidence(conf: np.ndarray, source: str | SkeletonLayout, target: str | SkeletonLayout) -> np.ndarray:
    """Re-index confidences ``(..., V_source)`` like :func:`map_joints`: derived = the lower of the two, absent = 0."""
    src, dst = _layout(source), _layout(target)
    arr = _check(conf, src, "confidences")
    plan, _ = _plan(src.name, dst.name)
    out = np.zeros((*arr.shape[:-1], dst.num_joints))
    for j, idx in enumerate(plan):
        if len(idx) == 1:
            out[..., j] = arr[..., idx[0]]
        elif len(idx) == 2:
            out[..., j] = np.minimum(arr[..., idx[0]], arr[..., idx[1]])
    return np.nan_to_num(out, nan=0.0)


def pipeline_layout_for(source: str | SkeletonLayout) -> str:
    """The pipeline layout a source maps to: ``"body25"`` when it has heels and big toes, else ``"coco17"``.

    The foot points carry the foot-contact features (:mod:`gaitfeat.features`);
    without them COCO-17 loses nothing the source had except the neck and
    mid-hip, which the pipeline recomputes from shoulders and hips anyway.
    """
    src = _layout(source)
    absent = set(absent_joints(src, "body25"))
    feet = {f"{s}_{p}" for s in ("left", "right") for p in ("heel", "big_toe")}
    return "coco17" if absent & feet else "body25"
