"""Faithfulness, stability and agreement of joint attributions, for any model given as a score function.

A model enters only as ``score_fn(clips) -> (N,)`` (e.g. the predicted
probability of the explained class); clips are ``(N, T, V, C)`` pose arrays
(x, y, confidence in the normalised frame, missing keypoints NaN), and
attributions are per-clip joint scores ``(N, V)`` (e.g.
:func:`models.significance.joint_scores` of ``(N, T, V)`` maps). Everything
is NumPy; ``score_fn`` is called once per perturbation step on all clips.

* **Faithfulness** — does removing the joints an explanation ranks first
  change the prediction most? :func:`prediction_gaps` gives PGI and PGU
  after C. Agarwal et al., "OpenXAI: Towards a Transparent Evaluation of
  Model Explanations" (NeurIPS 2022), and :func:`deletion_insertion` the
  deletion / insertion curves (areas by :func:`curve_area`). Z. Lan,
  M. Lempereur, A. Aïssa-El-Bey et al., "Quantitative comparison of
  explainable AI methods for interpreting deep learning-based
  classification of 3D gait kinematics" (Sci Rep 2026), judged gait
  explanations by such removal tests and by robustness.
* **Stability** — :func:`relative_input_stability` (OpenXAI's RIS, in a
  variant safe near zero) and :func:`rank_stability` between the maps of a
  clip and of a slightly perturbed copy (:func:`jitter`).
* **Agreement** between methods — :func:`top_k_overlap`,
  :func:`kendall_tau`, :func:`agreement_matrix`.

Removing a joint (:func:`remove_joints`) means, by default, making it
missing: x, y NaN and confidence 0, what a network sees when the detector
loses a keypoint (the networks zero such keypoints). OpenXAI perturbs
features with noise instead; a lost keypoint is the perturbation that pose
clips actually have, and it needs no noise scale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.integrate import trapezoid

__all__ = ["remove_joints", "prediction_gaps", "random_scores", "deletion_insertion", "curve_area",
           "relative_input_stability", "rank_stability", "jitter", "top_k_overlap", "kendall_tau",
           "agreement_matrix", "LEG_LENGTH_PX"]

#: Leg length (hip to ankle) in pixels of a walker filmed side-on in a 1080p video; with it,
#: 1 px is 1/400 = 0.0025 leg lengths, so a typical 2 px detector jitter is sigma ~ 0.005 in the normalised frame.
LEG_LENGTH_PX = 400.0

ScoreFn = Callable[[np.ndarray], np.ndarray]


def _clips(clips) -> np.ndarray:
    x = np.asarray(clips)
    if x.ndim != 4 or x.shape[-1] < 2 or 0 in x.shape:
        raise ValueError(f"clips must be a non-empty (N, T, V, C) array with C >= 2 (x, y[, confidence]), "
                         f"got shape {x.shape}")
    return x


def _scores(scores, n: int, v: int, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (n, v):
        raise ValueError(f"{name} must be (N, V) = ({n}, {v}), got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return s


def _call(score_fn: ScoreFn, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(score_fn(batch), dtype=np.float64).reshape(-1)
    if out.shape != (len(batch),):
        raise ValueError(f"score_fn must return one score per clip ({len(batch)}), got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError("score_fn returned NaN or infinite scores (does it handle missing keypoints?)")
    return out


def _ranks(scores: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Rank of each joint per clip, 0 = highest score; ties by joint index, or at random with ``rng``."""
    n, v = scores.shape
    tie = rng.random((n, v)) if rng is not None else np.broadcast_to(np.arange(v), (n, v))
    order = np.lexsort((tie, -scores), axis=1)      # last key is primary: decreasing score
    ranks = np.empty((n, v), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(v)[None, :].repeat(n, axis=0), axis=1)
    return ranks


def remove_joints(clips, mask, *, how="missing") -> np.ndarray:
    """A copy of ``clips`` with the joints in ``mask`` removed.

    Parameters
    ----------
    clips : array ``(N, T, V, C)``
    mask : bool array ``(N, V)`` or ``(V,)``
        Joints to remove (per clip, or the same for all clips), in every frame.
    how : "missing" or array ``(V, C)`` / ``(T, V, C)``
        "missing": x, y set to NaN and confidence (channel 2, if present) to
        0, as a lost detection. An array: the removed joints take the values
        of this reference pose (e.g. a mean pose of the training clips).

    Returns
    -------
    array
        New array, same shape and dtype (float); the input is not modified.
    """
    x = _clips(clips)
    out = np.array(x, dtype=np.result_type(x.dtype, np.float32), copy=True)
    n, t, v, c = out.shape
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(f"mask must be boolean, got dtype {m.dtype}")
    if m.shape == (v,):
        m = np.broadcast_to(m, (n, v))
    if m.shape != (n, v):
        raise ValueError(f"mask must be (N, V) = ({n}, {v}) or (V,), got shape {m.shape}")
    sel = np.broadcast_to(m[:, None, :], (n, t, v))
    if isinstance(how, str):
        if how != "missing":
            raise ValueError(f"how must be 'missing' or a reference pose array, got {how!r}")
        out[..., :2][sel] = np.nan
        if c > 2:
            out[..., 2][sel] = 0.0
        return out
    ref = np.asarray(how, dtype=out.dtype)
    if ref.shape not in ((v, c), (t, v, c)):
        raise ValueError(f"reference pose must be (V, C) = ({v}, {c}) or (T, V, C) = ({t}, {v}, {c}), "
                         f"got shape {ref.shape}")
    out[sel] = np.broadcast_to(ref, (n, t, v, c))[sel]
    return out


