"""Patient-level splits and the leakage guard.

Every split here is made over patients: all clips and videos of a patient
fall on one side. :func:`check_disjoint` is run on every split the harness
uses (outer folds, inner validation splits, user-supplied splitters) and
raises :class:`LeakageError` naming the patients found on both sides.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from gaitfeat.errors import GaitError, LabelError

__all__ = [
    "LeakageError",
    "Split",
    "check_disjoint",
    "resolve_patient_ids",
    "stratification_labels",
    "patient_folds",
    "holdout_split",
    "inner_split",
    "user_splits",
]


class LeakageError(GaitError):
    """A patient appears on both sides of a split, or IDs are inconsistent in a way that would leak."""


@dataclass(frozen=True)
class Split:
    """One outer split: row indices into the data set."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


def check_disjoint(patients: np.ndarray, train: np.ndarray, test: np.ndarray, *, where: str = "split") -> None:
    """Raise :class:`LeakageError` if any patient has rows in both ``train`` and ``test``.

    Parameters
    ----------
    patients : array ``(n,)``
        Patient ID of each row.
    train, test : int arrays
        Row indices of the two sides.
    where : str
        Name of the split, for the message.
    """
    patients = np.asarray(patients)
    train = np.asarray(train, dtype=np.int64)
    test = np.asarray(test, dtype=np.int64)
    if train.size == 0 or test.size == 0:
        raise LeakageError(f"{where}: one side of the split is empty ({train.size} train rows, {test.size} test rows)")
    if np.intersect1d(train, test).size:
        raise LeakageError(f"{where}: {np.intersect1d(train, test).size} rows are on both sides of the split")
    shared = np.intersect1d(patients[train], patients[test])
    if shared.size:
        names = ", ".join(map(str, shared[:5])) + (" ..." if shared.size > 5 else "")
        raise LeakageError(
            f"{where}: {shared.size} patient(s) on both sides of the split ({names}); "
            "every split must keep all clips of a patient on one side"
        )


def resolve_patient_ids(meta: pd.DataFrame, *, video_as_patient: bool = False) -> pd.Series:
    """The patient ID of every row, checked for the two ways IDs can leak.

    Parameters
    ----------
    meta : DataFrame
        With ``video_id`` and (unless ``video_as_patient``) ``patient_id``.
    video_as_patient : bool
        Treat every video as its own patient. Only for data that truly has no
        patient IDs: a child filmed twice then counts as two patients, which
        can leak, and reports say so.

    Raises
    ------
    LabelError
        Missing or empty patient IDs (unless ``video_as_patient``).
    LeakageError
        A video that belongs to more than one patient.
    """
    if "video_id" not in meta.columns:
        raise LabelError("the data have no video_id column")
    if video_as_patient:
        return meta["video_id"].astype(str).str.strip().rename("patient_id")
    if "patient_id" not in meta.columns:
        raise LabelError(
            "the data have no patient_id column; patient-level splits need one "
            "(or ask to treat each video as its own patient: --video-as-patient)"
        )
    ids = meta["patient_id"]
    # Surrounding blanks would make "P01" and "P01 " two patients: a leak the guard could not see.
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        videos = meta.loc[missing, "video_id"].astype(str).unique()
        raise LabelError(
            f"{missing.sum()} clips from {len(videos)} video(s) have no patient ID (e.g. {', '.join(videos[:3])}); "
            "patient-level splits need one (or ask to treat each video as its own patient: --video-as-patient)"
        )
    ids = ids.astype(str).str.strip()
    per_video = pd.DataFrame({"v": meta["video_id"].astype(str), "p": ids}).groupby("v")["p"].nunique()
    if (per_video > 1).any():
        bad = per_video[per_video > 1].index.tolist()
        raise LeakageError(f"video(s) {bad[:5]} carry more than one patient ID; fix the label table")
    return ids.rename("patient_id")


