"""Writing OpenPose JSON folders: one ``<prefix>_<frame>_keypoints.json`` file per frame (format 1.3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gaitfeat.errors import PoseDataError
from gaitfeat.io._names import path_inside, safe_name
from gaitfeat.pose import PoseSequence

__all__ = ["write_openpose"]


def _check_extra_people(extra_people: object, seq: PoseSequence) -> dict[int, list[np.ndarray]]:
    """``extra_people`` as ``{frame: [(V, 3) float arrays]}``; anything else is a PoseDataError."""
    if not isinstance(extra_people, dict):
        raise PoseDataError(f"extra_people must be a dict of frame index to a list of (V, 3) arrays, got {type(extra_people).__name__}")
    out: dict[int, list[np.ndarray]] = {}
    shape = (seq.n_joints, 3)
    for t, people in extra_people.items():
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or not 0 <= t < seq.n_frames:
            raise PoseDataError(f"extra_people: key {t!r} is not a frame index in 0..{seq.n_frames - 1}")
        if isinstance(people, np.ndarray) and people.ndim == 3:
            people = list(people)
        if not isinstance(people, (list, tuple)):
            raise PoseDataError(f"extra_people[{t}]: must be a list of (V, 3) arrays, got {type(people).__name__}")
        arrays = []
        for k, p in enumerate(people):
            try:
                a = np.array(p, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                raise PoseDataError(f"extra_people[{t}][{k}]: not a numeric (V, 3) array (ragged or non-numeric values)") from None
            if a.shape != shape:
                raise PoseDataError(f"extra_people[{t}][{k}]: shape {a.shape}, expected {shape} for layout {seq.layout!r}")
            if np.isinf(a).any():
                raise PoseDataError(f"extra_people[{t}][{k}]: infinite values; mark undetected joints with NaN or 0")
            c = a[:, 2]
            if ((c < 0) | (c > 1)).any():
                raise PoseDataError(f"extra_people[{t}][{k}]: confidence outside [0, 1]")
            arrays.append(a)
        out[int(t)] = arrays
    return out


def write_openpose(
    seq: PoseSequence,
    folder: str | Path,
    *,
    prefix: str | None = None,
    extra_people: dict[int, list[np.ndarray]] | None = None,
    first_frame: int = 0,
) -> list[Path]:
    """Write a sequence as an OpenPose ``--write_json`` folder (format version 1.3).

    Missing joints are written as ``0, 0, 0`` and frames where every joint is
    missing as an empty ``people`` list, as OpenPose does.

    Parameters
    ----------
    seq : PoseSequence
        The subject.
    folder : str or Path
        Created if needed.
    prefix : str, optional
        File-name prefix (default: the video ID, or ``"video"``).
    extra_people : dict of int to list of arrays, optional
        Further people per frame index, each ``(V, 3)`` in the sequence's
        layout (NaN or 0 for undetected joints), written after the subject.
    first_frame : int
        Number of the first frame in the file names.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    LabelError
        A prefix (or, by default, the video ID) that is not a plain file
        name: empty, with ``/`` or ``\\``, ``..``, ``:`` or a drive letter,
        control characters, leading/trailing white space, or too long. The
        files would otherwise land outside ``folder``.
    PoseDataError
        ``first_frame`` not a non-negative integer; ``extra_people`` not
        ``{frame index: [(V, 3) arrays]}`` with confidences in [0, 1].
    """
    folder = Path(folder)
    if not isinstance(seq, PoseSequence):
        raise TypeError(
            f"write_openpose: seq must be a gaitfeat.PoseSequence, got {type(seq).__name__}; "
            "build one with gaitfeat.PoseSequence(keypoints, fps, layout), read one with read_openpose/read_npz, "
            "or pass walk.sequence for a Walk"
        )
    if prefix is None:
        prefix = seq.video_id or "video"
        what = "video ID (the default file-name prefix)"
    else:
        what = "file-name prefix"
    prefix = safe_name(prefix, what=what, where=f"write_openpose to {folder}")
    if isinstance(first_frame, (bool, np.bool_)) or not isinstance(first_frame, (int, np.integer)) or first_frame < 0:
        raise PoseDataError(f"write_openpose: first_frame must be a non-negative integer, got {first_frame!r}")
    first_frame = int(first_frame)
    extra = _check_extra_people(extra_people or {}, seq)
    # The largest frame number must still parse back (and stay inside the folder).
    path_inside(folder, f"{prefix}_{first_frame + seq.n_frames - 1:012d}_keypoints.json", what="file name",
                where=f"write_openpose to {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def encode(p: np.ndarray) -> list[float]:
        arr = np.array(p, dtype=np.float64, copy=True)
        arr[np.isnan(arr).any(axis=1)] = 0.0
        return [round(float(v), 4) for v in arr.ravel()]

    for t in range(seq.n_frames):
        people = []
        frame = seq.keypoints[t]
        for p in ([] if np.isnan(frame[:, 0]).all() else [frame]) + extra.get(t, []):
            people.append(
                {
                    "person_id": [-1],
                    "pose_keypoints_2d": encode(p),
                    "face_keypoints_2d": [],
                    "hand_left_keypoints_2d": [],
                    "hand_right_keypoints_2d": [],
                    "pose_keypoints_3d": [],
                    "face_keypoints_3d": [],
                    "hand_left_keypoints_3d": [],
                    "hand_right_keypoints_3d": [],
                }
            )
        path = path_inside(folder, f"{prefix}_{first_frame + t:012d}_keypoints.json", what="file name")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"version": 1.3, "people": people}, fh, separators=(",", ":"))
        written.append(path)
    return written
