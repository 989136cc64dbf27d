"""Which joints are significant for a group of confidently classified clips (Pellano et al.'s procedure).

K. N. Pellano et al., "Towards Biomarker Discovery for Early Cerebral Palsy
Detection: Evaluating Explanations Through Kinematic Perturbations", pick the
significant keypoints of a skeleton GCN in three steps (their Appendix C.1,
Algorithm 1), reproduced here for attribution maps of any method:

1. **Confident groups** (:func:`confident_groups`). They kept only the 5-s
   windows whose ensemble risk scores had their whole interquartile range
   (IQR) below ("very low risk") or above ("very high risk") the decision
   threshold. Our analogue for GMFCS levels: "low" when the probability of
   the mild levels, "high" when that of the severe levels, has its whole IQR
   over several estimates per clip (fold models, overlapping windows) at or
   above a probability threshold; with one model the IQR is a point.
2. **Colour coding** (:func:`colour_code`, :func:`significance_threshold`).
   Per joint, the IQR of the attribution scores is compared with a threshold
   θ: green "very_low" (whole IQR below θ), yellow "low" (median below, IQR
   straddling), orange "high" (median above, IQR straddling), red
   "very_high" (whole IQR above). The joint importance of a group is the
   share of its clips in which a joint is green (low group) or red (high
   group) (:func:`category_frequency`).
3. **Top-k** (:func:`top_k_joints`). The importances sorted in decreasing
   order are cut by the Kneedle knee (V. Satopää, J. Albrecht, D. Irwin and
   B. Raghavan, "Finding a 'Kneedle' in a Haystack: Detecting Knee Points in
   System Behavior", ICDCS workshops 2011; the ``kneed`` package) and by
   2-means; a joint is top-k only when both select it (their conservative
   vote). :func:`significant_joints` chains steps 2 and 3.

Per-clip joint scores come from :func:`joint_scores` (each clip's map
averaged over frames and divided by its own maximum, as their scores in
[0, 1]); :func:`models.deep.explain.joint_contributions` is the pooled,
min-max scaled summary used for display, a different quantity.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from kneed import KneeLocator
from sklearn.cluster import KMeans

__all__ = ["joint_scores", "confident_groups", "colour_code", "significance_threshold", "category_frequency",
           "top_k_joints", "significant_joints", "TopK", "CATEGORIES", "DEFAULT_PROBABILITY"]

#: Colour categories of :func:`colour_code`, from green to red.
CATEGORIES = ("very_low", "low", "high", "very_high")
#: Default probability a clip's mild (or severe) levels must reach to count as confidently classified.
DEFAULT_PROBABILITY = 0.7


def _finite(a, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def joint_scores(maps, *, absolute: bool = True, return_empty: bool = False):
    """One score per clip and joint, normalised per clip.

    Parameters
    ----------
    maps : array ``(N, T, V)``
        Attribution maps (signed or non-negative) per clip, frame and joint.
    absolute : bool
        ``True``: mean over frames of ``|map|`` (how much a joint mattered,
        whatever the sign), in [0, 1]. ``False``: mean of the signed map,
        divided by the clip's largest absolute score, in [-1, 1] (in [0, 1]
        for non-negative maps such as rectified CAM / Grad-CAM).
    return_empty : bool
        Also return the flag of clips whose map is zero everywhere.

    Returns
    -------
    scores : array ``(N, V)``
        Unitless; each clip's largest (absolute) score is 1, so every clip
        counts equally in later percentiles, as in Pellano et al. A clip
        whose joint scores are all zero stays all zeros (not NaN); such clips
        are reported by a ``RuntimeWarning`` unless ``return_empty``.
    empty : bool array ``(N,)``
        Only with ``return_empty``.
    """
    m = _finite(maps, "maps", (3,))
    per_joint = np.abs(m).mean(axis=1) if absolute else m.mean(axis=1)
    peak = np.abs(per_joint).max(axis=1)
    empty = peak == 0
    scores = np.divide(per_joint, peak[:, None], out=np.zeros_like(per_joint), where=~empty[:, None])
    if return_empty:
        return scores, empty
    if empty.any():
        warnings.warn(f"{int(empty.sum())} of {len(m)} clips have an all-zero attribution map; "
                      "their joint scores are left at 0", RuntimeWarning, stacklevel=2)
    return scores


def confident_groups(proba, classes, *, low=(1,), high=(3, 4), threshold: float = DEFAULT_PROBABILITY) -> np.ndarray:
    """Clips the model classifies confidently as mild ("low") or severe ("high"); others ``""``.

    Pellano et al. kept a window when the IQR of its ensemble risk scores
    lay entirely below or above the decision threshold. Here, per clip, the
    probability of the ``low`` levels (summed over those classes) and of the
    ``high`` levels is computed for each estimate; a clip is "low" when the
    25th percentile of P(low) over the estimates reaches ``threshold`` (the
    whole IQR is at or above it), "high" likewise for P(high). With one
    estimate per clip the IQR is a single value, so the rule is simply
    P(low) >= threshold. ``threshold > 0.5`` makes the two groups exclusive;
    the levels in neither set (e.g. GMFCS II) only dilute both probabilities.

    Parameters
    ----------
    proba : array ``(N, K)`` or ``(R, N, K)``
        Class probabilities of one model, or of ``R`` estimates per clip
        (fold models, overlapping windows of the same walk).
    classes : sequence ``(K,)``
        Class label of each column (e.g. GMFCS levels).
    low, high : sequence of labels
        Disjoint sets of classes, each present in ``classes``.
    threshold : float in (0.5, 1]
        Probability the group's levels must reach.

    Returns
    -------
    array ``(N,)`` of str
        "low", "high" or "".
    """
    p = _finite(proba, "proba", (2, 3))
    if p.ndim == 2:
        p = p[None]
    classes = list(np.asarray(classes).tolist())
    if len(classes) != p.shape[-1]:
        raise ValueError(f"classes has {len(classes)} labels but proba has {p.shape[-1]} columns")
    if (p < -1e-9).any() or (p > 1 + 1e-9).any() or not np.allclose(p.sum(axis=-1), 1.0, atol=1e-3):
        raise ValueError("proba must hold probabilities in [0, 1] summing to 1 over classes")
    if not 0.5 < threshold <= 1:
        raise ValueError(f"threshold must be in (0.5, 1] so that a clip cannot be in both groups, got {threshold}")
    low, high = list(np.atleast_1d(low).tolist()), list(np.atleast_1d(high).tolist())
    if set(low) & set(high):
        raise ValueError(f"low and high share classes {sorted(set(low) & set(high))}")
    missing = [c for c in low + high if c not in classes]
    if missing or not low or not high:
        raise ValueError(f"low and high must be non-empty sets of classes in {classes}; not found: {missing}")
    p_low = p[..., [classes.index(c) for c in low]].sum(axis=-1)          # (R, N)
    p_high = p[..., [classes.index(c) for c in high]].sum(axis=-1)
    out = np.full(p.shape[1], "", dtype=object)
    out[np.percentile(p_low, 25, axis=0) >= threshold] = "low"
    out[np.percentile(p_high, 25, axis=0) >= threshold] = "high"
    return out


def colour_code(scores, threshold: float) -> np.ndarray:
    """Pellano et al.'s colour category of each joint from the IQR of its scores.

    Parameters
    ----------
    scores : array ``(R, V)`` or ``(R, N, V)``
        The distribution is taken over the first axis: ``(R, N, V)`` holds
        ``R`` ensemble members' scores per clip (their use: one colour per
        clip and joint); ``(N, V)`` per-clip scores of a group (one colour
        per joint for the group). Pass ``scores[None]`` for one model per
        clip: the IQR is then a point, so only "very_low" / "very_high"
        occur (a score exactly at θ is "high").
    threshold : float
        θ, on the scale of the scores.

    Returns
    -------
    array of str, shape ``scores.shape[1:]``
        "very_low" (P75 < θ), "low" (median < θ <= P75), "high" (P25 <= θ
        <= median), "very_high" (P25 > θ) — the strict inequalities of their
        Algorithm 1.
    """
    s = _finite(scores, "scores", (2, 3))
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    p25, med, p75 = np.percentile(s, [25, 50, 75], axis=0)
    out = np.where(med < threshold, "low", "high").astype(object)
    out[p75 < threshold] = "very_low"
    out[p25 > threshold] = "very_high"
    return out


def significance_threshold(scores_high_group, share: float = 0.7, *, groups=None) -> float:
    """θ: the mean joint score that ``share`` of the high group reaches.

    Pellano et al. set θ to "the minimum mean attribution score across
    keypoints for 70 % of the infants classified with CP": each subject's
    scores averaged over keypoints, and θ the value at or above which 70 %
    of them lie, i.e. the 30th percentile (``1 - share``) of those means.

    Parameters
    ----------
    scores_high_group : array ``(N, V)`` or ``(R, N, V)``
        Per-clip joint scores (:func:`joint_scores`) of the clips in the
        high group; ensemble members (``R``) are averaged first.
    share : float in (0, 1)
    groups : array ``(N,)``, optional
        Subject of each clip: the clip means are averaged per subject first
        (their unit was the infant, not the window).

    Returns
    -------
    float
    """
    s = _finite(scores_high_group, "scores_high_group", (2, 3))
    if s.ndim == 3:
        s = s.mean(axis=0)
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    means = s.mean(axis=1)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != means.shape:
            raise ValueError(f"groups must have one entry per clip ({len(means)}), got shape {groups.shape}")
        means = np.array([means[groups == g].mean() for g in np.unique(groups)])
    return float(np.quantile(means, 1 - share))


def category_frequency(categories, group: str) -> np.ndarray:
    """Share of clips in which each joint is green (``group="low"``) or red (``group="high"``).

    Parameters
    ----------
    categories : array ``(N, V)`` of str
        Per-clip colours (:func:`colour_code` on ``(R, N, V)`` or on
        ``scores[None]``) of the clips of one group.
    group : {"low", "high"}

    Returns
    -------
    array ``(V,)`` in [0, 1]
        Pellano et al.'s joint importance (their Algorithm 1, step 2).
    """
    c = np.asarray(categories)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"categories must be a non-empty (N, V) array, got shape {c.shape}")
    unknown = set(np.unique(c).tolist()) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}; expected {CATEGORIES}")
    if group not in ("low", "high"):
        raise ValueError(f"group must be 'low' or 'high', got {group!r}")
    return (c == ("very_low" if group == "low" else "very_high")).mean(axis=0)


@dataclass(frozen=True)
class TopK:
    """Significant joints by Kneedle, by 2-means and by both (``top``), each in decreasing importance.

    ``k_knee`` is the number of joints before the knee (0 when none was
    found); ``note`` says why a set is empty ("" when nothing to report).
    """

    top: tuple[int, ...]
    kneedle: tuple[int, ...]
    kmeans: tuple[int, ...]
    k_knee: int
    note: str = ""


def _knee_count(sorted_desc: np.ndarray) -> int:
    """Number of leading entries before the strongest Kneedle knee of a decreasing curve (0: no knee)."""
    x = np.arange(len(sorted_desc), dtype=float)
    # online=True keeps every knee candidate; the offline answer is the first one, which on a
    # plateau-then-drop ranking (several joints near the top, the usual shape) is the plateau's start.
    kl = KneeLocator(x, sorted_desc, curve="convex", direction="decreasing", online=True)
    if not kl.all_knees:
        return 0
    knees = np.asarray(sorted(kl.all_knees), dtype=int)
    # the strongest knee: the largest value of the difference curve, i.e. the point farthest above the chord
    # (never inside a run of tied importances: along a run the difference curve falls, so the run's
    # first point is higher and tied joints are never split)
    return int(knees[np.argmax(kl.y_difference[knees])])


def top_k_joints(importance) -> TopK:
    """Top-k joints of an importance vector by Pellano et al.'s conservative vote.

    The importances sorted in decreasing order (ties: lower joint index
    first) are cut at the Kneedle knee (``kneed.KneeLocator``,
    ``curve="convex", direction="decreasing"``): the joints ranked before the
    knee are significant; the knee itself is the first joint of the flat
    part. When the curve has several knee candidates the strongest (largest
    difference-curve value) is used. 2-means on the values
    (``KMeans(n_clusters=2, n_init=10, random_state=0)``) marks the cluster
    with the higher centroid. A joint is top-k only when both select it.

    Parameters
    ----------
    importance : array ``(V,)``
        E.g. :func:`category_frequency`; any scale.

    Returns
    -------
    TopK
        Fewer than 3 joints or a constant vector: every set empty, with the
        reason in ``note``; no knee found: ``kneedle`` and ``top`` empty.
    """
    imp = _finite(importance, "importance", (1,))
    order = np.argsort(-imp, kind="stable")
    if np.ptp(imp) == 0:
        return TopK((), (), (), 0, "constant importances: no joint stands out")
    if len(imp) < 3:
        return TopK((), (), (), 0, f"{len(imp)} joints: too few for a knee")
    k = _knee_count(imp[order])
    kneedle = set(order[:k].tolist())
    km = KMeans(n_clusters=2, n_init=10, random_state=0).fit(imp[:, None])
    kmeans = set(np.flatnonzero(km.labels_ == int(np.argmax(km.cluster_centers_[:, 0]))).tolist())

    def ranked(s: set[int]) -> tuple[int, ...]:
        return tuple(int(j) for j in order if j in s)

    note = "" if k else "no knee found in the sorted importances"
    return TopK(ranked(kneedle & kmeans), ranked(kneedle), ranked(kmeans), k, note)


def significant_joints(scores, groups, threshold: float, *, count: str = "paper") -> dict[str, tuple[np.ndarray, TopK]]:
    """Pellano et al.'s Algorithm 1, steps 2-3: joint importance and top-k per confident group.

    Parameters
    ----------
    scores : array ``(N, V)`` or ``(R, N, V)``
        Per-clip joint scores (one model, or ``R`` ensemble members).
    groups : array ``(N,)``
        :func:`confident_groups` labels ("low", "high", ""); "" is ignored.
    threshold : float
        θ (:func:`significance_threshold`).
    count : {"paper", "red"}
        ``"paper"``: green joints in the low group, red in the high group —
        Pellano et al., who explain one output (the CP risk) in both groups.
        ``"red"``: red joints in both groups — for maps that explain each
        clip's *predicted* class, where a mild clip's evidence for its mild
        level is its high-scoring joints too (the explanation study's choice).

    Returns
    -------
    dict
        ``{"low": (importance (V,), TopK), "high": ...}`` for each group
        that has clips.
    """
    s = _finite(scores, "scores", (2, 3))
    s = s[None] if s.ndim == 2 else s
    groups = np.asarray(groups)
    if groups.shape != (s.shape[1],):
        raise ValueError(f"groups must have one label per clip ({s.shape[1]}), got shape {groups.shape}")
    if count not in ("paper", "red"):
        raise ValueError(f"count must be 'paper' or 'red', got {count!r}")
    out = {}
    for name in ("low", "high"):
        sel = groups == name
        if sel.any():
            freq = category_frequency(colour_code(s[:, sel], threshold), name if count == "paper" else "high")
            out[name] = (freq, top_k_joints(freq))
    return out
