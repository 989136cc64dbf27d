"""How a model responds to kinematic perturbations of the joints an explanation points to.

The protocol of K. N. Pellano et al., "Towards Biomarker Discovery for Early
Cerebral Palsy Detection: Evaluating Explanations Through Kinematic
Perturbations" (their Algorithms 2 and 3), on the geometry of
:mod:`models.perturb`:

1. :func:`velocity_reference` / :func:`angle_reference` — the typical range
   (5th and 95th percentile per joint) of the per-frame speed / absolute
   angle change over one group's **training** clips.
2. :func:`sample_factors` — per test clip, the factors that bring its own
   P5 (``s_min``) or P95 (``s_max``) to the reference's, with the segment
   constraint.
3. :func:`perturb` — that factor times a multiplier
   (:data:`SLOWDOWN_MULTIPLIERS` x ``s_min``, :data:`SPEEDUP_MULTIPLIERS` x
   ``s_max``), applied to velocity, angles, or both in turn.
4. :func:`response_curves` — for the top-k joints and the others, the
   median and quartiles of a score (e.g. the predicted probability of GMFCS
   III-IV, or the expected level) at every multiplier. A model enters only
   as ``score_fn(clips) -> (N,)``, called batch by batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.perturb import (frame_angle_change, frame_speed, joint_indices, perturbation_groups, scale_angles,
                            warp_velocity)

__all__ = ["Reference", "SampleFactors", "velocity_reference", "angle_reference", "sample_factors", "kind_factors",
           "perturb", "response_curves", "SLOWDOWN_MULTIPLIERS", "SPEEDUP_MULTIPLIERS", "KINDS", "MODES", "COLUMNS"]

#: Multipliers of the sample-specific slowdown factor ``s_min`` (Pellano et al., Algorithms 2 and 3).
SLOWDOWN_MULTIPLIERS = (0.20, 0.25, 0.33, 0.5, 1.0)
#: Multipliers of the sample-specific speedup factor ``s_max``.
SPEEDUP_MULTIPLIERS = (1.0, 2.0, 3.0, 4.0, 5.0)
KINDS = ("velocity", "angle", "both")
MODES = ("slowdown", "speedup")
#: Columns of :func:`response_curves`.
COLUMNS = ("kind", "mode", "multiplier", "joint_set", "median", "q25", "q75", "n", "baseline_median")

_QUANTITY = {"velocity": frame_speed, "angle": frame_angle_change}
_OPERATION = {"velocity": warp_velocity, "angle": scale_angles}


@dataclass(frozen=True)
class Reference:
    """Typical range of a per-frame quantity, per joint, from one group's training clips.

    Attributes
    ----------
    kind : {"velocity", "angle"}
        Speed (leg lengths per frame, :func:`models.perturb.frame_speed`) or
        absolute angle change (radians per frame,
        :func:`models.perturb.frame_angle_change`).
    p5, p95 : array ``(V,)``
        5th and 95th percentiles over all frames of all clips, NaN ignored
        (NaN for a joint never measured, e.g. the root's angle).
    """

    kind: str
    p5: np.ndarray
    p95: np.ndarray

    def __post_init__(self):
        if self.kind not in _QUANTITY:
            raise ValueError(f"Reference kind must be 'velocity' or 'angle', got {self.kind!r}")
        p5, p95 = (np.array(p, dtype=np.float64) for p in (self.p5, self.p95))
        if p5.ndim != 1 or p5.shape != p95.shape:
            raise ValueError(f"Reference p5 and p95 must be (V,) arrays of one shape, got {p5.shape} and {p95.shape}")
        for name, p in (("p5", p5), ("p95", p95)):
            p.setflags(write=False)
            object.__setattr__(self, name, p)


class SampleFactors(tuple):
    """``(s_min, s_max)``, each ``(N, V)``; unpacks as a pair.

    Attributes
    ----------
    s_min, s_max : array ``(N, V)``
        Slowdown and speedup factor of each clip and joint (1 for joints the
        selection does not perturb).
    n_guarded : int
        (clip, joint) ratios, over ``s_min`` and ``s_max``, left out of the
        group's choice because the sample's or the reference's percentile is
        zero or NaN (a joint that never moves or is never seen).
    n_fallback : int
        (clip, group) choices, over ``s_min`` and ``s_max``, where no joint
        qualified, so the factor is 1.
    """

    def __new__(cls, s_min, s_max, n_guarded=0, n_fallback=0):
        obj = super().__new__(cls, (s_min, s_max))
        obj.n_guarded, obj.n_fallback = int(n_guarded), int(n_fallback)
        return obj

    s_min = property(lambda self: self[0])
    s_max = property(lambda self: self[1])


def _percentiles(q: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():                  # a joint never measured gets NaN, which is what we want
        warnings.simplefilter("ignore", RuntimeWarning)
        p5, p95 = np.nanpercentile(q, [5, 95], axis=axis)
    return p5, p95


def _quantity(clips, layout, kind: str) -> np.ndarray:
    q = _QUANTITY[kind](clips, layout)
    if q.shape[1] == 0:
        raise ValueError("clips need at least 2 frames to measure a per-frame change")
    return q


def velocity_reference(clips, layout) -> Reference:
    """P5 / P95 per joint of :func:`~models.perturb.frame_speed` over training clips ``(N, T, V, C)``.

    Pass the training clips of one group (e.g. one GMFCS group or risk
    group), never test clips: the reference is the typical range the test
    clips are scaled towards.
    """
    return Reference("velocity", *_percentiles(_quantity(clips, layout, "velocity"), axis=(0, 1)))


def angle_reference(clips, layout) -> Reference:
    """P5 / P95 per joint of :func:`~models.perturb.frame_angle_change` over one group's training clips."""
    return Reference("angle", *_percentiles(_quantity(clips, layout, "angle"), axis=(0, 1)))


def sample_factors(clips, reference: Reference, layout, joints) -> SampleFactors:
    """Sample-specific slowdown and speedup factors (Pellano et al., Algorithms 2 and 3).

    Per clip and joint, ``s_min = P5_ref / P5_sample`` and ``s_max = P95_ref
    / P95_sample`` of the reference's quantity. Then, within each group
    perturbed together (:func:`models.perturb.perturbation_groups`;
    velocity: the joints a selected segment's warp moves; angle: the head
    unit, every other joint alone), slowdown takes the largest ``s_min <=
    1`` and speedup the smallest ``s_max >= 1``. When no joint of a group
    qualifies (the clip is already slower than the reference's P5, or faster
    than its P95, everywhere in the group) the factor is 1 (counted in
    ``n_fallback``). A ratio with a zero or NaN percentile takes no part
    (counted in ``n_guarded``) instead of becoming 0 or infinite.

    Parameters
    ----------
    clips : array ``(N, T, V, C)``
    reference : Reference
        From the training clips of the clips' group; its ``kind`` chooses
        speed or angle change.
    layout : str or SkeletonLayout
    joints : sequence of int or str, or boolean mask ``(V,)``
        Selected joints (e.g. the top-k set).

    Returns
    -------
    SampleFactors
        ``(s_min, s_max)``, each ``(N, V)``: the group's factor at its
        joints, 1 elsewhere.
    """
    if not isinstance(reference, Reference):
        raise ValueError(f"reference must be a Reference (velocity_reference / angle_reference), "
                         f"got {type(reference).__name__}")
    q = _quantity(clips, layout, reference.kind)
    if reference.p5.shape != (q.shape[2],):
        raise ValueError(f"reference has {reference.p5.size} joints, clips have {q.shape[2]}")
    groups = perturbation_groups(reference.kind, joints, layout)
    p5, p95 = _percentiles(q, axis=1)
    out, n_guarded, n_fallback = [], 0, 0
    for ref, sample, upward in ((reference.p5, p5, False), (reference.p95, p95, True)):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = ref / sample
        ratio[~(np.isfinite(ratio) & (ratio > 0))] = np.nan
        s = np.ones_like(ratio)
        for g in groups:
            r = ratio[:, g]
            n_guarded += int(np.isnan(r).sum())
            ok = (r >= 1) if upward else (r <= 1)            # NaN compares False: guarded ratios never qualify
            pick = np.where(ok, r, np.inf).min(axis=1) if upward else np.where(ok, r, -np.inf).max(axis=1)
            none = ~ok.any(axis=1)
            n_fallback += int(none.sum())
            s[:, g] = np.where(none, 1.0, pick)[:, None]
        out.append(s)
    return SampleFactors(out[0], out[1], n_guarded, n_fallback)


def _check_choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _steps(kind: str, references) -> dict:
    """The references a kind needs, in the order they are applied (velocity, then angle)."""
    _check_choice(kind, KINDS, "kind")
    items = references.values() if isinstance(references, dict) else \
        [references] if isinstance(references, Reference) else list(references)
    refs = {}
    for r in items:
        if not isinstance(r, Reference):
            raise ValueError(f"references must be Reference objects, got {type(r).__name__}")
        refs[r.kind] = r
    steps = [k for k in ("velocity", "angle") if kind in (k, "both")]
    lacking = [k for k in steps if k not in refs]
    if lacking:
        raise ValueError(f"kind={kind!r} needs a {' and an '.join(lacking)} reference, got {sorted(refs)}")
    return {k: refs[k] for k in steps}


def _apply(clips, joints, multiplier: float, mode: str, factors: dict, layout) -> np.ndarray:
    out = clips
    for k, sf in factors.items():                        # dicts keep order: velocity before angle
        out = _OPERATION[k](out, joints, multiplier * sf[MODES.index(mode)], layout)
    return out


def kind_factors(clips, joints, *, kind: str, references, layout) -> dict:
    """The :func:`sample_factors` a ``kind`` of perturbation applies to these clips and joints, in order.

    They depend on the clips, joints and references, not on the mode or
    multiplier: compute them once and pass them to :func:`perturb` for every
    multiplier.
    """
    return {k: sample_factors(clips, r, layout, joints) for k, r in _steps(kind, references).items()}


def perturb(clips, joints, multiplier: float, *, mode: str = "slowdown", kind: str = "velocity",
            references, layout, factors: dict | None = None) -> np.ndarray:
    """Pellano et al.'s perturbation: the sample-specific factor times ``multiplier``.

    ``mode="slowdown"`` uses ``multiplier * s_min`` (multipliers
    :data:`SLOWDOWN_MULTIPLIERS`), ``"speedup"`` ``multiplier * s_max``
    (:data:`SPEEDUP_MULTIPLIERS`), from :func:`sample_factors` on these
    clips. ``kind="both"`` warps velocity, then scales angles; both factor
    sets come from the unperturbed clips, so the effects compound (an angle
    factor measured after the warp would undo the warp's change of angular
    speed).

    Parameters
    ----------
    clips : array ``(N, T, V, C)``
    joints : sequence of int or str, or boolean mask ``(V,)``
    multiplier : float
        > 0.
    mode : {"slowdown", "speedup"}
    kind : {"velocity", "angle", "both"}
    references : Reference, or a sequence / dict of them
        The velocity and/or angle reference the kind needs (matched by their
        ``kind``).
    layout : str or SkeletonLayout
    factors : dict, optional
        :func:`kind_factors` of these clips, joints, kind and references
        (computed here when omitted).

    Returns
    -------
    array
        Perturbed copy, same shape and dtype.
    """
    _check_choice(mode, MODES, "mode")
    m = float(multiplier) if np.ndim(multiplier) == 0 and not isinstance(multiplier, (str, bytes)) else np.nan
    if not (np.isfinite(m) and m > 0):
        raise ValueError(f"multiplier must be one finite number > 0, got {multiplier!r}")
    if factors is None:
        factors = kind_factors(clips, joints, kind=kind, references=references, layout=layout)
    elif list(factors) != list(_steps(kind, references)):
        raise ValueError(f"factors hold {list(factors)}, but kind={kind!r} needs {list(_steps(kind, references))}")
    return _apply(np.asarray(clips), joints, m, mode, factors, layout)


def _score(score_fn: Callable, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(score_fn(batch), dtype=np.float64).reshape(-1)
    if out.shape != (len(batch),):
        raise ValueError(f"score_fn must return one score per clip ({len(batch)}), got shape {out.shape}")
    return out


def response_curves(score_fn: Callable[[np.ndarray], np.ndarray], clips, top_k, references, layout, *,
                    kinds=KINDS, modes=MODES, batch_size: int = 256) -> pd.DataFrame:
    """Median score (and quartiles) of perturbed clips at every multiplier, for the top-k joints and the others.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(clips (B, T, V, C)) -> (B,)`` float, e.g. the predicted
        probability of GMFCS III-IV or the expected level. Called on batches
        of at most ``batch_size`` clips; a non-finite score is left out of
        the statistics (``n`` counts the rest).
    clips : array ``(N, T, V, C)``
        Test clips of one group.
    top_k : sequence of int or str, or boolean mask ``(V,)``
        The significant joints; the others (``non_top_k``) are every other
        joint of the layout.
    references : Reference or sequence / dict of them
        Velocity and/or angle references from the group's training clips.
    layout : str or SkeletonLayout
    kinds : sequence of {"velocity", "angle", "both"}
    modes : sequence of {"slowdown", "speedup"}
    batch_size : int

    Returns
    -------
    DataFrame
        One row per kind, mode, multiplier and joint set, columns
        :data:`COLUMNS`: ``kind, mode, multiplier, joint_set`` ("top_k" or
        "non_top_k"), ``median, q25, q75, n`` of the scores, and
        ``baseline_median`` (the unperturbed clips' median score).
    """
    x = np.asarray(clips)
    if x.ndim != 4:
        raise ValueError(f"clips must be an (N, T, V, C) array, got shape {x.shape}")
    top = joint_indices(top_k, layout)
    rest = np.setdiff1d(np.arange(x.shape[2]), top)
    if rest.size == 0:
        raise ValueError("top_k holds every joint: there is no non-top-k set to compare with")
    kinds, modes = tuple(kinds), tuple(modes)
    for m in modes:
        _check_choice(m, MODES, "mode")
    steps = {k: _steps(k, references) for k in kinds}
    if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    sets = {"top_k": top, "non_top_k": rest}
    keys = [(k, m, mult, s) for s in sets for k in kinds for m in modes
            for mult in (SLOWDOWN_MULTIPLIERS if m == "slowdown" else SPEEDUP_MULTIPLIERS)]
    scores = {key: [] for key in keys}
    baseline = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        baseline.append(_score(score_fn, batch))
        for s, joints in sets.items():
            # Factors depend on the clips, joint set and reference, not on the multiplier: once per batch.
            factors = {r: sample_factors(batch, ref, layout, joints)
                       for r, ref in {r: ref for k in kinds for r, ref in steps[k].items()}.items()}
            for k in kinds:
                for m in modes:
                    for mult in (SLOWDOWN_MULTIPLIERS if m == "slowdown" else SPEEDUP_MULTIPLIERS):
                        perturbed = _apply(batch, joints, mult, m, {r: factors[r] for r in steps[k]}, layout)
                        scores[(k, m, mult, s)].append(_score(score_fn, perturbed))
    base = np.concatenate(baseline)
    base_median = float(np.median(base[np.isfinite(base)])) if np.isfinite(base).any() else np.nan
    rows = []
    for key in keys:
        v = np.concatenate(scores[key])
        v = v[np.isfinite(v)]
        q25, median, q75 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
        rows.append((*key, float(median), float(q25), float(q75), int(v.size), base_median))
    return pd.DataFrame(rows, columns=list(COLUMNS))
