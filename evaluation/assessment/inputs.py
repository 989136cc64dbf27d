"""The walks of one assessment: pose sequences given directly, or read from OpenPose folders or ``.npz`` files.

Each walk becomes a :class:`Walk`; a walk that cannot be read keeps its error message instead of a sequence,
so one unreadable video is reported in the assessment instead of stopping it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gaitfeat.errors import GaitError
from gaitfeat.io import read_npz, read_openpose
from gaitfeat.pose import PoseSequence

__all__ = ["Walk", "read_walks", "SCHEMES"]

#: Sources ``read_walks`` takes as text: ``openpose:DIR`` (one folder of ``*_keypoints.json``, or a folder of
#: such folders, one per visit, in name order) and ``npz:FILE`` (sequences written by :func:`gaitfeat.write_npz`).
SCHEMES = ("openpose", "npz")


@dataclass
class Walk:
    """One video of the assessment.

    Attributes
    ----------
    video_id : str
    source : str
        Where it came from, as the report shows it: the scheme and the folder or file name (no local path).
    sequence : PoseSequence or None
        The raw detector output; None when it could not be read.
    error : str or None
        Why it could not be read.
    """

    video_id: str
    source: str
    sequence: PoseSequence | None = None
    error: str | None = None


def _local(text: str, path: Path) -> str:
    """``text`` with the folder above ``path`` left out: a report that leaves the clinic carries no local paths
    (which may name patients or staff), only the video's own folder or file name."""
    return text.replace(str(path.parent) + "/", "") if str(path.parent) not in ("", ".") else text


def _openpose(root: Path, fps: float | None) -> list[Walk]:
    if not root.is_dir():
        raise GaitError(f"{root}: no such folder of OpenPose output")
    if fps is None:
        raise GaitError("OpenPose JSON files do not record the frame rate: give fps (--fps)")
    if any(root.glob("*_keypoints.json")):
        folders = [root]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*_keypoints.json")))
        if not folders:
            raise GaitError(f"{root}: no *_keypoints.json files, and no sub-folder holding any")
    walks = []
    for folder in folders:
        try:
            walks.append(Walk(folder.name, f"openpose:{folder.name}", read_openpose(folder, fps, video_id=folder.name)))
        except (GaitError, OSError, MemoryError) as exc:
            error = _local(f"{type(exc).__name__}: {exc}", folder)
            walks.append(Walk(folder.name, f"openpose:{folder.name}", error=error))
    return walks


def _npz(path: Path) -> list[Walk]:
    try:
        sequences = read_npz(path)
    except (GaitError, OSError) as exc:
        return [Walk(path.stem, f"npz:{path.name}", error=_local(f"{type(exc).__name__}: {exc}", path))]
    return [Walk(s.video_id or f"{path.stem}-{i + 1}", f"npz:{path.name}", s) for i, s in enumerate(sequences)]


def read_walks(data, *, fps: float | None = None) -> list[Walk]:
    """The walks of ``data``, in visit order.

    Parameters
    ----------
    data : PoseSequence, list of PoseSequence, or str/Path
        Sequences (raw detector output, e.g. :func:`gaitfeat.read_openpose`), or ``"openpose:DIR"`` /
        ``"npz:FILE"`` (a bare folder is read as OpenPose output).
    fps : float, optional
        Frame rate of OpenPose videos (their JSON files do not record it).

    Raises
    ------
    GaitError
        The source itself is unusable (no such folder, no fps for OpenPose, an unknown scheme). A single video
        that cannot be read does not raise: its :class:`Walk` carries the error.
    TypeError
        ``data`` is of another type.
    """
    if isinstance(data, PoseSequence):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data or not all(isinstance(s, PoseSequence) for s in data):
            raise TypeError("data must be a PoseSequence, a non-empty list of them, or 'openpose:DIR' / 'npz:FILE'")
        return [Walk(s.video_id or f"walk {i + 1}", "PoseSequence", s) for i, s in enumerate(data)]
    if not isinstance(data, (str, Path)):
        raise TypeError(f"data must be a PoseSequence, a list of them or a source string, got {type(data).__name__}")
    text = str(data)
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in SCHEMES:
        if Path(text).is_dir():
            return _openpose(Path(text), fps)
        raise GaitError(f"unknown walk source {text!r}: use openpose:DIR or npz:FILE")
    if not rest:
        raise GaitError(f"{scheme}: needs a path ({scheme}:PATH)")
    return _openpose(Path(rest), fps) if scheme == "openpose" else _npz(Path(rest))
