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
cadence, ...) stay single columns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gaitfeat.errors import LabelError, ReaderError
from gaitfeat.labels import normalise_side, validate_gmfcs, validate_patient_ids
from gaitfeat.pose import PoseSequence

__all__ = ["read_kidzinski", "read_kidzinski_labels", "KidzinskiRelease"]

#: Frame rate of the release's videos (NTSC camcorders).
KIDZINSKI_FPS = 29.97

# Columns documented as side-specific; any other column whose L and R values
# differ for some video is treated as side-specific too.
_SIDE_SPECIFIC = ("gdi", "knee_flex_max_extension", "semls")

_RENAME = {
    "videoid": "video_id",
    "examid": "exam_id",
    "patient_id": "patient_id",
    "kneeflex_maxextension": "knee_flex_max_extension",
    "event_date": "event_date",
}


class KidzinskiRelease(NamedTuple):
    """What :func:`read_kidzinski` returns."""

    sequences: list[PoseSequence]
    """One BODY_25 sequence per video that has both labels and trajectories."""
    labels: pd.DataFrame
    """One row per video in ``sequences`` (same order), snake_case columns."""
    report: dict
    """Counts of what was read and what was skipped, and why."""


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    compact = s.replace("_", "")
    for raw, new in _RENAME.items():
        if compact == raw.replace("_", ""):
            return new
    return s


def _sides_differ(a: pd.Series, b: pd.Series) -> bool:
    """Whether the L and R values differ for some video where both are given."""
    both = (a.notna() & b.notna()).to_numpy()
    if not both.any():
        return False
    a, b = a[both], b[both]
    na, nb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    if na.notna().all() and nb.notna().all():
        # 7 and 7.0 are the same value (a column with gaps is read as float).
        return bool((~np.isclose(na.to_numpy(float), nb.to_numpy(float))).any())
    return bool((a.astype(str).to_numpy() != b.astype(str).to_numpy()).any())


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
        Counts (videos, videos with one side only, missing GMFCS).

    Raises
    ------
    ReaderError, LabelError
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise ReaderError(f"{path}: no such file", path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReaderError(f"{path}: cannot parse label table ({exc})", path) from None
    raw.columns = [_snake(c) for c in raw.columns]
    raw = raw.loc[:, ~raw.columns.duplicated()]
    for col in ("video_id", "side"):
        if col not in raw.columns:
            raise ReaderError(f"{path}: label table has no {col!r} column; columns are {list(raw.columns)}", path)
    if "patient_id" not in raw.columns:
        raw["patient_id"] = np.nan
    if raw["video_id"].isna().any():
        rows = list(np.flatnonzero(raw["video_id"].isna().to_numpy())[:5] + 2)
        raise LabelError(f"{path}: rows without a video id (file lines {rows})")
    raw["video_id"] = [str(int(v)) if isinstance(v, float) and v == int(v) else str(v) for v in raw["video_id"]]
    raw["side"] = [normalise_side(s, where=f"{path}, video {v}") for s, v in zip(raw["side"], raw["video_id"])]

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
        if col in _SIDE_SPECIFIC:
            side_specific.append(col)
            continue
        if _sides_differ(left[col], right[col]):
            side_specific.append(col)

    out = pd.DataFrame({"video_id": videos})
    for col in value_cols:
        if col in side_specific:
            out[f"{col}_left"] = left[col].to_numpy()
            out[f"{col}_right"] = right[col].to_numpy()
        else:
            out[col] = left[col].combine_first(right[col]).to_numpy()

    if "patient_id" in side_specific:
        raise LabelError(f"{path}: the L and R rows of a video name different patients")
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
    }
    return out, report


def _read_video_csv(path: Path) -> np.ndarray:
    try:
        arr = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except pd.errors.EmptyDataError:
        raise ReaderError(f"{path}: empty trajectory file", path) from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        raise ReaderError(f"{path}: not a numeric CSV ({str(exc).splitlines()[0]})", path) from None
    if arr.ndim != 2 or arr.shape[1] != 75:
        raise ReaderError(f"{path}: expected 75 columns (25 BODY_25 joints x 3), got {arr.shape[1]}", path)
    if np.isinf(arr).any():
        row = int(np.argwhere(np.isinf(arr))[0, 0])
        raise ReaderError(f"{path}: infinite value in row {row + 1}", path)
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
        Frame rate (the release's videos are 29.97 fps).
    labels : str or Path, optional
        Label table, if not at the default place.
    video_ids : list of str, optional
        Read only these videos.
    missing_patient : {"raise", "video"}
        See :func:`read_kidzinski_labels`.
    on_error : {"raise", "skip"}
        What to do with a corrupt trajectory file: raise
        :class:`~gaitfeat.errors.ReaderError`, or skip it and record it in
        the report. Labelled videos without a trajectory file are always
        skipped and counted (the release has labels for some videos whose
        trajectories it does not ship).

    Returns
    -------
    KidzinskiRelease
        ``(sequences, labels, report)``. Sequences are BODY_25, with
        ``patient_id`` and ``video_id`` set; ``labels`` has one row per
        sequence, in the same order.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    root = Path(root)
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
    no_file, corrupt = [], {}
    for i, row in enumerate(table.itertuples(index=False)):
        path = csv_dir / f"{row.video_id}.csv"
        if not path.exists():
            no_file.append(row.video_id)
            continue
        try:
            kp = _read_video_csv(path)
        except ReaderError as exc:
            if on_error == "raise":
                raise
            corrupt[row.video_id] = str(exc)
            continue
        seq = PoseSequence.from_openpose_array(
            kp, fps, "body25", patient_id=row.patient_id, video_id=row.video_id,
            info={"read_kidzinski": {"source": str(path), "frames": int(kp.shape[0])}},
        )
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
        "trajectory_files_without_labels": unlabelled,
    }
    return KidzinskiRelease(sequences, out, report)
