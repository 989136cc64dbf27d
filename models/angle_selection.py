"""Sequential forward selection over joint-angle channels, scored by patient-grouped cross-validation.

Z. Lan, M. Lempereur, A. Aïssa-El-Bey et al., "Quantitative comparison of
explainable AI methods for interpreting deep learning-based classification
of 3D gait kinematics" (Sci Rep 2026) compare attribution methods with
sequential feature selection over the angle channels of a network on
per-cycle joint-angle curves, retraining the network for every candidate
subset: "do a handful of angles match all of them?". Here the network is
:class:`~models.deep.angle_cnn.AngleCNNClassifier`.

Cost: the angle curves are computed once (:func:`~gaitfeat.features.angle_curves.angle_curves`)
and every fit takes a row subset of them; the inner folds are drawn once, so
every candidate is scored on the same patients (a paired comparison); every
subset is scored at most once. A full forward path over A channels fits
``cv * A (A + 1) / 2`` small networks (9 COCO-17 channels, 3 folds: 135).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold

from gaitfeat.features.angle_curves import AngleCurves, angle_curves, channel_indices
from gaitfeat.layouts import get_layout
from models.checks import check_fps, check_labels
from models.deep.angle_cnn import AngleCNNClassifier

__all__ = ["select_angle_channels", "compare_with_all"]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def select_angle_channels(X, y, groups, *, estimator=None, max_channels: int | None = None, cv: int = 3,
                          fps: float | None = None, random_state: int = 0) -> pd.DataFrame:
    """Greedy forward selection of angle channels by grouped cross-validated balanced accuracy.

    Parameters
    ----------
    X : array (N, T, V, C) or AngleCurves
        Preprocessed pose clips, or their curves.
    y : array (N,)
        Class labels.
    groups : array (N,)
        Patient of each clip: inner folds never split a patient, and each
        fit's early-stopping split (inside the training folds) is patient-disjoint too.
    estimator : AngleCNNClassifier, optional
        The model refitted for every candidate (cloned, with ``channels``
        set); default ``AngleCNNClassifier(random_state=random_state)``. Its
        ``channels``, if set, is the pool to select from; its ``fps``,
        ``layout`` and ``points`` make the curves.
    max_channels : int, optional
        Stop after this many channels (default: all of the pool).
    cv : int
        Inner ``StratifiedGroupKFold`` folds (shuffled with ``random_state``).
    fps : float, optional
        Frame rate of the clips (default: the estimator's ``fps``).
    random_state : int
        Seeds the folds (and the default estimator).

    Returns
    -------
    DataFrame
        Row ``step`` 0: all channels of the pool (the reference). Rows
        ``step`` 1, 2, ...: the forward path -- ``added`` (the channel that
        raised the mean score most; ties: the earlier channel), ``channels``
        (tuple, in the order added), ``n_channels``, ``score`` (mean inner
        balanced accuracy), ``score_sd`` (its SD over folds) and
        ``fold_scores``. :func:`compare_with_all` reads the answer off it.
    """
    est = AngleCNNClassifier(random_state=random_state) if estimator is None else estimator
    if not isinstance(est, AngleCNNClassifier):
        raise TypeError(f"estimator must be an AngleCNNClassifier, got {type(est).__name__}")
    cv = _check_int(cv, "cv", 2)
    check_labels(y)
    y = np.asarray(y)
    groups = np.asarray(groups)
    if isinstance(X, AngleCurves):
        curves = X
    else:
        curves = angle_curves(X, check_fps(est.fps if fps is None else fps, "fps"), get_layout(est.layout).name,
                              points=int(est.points))
    if not (len(curves) == len(y) == len(groups)):
        raise ValueError(f"X has {len(curves)} clips, y {len(y)} labels and groups {len(groups)} entries")
    if pd.isna(pd.Series(groups)).any():
        raise ValueError("groups (patient IDs) contain missing values")
    if len(np.unique(groups)) < cv:
        raise ValueError(f"{len(np.unique(groups))} patients cannot make {cv} patient-grouped folds")
    pool = list(curves.channels) if est.channels is None else \
        [curves.channels[i] for i in sorted(channel_indices(curves.channels, est.channels))]
    limit = len(pool) if max_channels is None else min(_check_int(max_channels, "max_channels", 1), len(pool))
    folds = list(StratifiedGroupKFold(n_splits=cv, shuffle=True, random_state=random_state).split(y, y, groups))
    scored: dict[frozenset, np.ndarray] = {}

    def score(subset: list[str]) -> np.ndarray:
        key = frozenset(subset)
        if key not in scored:
            out = []
            for tr, te in folds:
                model = clone(est).set_params(channels=tuple(subset))
                model.fit(curves.take(tr), y[tr], groups=groups[tr])
                with warnings.catch_warnings():           # a fold whose test part lacks a predicted class
                    warnings.simplefilter("ignore", UserWarning)
                    out.append(balanced_accuracy_score(y[te], model.predict(curves.take(te))))
            scored[key] = np.asarray(out)
        return scored[key]

    rows, chosen = [], []
    remaining = list(pool)
    for step in range(1, limit + 1):
        trial = [(float(score(chosen + [c]).mean()), -j, c) for j, c in enumerate(remaining)]
        _, _, best = max(trial)                          # ties: the earlier channel
        chosen.append(best)
        remaining.remove(best)
        rows.append(_row(step, best, chosen, score(chosen)))
    rows.insert(0, _row(0, "", pool, score(pool)))      # scored already when the path reached every channel
    return pd.DataFrame(rows)


def _row(step: int, added: str, channels: list[str], folds: np.ndarray) -> dict:
    return {"step": step, "added": added, "channels": tuple(channels), "n_channels": len(channels),
            "score": float(folds.mean()), "score_sd": float(folds.std(ddof=1)) if len(folds) > 1 else np.nan,
            "fold_scores": tuple(float(f) for f in folds)}


def compare_with_all(path: pd.DataFrame, max_channels: int = 3) -> dict:
    """Does a handful of angles match all of them? The best path subset of at most ``max_channels`` against step 0.

    Parameters
    ----------
    path : DataFrame
        The result of :func:`select_angle_channels`.
    max_channels : int
        Size of a "handful".

    Returns
    -------
    dict
        ``channels``, ``score``, ``score_sd`` of the best forward subset with
        at most ``max_channels`` channels (the smaller one on ties);
        ``all_score``, ``all_sd`` of all channels; ``difference`` (subset
        minus all; positive: the handful does better) and ``within_sd``
        (whether the difference is within the larger of the two fold SDs).
    """
    _check_int(max_channels, "max_channels", 1)
    columns = {"step", "channels", "n_channels", "score", "score_sd"}
    if not columns <= set(path.columns) or not (path["step"] == 0).any():
        raise ValueError("path must be the DataFrame select_angle_channels returns (with its step-0 row)")
    everything = path[path["step"] == 0].iloc[0]
    small = path[(path["step"] > 0) & (path["n_channels"] <= max_channels)]
    if small.empty:
        raise ValueError("the path has no forward step")
    best = small.sort_values(["score", "n_channels"], ascending=[False, True], kind="stable").iloc[0]
    diff = float(best["score"] - everything["score"])
    spread = np.nanmax([best["score_sd"], everything["score_sd"]])
    return {"channels": best["channels"], "score": float(best["score"]), "score_sd": float(best["score_sd"]),
            "all_score": float(everything["score"]), "all_sd": float(everything["score_sd"]), "difference": diff,
            "within_sd": bool(abs(diff) <= spread) if np.isfinite(spread) else False}
