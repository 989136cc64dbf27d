"""OpenPose JSON folders: one ``*_keypoints.json`` file per video frame."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError, ReaderError
from gaitfeat.layouts import get_layout, layout_for_joint_count
from gaitfeat.pose import PoseSequence, openpose_undetected

__all__ = ["read_openpose", "write_openpose"]

_FRAME_RE = re.compile(r"^(?P<prefix>.*?)_?(?P<frame>\d+)_keypoints\.json$")
# OpenPose >= 1.2 writes "pose_keypoints_2d"; 1.0/1.1 wrote "pose_keypoints".
_POSE_KEYS = ("pose_keypoints_2d", "pose_keypoints")


@dataclass
class _Track:
    """A person followed through consecutive frames."""

    frames: list[int] = field(default_factory=list)
    poses: list[np.ndarray] = field(default_factory=list)
    score: float = 0.0

    @property
    def last(self) -> np.ndarray:
        return self.poses[-1]


def _frame_number(path: Path) -> tuple[str, int]:
    m = _FRAME_RE.match(path.name)
    if m is None:
        raise ReaderError(f"{path}: cannot read a frame number from the file name (expected NAME_<frame>_keypoints.json)", path)
    return m.group("prefix"), int(m.group("frame"))


def _parse_frame(path: Path, n_values: int | None) -> list[np.ndarray]:
    """People in one frame as ``(V, 3)`` arrays in OpenPose encoding (0 = undetected)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ReaderError(f"{path}: corrupt JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path) from None
    except UnicodeDecodeError:
        raise ReaderError(f"{path}: not a UTF-8 text file", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise ReaderError(f"{path}: not an OpenPose keypoint file (no 'people' list)", path)
    people = []
    for i, person in enumerate(data["people"]):
        if not isinstance(person, dict):
            raise ReaderError(f"{path}: person {i} is not a JSON object", path)
        key = next((k for k in _POSE_KEYS if k in person), None)
        if key is None:
            raise ReaderError(f"{path}: person {i} has no 'pose_keypoints_2d'", path)
        values = person[key]
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ReaderError(f"{path}: person {i} has non-numeric keypoints", path) from None
        if arr.ndim != 1 or arr.size % 3 != 0:
            raise ReaderError(f"{path}: person {i} has {arr.size} keypoint values, not a multiple of 3 (x, y, confidence)", path)
        if n_values is not None and arr.size != n_values:
            raise ReaderError(
                f"{path}: person {i} has {arr.size // 3} joints, other frames have {n_values // 3}", path
            )
        if not np.isfinite(arr).all():
            raise ReaderError(f"{path}: person {i} has non-finite keypoint values", path)
        people.append(arr.reshape(-1, 3))
    return people


def _to_missing(person: np.ndarray) -> np.ndarray:
    """OpenPose encoding -> NaN for undetected joints."""
    p = person.astype(np.float64, copy=True)
    p[openpose_undetected(p)] = np.nan
    return p


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Median distance (px) between joints detected in both poses; centroid distance if none shared."""
    both = ~np.isnan(a[:, 0]) & ~np.isnan(b[:, 0])
    if both.sum() >= 2:
        return float(np.median(np.hypot(*(a[both, :2] - b[both, :2]).T)))
    ca = np.nanmean(a[:, :2], axis=0)
    cb = np.nanmean(b[:, :2], axis=0)
    return float(np.hypot(*(ca - cb)))


def _pose_size(p: np.ndarray) -> float:
    """Height of the detected joints' bounding box (px), at least 1."""
    ys = p[~np.isnan(p[:, 1]), 1]
    xs = p[~np.isnan(p[:, 0]), 0]
    if ys.size < 2:
        return 1.0
    return float(max(np.ptp(ys), np.ptp(xs), 1.0))


def read_openpose(
    folder: str | Path,
    fps: float,
    *,
    layout: str | None = None,
    x_range: tuple[float, float] | None = None,
    patient_id: str | None = None,
    video_id: str | None = None,
    min_joints: int = 4,
    max_jump: float = 0.5,
    lost_after_s: float = 1.0,
) -> PoseSequence:
    """Read an OpenPose JSON output folder as one person's :class:`PoseSequence`.

    Frame numbers are taken from the file names (``NAME_000000000123_keypoints.json``);
    a gap in the numbering becomes missing frames, so time stays uniform.
    ``(0, 0, 0)`` keypoints become missing (NaN).

    When a frame holds several people, the subject is followed by continuity:
    detections are linked into tracks frame to frame (nearest pose, median
    joint distance at most ``max_jump`` x body size per elapsed frame), and the
    track with the largest total confidence over the video is the subject. This
    keeps the walking child even when a clinician or parent passes through the
    view for a few frames.

    Parameters
    ----------
    folder : str or Path
        Folder holding the ``*_keypoints.json`` files of one video.
    fps : float
        Frame rate of the video (OpenPose does not record it).
    layout : str, optional
        Skeleton layout of the file; inferred from the joint count (25 ->
        ``body25``, 17 -> ``coco17``) when omitted.
    x_range : (float, float), optional
        Only people whose median x (px) lies in ``[x_min, x_max]`` are
        considered, e.g. ``(0, 320)`` for the left half of a split-screen
        video.
    patient_id, video_id : str, optional
        Identifiers; ``video_id`` defaults to the folder name.
    min_joints : int
        Detections with fewer detected joints are ignored as spurious.
    max_jump : float
        Largest frame-to-frame displacement of a track, as a fraction of the
        person's bounding-box size per elapsed frame.
    lost_after_s : float
        A track not seen for this long (s) is closed; a person appearing later
        starts a new track.

    Returns
    -------
    PoseSequence
        With ``info["read_openpose"]`` holding counts: files, frames, gap
        frames, frames without anyone, frames with several people, frames
        where the subject was not found, people outside ``x_range``, tracks.

    Raises
    ------
    ReaderError
        Missing or empty folder, a file name without frame number, two files
        for one frame, corrupt JSON, inconsistent joint counts.
    LayoutError
        A joint count no supported layout has (e.g. OpenPose's COCO-18 model).
    """
    folder = Path(folder)
    if not isinstance(fps, (int, float, np.integer, np.floating)) or not np.isfinite(fps) or fps <= 0:
        raise PoseDataError(f"{folder}: fps must be a positive finite number, got {fps!r}")
    if not folder.is_dir():
        raise ReaderError(f"{folder}: no such folder", folder)
    files = sorted(folder.glob("*_keypoints.json"))
    if not files:
        raise ReaderError(f"{folder}: no *_keypoints.json files (is this an OpenPose --write_json folder?)", folder)

    numbered: dict[int, Path] = {}
    prefixes: set[str] = set()
    for path in files:
        prefix, number = _frame_number(path)
        prefixes.add(prefix)
        if number in numbered:
            raise ReaderError(
                f"{folder}: two files for frame {number} ({numbered[number].name}, {path.name}); "
                f"the folder seems to mix videos with prefixes {sorted(prefixes)}",
                folder,
            )
        numbered[number] = path

    first, last = min(numbered), max(numbered)
    n_frames = last - first + 1
    n_values: int | None = None
    frames_people: dict[int, list[np.ndarray]] = {}
    n_multi = n_empty = n_outside = n_spurious = 0
    for number in sorted(numbered):
        people = _parse_frame(numbered[number], n_values)
        if people and n_values is None:
            n_values = people[0].size
        if not people:
            n_empty += 1
        if len(people) > 1:
            n_multi += 1
        kept = []
        for person in people:
            p = _to_missing(person)
            detected = ~np.isnan(p[:, 0])
            if detected.sum() < min_joints:
                n_spurious += 1
                continue
            if x_range is not None:
                mx = float(np.median(p[detected, 0]))
                if not (x_range[0] <= mx <= x_range[1]):
                    n_outside += 1
                    continue
            kept.append(p)
        frames_people[number - first] = kept

    if n_values is None:
        raise ReaderError(f"{folder}: no person is detected in any of the {len(files)} frames", folder)
    n_joints = n_values // 3
    if layout is None:
        try:
            lay = layout_for_joint_count(n_joints)
        except LayoutError as exc:
            raise LayoutError(f"{folder}: {exc}") from None
    else:
        lay = get_layout(layout)
        if lay.num_joints != n_joints:
            raise LayoutError(f"{folder}: files have {n_joints} joints but layout {lay.name!r} has {lay.num_joints}")

    lost_after = max(1, int(round(lost_after_s * float(fps))))
    tracks: list[_Track] = []
    active: list[_Track] = []
    for t in range(n_frames):
        people = frames_people.get(t, [])
        active = [tr for tr in active if t - tr.frames[-1] <= lost_after]
        # Greedy nearest matching: the closest (track, person) pair first.
        pairs = []
        for i, tr in enumerate(active):
            gate = max_jump * _pose_size(tr.last) * (t - tr.frames[-1])
            for j, p in enumerate(people):
                d = _pose_distance(tr.last, p)
                if d <= gate:
                    pairs.append((d, i, j))
        used_tracks, used_people = set(), set()
        for _, i, j in sorted(pairs):
            if i in used_tracks or j in used_people:
                continue
            used_tracks.add(i)
            used_people.add(j)
            tr = active[i]
            tr.frames.append(t)
            tr.poses.append(people[j])
            tr.score += float(np.nansum(people[j][:, 2]))
        for j, p in enumerate(people):
            if j not in used_people:
                tr = _Track([t], [p], float(np.nansum(p[:, 2])))
                tracks.append(tr)
                active.append(tr)

    kp = np.full((n_frames, n_joints, 3), np.nan, dtype=np.float32)
    subject = max(tracks, key=lambda tr: tr.score) if tracks else None
    if subject is not None:
        kp[subject.frames] = np.stack(subject.poses).astype(np.float32)
    present = np.zeros(n_frames, dtype=bool)
    if subject is not None:
        present[subject.frames] = True
    with_people = np.array([bool(frames_people.get(t)) for t in range(n_frames)])

    info = {
        "read_openpose": {
            "source": str(folder),
            "files": len(files),
            "first_frame": int(first),
            "frames": int(n_frames),
            "gap_frames": int(n_frames - len(files)),
            "empty_frames": int(n_empty),
            "multi_person_frames": int(n_multi),
            "subject_missing_frames": int((~present).sum()),
            "other_people_frames": int((with_people & ~present).sum()),
            "ignored_small_detections": int(n_spurious),
            "outside_x_range": int(n_outside),
            "tracks": len(tracks),
        }
    }
    return PoseSequence(
        kp,
        fps,
        lay.name,
        patient_id=patient_id,
        video_id=video_id if video_id is not None else folder.name,
        info=info,
    )


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
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = prefix if prefix is not None else (seq.video_id or "video")
    extra_people = extra_people or {}
    written = []

    def encode(p: np.ndarray) -> list[float]:
        arr = np.array(p, dtype=np.float64, copy=True)
        arr[np.isnan(arr).any(axis=1)] = 0.0
        return [round(float(v), 4) for v in arr.ravel()]

    for t in range(seq.n_frames):
        people = []
        frame = seq.keypoints[t]
        for p in ([] if np.isnan(frame[:, 0]).all() else [frame]) + list(extra_people.get(t, [])):
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
        path = folder / f"{prefix}_{first_frame + t:012d}_keypoints.json"
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"version": 1.3, "people": people}, fh, separators=(",", ":"))
        written.append(path)
    return written
