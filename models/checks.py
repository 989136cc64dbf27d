"""Checks at the door of every estimator: pose clips (preprocessed, not all missing) and labels.

* :func:`check_clips` — :func:`gaitfeat.preprocessing.check_pose_clips` (shape,
  real numbers, no infinities, leg lengths rather than pixels), confidences
  in [0, 1], no clip without a single observed keypoint, and enough evidence
  per clip: at least :data:`MIN_OBSERVED_FRACTION` (20 %) of its frame x joint
  keypoints observed and its joints not all at one point (spread of at least
  :data:`MIN_SPREAD` = 1e-3 leg lengths in its widest frame). Simulated clips
  (``gaitfeat.simulate_cohort``, any noise level) observe over 80 %;
* :func:`no_evidence` — refuses clips whose feature row is all NaN;
* :func:`as_finite` / :func:`check_fps` — numbers checked with ``float`` and
  ``math.isfinite``, never ``np.isfinite`` on an arbitrary object (a huge
  Python int such as ``10**300`` or text ``"30"`` gives a ``ValueError``);
* :func:`check_labels` — class labels of one kind (all numbers or all text),
  none missing; :func:`check_targets` — regression targets that are finite numbers.

Every estimator that takes pose clips runs :func:`check_clips` in ``fit``,
``predict``, ``predict_proba`` and ``transform``; every classifier runs
:func:`check_labels` in ``fit``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from gaitfeat.errors import LabelError, PoseDataError
from gaitfeat.preprocessing.checks import scan_pose_clips

__all__ = ["check_clips", "missing_mask", "check_labels", "check_targets", "as_finite", "check_fps",
           "MIN_OBSERVED_FRACTION", "MIN_SPREAD", "no_evidence", "short_repr"]

#: Fewest observed keypoints (share of a clip's frame x joint keypoints) a clip needs to be fitted or predicted on.
MIN_OBSERVED_FRACTION = 0.2
#: Smallest spread (leg lengths) of a clip's observed joints in its widest frame: less is a degenerate pose
#: (every joint at one point, e.g. a detector's (0, 0) placeholders with confidence).
MIN_SPREAD = 1e-3


def as_finite(value) -> float | None:
    """``value`` as a finite float, or None when it is not a real number (bool, text, NaN, inf, an int beyond float64).

    Never hands an arbitrary object to numpy (``np.isfinite(10**300)`` raises a ``TypeError``).
    """
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, numbers.Real):
        return None
    try:
        out = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 300-digit integer stays readable in a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def check_fps(fps, what: str = "fps") -> float:
    """A frame rate as a positive finite float; text (``"30"``), bools, NaN, inf and huge ints raise ``ValueError``."""
    out = as_finite(fps)
    if out is None or out <= 0:
        raise ValueError(f"{what} must be a positive finite number (frames per second), got {short_repr(fps)}")
    return out


def _indices(idx: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def missing_mask(arr: np.ndarray) -> np.ndarray:
    """``(N, T, V)`` True where a keypoint is missing: x or y NaN, or (with a third channel) confidence not > 0."""
    missing = np.isnan(arr[..., :2]).any(axis=-1)
    if arr.shape[-1] >= 3:
        missing |= ~(arr[..., 2] > 0)                      # NaN confidence fails "> 0" too
    return missing


def check_clips(X, *, what: str = "X", min_channels: int = 2) -> np.ndarray:
    """Validated pose clips as float32 ``(N, T, V, C)``; refuses anything a model should not see.

    Parameters
    ----------
    X : array_like (N, T, V, C)
        Preprocessed clips: x, y in leg lengths (hip-centred) and optionally
        a confidence in [0, 1]; a missing keypoint has NaN coordinates or
        confidence 0.
    what : str
        Name used in messages.
    min_channels : int
        Fewest channels (2: x and y; the deep estimators need 3).

    Raises
    ------
    PoseDataError
        What :func:`gaitfeat.preprocessing.check_pose_clips` refuses (ragged or
        non-numeric input, wrong shape, no frames, infinite or impossible
        coordinates, raw pixels), a confidence outside [0, 1], an empty batch,
        clips with no observed keypoint at all, clips with fewer than
        :data:`MIN_OBSERVED_FRACTION` of their keypoints observed, and
        degenerate clips whose observed joints never spread beyond
        :data:`MIN_SPREAD` (their indices are named: any prediction for them
        would be built from (almost) nothing).
    """
    return checked_clips(X, what=what, min_channels=min_channels)[0]


def checked_clips(X, *, what: str = "X", min_channels: int = 2):
    """:func:`check_clips` and the clips' :class:`~gaitfeat.preprocessing._scan.ClipScan` (observed keypoints per clip)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise PoseDataError(f"{what} must be pose clips (N, T, V, C), got {type(X).__name__}")
    try:
        shape = np.shape(X)
    except ValueError:          # ragged nesting: check_pose_clips says so
        shape = None
    if shape is not None and len(shape) != 4:
        raise PoseDataError(f"{what} must be pose clips of shape (N, T, V, C), got an array of shape {shape}")
    arr, scan = scan_pose_clips(X, what=what, min_channels=min_channels)
    n = arr.shape[0]
    if n == 0:
        raise PoseDataError(f"{what} holds no clips")
    bad = np.flatnonzero(scan.first_bad_confidence >= 0)
    if bad.size:
        i = int(bad[0])
        t, v = divmod(int(scan.first_bad_confidence[i]), arr.shape[2])
        raise PoseDataError(f"{what}: confidence {arr[i, t, v, 2]:g} outside [0, 1] (clip {i}, frame {t}, joint {v}); "
                            "mark missing keypoints with NaN or confidence 0")
    empty = np.flatnonzero(scan.observed == 0)
    if empty.size:
        raise PoseDataError(f"{what}: {empty.size} of {n} clip(s) have no observed keypoint (every x, y NaN or "
                            f"confidence 0): clip indices {_indices(empty)}; drop them before fitting or predicting")
    observed = scan.observed / float(arr.shape[1] * arr.shape[2])
    sparse = np.flatnonzero(observed < MIN_OBSERVED_FRACTION)
    if sparse.size:
        raise PoseDataError(f"{what}: {sparse.size} of {n} clip(s) have fewer than {MIN_OBSERVED_FRACTION:.0%} of "
                            f"their keypoints observed (lowest {observed[sparse].min():.1%}): clip indices "
                            f"{_indices(sparse)}; too little evidence for a prediction — drop them")
    flat = np.flatnonzero(~(scan.spread >= MIN_SPREAD))
    if flat.size:
        raise PoseDataError(f"{what}: {flat.size} of {n} clip(s) are degenerate poses (every observed joint within "
                            f"{MIN_SPREAD:g} leg lengths of one point in every frame): clip indices {_indices(flat)}")
    return arr, scan


