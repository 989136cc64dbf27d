"""Pose files of other tools as harness data: one reader per ``--data`` scheme, a label table per folder.

Each scheme names one file format (see ``docs/data.md``); ``PATH`` is a
folder of such files, one per video, or a single file. The label table (a
CSV, ``--labels``) has one row per video: ``video_id`` (the file name
without its extension), ``patient_id`` and the label columns; optional
columns ``fps`` (frames per second, where the format does not store it),
``layout`` and ``units`` (for bare ``.npy`` arrays). 3-D sequences are
projected onto their walking plane
(:func:`gaitfeat.preprocessing.project_to_walking_plane`) and then go
through the same preprocessing and clipping as 2-D video keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, LabelError, ReaderError
from gaitfeat.io import read_alphapose, read_array, read_mediapipe, read_mmpose, read_trc
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing import project_to_walking_plane

__all__ = ["FileScheme", "FILE_SCHEMES", "read_pose_files"]


@dataclass(frozen=True)
class FileScheme:
    """A ``--data`` scheme for a folder of pose files."""

    name: str
    suffixes: tuple[str, ...]
    description: str
    needs_fps: bool
    read: Callable[..., object]


def _text(row: pd.Series, column: str) -> str | None:
    value = row.get(column)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "" \
        else str(value).strip()


def _array(path: Path, fps, row, ids):
    return read_array(path, layout=_text(row, "layout"), fps=fps, units=_text(row, "units"), kind="3d", **ids)


FILE_SCHEMES: dict[str, FileScheme] = {
    s.name: s for s in (
        FileScheme("trc", (".trc",), "OpenSim/OpenCap/Pose2Sim marker trajectories (3-D)", False,
                   lambda path, fps, row, ids: read_trc(path, **ids)),
        FileScheme("array", (".npy", ".npz"), "NumPy 3-D pose arrays (T, V, 3) with a layout name", False, _array),
        FileScheme("mediapipe", (".csv", ".json"), "MediaPipe Pose image landmarks (2-D)", True,
                   lambda path, fps, row, ids: read_mediapipe(path, fps, coordinates="image", **ids)),
        FileScheme("mediapipe3d", (".csv", ".json"), "MediaPipe Pose world landmarks (3-D, hip-centred)", True,
                   lambda path, fps, row, ids: read_mediapipe(path, fps, coordinates="world", **ids)),
        FileScheme("alphapose", (".json",), "AlphaPose results JSON (COCO-17 or Halpe-26)", True,
                   lambda path, fps, row, ids: read_alphapose(path, fps, **ids)),
        FileScheme("mmpose", (".json",), "MMPose / RTMPose prediction JSON", True,
                   lambda path, fps, row, ids: read_mmpose(path, fps, **ids)),
    )
}


def _files(root: Path, scheme: FileScheme) -> dict[str, Path]:
    if root.is_file():
        return {root.stem: root}
    if not root.is_dir():
        raise ReaderError(f"{root}: no such file or folder", root)
    files: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix.lower() in scheme.suffixes:
            if path.stem in files:
                raise ReaderError(f"{root}: two files for video {path.stem!r} ({files[path.stem].name}, {path.name})",
                                  root)
            files[path.stem] = path
    return files


def read_pose_files(kind: str, root: Path, table: pd.DataFrame, *, fps: float | None, labels: Path, strict: bool,
                    report: dict) -> tuple[list, int]:
    """Read every labelled file of one scheme; 3-D sequences are projected onto their walking plane.

    Returns the 2-D sequences and the number of 3-D ones among them. One
    unreadable file is skipped and reported in ``report["videos_unreadable"]``
    (raises with ``strict``); files without labels and labels without files
    are listed in the report.
    """
    scheme = FILE_SCHEMES[kind]
    files = _files(root, scheme)
    if not files:
        raise ReaderError(f"{root}: no {'/'.join(scheme.suffixes)} files for the {kind} scheme "
                          f"({scheme.description})", root)
    labelled = set(table["video_id"])
    report["video_files_without_labels"] = sorted(set(files) - labelled)
    report["labels_without_video_file"] = sorted(labelled - set(files))
    sequences, unreadable, n3d = [], {}, 0
    for _, row in table.iterrows():
        path = files.get(row["video_id"])
        if path is None:
            continue
        rate = float(row["fps"]) if "fps" in table.columns and np.isfinite(row["fps"]) else fps
        if rate is None and scheme.needs_fps:
            message = (f"{labels}: no fps for video {row['video_id']!r}; add an fps column or give --fps "
                       f"({kind} files do not store their frame rate)")
            if strict or "fps" not in table.columns:  # no fps anywhere: every video would fail alike
                raise LabelError(message)
            report.setdefault("videos_mislabelled", {})[row["video_id"]] = message
            continue
        ids = {"patient_id": _text(row, "patient_id"), "video_id": row["video_id"]}
        try:
            seq = scheme.read(path, rate, row, ids)
            if isinstance(seq, PoseSequence3D):
                seq = project_to_walking_plane(seq, "sagittal")
                n3d += 1
            sequences.append(seq)
        except (GaitError, OSError, MemoryError) as exc:  # one bad file never stops the run (unless strict)
            if strict:
                raise ReaderError(f"{path}: {exc} (strict: the run stops at the first bad video)", path) from exc
            unreadable[row["video_id"]] = f"{type(exc).__name__}: {exc}"
    report["videos_unreadable"] = unreadable
    if not sequences:
        raise GaitError(f"{root}: no labelled, readable {kind} file (labels name {len(labelled)} videos, "
                        f"{len(files)} files found, {len(unreadable)} unreadable)")
    return sequences, n3d