def random_scores(rng: np.random.Generator, n: int, v: int) -> np.ndarray:
    """Uniform random joint scores ``(n, v)``: the chance baseline for every faithfulness metric."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator (np.random.default_rng(...))")
    return rng.random((n, v))


def prediction_gaps(score_fn: ScoreFn, clips, scores, ks=(1, 3, 5), *, how="missing",
                    rng: np.random.Generator | None = None) -> pd.DataFrame:
    """PGI and PGU per clip and ``k``: the prediction change when the top / bottom ``k`` joints are removed.

    After Agarwal et al. (OpenXAI): PGI = |f(x) - f(x with its k
    highest-scored joints removed)|, PGU the same with the k lowest-scored
    joints. Two differences from OpenXAI, both deliberate: joints are removed
    (:func:`remove_joints`) rather than perturbed with noise, and PGU removes
    the ``k`` lowest joints, not all the non-top-k ones, so both gaps remove
    equally many joints. Hence for scores carrying no information (random
    ranks) the two removed sets are exchangeable and E[PGI - PGU] = 0
    exactly; a faithful attribution has PGI > PGU.

    Parameters
    ----------
    score_fn : callable ``(M, T, V, C) -> (M,)``
        Must accept missing keypoints (NaN x, y; confidence 0).
    clips : array ``(N, T, V, C)``
    scores : array ``(N, V)``
        Higher = more important.
    ks : sequence of int in [1, V]
    how : as in :func:`remove_joints`
    rng : Generator, optional
        Breaks ties in ``scores`` at random (default: lower joint index ranks higher).

    Returns
    -------
    DataFrame
        One row per clip and k: ``clip``, ``k``, ``score`` (f(x)), ``pgi``,
        ``pgu``, ``gap`` (pgi - pgu); scores in the units of ``score_fn``.
    """
    x = _clips(clips)
    n, _, v, _ = x.shape
    s = _scores(scores, n, v)
    ks = [int(k) for k in np.atleast_1d(ks)]
    if not ks or any(k < 1 or k > v for k in ks):
        raise ValueError(f"ks must be integers in [1, {v}], got {ks}")
    ranks = _ranks(s, rng)
    base = _call(score_fn, x)
    frames = []
    for k in ks:
        pgi = np.abs(base - _call(score_fn, remove_joints(x, ranks < k, how=how)))
        pgu = np.abs(base - _call(score_fn, remove_joints(x, ranks >= v - k, how=how)))
        frames.append(pd.DataFrame({"clip": np.arange(n), "k": k, "score": base, "pgi": pgi, "pgu": pgu,
                                    "gap": pgi - pgu}))
    return pd.concat(frames, ignore_index=True)


def deletion_insertion(score_fn: ScoreFn, clips, scores, *, steps: int | None = None, how="missing",
                       rng: np.random.Generator | None = None, eps: float = 1e-6):
    """Deletion and insertion curves over the fraction of joints removed / restored.

    Deletion removes joints in decreasing score order (a faithful ranking
    makes the score fall fast: small area); insertion starts from every joint
    removed and restores them in the same order (the score should rise fast:
    large area). The chance baseline is the same call with
    :func:`random_scores`.

    Each curve is divided by the clip's own f(x), so it starts (deletion) or
    ends (insertion) at 1 and areas are comparable across clips whatever
    their score; clips with f(x) < ``eps`` (a score that cannot fall) get NaN
    rows. Curves may exceed 1 when removing joints raises the score, and
    the all-removed end is the model's score of an empty skeleton (e.g. 0.5
    for a logistic output), not 0: compare areas with the random-order
    baseline on the same clips rather than with fixed values.

    Parameters
    ----------
    score_fn, clips, scores, how, rng
        As in :func:`prediction_gaps`.
    steps : int, optional
        Number of curve points (>= 2), at joint counts rounded from
        ``linspace(0, V, steps)``; default every count 0..V.
    eps : float
        Smallest f(x) that is divided by.

    Returns
    -------
    deletion, insertion : arrays ``(N, S)``
        f relative to f(x) after removing (deletion) or restoring
        (insertion) the top ``fractions * V`` joints.
    fractions : array ``(S,)``
        Fraction of joints removed (deletion) / restored (insertion), 0 to 1.
    """
    x = _clips(clips)
    n, _, v, _ = x.shape
    s = _scores(scores, n, v)
    if steps is None:
        counts = np.arange(v + 1)
    else:
        if int(steps) < 2:
            raise ValueError(f"steps must be at least 2, got {steps}")
        counts = np.unique(np.round(np.linspace(0, v, int(steps))).astype(int))
    ranks = _ranks(s, rng)
    base = _call(score_fn, x)
    ok = base >= eps
    scale = np.where(ok, base, np.nan)
    deletion = np.empty((n, len(counts)))
    insertion = np.empty((n, len(counts)))
    for i, c in enumerate(counts):
        deletion[:, i] = _call(score_fn, remove_joints(x, ranks < c, how=how)) / scale
        insertion[:, i] = _call(score_fn, remove_joints(x, ranks >= c, how=how)) / scale
    return deletion, insertion, counts / v


def curve_area(curves, fractions) -> np.ndarray:
    """Area under each curve ``(N, S)`` over ``fractions`` ``(S,)`` (trapezoid rule); NaN rows stay NaN."""
    c = np.asarray(curves, dtype=np.float64)
    f = np.asarray(fractions, dtype=np.float64)
    if c.ndim != 2 or f.shape != (c.shape[1],):
        raise ValueError(f"curves must be (N, S) and fractions (S,), got {c.shape} and {f.shape}")
    if np.any(np.diff(f) <= 0):
        raise ValueError("fractions must be strictly increasing")
    return trapezoid(c, f, axis=1)


def _flat(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have a leading clip axis, got shape {arr.shape}")
    return arr.reshape(len(arr), -1)


def relative_input_stability(maps_a, maps_b, x_a, x_b, eps: float = 1e-6) -> np.ndarray:
    """Relative input stability per clip: relative change of the explanation over relative change of the input.

    OpenXAI defines RIS = ||(e_a - e_b) / e_a||_2 / max(||(x_a - x_b) / x_a||_2,
    eps) with elementwise division, which explodes wherever an attribution
    or a coordinate is near zero — and in the pelvis-centred frame the hip
    coordinates are near zero by construction, as are most entries of
    rectified maps. Here both ratios are taken relative to the norms:

        RIS = (||e_a - e_b|| / ||e_a||) / max(||x_a - x_b|| / ||x_a||, eps)

    over all frames and joints of a clip; for x only the x, y channels of
    keypoints present in both clips count. Lower is more stable.

    Parameters
    ----------
    maps_a, maps_b : arrays ``(N, ...)``
        Explanations of the original and the perturbed clips (maps ``(N, T,
        V)`` or joint scores ``(N, V)``), same shape.
    x_a, x_b : arrays ``(N, T, V, C)``
        The original and perturbed clips.
    eps : float
        Floor of the input change (identical inputs divide by ``eps``).

    Returns
    -------
    array ``(N,)``
        0 for identical explanations; ``inf`` when ``e_a`` is zero and
        ``e_b`` is not; NaN when a clip has no keypoint present in both.
    """
    ea, eb = _flat(maps_a, "maps_a"), _flat(maps_b, "maps_b")
    if ea.shape != eb.shape:
        raise ValueError(f"maps_a and maps_b differ in shape: {np.shape(maps_a)} vs {np.shape(maps_b)}")
    xa, xb = _clips(x_a), _clips(x_b)
    if xa.shape != xb.shape or len(xa) != len(ea):
        raise ValueError(f"x_a {xa.shape} and x_b {xb.shape} must match each other and have {len(ea)} clips")
    if not (np.isfinite(ea).all() and np.isfinite(eb).all()):
        raise ValueError("maps contain NaN or infinite values")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    diff_e = np.linalg.norm(ea - eb, axis=1)
    norm_e = np.linalg.norm(ea, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_e = np.where(diff_e == 0, 0.0, diff_e / norm_e)
    pa = xa[..., :2].astype(np.float64).reshape(len(xa), -1)
    pb = xb[..., :2].astype(np.float64).reshape(len(xb), -1)
    both = np.isfinite(pa) & np.isfinite(pb)
    pa, pb = np.where(both, pa, 0.0), np.where(both, pb, 0.0)
    norm_x = np.linalg.norm(pa, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_x = np.linalg.norm(pa - pb, axis=1) / norm_x
    rel_x = np.where(norm_x > 0, rel_x, np.nan)
    return rel_e / np.maximum(rel_x, eps)


def rank_stability(scores_a, scores_b, *, method: str = "spearman") -> np.ndarray:
    """Rank correlation per clip between two joint-score arrays ``(N, V)`` (two ``(V,)`` vectors: a float).

    ``method``: "spearman" (Pearson correlation of average ranks) or
    "kendall" (``scipy.stats.kendalltau``, tau-b). 1 for the same ranking;
    rows identical to each other count as 1 even when constant; a constant
    row against a varying one has no rank correlation (NaN).
    """
    a, b = np.atleast_2d(np.asarray(scores_a, dtype=np.float64)), np.atleast_2d(np.asarray(scores_b, dtype=np.float64))
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"scores_a and scores_b must both be (N, V) with V >= 2, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores contain NaN or infinite values")
    if method not in ("spearman", "kendall"):
        raise ValueError(f"method must be 'spearman' or 'kendall', got {method!r}")
    constant = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    out = np.full(len(a), np.nan)
    if method == "spearman":
        ra = stats.rankdata(a, axis=1)
        rb = stats.rankdata(b, axis=1)
        ra -= ra.mean(axis=1, keepdims=True)
        rb -= rb.mean(axis=1, keepdims=True)
        denom = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
        out[~constant] = (ra * rb).sum(axis=1)[~constant] / denom[~constant]
    else:
        for i in np.flatnonzero(~constant):
            out[i] = stats.kendalltau(a[i], b[i]).statistic
    out[(a == b).all(axis=1)] = 1.0
    return float(out[0]) if np.ndim(scores_a) == 1 else out


def jitter(clips, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``clips`` with Gaussian noise of s.d. ``sigma`` added to x and y of detected keypoints.

    ``sigma`` is in the normalised frame's unit, leg lengths: detector jitter
    of ``p`` pixels on a side-view 1080p video is about ``p /
    LEG_LENGTH_PX`` (2 px -> 0.005). Missing keypoints (NaN, or confidence
    0) stay as they are; confidence is unchanged.
    """
    x = _clips(clips)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite non-negative number, got {sigma}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator (np.random.default_rng(...))")
    out = np.array(x, dtype=np.result_type(x.dtype, np.float32), copy=True)
    present = np.isfinite(out[..., :2]).all(axis=-1)
    if out.shape[-1] > 2:
        present &= out[..., 2] > 0
    noise = rng.normal(0.0, sigma, size=out[..., :2].shape).astype(out.dtype)
    out[..., :2] += np.where(present[..., None], noise, 0)
    return out