def no_evidence(features: np.ndarray, what: str = "X") -> None:
    """Refuse (``PoseDataError``, naming the clips) rows of a feature table where every feature is NaN.

    Such a clip gives the model nothing measured: its prediction would come
    from imputed training medians alone.
    """
    table = np.asarray(features, dtype=np.float64)
    empty = np.flatnonzero(np.isnan(table).all(axis=1)) if table.ndim == 2 and table.shape[1] else np.array([], int)
    if empty.size:
        raise PoseDataError(f"{what}: {empty.size} of {len(table)} clip(s) give no measurable feature the model "
                            f"uses (every one NaN): clip indices {_indices(empty)}; a prediction would rest on "
                            "imputed values alone — drop them")


def _kind(value) -> str:
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return "text"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Number):
        return "missing" if isinstance(value, numbers.Real) and value != value else "number"
    if value is None or value is pd.NA or value is pd.NaT:
        return "missing"
    return type(value).__name__


def check_labels(y, *, what: str = "y") -> set[str]:
    """Refuse class labels that mix kinds (numbers and text, e.g. ``[1, "2", 3]``) or are missing.

    ``np.asarray([1, "2", 3])`` silently turns every label into text, and an
    object array of mixed labels cannot be sorted; either way the classes
    would not be the ones meant. Only lists, tuples, Series and object arrays
    can mix kinds; typed arrays pass unchanged.

    Raises
    ------
    LabelError
        Labels of more than one kind (named, with an example of each), or missing labels.
    """
    if isinstance(y, (pd.Series, pd.Index)):
        values = y.to_numpy(dtype=object)
    elif isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype == object):
        try:
            values = np.empty(len(y), dtype=object)
            values[:] = list(y)
        except (TypeError, ValueError):
            return set()    # nested or 2-D: the estimator's own shape checks speak
    else:
        return set()
    kinds: dict[str, object] = {}
    for v in values:
        kinds.setdefault(_kind(v), v)
    if "missing" in kinds:
        raise LabelError(f"{what} contains missing labels ({kinds['missing']!r})")
    if "bool" in kinds and len(kinds) > 1:
        kinds.setdefault("number", kinds.pop("bool"))
    if len(kinds) > 1:
        examples = ", ".join(f"{k} {v!r}" for k, v in kinds.items())
        raise LabelError(f"{what} mixes kinds of labels ({examples}): give every label the same type, "
                         "e.g. all integers (GMFCS levels) or all strings")
    return set(kinds)


def check_targets(y, *, what: str = "y") -> np.ndarray:
    """Regression targets as a finite float64 vector; text, missing or infinite values are refused (``LabelError``)."""
    kinds = check_labels(y, what=what)
    arr = np.asarray(y)
    if arr.dtype.kind in "USc" or kinds - {"number", "bool"}:
        raise LabelError(f"{what} must hold real numbers (regression targets), got dtype {arr.dtype}")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise LabelError(f"{what} must hold real numbers (regression targets): {exc}") from None
    if arr.ndim != 1:
        raise LabelError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise LabelError(f"{what} contains missing or infinite values")
    return arr