def stratification_labels(y: np.ndarray, task: str, *, n_bins: int = 5) -> np.ndarray:
    """Labels to stratify folds by: the class, or the quantile bin of a continuous target."""
    y = np.asarray(y)
    if task == "classification":
        return y
    edges = np.unique(np.quantile(y.astype(float), np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.searchsorted(edges, y.astype(float), side="right")


def _split_once(y_strat: np.ndarray, patients: np.ndarray, n_splits: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n_groups = len(np.unique(patients))
    if n_groups < n_splits:
        raise LabelError(f"{n_groups} patients cannot be split into {n_splits} patient-disjoint folds")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Rare classes (GMFCS IV) with fewer patients than folds are expected; the harness reports per-fold counts.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        yield from splitter.split(np.zeros(len(y_strat)), y_strat, patients)


def patient_folds(y_strat: np.ndarray, patients: np.ndarray, *, n_splits: int = 5, n_repeats: int = 1,
                  random_state: int = 0) -> list[Split]:
    """Stratified patient-level K-fold splits, optionally repeated with different shuffles.

    Each repeat's seed is drawn from ``random_state``, so the same seed gives
    the same folds.
    """
    if n_splits < 2:
        raise ValueError(f"n_splits must be >= 2, got {n_splits}")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be >= 1, got {n_repeats}")
    seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=n_repeats)
    out = []
    for r, seed in enumerate(seeds):
        for f, (train, test) in enumerate(_split_once(y_strat, patients, n_splits, int(seed))):
            check_disjoint(patients, train, test, where=f"repeat {r} fold {f}")
            out.append(Split(r, f, np.sort(train), np.sort(test)))
    return out


def _fraction_split(y_strat: np.ndarray, patients: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Patient-disjoint, stratified ``(rest, part)`` with about ``fraction`` of the patients in ``part``.

    ``part`` is one fold of a ``round(1 / fraction)``-fold stratified group
    split, so its share is ``1 / round(1 / fraction)`` of the patients
    (0.3 -> 1/3, 0.2 -> 1/5, 0.15 -> 1/7).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    n_splits = max(2, int(round(1.0 / fraction)))
    rest, part = next(_split_once(y_strat, patients, n_splits, seed))
    return np.sort(rest), np.sort(part)


def holdout_split(y_strat: np.ndarray, patients: np.ndarray, *, test_fraction: float = 0.3,
                  random_state: int = 0) -> list[Split]:
    """The protocol of Yang, Chen & He (dual-stream fusion): one stratified patient-level train/test split (validation comes from train)."""
    train, test = _fraction_split(y_strat, patients, test_fraction, random_state)
    check_disjoint(patients, train, test, where="holdout split")
    return [Split(0, 0, train, test)]


def inner_split(y_strat: np.ndarray, patients: np.ndarray, train: np.ndarray, *, val_fraction: float = 0.2,
                random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split a training set into a fitting part and a patient-disjoint validation part.

    Returns row indices into the full data set ``(fit, val)``.
    """
    train = np.asarray(train, dtype=np.int64)
    try:
        fit_local, val_local = _fraction_split(y_strat[train], patients[train], val_fraction, random_state)
    except LabelError as exc:
        raise LabelError(f"inner validation split of a training fold (val_fraction {val_fraction:g}): {exc}; "
                         "use more patients, fewer outer folds, or a larger val_fraction") from None
    fit, val = train[fit_local], train[val_local]
    check_disjoint(patients, fit, val, where="inner validation split")
    return fit, val


def user_splits(cv, patients: np.ndarray, y_strat: np.ndarray, kept_rows: np.ndarray, n_original: int) -> list[Split]:
    """A user's splits, checked for leaks and overlapping test sets.

    Parameters
    ----------
    cv : splitter or iterable of (train, test)
        A scikit-learn splitter (called with the patients as groups) or
        index/boolean lists that refer to the rows of the data *as given*.
    patients : array ``(n,)``
        Patient ID of each evaluated row (after unlabelled rows were dropped).
    y_strat : array ``(n,)``
        Labels for stratifying splitters.
    kept_rows : int array ``(n,)``
        Which rows of the data as given were kept; user index lists are mapped through it.
    n_original : int
        Rows of the data as given.

    Raises
    ------
    LeakageError
        A patient on both sides of a split.
    ValueError
        Rows out of range, no splits, or test sets that overlap.
    """
    if hasattr(cv, "split"):
        pairs = list(cv.split(np.zeros(len(patients)), y_strat, patients))
    else:
        # Rows given by the user point into the original data; clips without a label were removed since.
        new_index = np.full(n_original, -1)
        new_index[kept_rows] = np.arange(len(kept_rows))
        pairs = []
        for train, test in cv:
            train, test = np.asarray(train), np.asarray(test)
            if train.dtype == bool:
                train, test = np.flatnonzero(train), np.flatnonzero(test)
            if train.size and (train.min() < 0 or train.max() >= n_original) or test.size and (test.min() < 0 or test.max() >= n_original):
                raise ValueError(f"cv rows must be in [0, {n_original})")
            train, test = new_index[train], new_index[test]
            pairs.append((train[train >= 0], test[test >= 0]))
    out = []
    tested = np.zeros(len(patients), dtype=np.int64)
    for f, (train, test) in enumerate(pairs):
        train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
        check_disjoint(patients, train, test, where=f"user split {f}")
        tested[test] += 1
        out.append(Split(0, f, np.sort(train), np.sort(test)))
    if not out:
        raise ValueError("cv produced no splits")
    if (tested > 1).any():
        raise ValueError(f"the test sets of the user splits overlap ({int((tested > 1).sum())} clips are tested more than "
                         "once); give splits whose test sets are disjoint, like K-fold")
    return out
