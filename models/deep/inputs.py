"""Checks at the door of the deep estimators: pose clips, and the patient-disjoint validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from gaitfeat.errors import PoseDataError
from gaitfeat.layouts import get_layout
from gaitfeat.preprocessing._scan import zero_missing
from models.checks import checked_clips

__all__ = ["prepare_clips", "patient_validation_split"]


def prepare_clips(X, layout, *, zero: bool = True) -> tuple[np.ndarray, int]:
    """Validated float32 clips, with missing keypoints set to zero (confidence 0) unless ``zero=False``.

    Parameters
    ----------
    X : array (N, T, V, C)
        Pose clips: x, y, confidence; a missing keypoint is NaN or has
        confidence 0 (OpenPose).
    layout : str or SkeletonLayout
    zero : bool
        ``True``: a zeroed copy (never the caller's array). ``False``: the
        checked clips as they are, sharing memory with ``X`` where possible
        (no copy of a ~150 MB training fold); the training and prediction
        loops then zero each batch (:func:`models.deep.training.zero_missing_batch`).

    Returns
    -------
    clips : ndarray (N, T, V, 3) float32
    n_missing : int
        Number of keypoints that were missing.

    Raises
    ------
    PoseDataError
        Everything :func:`models.checks.check_clips` refuses (non-numeric or
        ragged input, infinite or impossible coordinates, raw pixels instead
        of preprocessed leg lengths, confidences outside [0, 1], clips with no
        observed keypoint at all, named by index), a joint count that does not
        fit the layout, a channel count other than 3, or clips shorter than 8 frames.
    """
    lay = get_layout(layout)
    arr, scan = checked_clips(X, what="X", min_channels=3)
    n, t, v, c = arr.shape
    if v != lay.num_joints:
        raise PoseDataError(f"clips have {v} joints but layout {lay.name!r} has {lay.num_joints}")
    if c != 3:
        raise PoseDataError(f"clips need 3 channels (x, y, confidence), got {c}")
    if t < 8:
        raise PoseDataError(f"clips of {t} frames are too short for the temporal convolutions (need >= 8)")
    n_missing = int(n * t * v - scan.observed.sum())
    if not zero:
        # torch cannot wrap a read-only array (memmaps, deserialised buffers) without warning: copy those
        return (arr if arr.flags.writeable else arr.copy()), n_missing
    if isinstance(X, np.ndarray) and np.may_share_memory(arr, X):
        arr = arr.copy()                                  # never change the caller's clips
    zero_missing(arr)
    return arr, n_missing


def patient_validation_split(y, groups, fraction: float, random_state: int, stratify: bool):
    """Training and validation indices with no patient in both: the first fold of a ``StratifiedGroupKFold``.

    Parameters
    ----------
    y : array (N,)
        Labels (stratified as they are) or continuous targets (stratified by
        quintile when ``stratify`` is false).
    groups : array (N,)
        Patient IDs.
    fraction : float
        Share of patients to hold out (``round(1 / fraction)`` folds).
    random_state : int
    stratify : bool
    """
    groups = np.asarray(groups)
    if groups.shape[0] != len(y):
        raise ValueError(f"groups has {groups.shape[0]} entries for {len(y)} clips")
    if pd.isna(pd.Series(groups)).any():
        raise ValueError("groups (patient IDs) contain missing values")
    k = max(2, int(round(1.0 / fraction)))
    if len(np.unique(groups)) < k:
        raise ValueError(f"a patient-disjoint validation split of {fraction:.0%} needs at least {k} patients")
    strat = y if stratify else pd.qcut(y, q=min(5, len(np.unique(y))), labels=False, duplicates="drop")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    return next(cv.split(np.zeros(len(y)), strat, groups))
