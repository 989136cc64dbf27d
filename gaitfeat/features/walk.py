"""Walk-level features: one row per preprocessed sequence, spatiotemporal values as medians over its strides.

Clip-level features (:func:`gaitfeat.extract_features`) need fixed windows,
and :func:`gaitfeat.make_clips` refuses a walk shorter than one window (124
frames, about 4 s at 30 fps), so a short clinic walkway gave no numbers at
all. :func:`walk_features` runs the same kernels on each whole sequence (any
length) and summarises its complete strides and steps, so that every walk
with at least two strides is measured. Angle and posture features are those
of the whole walk, as the kernels define them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, PoseDataError
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features.definitions import EXTENDED_FEATURES, FEATURES, METRE_FEATURES, QUALITY_COLUMNS
from gaitfeat.features.engine import _leg_length_m, _params, _run, _table
from gaitfeat.pose import PoseSequence

__all__ = ["walk_features", "WALK_COLUMNS", "MIN_WALK_STRIDES"]

#: Fewest complete strides a walk needs for its spatiotemporal values: a walk of two strides can lose
#: one to the edges (an event needs a fifth of a second of signal on both sides), so one counts;
#: ``n_strides`` says how many there were.
MIN_WALK_STRIDES = 1

#: Columns before the features: who and what was measured.
ID_COLUMNS = ("patient_id", "video_id", "fps", "n_frames", "duration_s")
#: Columns after the features (before the quality columns): stride and step counts and spreads.
WALK_COLUMNS = (
    "n_strides_left", "n_strides_right", "n_steps",
    "stride_time_iqr", "stride_length_iqr", "walking_speed_iqr",
)
#: Features replaced by summaries of the walk's strides or steps (medians; cadence,
#: cycle time and speed as totals over totals).
MEDIAN_FEATURES = (
    "cadence", "gait_cycle_duration", "stride_length", "walking_speed", "step_length", "step_length_left",
    "step_length_right", "step_length_symmetry", "step_timing_symmetry", "stance_swing_ratio_left",
    "stance_swing_ratio_right", "step_time_left", "step_time_right",
)
_TOO_FEW = "no complete stride in the walk"


def _iqr(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1)


def _median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _symmetry(left: float, right: float) -> float:
    mean = 0.5 * (left + right)
    if not (np.isfinite(left) and np.isfinite(right)) or mean == 0:
        return float("nan")
    return abs(left - right) / abs(mean) * 100.0


def _stride_summary(strides: np.ndarray, steps: np.ndarray, fps: float) -> dict[str, float]:
    """Medians and spreads of one walk's strides ``(n, 5)`` and steps ``(m, 4)`` (rows of ``K.STRIDE_FIELDS``...)."""
    side, start, end, length, toe_off = strides.T
    time = (end - start) / fps
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = length / time
        stance = (toe_off - start) / (end - toe_off)
    out = {
        "n_strides_left": int((side == 0).sum()), "n_strides_right": int((side == 1).sum()),
        "n_steps": int(steps.shape[0]),
    }
    enough = strides.shape[0] >= MIN_WALK_STRIDES
    # Rates are totals over totals: the walk's strides per unit time and distance per unit
    # time (a median stride time would round cadence to whole frames more than a mean does).
    cycle = float(time.mean()) if enough else np.nan
    out["gait_cycle_duration"] = cycle
    out["cadence"] = 120.0 / cycle if np.isfinite(cycle) and cycle > 0 else np.nan
    out["stride_length"] = _median(length) if enough else np.nan
    known = np.isfinite(length)
    out["walking_speed"] = float(length[known].sum() / time[known].sum()) if enough and known.any() else np.nan
    out["stride_time_iqr"] = _iqr(time) if enough else np.nan
    out["stride_length_iqr"] = _iqr(length) if enough else np.nan
    out["walking_speed_iqr"] = _iqr(speed) if enough else np.nan
    for s, name in enumerate(("left", "right")):
        out[f"stance_swing_ratio_{name}"] = _median(stance[side == s]) if enough else np.nan
    step_side, step_start, step_end, step_length = steps.T
    out["step_length"] = _median(step_length) if enough else np.nan
    times = []
    for s, name in enumerate(("left", "right")):
        out[f"step_length_{name}"] = _median(step_length[step_side == s]) if enough else np.nan
        times.append(_median((step_end - step_start)[step_side == s] / fps) if enough else np.nan)
        out[f"step_time_{name}"] = times[-1]
    out["step_length_symmetry"] = _symmetry(out["step_length_left"], out["step_length_right"])
    out["step_timing_symmetry"] = _symmetry(*times)
    return out


