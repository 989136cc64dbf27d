"""The Kidziński et al. (2020) / Gillette Children's gait video release.

Layout of the release (see ``docs/data.md``)::

    ROOT/
        alldata_processed.csv      labels, two rows per video (side L and R)
        video_csvs/{videoid}.csv   headerless, one row per frame, 75 columns =
                                   25 BODY_25 joints x (x px, y px, confidence);
                                   a row of NaN = nobody detected, 0 = joint
                                   not detected

The label table is turned into one row per video. Values that differ between
the L and R rows (GDI, knee flexion at maximum extension, SEMLS, ...) become
``<name>_left`` / ``<name>_right`` columns; per-video values (GMFCS, speed,
cadence, ...) stay single columns. GMFCS and the patient ID describe the
child, so L and R rows that disagree on them are an error, never a pair of
side columns.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, LabelError, ReaderError
from gaitfeat.io import _label_table
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.io._label_table import (
    check_finite,
    check_sides_agree,
    read_label_csv,
    sides_differ,
    snake_columns,
    video_id_text,
)
from gaitfeat.io._names import path_inside, safe_name
from gaitfeat.labels import normalise_side, validate_gmfcs, validate_patient_ids
from gaitfeat.pose import PoseSequence

__all__ = ["read_kidzinski", "read_kidzinski_labels", "KidzinskiRelease"]

#: Frame rate of the release's videos (NTSC camcorders).
KIDZINSKI_FPS = 29.97

# Columns documented as side-specific; any other column whose L and R values
# differ for some video is treated as side-specific too.
_SIDE_SPECIFIC = ("gdi", "knee_flex_max_extension", "semls")

# Columns that describe the child or the video, not a leg: L and R rows must agree.
_PER_VIDEO = ("patient_id", "gmfcs")

class KidzinskiRelease(NamedTuple):
    """What :func:`read_kidzinski` returns."""

    sequences: list[PoseSequence]
    """One BODY_25 sequence per video that has both labels and trajectories."""
    labels: pd.DataFrame
    """One row per video in ``sequences`` (same order), snake_case columns."""
    report: dict
    """Counts of what was read and what was skipped, and why."""


def _find(root: Path, names: tuple[str, ...], what: str) -> Path:
    for name in names:
        for base in (root, root / "processed", root / "data" / "processed"):
            if (base / name).exists():
                return base / name
    raise ReaderError(f"{root}: cannot find {what} (looked for {', '.join(names)} in ., processed/, data/processed/)", root)


def read_kidzinski_labels(path: str | Path, *, missing_patient: str = "raise") -> tuple[pd.DataFrame, dict]:
    """Read ``alldata_processed.csv`` into one row per video.

    Parameters
    ----------
    path : str or Path
        The label table.
    missing_patient : {"raise", "video"}
        What to do with videos without ``Patient_ID``: raise
        :class:`~gaitfeat.errors.LabelError`, or treat each such video as its
        own patient (``patient_id = "video:<id>"``, flagged in the column
        ``patient_id_from_video``).

    Returns
    -------
    labels : DataFrame
        Columns ``video_id``, ``patient_id``, ``gmfcs`` (nullable int, 1-4),
        ``cadence`` (steps/min), ``cadence_release`` (the release's value,
        strides/s), ``speed`` (m/s), side-specific ``*_left``/``*_right``
        columns, and the other per-video columns in snake_case.
    report : dict
        Counts (videos, videos with one side only, missing GMFCS), the
        side-specific columns, and ``merged_duplicate_columns``: column names
        that mean the same (``GMFCS`` and ``gmfcs``) with identical values,
        kept once.

    Raises
    ------
    ReaderError
        A missing, unreadable (folder, broken link, no permission) or
        unparsable file; no ``videoid`` or ``side`` column.
    LabelError
        A GMFCS level outside 1-4 on any row (checked before the L and R
        rows are joined); L and R rows of a video with different GMFCS or
        patient IDs (naming the videos); two columns whose names mean the
        same (case or spelling variants) with different values (naming both
        columns); infinite GMFCS or patient IDs; rows without a video ID;
        two rows for one video and side; a bad side; a level outside 1-4
        in any other GMFCS column (``gmfcs_left``, ``GMFCS Right``, ...;
        naming the column and video); columns named like the ones this
        function makes (``*_left``/``*_right`` of a side-specific column,
        ``cadence_release``, ``patient_id_from_video``).

    Notes
    -----
    The table must be a regular file of at most ``MAX_CSV_BYTES``
    (200 MB; the release's is about 1 MB): a named pipe, device or larger
    file is a ReaderError, never read.
    """
    path = Path(path)
    raw, header = read_label_csv(path)
    raw, merged = snake_columns(raw, header, path)
    for col in ("video_id", "side"):
        if col not in raw.columns:
            raise ReaderError(f"{path}: label table has no {col!r} column; columns are {list(raw.columns)}", path)
    if "patient_id" not in raw.columns:
        raw["patient_id"] = np.nan
    if raw["video_id"].isna().any():
        rows = [int(r) + 2 for r in np.flatnonzero(raw["video_id"].isna().to_numpy())[:5]]
        raise LabelError(f"{path}: rows without a video id (file lines {rows})")
    raw["video_id"] = [video_id_text(v, path) for v in raw["video_id"]]
    raw["side"] = [normalise_side(s, where=f"{path}, video {v}") for s, v in zip(raw["side"], raw["video_id"])]
    for col in _PER_VIDEO:
        if col in raw.columns:
            check_finite(raw[col], raw["video_id"], col, path)
    if "gmfcs" in raw.columns:
        # Validate every row, so a bad level on either side is named, then compare levels (2 == "II").
        once = ~pd.Series(list(zip(raw["video_id"], raw["gmfcs"].astype(str)))).duplicated().to_numpy()
        validate_gmfcs(raw["gmfcs"][once], where=str(path), ids=raw["video_id"][once])  # names each bad video once
        raw["gmfcs"] = validate_gmfcs(raw["gmfcs"], where=str(path), ids=raw["video_id"]).to_numpy()

    # Any other GMFCS column (gmfcs_left, GMFCS Right, gmfcs_level, ...) holds levels too: check every row.
    for col in raw.columns:
        if col != "gmfcs" and "gmfcs" in col.split("_"):
            validate_gmfcs(raw[col], where=f"{path}, column {col!r}", ids=raw["video_id"])
    made = sorted({"cadence_release", "patient_id_from_video"} & set(raw.columns))
    if made:
        raise LabelError(f"{path}: columns {made} clash with the columns read_kidzinski_labels makes; rename them")

    dup = raw.duplicated(["video_id", "side"], keep=False)
    if dup.any():
        vids = sorted(set(raw.loc[dup, "video_id"]))[:5]
        raise LabelError(f"{path}: more than one row for the same video and side (videos {vids})")

    value_cols = [c for c in raw.columns if c not in ("video_id", "side")]
    left = raw[raw["side"] == "left"].set_index("video_id")[value_cols]
    right = raw[raw["side"] == "right"].set_index("video_id")[value_cols]
    videos = list(dict.fromkeys(raw["video_id"]))
    left = left.reindex(videos)
    right = right.reindex(videos)

    side_specific = []
    for col in value_cols:
        if col in _PER_VIDEO:
            check_sides_agree(left[col], right[col], col, path)
            continue
        if col in _SIDE_SPECIFIC:
            side_specific.append(col)
            continue
        if sides_differ(left[col], right[col]):
            side_specific.append(col)
    clash = sorted({f"{c}_{s}" for c in side_specific for s in ("left", "right")} & set(value_cols))
    if clash:
        raise LabelError(
            f"{path}: columns {clash} clash with the per-side columns made from {sorted({c.rsplit('_', 1)[0] for c in clash})}; "
            "rename them"
        )

    out = pd.DataFrame({"video_id": videos})
    for col in value_cols:
        if col in side_specific:
            out[f"{col}_left"] = left[col].to_numpy()
            out[f"{col}_right"] = right[col].to_numpy()
        else:
            out[col] = left[col].combine_first(right[col]).to_numpy()

    out["patient_id"] = out["patient_id"].astype(object)
    if out["patient_id"].isna().any():
        if missing_patient == "video":
            flag = out["patient_id"].isna().to_numpy()
            out.loc[flag, "patient_id"] = ["video:" + v for v in out.loc[flag, "video_id"]]
            out["patient_id_from_video"] = flag
        elif missing_patient == "raise":
            pass  # validate_patient_ids below names the videos
        else:
            raise ValueError(f"missing_patient must be 'raise' or 'video', got {missing_patient!r}")
    out["patient_id"] = validate_patient_ids(out["patient_id"], where=str(path), ids=out["video_id"]).to_numpy()
    if "patient_id_from_video" not in out:
        out["patient_id_from_video"] = False

    n_missing_gmfcs = 0
    if "gmfcs" in out:
        out["gmfcs"] = validate_gmfcs(out["gmfcs"], where=str(path), ids=out["video_id"]).to_numpy()
        n_missing_gmfcs = int(out["gmfcs"].isna().sum())
    if "cadence" in out:
        # The release stores strides per second (median ~1.0); steps/min = x 2 x 60.
        out["cadence_release"] = out["cadence"]
        out["cadence"] = pd.to_numeric(out["cadence"], errors="coerce") * 120.0

    one_side = int((raw.groupby("video_id").size() == 1).sum())
    report = {
        "label_file": str(path),
        "videos": len(out),
        "videos_with_one_side": one_side,
        "videos_without_gmfcs": n_missing_gmfcs,
        "videos_without_patient_id": int(out["patient_id_from_video"].sum()),
        "side_specific_columns": side_specific,
        "merged_duplicate_columns": merged,
    }
    return out, report


def _read_video_csv(path: Path) -> np.ndarray:
    data = read_regular_file(path, _label_table.MAX_CSV_BYTES, what="a trajectory file")
    try:
        arr = pd.read_csv(io.BytesIO(data), header=None, dtype=np.float64).to_numpy()
    except pd.errors.EmptyDataError:
        raise ReaderError(f"{path}: empty trajectory file", path) from None
    except (ValueError, csv.Error, OverflowError) as exc:  # ParserError, UnicodeDecodeError, non-numeric cells
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReaderError(f"{path}: not a numeric CSV ({first})", path) from None
    if arr.ndim != 2 or arr.shape[1] != 75:
        raise ReaderError(f"{path}: expected 75 columns (25 BODY_25 joints x 3), got {arr.shape[1]}", path)
    huge = np.isinf(arr) | (np.abs(np.nan_to_num(arr)) > np.finfo(np.float32).max)
    if huge.any():
        row = int(np.argwhere(huge)[0, 0])
        raise ReaderError(f"{path}: infinite value (or beyond the float32 range) in row {row + 1}", path)
    conf = arr[:, 2::3]
    bad = (conf < 0) | (conf > 1)  # NaN compares False: a NaN row is "nobody detected"
    if bad.any():
        t, j = (int(x) for x in np.argwhere(bad)[0])
        raise ReaderError(
            f"{path}: row {t + 1} (frame {t}), joint {j}: confidence {conf[t, j]:g} outside [0, 1] "
            f"({int(bad.sum())} such values); OpenPose writes confidences in [0, 1] and 0 for undetected joints",
            path,
        )
    return arr.reshape(arr.shape[0], 25, 3)


def read_kidzinski(
    root: str | Path,
    *,
    fps: float = KIDZINSKI_FPS,
    labels: str | Path | None = None,
    video_ids: list[str] | None = None,
    missing_patient: str = "raise",
    on_error: str = "raise",
) -> KidzinskiRelease:
    """Read the Kidziński/Gillette release: trajectories plus one label row per video.

    Parameters
    ----------
    root : str or Path
        Folder holding ``video_csvs/`` and ``alldata_processed.csv`` (also
        found under ``processed/`` or ``data/processed/``).
    fps : float
        Frame rate (the release's videos are 29.97 fps); 1 to 1000 frames/s,
        else :class:`~gaitfeat.errors.PoseDataError` naming the limit.
    labels : str or Path, optional
        Label table, if not at the default place.
    video_ids : list of str, optional
        Read only these videos.
    missing_patient : {"raise", "video"}
        See :func:`read_kidzinski_labels`.
    on_error : {"raise", "skip"}
        What to do with one bad video: raise, or skip it and record it in
        the report. A video is bad when its video ID cannot be a file name
        (:class:`~gaitfeat.errors.LabelError`; reported under
        ``skipped_bad_video_id``) or its trajectory file cannot be read
        (:class:`~gaitfeat.errors.ReaderError`: corrupt, not numeric, wrong
        column count, infinite values, confidences outside [0, 1], a folder,
        a broken symbolic link, no permission, not a regular file (a named
        pipe, socket or device), larger than 200 MB; reported under
        ``skipped_corrupt_file``). Labelled videos without a trajectory file
        are always skipped and counted (the release has labels for some
        videos whose trajectories it does not ship).

    Returns
    -------
    KidzinskiRelease
        ``(sequences, labels, report)``. Sequences are BODY_25, with
        ``patient_id`` and ``video_id`` set; ``labels`` has one row per
        sequence, in the same order.

    Notes
    -----
    Video IDs come from the label table and name the files
    ``video_csvs/{videoid}.csv``. An ID is used only if it is a plain file
    name: not empty, no ``/`` or ``\\``, no ``..``, no ``:`` or drive
    letter, no control characters, no leading or trailing white space, at
    most 200 bytes; the joined path must stay inside ``video_csvs/``. So a
    label ``../../x`` never reads a file elsewhere.

    Confidences must lie in [0, 1] (NaN for "nobody detected"): a negative
    confidence is refused as a corrupt file, as everywhere in gaitfeat
    (:class:`~gaitfeat.pose.PoseSequence` refuses it too), never read as
    "not detected".
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    root = Path(root)
    check_fps(fps, root)
    if not root.is_dir():
        raise ReaderError(f"{root}: no such folder", root)
    label_path = Path(labels) if labels is not None else _find(root, ("alldata_processed.csv",), "the label table")
    csv_dir = _find(root, ("video_csvs",), "the video_csvs/ folder")
    table, label_report = read_kidzinski_labels(label_path, missing_patient=missing_patient)
    if video_ids is not None:
        wanted = {str(v) for v in video_ids}
        unknown = wanted - set(table["video_id"])
        if unknown:
            raise LabelError(f"{label_path}: no labels for videos {sorted(unknown)[:5]}")
        table = table[table["video_id"].isin(wanted)]

    sequences, rows = [], []
    no_file, corrupt, bad_id = [], {}, {}
    for i, row in enumerate(table.itertuples(index=False)):
        try:
            name = safe_name(row.video_id, what="video ID", where=str(label_path))
            path = path_inside(csv_dir, f"{name}.csv", what="video ID", where=str(label_path))
        except LabelError as exc:
            if on_error == "raise":
                raise
            bad_id[row.video_id] = str(exc)
            continue
        if not path.exists() and not os.path.islink(path):
            no_file.append(row.video_id)
            continue
        try:
            kp = _read_video_csv(path)
            seq = PoseSequence.from_openpose_array(
                kp, fps, "body25", patient_id=row.patient_id, video_id=row.video_id,
                info={"read_kidzinski": {"source": str(path), "frames": int(kp.shape[0])}},
            )
        except GaitError as exc:
            if on_error == "raise":
                raise
            corrupt[row.video_id] = str(exc)
            continue
        sequences.append(seq)
        rows.append(i)
    labelled = set(table["video_id"])
    unlabelled = sorted(p.stem for p in csv_dir.glob("*.csv") if p.stem not in labelled) if video_ids is None else []
    out = table.iloc[rows].reset_index(drop=True)
    report = {
        **label_report,
        "videos_read": len(sequences),
        "skipped_no_trajectory_file": no_file,
        "skipped_corrupt_file": corrupt,
        "skipped_bad_video_id": bad_id,
        "trajectory_files_without_labels": unlabelled,
    }
    return KidzinskiRelease(sequences, out, report)
