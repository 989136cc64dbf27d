"""Which videos an archive run extracts: the OpenPose folders under a root, with an optional label table.

Everything here runs in the client process, before any task is sent out,
and touches only folder names and the label table: reading the frames is
the tasks' work. A video that cannot even be planned (an identifier that is
not a safe folder name, a label row with a bad fps or GMFCS, a labelled video
without a folder) is recorded as skipped with its stage (``"find"`` or
``"labels"``) and reason, so the run goes on without it.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, LabelError, ReaderError
from gaitfeat.features.engine import HEIGHT_RANGE, LEG_LENGTH_RANGE
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.io._label_table import MAX_CSV_BYTES
from gaitfeat.io._names import path_inside, safe_name
from gaitfeat.labels import gmfcs_per_video

__all__ = ["VideoTask", "VideoPlan", "plan_videos", "read_video_labels", "skip_record", "BODY_SIZE_COLUMNS"]

#: Label-table columns that give a child's size in metres (the unit is in the name, so a height in
#: centimetres under ``height`` is never mistaken for metres). With either, the metre columns are written.
BODY_SIZE_COLUMNS = ("leg_length_m", "height_m")
#: Label-table columns used to read the video rather than joined to its rows as labels.
_READING_COLUMNS = ("video_id", "patient_id", "fps")


@dataclass(frozen=True)
class VideoTask:
    """One video to extract: what travels to a worker (a path and a few numbers, never data).

    Attributes
    ----------
    video_id : str
        The folder name (already checked with :func:`gaitfeat.io._names.safe_name`).
    folder : str
        Absolute path of the OpenPose JSON folder.
    fps : float
        Frame rate, frames/s.
    patient_id : str or None
        From the label table, when it has one.
    leg_length_m, height_m : float or None
        The child's leg length or standing height (m), from the label table.
    """

    video_id: str
    folder: str
    fps: float
    patient_id: str | None = None
    leg_length_m: float | None = None
    height_m: float | None = None


@dataclass
class VideoPlan:
    """What :func:`plan_videos` found.

    Attributes
    ----------
    tasks : list of VideoTask
        Sorted by ``video_id``.
    skipped : list of dict
        Videos refused before extraction (:func:`skip_record` rows).
    labels : DataFrame or None
        Label columns to join to each video's rows, indexed by ``video_id``.
    unlabelled_folders : list of str
        With a label table: folders that no label row names (not extracted).
    metres : bool
        Whether the label table gives body sizes (:data:`BODY_SIZE_COLUMNS`).
    """

    tasks: list[VideoTask]
    skipped: list[dict] = field(default_factory=list)
    labels: pd.DataFrame | None = None
    unlabelled_folders: list[str] = field(default_factory=list)
    metres: bool = False


def skip_record(video_id: str, stage: str, exc: BaseException, *, unexpected: bool = False, reason: str | None = None) -> dict:
    """One row of the skipped-videos table: ``video_id, stage, error, reason, unexpected``."""
    return {"video_id": str(video_id), "stage": stage, "error": type(exc).__name__,
            "reason": reason if reason is not None else str(exc), "unexpected": bool(unexpected)}


def _typed(column: pd.Series) -> pd.Series:
    """A text column as numbers when every given value is one (``"3"`` -> 3), else as text."""
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers[column.notna()].notna().all() and column.notna().any():
        return numbers
    return column.astype("string")


def read_video_labels(path: str | Path) -> tuple[pd.DataFrame, dict[str, LabelError]]:
    """Read a per-video label table (CSV): ``video_id``, optional ``patient_id``, ``fps``, labels.

    Column names are compared without case and surrounding spaces.
    Identifiers are read as text (``"0012"`` stays ``"0012"``); another
    column becomes numeric when every value in it is a number. Checked per
    row: the video ID is a safe folder name, ``gmfcs`` a level 1-4 (I-IV),
    ``fps`` within 1-1000 frames/s, ``leg_length_m`` and ``height_m``
    plausible sizes in metres; a row failing a check is returned among the
    bad rows, not raised.

    Returns
    -------
    table : DataFrame
        The good rows, ``video_id`` unique.
    bad : dict
        ``{video_id: LabelError}`` for the rows left out.

    Raises
    ------
    ReaderError
        The file is missing, not a regular file, too large or not CSV.
    LabelError
        No ``video_id`` column, a column named twice, an empty or repeated video ID.
    """
    path = Path(path)
    if not path.exists():
        raise ReaderError(f"{path}: no such label file", path)
    data = read_regular_file(path, MAX_CSV_BYTES, what="a label table")
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:  # pandas' ParserError and EmptyDataError too
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReaderError(f"{path}: not a readable CSV label table ({first})", path) from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    repeated = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
    if repeated:
        raise LabelError(f"{path}: columns named more than once (ignoring case and spaces): {repeated}")
    if "video_id" not in table.columns:
        raise LabelError(f"{path}: the label table needs a video_id column; columns are {list(table.columns)}")
    videos = table["video_id"].str.strip()
    if videos.isna().any() or (videos == "").any():
        rows = [int(i) + 2 for i in np.flatnonzero((videos.isna() | (videos == "")).to_numpy())]
        raise LabelError(f"{path}: rows without a video_id (file lines {rows[:5]})")
    if videos.duplicated().any():
        raise LabelError(f"{path}: videos listed more than once: {videos[videos.duplicated()].unique()[:5].tolist()}")
    table["video_id"] = videos.astype(object)
    if "patient_id" in table.columns:
        pid = table["patient_id"].str.strip()
        table["patient_id"] = pid.where(pid.notna() & (pid != ""), None).astype(object)
    bad: dict[str, LabelError] = {}
    for vid in table["video_id"]:
        try:
            safe_name(vid, what="video ID", where=str(path))
        except LabelError as exc:
            bad[vid] = exc
    for name in table.columns:
        if name not in ("video_id", "patient_id"):
            table[name] = _typed(table[name])
    if "gmfcs" in table.columns:
        table["gmfcs"], wrong = gmfcs_per_video(table["video_id"], table["gmfcs"], where=str(path))
        for vid, exc in wrong.items():
            bad.setdefault(vid, exc)
    checks = {"fps": None, "leg_length_m": LEG_LENGTH_RANGE, "height_m": HEIGHT_RANGE}
    for name, limits in checks.items():
        if name not in table.columns:
            continue
        values = pd.to_numeric(table[name].astype(object), errors="coerce").astype(float)
        for vid, raw, value in zip(table["video_id"], table[name], values):
            if pd.isna(raw):
                continue
            try:
                if limits is None:
                    check_fps(float(value), f"{path}: video {vid!r}", LabelError)
                elif not (np.isfinite(value) and limits[0] <= value <= limits[1]):
                    raise LabelError(f"{path}: video {vid!r}: {name} {raw!r} is not within {limits[0]:g}-{limits[1]:g} m")
            except LabelError as exc:
                bad.setdefault(vid, exc)
        table[name] = values
    good = table[~table["video_id"].isin(list(bad))].reset_index(drop=True)
    return good, bad


def _number(row: pd.Series, name: str) -> float | None:
    value = row.get(name)
    return float(value) if value is not None and pd.notna(value) else None


def _folders(root: Path, exclude: Path | None) -> list[os.DirEntry]:
    """The root's subfolders, by name; hidden ones (``.name``) and the run's own parts folder left out."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise ReaderError(f"{root}: cannot list the folder ({exc.strerror or exc})", root) from None
    keep = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if exclude is not None and os.path.abspath(entry.path) == os.path.abspath(exclude):
            continue
        keep.append(entry)
    return keep


