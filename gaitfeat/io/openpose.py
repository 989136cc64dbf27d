"""OpenPose JSON folders: one ``*_keypoints.json`` file per video frame."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gaitfeat.errors import LayoutError, ReaderError
from gaitfeat.io._frames import FPS_RANGE, MAX_FRAME_FILE_BYTES, check_fps, frame_number, parse_frame
from gaitfeat.io._tracking import track_subject
from gaitfeat.layouts import LAYOUTS, get_layout, layout_for_joint_count
from gaitfeat.pose import PoseSequence, openpose_undetected

__all__ = ["read_openpose", "write_openpose", "MAX_GAP_PER_FILE", "MAX_GAP_FRAMES", "MAX_FRAME_FILE_BYTES", "FPS_RANGE"]

#: Missing frames allowed between the first and last frame file: at most
#: ``MAX_GAP_PER_FILE`` per file read, or ``MAX_GAP_FRAMES``, whichever is larger.
#: A stray file numbered far beyond the others is refused before anything is
#: allocated for the frames in between.
MAX_GAP_PER_FILE = 10
MAX_GAP_FRAMES = 1000



def _to_missing(person: np.ndarray) -> np.ndarray:
    """OpenPose encoding -> NaN for undetected joints."""
    p = person.astype(np.float64, copy=True)
    p[openpose_undetected(p)] = np.nan
    return p


def _real(value: object) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def _finite(value: object) -> bool:
    try:
        return _real(value) and bool(np.isfinite(float(value)))
    except OverflowError:
        return False


def _check_arguments(layout, x_range, min_joints, max_jump, lost_after_s):
    """Validate read_openpose's options before any file is read; the layout if one is given."""
    lay = None
    if layout is not None:
        if not isinstance(layout, str):
            raise ValueError(f"read_openpose: layout must be a layout name such as 'body25', got {layout!r:.60}")
        lay = get_layout(layout)
    if x_range is not None:
        if (
            not isinstance(x_range, (tuple, list, np.ndarray))
            or len(x_range) != 2
            or not all(_finite(v) for v in x_range)
        ):
            raise ValueError(f"read_openpose: x_range must be two finite numbers (x_min, x_max) in pixels, got {x_range!r:.80}")
        if not float(x_range[0]) < float(x_range[1]):
            raise ValueError(f"read_openpose: x_range {tuple(x_range)!r}: x_min must be less than x_max")
    most = lay.num_joints if lay is not None else max(lay_.num_joints for lay_ in LAYOUTS.values())
    if isinstance(min_joints, (bool, np.bool_)) or not isinstance(min_joints, (int, np.integer)) or not 1 <= min_joints <= most:
        raise ValueError(
            f"read_openpose: min_joints must be an integer from 1 to {most} (the joints of "
            f"{'layout ' + repr(lay.name) if lay is not None else 'the largest layout'}), got {min_joints!r:.60}"
        )
    if not _finite(max_jump) or not float(max_jump) > 0:
        raise ValueError(f"read_openpose: max_jump must be a positive finite number (fraction of body size per frame), got {max_jump!r:.60}")
    if not _finite(lost_after_s) or not float(lost_after_s) > 0:
        raise ValueError(f"read_openpose: lost_after_s must be a positive finite number of seconds, got {lost_after_s!r:.60}")
    return lay


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
    ``(0, 0, 0)`` keypoints, and keypoints with confidence 0, become missing (NaN).

    What the reader refuses (each a :class:`~gaitfeat.errors.ReaderError`
    naming the file; one bad frame file fails the whole folder, as a partly
    read video would silently distort timing):

    * **Several recordings in one folder**: files whose names have different
      prefixes (``a_000000000000_keypoints.json`` and ``b_...``) are never
      merged; the message lists the prefixes.
    * **A stray frame number**: the frames missing between the first and the
      last file may number at most :data:`MAX_GAP_PER_FILE` (10) per file
      read or :data:`MAX_GAP_FRAMES` (1000), whichever is larger; beyond that
      the reader fails before allocating anything and names the file after
      the largest gap.
    * **Confidences outside [0, 1]**, negative ones included: OpenPose writes
      confidences in [0, 1] and ``0`` for an undetected joint, and
      :class:`~gaitfeat.pose.PoseSequence` refuses anything else, so a
      negative confidence is an error (naming file, frame, person and joint),
      never silently "missing".
    * **Malformed values**: keypoints that are not a flat list of JSON
      numbers (strings, ``null``, booleans, nested or ragged lists), values
      beyond the float32 range, NaN or infinity, corrupt or too deeply
      nested JSON.
    * **Files that cannot be read**: a folder, a broken or looping symbolic
      link, or an unreadable file named like a frame file; anything that is
      not a regular file (a named pipe, socket or device, e.g. a link to
      ``/dev/zero``), which is never opened for reading.
    * **Oversized frame files**: more than :data:`MAX_FRAME_FILE_BYTES`
      (10 MB) per file; a frame with dozens of people is a few hundred KB.
    * **No subject at all**: no detection in any frame passes ``min_joints``
      and ``x_range`` ("no person detected in any of the N frames", with
      the counts filtered out).

    Every option is checked before any file is read: ``fps`` must lie in
    :data:`FPS_RANGE` (1 to 1000 frames/s, :class:`~gaitfeat.errors.PoseDataError`);
    a bad ``layout`` name is a :class:`~gaitfeat.errors.LayoutError`; a
    ``x_range`` that is not two finite numbers with ``x_min < x_max``,
    ``min_joints`` outside 1 to the layout's joint count, a ``max_jump`` or
    ``lost_after_s`` that is not a positive finite number is a
    :class:`ValueError` naming the option.

    When a frame holds several people, the subject is followed by continuity:
    detections are linked into tracks frame to frame (nearest pose, median
    joint distance at most ``max_jump`` x body size per elapsed frame, and
    never more than two body sizes), and the
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
        person's bounding-box size per elapsed frame (two body sizes at most).
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
        for one frame, several file-name prefixes, a gap beyond the maximum,
        an unreadable frame file, corrupt JSON, malformed or non-numeric
        keypoints, confidences outside [0, 1], inconsistent joint counts,
        a frame file that is not a regular file or is larger than
        :data:`MAX_FRAME_FILE_BYTES`, no person detected in any frame.
    PoseDataError
        ``fps`` not a finite number in :data:`FPS_RANGE` (1 to 1000 frames/s).
    ValueError
        An option out of range (named in the message).
    LayoutError
        A joint count no supported layout has (e.g. OpenPose's COCO-18 model).
    """
    folder = Path(folder)
    check_fps(fps, folder)
    lay_given = _check_arguments(layout, x_range, min_joints, max_jump, lost_after_s)
    if not folder.is_dir():
        raise ReaderError(f"{folder}: no such folder", folder)
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise ReaderError(f"{folder}: cannot list the folder ({exc.strerror or exc})", folder) from None
    files = sorted(folder / name for name in names if name.endswith("_keypoints.json"))
    if not files:
        raise ReaderError(f"{folder}: no *_keypoints.json files (is this an OpenPose --write_json folder?)", folder)

    numbered: dict[int, Path] = {}
    by_prefix: dict[str, list[str]] = {}
    for path in files:
        prefix, number = frame_number(path)
        by_prefix.setdefault(prefix, []).append(path.name)
        if number in numbered and len(by_prefix) == 1:
            raise ReaderError(f"{folder}: two files for frame {number} ({numbered[number].name}, {path.name})", folder)
        numbered[number] = path
    if len(by_prefix) > 1:
        shown = ", ".join(f"{p!r} ({len(v)} files, e.g. {v[0]})" for p, v in sorted(by_prefix.items()))
        raise ReaderError(
            f"{folder}: the folder mixes {len(by_prefix)} recordings with different file-name prefixes: {shown}; "
            "put each video's files in its own folder",
            folder,
        )

    first, last = min(numbered), max(numbered)
    n_frames = last - first + 1
    gap = n_frames - len(files)
    allowed = max(MAX_GAP_PER_FILE * len(files), MAX_GAP_FRAMES)
    if gap > allowed:
        order = sorted(numbered)
        k = max(range(1, len(order)), key=lambda j: order[j] - order[j - 1])
        raise ReaderError(
            f"{folder}: frames {first}-{last} would leave {gap} frames missing for {len(files)} files "
            f"(at most {allowed} allowed); the largest gap is before {numbered[order[k]].name} "
            f"(frame {order[k]}, previous file frame {order[k - 1]}); is it a stray file?",
            numbered[order[k]],
        )
    n_values: int | None = None
    frames_people: dict[int, list[np.ndarray]] = {}
    n_multi = n_empty = n_outside = n_spurious = 0
    for number in sorted(numbered):
        people = parse_frame(numbered[number], n_values, number)
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
        lay = lay_given
        if lay.num_joints != n_joints:
            raise LayoutError(f"{folder}: files have {n_joints} joints but layout {lay.name!r} has {lay.num_joints}")

    if min_joints > lay.num_joints:
        raise ValueError(f"read_openpose: min_joints {min_joints} is more than the {lay.num_joints} joints of layout {lay.name!r}")
    if not any(frames_people.values()):
        why = []
        if n_spurious:
            why.append(f"{n_spurious} detections had fewer than min_joints={min_joints} detected joints")
        if n_outside:
            why.append(f"{n_outside} people were outside x_range={tuple(x_range)!r}")
        raise ReaderError(
            f"{folder}: no person detected in any of the {len(files)} frames"
            + (f" ({'; '.join(why)})" if why else " (every keypoint is undetected)"),
            folder,
        )
    kp, counts = track_subject(
        frames_people, n_frames, fps, max_jump=max_jump, lost_after_s=lost_after_s, n_joints=n_joints
    )

    info = {
        "read_openpose": {
            "source": str(folder),
            "files": len(files),
            "first_frame": int(first),
            "frames": int(n_frames),
            "gap_frames": int(n_frames - len(files)),
            "empty_frames": int(n_empty),
            "multi_person_frames": int(n_multi),
            "subject_missing_frames": counts["subject_missing_frames"],
            "other_people_frames": counts["other_people_frames"],
            "ignored_small_detections": int(n_spurious),
            "outside_x_range": int(n_outside),
            "tracks": counts["tracks"],
            "rejoined_tracks": counts["rejoined_tracks"],
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


from gaitfeat.io.openpose_write import write_openpose  # noqa: E402  (the writer lives in its own module)