def walk_features(
    sequences: PoseSequence | Iterable[PoseSequence],
    *,
    leg_length_m: float | np.ndarray | None = None,
    height_m: float | np.ndarray | None = None,
    camera: str = DEFAULTS.camera,
    on_error: str = "raise",
    **options,
) -> pd.DataFrame:
    """Gait features of whole walks: one row per preprocessed sequence, any length.

    The kernels of :func:`gaitfeat.extract_features` run on each whole
    sequence as one clip (with its pelvis path ``root``, so a static camera
    is measured from the pelvis progression); the spatiotemporal features
    (:data:`MEDIAN_FEATURES`: cadence, cycle time, stride and step lengths,
    speed, stance/swing, their symmetries) are then **medians over the
    walk's complete strides or steps**, which resist a stumble or a
    mis-detected event better than the clip means, except the rates:
    cadence and cycle time come from the mean stride time, speed is the
    strides' total length over their total time; per-side step times are
    medians too. Angle and posture features, double support, stride-time
    variability and the other :data:`~gaitfeat.EXTENDED_FEATURES` (step
    variability, heel-first contact, ankle angles) are the whole walk's, as
    defined in :data:`~gaitfeat.FEATURE_INFO`.

    Parameters
    ----------
    sequences : PoseSequence or iterable of PoseSequence
        Preprocessed (:func:`gaitfeat.preprocess`): hip-centred, in leg
        lengths. A walk needs a complete stride (:data:`MIN_WALK_STRIDES`)
        for its spatiotemporal values; one that holds two strides has one
        even when an edge hides an event.
    leg_length_m, height_m : float or array (one per sequence), optional
        As in :func:`gaitfeat.extract_features`: adds the metre columns
        (and ``stride_length_iqr_m``, ``walking_speed_iqr_m``).
    camera : {"auto", "static", "moving"}
        See :func:`gaitfeat.extract_features`.
    on_error : {"raise", "skip"}
        A sequence the engine refuses (not preprocessed, wrong layout)
        raises, or gets a row of NaN whose ``nan_reason`` says why.
    **options
        Event-detection settings of :func:`gaitfeat.extract_features`
        (``method``, ``turn_width``, ...).

    Returns
    -------
    DataFrame
        One row per sequence: :data:`ID_COLUMNS`, the features
        (:data:`~gaitfeat.FEATURES` then :data:`~gaitfeat.EXTENDED_FEATURES`), the metre
        columns if requested, :data:`WALK_COLUMNS` (strides per foot, steps,
        inter-quartile ranges of stride time (s), stride length (leg lengths)
        and per-stride speed (leg lengths/s)), then the quality columns of
        :func:`gaitfeat.extract_features`; ``n_strides`` counts all complete
        strides.
    """
    if isinstance(sequences, PoseSequence):
        sequences = [sequences]
    sequences = list(sequences)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    for i, seq in enumerate(sequences):
        if not isinstance(seq, PoseSequence):
            raise TypeError(f"item {i} is a {type(seq).__name__}, not a PoseSequence")
    settings = {k: options.pop(k) for k in list(options) if k in DEFAULTS._fields}
    if options:
        raise TypeError(f"walk_features got unexpected keyword arguments {sorted(options)}")
    params = _params(**{**DEFAULTS._asdict(), **settings, "camera": camera})
    legs = _leg_length_m(len(sequences), leg_length_m, height_m)
    rows = []
    for i, seq in enumerate(sequences):
        ids = {"patient_id": seq.patient_id, "video_id": seq.video_id, "fps": seq.fps, "n_frames": seq.n_frames,
               "duration_s": seq.duration}
        try:
            feat, reason, quality, _, _, _, (stride_out, step_out, n_rows) = _run(
                seq.keypoints[None], seq.fps, seq.layout, params, None if seq.root is None else seq.root[None],
                rows=True)
        except GaitError as exc:
            if on_error == "raise":
                raise PoseDataError(f"{seq.video_id or f'sequence {i}'}: {exc}") from exc
            rows.append({**ids, "nan_reason": f"not measured: {exc}"})
            continue
        table = _table(feat, reason, quality, None, None).iloc[0].to_dict()
        summary = _stride_summary(stride_out[0, : n_rows[0, 0]], step_out[0, : n_rows[0, 1]], seq.fps)
        table.update(summary)
        too_few = n_rows[0, 0] < MIN_WALK_STRIDES
        if too_few:
            table["nan_reason"] = "; ".join(p for p in (f"{_TOO_FEW}: {', '.join(MEDIAN_FEATURES)}",
                                                        table["nan_reason"]) if p)
        rows.append({**ids, **table})
    out = pd.DataFrame(rows)
    features = [*FEATURES, *EXTENDED_FEATURES]
    for name in (*ID_COLUMNS, *features, *WALK_COLUMNS, *QUALITY_COLUMNS):
        if name not in out:
            out[name] = np.nan
    columns = [*ID_COLUMNS, *features]
    if legs is not None:
        for src, dst in METRE_FEATURES.items():
            out[dst] = out[src].to_numpy(float) * legs
        out["stride_length_iqr_m"] = out["stride_length_iqr"].to_numpy(float) * legs
        out["walking_speed_iqr_m"] = out["walking_speed_iqr"].to_numpy(float) * legs
        columns += [*METRE_FEATURES.values()]
    columns += [*WALK_COLUMNS]
    if legs is not None:
        columns += ["stride_length_iqr_m", "walking_speed_iqr_m"]
    columns += [*QUALITY_COLUMNS]
    out = out[columns]
    for name in ("n_strides_left", "n_strides_right", "n_steps", *[c for c in QUALITY_COLUMNS if c.startswith("n_")]):
        out[name] = out[name].fillna(0).astype(np.int64)
    out["nan_reason"] = out["nan_reason"].fillna("").astype(object)
    return out