def plan_videos(root: str | Path, *, labels: str | Path | None = None, fps: float | None = None,
                exclude: Path | None = None) -> VideoPlan:
    """The videos of an OpenPose archive: one per subfolder of ``root``.

    Parameters
    ----------
    root : path
        A folder of OpenPose ``--write_json`` folders, one per video (or one
        such folder itself, when it has no subfolders but frame files).
    labels : path, optional
        A label table (:func:`read_video_labels`). Then the videos are its
        rows: ``video_id`` names the folder; ``fps``, ``patient_id``,
        ``leg_length_m`` / ``height_m`` are used when given, the other
        columns are joined to the video's rows.
    fps : float, optional
        Frame rate (frames/s) of every video without an ``fps`` label.
    exclude : path, optional
        A folder never taken for a video (the run's parts folder).

    Returns
    -------
    VideoPlan

    Raises
    ------
    ReaderError, LabelError, PoseDataError
        No such root, an unusable label table, no frame rate at all, or no
        video to extract.
    """
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise ReaderError(f"{root}: no such folder", root)
    if fps is not None:
        fps = check_fps(fps, "--fps", LabelError)
    entries = _folders(root, exclude)
    folders = {e.name: Path(e.path) for e in entries}
    if not folders and any(root.glob("*_keypoints.json")):
        folders = {root.name: root}   # the root is itself one video's folder
    skipped: list[dict] = []
    tasks: list[VideoTask] = []
    if labels is None:
        if fps is None:
            raise LabelError("without a label table every video needs the frame rate: give fps (--fps)")
        for name, folder in folders.items():
            try:
                vid = safe_name(name, what="video folder name", where=str(root), error=ReaderError)
            except ReaderError as exc:
                skipped.append(skip_record(repr(name), "find", exc))
                continue
            tasks.append(VideoTask(vid, str(folder), fps))
        if not tasks:
            raise ReaderError(f"{root}: no video folders (subfolders holding OpenPose *_keypoints.json files)", root)
        return VideoPlan(tasks, skipped)

    table, bad = read_video_labels(labels)
    if "fps" not in table.columns and fps is None:
        raise LabelError(f"{labels}: no fps column; give the frame rate (--fps)")
    for vid, exc in bad.items():
        skipped.append(skip_record(vid, "labels", exc))
    metres = any(c in table.columns for c in BODY_SIZE_COLUMNS)
    for _, row in table.iterrows():
        vid = row["video_id"]
        rate = _number(row, "fps") or fps
        if rate is None:
            skipped.append(skip_record(vid, "labels", LabelError(f"{labels}: no fps for video {vid!r}; add it or give --fps")))
            continue
        folder = folders.get(vid)
        if folder is None:
            target = path_inside(root, vid, what="video ID", where=str(labels))
            skipped.append(skip_record(vid, "find", ReaderError(f"{target}: no such video folder", target)))
            continue
        leg = _number(row, "leg_length_m")
        height = None if leg is not None else _number(row, "height_m")
        pid = row.get("patient_id")
        tasks.append(VideoTask(vid, str(path_inside(root, vid, what="video ID", where=str(labels))), rate,
                               pid if isinstance(pid, str) else None, leg, height))
    if not tasks:
        shown = "; ".join(f"{r['video_id']}: {r['reason']}" for r in skipped[:3])
        raise GaitError(f"{root}: no labelled video folder to extract ({len(table) + len(bad)} label rows, "
                        f"{len(folders)} folders){': ' + shown if shown else ''}")
    tasks.sort(key=lambda t: t.video_id)
    joined = table.drop(columns=[c for c in _READING_COLUMNS if c != "video_id" and c in table.columns])
    unlabelled = sorted(set(folders) - set(table["video_id"]) - set(bad))
    return VideoPlan(tasks, skipped, joined.set_index("video_id"), unlabelled, metres)
