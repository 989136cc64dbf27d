"""The default preprocessing pipeline, composed of the individual steps."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gaitfeat.errors import GaitError
from gaitfeat.pose import PoseSequence
from gaitfeat.preprocessing.cleaning import fill_gaps, reject_outliers, smooth, threshold_confidence
from gaitfeat.preprocessing.normalise import centre_on_hips, scale_by_leg_length
from gaitfeat.preprocessing.orientation import orient, walking_direction
from gaitfeat.preprocessing.swaps import fix_leg_swaps
from gaitfeat.preprocessing.view import check_side_view

__all__ = ["preprocess", "preprocess_many"]


def preprocess(
    seq: PoseSequence,
    *,
    layout: str | None = None,
    conf: float = 0.2,
    fix_swaps: bool = True,
    max_swap_s: float = 0.25,
    max_gap_s: float = 0.25,
    cutoff_hz: float | None = 6.0,
    orient_frames: bool = True,
    normalise: bool = True,
    check_view: bool = True,
) -> PoseSequence:
    """Turn raw detector output into a clean, oriented, normalised sequence.

    Steps, in order (each is a public function of
    :mod:`gaitfeat.preprocessing` and writes its counts into ``info``):

    1. ``to_layout(layout)`` if a layout is given (e.g. ``"coco17"``);
    2. :func:`threshold_confidence` (``conf``): low-confidence detections become missing;
    3. :func:`reject_outliers`: physically impossible positions and one-frame jumps become missing;
    4. :func:`fix_leg_swaps` (``max_swap_s``), unless ``fix_swaps=False``;
    5. :func:`fill_gaps` (``max_gap_s``): short gaps filled linearly;
    6. :func:`smooth` (``cutoff_hz``; ``None`` skips it): zero-phase low-pass;
    7. :func:`check_side_view`, unless ``check_view=False``: a 2-D video
       filmed from the front, back or an oblique angle is refused
       (:class:`~gaitfeat.errors.ViewError`), since its sagittal features
       would be nonsense; 3-D poses from such views are projected onto the
       walking plane first (:func:`project_to_walking_plane`) and pass;
       :func:`walking_direction` on the pixel coordinates;
    8. :func:`centre_on_hips` (y turned upwards) and :func:`scale_by_leg_length`, unless ``normalise=False``;
    9. :func:`orient`: every frame walks towards +x, unless ``orient_frames=False``.

    The result is in leg lengths with the hip midpoint at the origin, x along
    the walking direction and y upwards; ``direction`` holds the original
    walking direction per frame (0 while turning).

    Raises
    ------
    GaitError
        For example :class:`~gaitfeat.errors.PoseDataError` when no leg length
        can be estimated.
    """
    for name, value, low in (("conf", conf, 0.0), ("max_swap_s", max_swap_s, 0.0), ("max_gap_s", max_gap_s, 0.0),
                             ("cutoff_hz", 1.0 if cutoff_hz is None else cutoff_hz, 0.0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value) or value < low:
            raise ValueError(f"{name} must be a finite number >= {low:g}, got {value!r}")
    if layout is not None:
        seq = seq.to_layout(layout)
    seq = threshold_confidence(seq, conf)
    seq = reject_outliers(seq)
    if fix_swaps:
        seq = fix_leg_swaps(seq, max_swap_s)
    seq = fill_gaps(seq, max_gap_s)
    if cutoff_hz is not None:
        seq = smooth(seq, cutoff_hz)
    if check_view:
        seq = check_side_view(seq)
    direction = walking_direction(seq)
    if normalise:
        seq = scale_by_leg_length(centre_on_hips(seq, y_up=True))
    if orient_frames:
        seq = orient(seq, direction)
    else:
        seq = seq.replace(direction=direction)
    return seq


def preprocess_many(
    sequences: Iterable[PoseSequence], *, on_error: str = "raise", **options
) -> tuple[list[PoseSequence], dict[str, str]]:
    """:func:`preprocess` every sequence.

    Parameters
    ----------
    sequences : iterable of PoseSequence
    on_error : {"raise", "skip"}
        A sequence that cannot be preprocessed raises, or is skipped and
        reported.
    **options
        Passed to :func:`preprocess`.

    Returns
    -------
    processed : list of PoseSequence
    skipped : dict
        ``video_id`` (or position) -> reason, for every skipped sequence.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    done, skipped = [], {}
    for i, seq in enumerate(sequences):
        try:
            done.append(preprocess(seq, **options))
        except GaitError as exc:
            if on_error == "raise":
                raise
            skipped[seq.video_id or f"sequence {i}"] = str(exc)
    return done, skipped
