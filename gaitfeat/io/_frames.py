"""Reading one OpenPose ``*_keypoints.json`` frame file: every way it can be bad is a ReaderError naming it."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np

from gaitfeat.errors import GaitError, PoseDataError, ReaderError
from gaitfeat.pose import FPS_RANGE  # the bounds PoseSequence applies (1 to 1000 frames/s)

__all__ = ["frame_number", "parse_frame", "read_regular_file", "MAX_FRAME_FILE_BYTES", "check_fps", "FPS_RANGE"]

_FRAME_RE = re.compile(r"^(?P<prefix>.*?)_?(?P<frame>[0-9]+)_keypoints\.json$")
# OpenPose >= 1.2 writes "pose_keypoints_2d"; 1.0/1.1 wrote "pose_keypoints".
_POSE_KEYS = ("pose_keypoints_2d", "pose_keypoints")
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # keypoints are stored as float32


def frame_number(path: Path) -> tuple[str, int]:
    """``(prefix, frame number)`` from ``PREFIX_000000000123_keypoints.json``."""
    m = _FRAME_RE.match(path.name)
    if m is None:
        raise ReaderError(f"{path}: cannot read a frame number from the file name (expected NAME_<frame>_keypoints.json)", path)
    return m.group("prefix"), int(m.group("frame"))




def check_fps(fps: object, where: object, error: type[GaitError] = PoseDataError) -> float:
    """``fps`` as a float in :data:`FPS_RANGE` (frames/s), else ``error`` naming ``where`` and the limit."""
    lo, hi = FPS_RANGE
    if isinstance(fps, (bool, np.bool_)) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise error(f"{where}: fps must be a number of frames per second, got {fps!r:.60}")
    try:
        value = float(fps)
    except OverflowError:
        value = float("inf")
    if not np.isfinite(value):
        raise error(f"{where}: fps must be a finite number, got {fps!r:.60}")
    if not lo <= value <= hi:
        raise error(f"{where}: fps {value:g} is outside the plausible range {lo:g} to {hi:g} frames/s")
    return value


#: Largest OpenPose frame file read, in bytes. A frame with dozens of people
#: is a few hundred KB; anything larger is refused before it is read whole.
MAX_FRAME_FILE_BYTES = 10_000_000


def read_regular_file(path: Path, limit: int, *, what: str, head: int | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit`` of them.

    Only a regular file is opened for reading: a named pipe (FIFO), socket or
    device would block for ever or never end, so it is refused, as is a
    folder, a broken or looping link, an unreadable file, and a file larger
    than ``limit`` bytes. Every refusal is a ReaderError naming ``path`` (and
    the limit). The type is checked on the resolved path before opening and
    again on the open file (opened non-blocking, so a FIFO swapped in
    between cannot block either); the size is capped while reading, never
    taken from ``stat`` alone. With ``head``, only the first ``head`` bytes
    are read (the size is then checked on the open regular file's ``fstat``).
    """
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ReaderError(f"{path}: is a folder, not {what}", path)
        if not stat.S_ISREG(st.st_mode):
            raise ReaderError(f"{path}: is a {_kind(st.st_mode)}, not a regular file; only regular files are read as {what}", path)
        if st.st_size > limit:
            raise ReaderError(f"{path}: {st.st_size} bytes, larger than the {limit}-byte limit for {what}", path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb", closefd=True) as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ReaderError(f"{path}: is a {_kind(st.st_mode)}, not a regular file; only regular files are read as {what}", path)
            if head is not None:
                if st.st_size > limit:
                    raise ReaderError(f"{path}: {st.st_size} bytes, larger than the {limit}-byte limit for {what}", path)
                return fh.read(head)
            raw = fh.read(limit + 1)
    except ReaderError:
        raise
    except IsADirectoryError:
        raise ReaderError(f"{path}: is a folder, not {what}", path) from None
    except FileNotFoundError:
        if os.path.islink(path):
            raise ReaderError(f"{path}: broken symbolic link (its target does not exist)", path) from None
        raise ReaderError(f"{path}: file disappeared while it was read", path) from None
    except PermissionError:
        raise ReaderError(f"{path}: permission denied", path) from None
    except OSError as exc:
        raise ReaderError(f"{path}: cannot read the file ({exc.strerror or exc})", path) from None
    if len(raw) > limit:
        raise ReaderError(f"{path}: larger than the {limit}-byte limit for {what}", path)
    return raw


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _read_text(path: Path) -> str:
    """The file's text; every way it cannot be read becomes a ReaderError naming it."""
    raw = read_regular_file(path, MAX_FRAME_FILE_BYTES, what="a frame file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReaderError(f"{path}: not a UTF-8 text file", path) from None


def _keypoint_values(path: Path, i: int, values: object) -> np.ndarray:
    """A person's flat ``[x, y, c, ...]`` list as float64; anything else is a ReaderError."""
    if not isinstance(values, list):
        raise ReaderError(f"{path}: person {i}: keypoints must be a list of numbers, got a {type(values).__name__}", path)
    for k, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = "list" if isinstance(v, list) else type(v).__name__ if v is not None else "null"
            raise ReaderError(
                f"{path}: person {i}: keypoint value {k} is {kind} {v!r:.40}, not a number "
                "(expected a flat list x, y, confidence, ...)",
                path,
            )
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:
        raise ReaderError(f"{path}: person {i}: a keypoint value is too large for a float", path) from None


def parse_frame(path: Path, n_values: int | None, frame: int) -> list[np.ndarray]:
    """People in one frame as ``(V, 3)`` arrays in OpenPose encoding (0 = undetected)."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReaderError(f"{path}: corrupt JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path) from None
    except RecursionError:
        raise ReaderError(f"{path}: corrupt JSON (nested too deeply)", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise ReaderError(f"{path}: not an OpenPose keypoint file (no 'people' list)", path)
    people = []
    for i, person in enumerate(data["people"]):
        if not isinstance(person, dict):
            raise ReaderError(f"{path}: person {i} is not a JSON object", path)
        key = next((k for k in _POSE_KEYS if k in person), None)
        if key is None:
            raise ReaderError(f"{path}: person {i} has no 'pose_keypoints_2d'", path)
        arr = _keypoint_values(path, i, person[key])
        if arr.size == 0 or arr.size % 3 != 0:
            raise ReaderError(f"{path}: person {i} has {arr.size} keypoint values, not a positive multiple of 3 (x, y, confidence)", path)
        if n_values is not None and arr.size != n_values:
            raise ReaderError(
                f"{path}: person {i} has {arr.size // 3} joints, other frames have {n_values // 3}", path
            )
        if not np.isfinite(arr).all():
            raise ReaderError(f"{path}: person {i} has non-finite keypoint values", path)
        if (np.abs(arr) > _FLOAT32_MAX).any():
            raise ReaderError(f"{path}: person {i} has keypoint values beyond the float32 range (|v| > {_FLOAT32_MAX:.3g})", path)
        pose = arr.reshape(-1, 3)
        bad = (pose[:, 2] < 0) | (pose[:, 2] > 1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ReaderError(
                f"{path}: frame {frame}, person {i}, joint {j}: confidence {pose[j, 2]:g} outside [0, 1] "
                f"({int(bad.sum())} such joints in this person); OpenPose writes confidences in [0, 1] and "
                "0 for undetected joints, so the file is not trusted",
                path,
            )
        people.append(pose)
    return people
