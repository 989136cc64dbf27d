"""Gait features of a 3-D walk: the sagittal features of :func:`walk_features` in metres, plus step width.

A 3-D sequence is projected onto its walking plane
(:func:`gaitfeat.preprocessing.project_to_walking_plane`), preprocessed and
measured like a side-view video; since the projection keeps metres, the
leg length that preprocessing divides by is in metres and every length
feature is reported in metres without a body height.

**Step width** needs the third dimension: at each heel strike (found on the
sagittal projection by the feature engine's event detection), it is the
distance between the two heels perpendicular to the walking direction, i.e.
their separation in the frontal-plane projection, which keeps each bout's
lateral axis. Heels are used when the layout has them, else ankles (the
result is then labelled ``step_width_point = "ankle"``). This is the width
of the base of support as gait labs report it from footprints: the lateral
distance between the heel of the striking foot and that of the other foot,
which is on the ground at that instant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, PoseDataError
from gaitfeat.features.engine import detect_events
from gaitfeat.features.walk import walk_features
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing.pipeline import preprocess
from gaitfeat.preprocessing.plane import project_to_walking_plane
from gaitfeat.preprocessing.vertical import MIN_TRAVEL_M

__all__ = ["step_widths", "walk_features_3d", "STEP_WIDTH_COLUMNS"]

#: Columns :func:`walk_features_3d` adds to :func:`walk_features`'s.
STEP_WIDTH_COLUMNS = ("step_width_m", "step_width_left_m", "step_width_right_m", "step_width_iqr_m",
                      "n_step_widths", "step_width_point", "vertical_source", "n_bouts", "metre_source",
                      "leg_length_3d_m")


def _median(v: np.ndarray) -> float:
    return float(np.median(v)) if v.size else float("nan")


def step_widths(seq: PoseSequence3D, *, processed=None, **event_options) -> pd.DataFrame:
    """Step width (m) at every heel strike of a 3-D walk.

    Parameters
    ----------
    seq : PoseSequence3D
    processed : PoseSequence, optional
        The preprocessed sagittal projection of ``seq`` when already at hand
        (its events are detected on it); computed otherwise.
    **event_options
        Passed to :func:`gaitfeat.detect_events`.

    Returns
    -------
    DataFrame
        One row per heel strike with both feet visible: ``side`` of the
        striking foot, ``frame`` (sub-frame), ``time_s``, ``step_width_m``,
        ``point`` ("heel" or "ankle").
    """
    if processed is None:
        processed = preprocess(project_to_walking_plane(seq, "sagittal"))
    frontal = project_to_walking_plane(seq, "frontal", layout=processed.layout)
    lay = frontal.skeleton
    point = "heel" if lay.has("left_heel") else "ankle"
    left, right = lay.indices(f"left_{point}", f"right_{point}")
    events = detect_events(processed.keypoints[None], processed.fps, processed.layout, **event_options)
    strikes = events[events["event"] == "heel_strike"]
    x = frontal.keypoints[:, :, 0].astype(np.float64)
    rows = []
    for row in strikes.itertuples(index=False):
        f = int(round(row.frame))
        if not 0 <= f < frontal.n_frames:
            continue
        width = abs(x[f, left] - x[f, right])
        if np.isfinite(width):
            rows.append({"side": row.side, "frame": float(row.frame), "time_s": float(row.time_s),
                         "step_width_m": float(width), "point": point})
    return pd.DataFrame(rows, columns=["side", "frame", "time_s", "step_width_m", "point"])


def walk_features_3d(sequences, *, height_m: float | np.ndarray | None = None, on_error: str = "raise",
                     preprocess_options: dict | None = None, **options) -> pd.DataFrame:
    """:func:`gaitfeat.walk_features` of 3-D walks, in metres, with step width.

    Parameters
    ----------
    sequences : PoseSequence3D or iterable of them
        Any layout, units and camera angle (see
        :func:`~gaitfeat.preprocessing.project_to_walking_plane`).
    on_error : {"raise", "skip"}
        A walk that cannot be projected or preprocessed raises, or gets a row
        of NaN whose ``nan_reason`` says why.
    height_m : float or array (one per sequence), optional
        Body height (m). By default lengths are in the 3-D data's own metres
        (the leg length the projection measured); a monocular lifter's metric
        scale comes from its training data's body sizes, so with a known
        height the metres come from it instead (as for 2-D video, with
        :data:`gaitfeat.features.LEG_LENGTH_PER_HEIGHT`); step width is then
        rescaled by the same factor. ``metre_source`` says which was used.
    preprocess_options : dict, optional
        Passed to :func:`gaitfeat.preprocess`.
    **options
        Passed to :func:`gaitfeat.walk_features` (event settings; ``camera``
        defaults to ``"static"``, since the projected pelvis path is the
        walker's own, or ``"moving"`` for data that never travel).

    Returns
    -------
    DataFrame
        One row per walk: the columns of :func:`walk_features` with its metre
        columns (the leg length is measured in metres), then
        :data:`STEP_WIDTH_COLUMNS`: median step width over all heel strikes
        and per striking foot (m), its inter-quartile range (m), the number
        of heel strikes measured, the point used (heel or ankle), how the
        vertical was found (given or skeleton), the number of walking
        bouts, where the metres came from ("3-D data" or "height") and the
        leg length measured in the 3-D data (m).
    """
    if isinstance(sequences, PoseSequence3D):
        sequences = [sequences]
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    event_keys = ("method", "turn_width", "turn_margin_s", "peak_window_s", "prominence_window_s", "prominence",
                  "velocity_prominence")
    event_options = {k: v for k, v in options.items() if k in event_keys}
    sequences = list(sequences)
    heights = None
    if height_m is not None:
        from gaitfeat.features.engine import _leg_length_m

        heights = _leg_length_m(len(sequences), None, height_m)  # leg lengths (m) from the heights, validated
    tables = []
    for i, seq in enumerate(sequences):
        if not isinstance(seq, PoseSequence3D):
            raise TypeError(f"item {i} is a {type(seq).__name__}, not a PoseSequence3D")
        try:
            processed = preprocess(project_to_walking_plane(seq, "sagittal"), **(preprocess_options or {}))
            measured_leg = float(processed.info["scale_by_leg_length"]["leg_length"])
            leg = measured_leg if heights is None else float(heights[i])
            projection = processed.info["projection"]
            # The projection's pelvis path is the walker's own (no camera in it): measure from it unless it
            # does not travel (hip-centred data), where only foot contacts can give distances.
            camera = "static" if projection["travel_m"] >= MIN_TRAVEL_M else "moving"
            row = walk_features(processed, leg_length_m=leg, **{"camera": camera, **options})
            widths = step_widths(seq, processed=processed, **event_options)
            widths["step_width_m"] *= leg / measured_leg
        except GaitError as exc:
            if on_error == "raise":
                name = seq.video_id or f"sequence {i}"
                raise PoseDataError(str(exc) if str(exc).startswith(name) else f"{name}: {exc}") from exc
            tables.append(pd.DataFrame([{"patient_id": seq.patient_id, "video_id": seq.video_id, "fps": seq.fps,
                                         "nan_reason": f"not measured: {exc}"}]))
            continue
        if projection["vertical_source"] == "trunk":
            # The vertical was the trunk's own mean axis: its lean is zero by construction, not measured.
            row[["trunk_inclination", "trunk_sway"]] = np.nan
            row["nan_reason"] = "; ".join(p for p in (str(row["nan_reason"].iloc[0]), "trunk_inclination, trunk_sway: "
                                                      "the walk does not travel, so the vertical was taken from the "
                                                      "trunk itself") if p)
        w = widths["step_width_m"].to_numpy(float)
        row["step_width_m"] = _median(w)
        for side in ("left", "right"):
            row[f"step_width_{side}_m"] = _median(w[(widths["side"] == side).to_numpy()])
        row["step_width_iqr_m"] = float(np.subtract(*np.percentile(w, [75, 25]))) if w.size else np.nan
        row["n_step_widths"] = int(w.size)
        row["step_width_point"] = widths["point"].iloc[0] if len(widths) else ""
        row["vertical_source"] = projection["vertical_source"]
        row["n_bouts"] = len(projection["bouts"])
        row["metre_source"] = "3-D data" if heights is None else "height"
        row["leg_length_3d_m"] = measured_leg
        if not w.size:
            row["nan_reason"] = "; ".join(p for p in ("step width: no heel strike with both feet visible",
                                                      str(row["nan_reason"].iloc[0])) if p)
        tables.append(row)
    columns = list(walk_features([], leg_length_m=np.empty(0)).columns) + list(STEP_WIDTH_COLUMNS)
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    # A walk that failed (on_error="skip") has the same columns, NaN, its reason in nan_reason.
    return out.reindex(columns=list(dict.fromkeys(columns + list(out.columns))))