def _top_sets(s: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-s, axis=1, kind="stable")      # ties: lower joint index first
    return order[:, :k]


def top_k_overlap(scores_a, scores_b, k: int):
    """|A ∩ B| / k for the top-``k`` joints of two scorings (ties: lower joint index first).

    ``(V,)`` vectors give a float; ``(N, V)`` arrays one value per clip.
    """
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise ValueError(f"scores must be two (V,) or (N, V) arrays of the same shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores contain NaN or infinite values")
    v = a.shape[-1]
    if not 1 <= int(k) <= v:
        raise ValueError(f"k must be in [1, {v}], got {k}")
    ta, tb = _top_sets(np.atleast_2d(a), int(k)), _top_sets(np.atleast_2d(b), int(k))
    overlap = (ta[:, :, None] == tb[:, None, :]).any(axis=2).sum(axis=1) / int(k)
    return float(overlap[0]) if a.ndim == 1 else overlap


def kendall_tau(a, b) -> float:
    """Kendall's tau-b between two importance vectors ``(V,)`` (NaN when either is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"a and b must be (V,) vectors of the same length >= 2, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("importances contain NaN or infinite values")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def agreement_matrix(importances: Mapping[str, np.ndarray], k: int, *, measure: str = "overlap") -> pd.DataFrame:
    """Pairwise agreement of methods' joint importances.

    Parameters
    ----------
    importances : mapping method name -> array ``(V,)``
    k : int
        Top-k size for ``measure="overlap"``.
    measure : {"overlap", "kendall"}
        :func:`top_k_overlap` or :func:`kendall_tau`.

    Returns
    -------
    DataFrame
        Square, symmetric, methods as index and columns.
    """
    if measure not in ("overlap", "kendall"):
        raise ValueError(f"measure must be 'overlap' or 'kendall', got {measure!r}")
    names = list(importances)
    if len(names) < 2:
        raise ValueError("agreement needs at least two methods")
    vecs = {m: np.asarray(importances[m], dtype=np.float64) for m in names}
    shapes = {v.shape for v in vecs.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"every importance must be a (V,) vector of one length, got shapes {sorted(shapes)}")
    out = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i:]:
            val = top_k_overlap(vecs[a], vecs[b], k) if measure == "overlap" else kendall_tau(vecs[a], vecs[b])
            out.loc[a, b] = out.loc[b, a] = val
    return out
