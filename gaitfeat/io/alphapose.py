"""AlphaPose results files (``alphapose-results.json``), and what the detector-JSON readers share.

Format (AlphaPose's own writer, ``write_json`` in ``alphapose/utils/pPose_nms.py``
of github.com/MVIG-SJTU/AlphaPose, and its ``doc/output.md``): one JSON list
for the whole video, one object per detected person::

    [{"image_id": "0.jpg", "category_id": 1,
      "keypoints": [x1, y1, c1, ..., xK, yK, cK], "score": 2.87,
      "box": [x, y, w, h], "idx": 3}, ...]

* ``image_id`` is the frame image's file name; for a video input AlphaPose
  names frame ``k`` (from 0) ``"k.jpg"`` (``alphapose/utils/detector.py``),
  and with ``--for_eval`` it writes the number itself. Frames without anybody
  have no entry.
* ``K`` is 17 (COCO), 26 (Halpe-26, the full-body models' body and feet),
  136 (Halpe-136: Halpe-26 followed by 68 face and 42 hand points) or 133
  (COCO-WholeBody: COCO-17, 6 foot points, face, hands).
* ``c`` is the keypoint score; ``score`` (the person's NMS score, ~0.5-3)
  and ``idx`` (a track id of AlphaPose's own tracker) are not used.

The per-image ``--format cmu`` / ``--format open`` outputs are not read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from gaitfeat.errors import GaitError, LayoutError, ReaderError
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.io._tracking import track_subject
from gaitfeat.layouts import (
    ALL_LAYOUTS,
    absent_joints,
    get_layout,
    map_confidence,
    map_joints,
    pipeline_layout_for,
)
from gaitfeat.pose import PoseSequence

__all__ = ["read_alphapose", "MAX_RESULTS_FILE_BYTES", "MAX_GAP_PER_FRAME", "MAX_GAP_FRAMES"]

#: Largest results file read, in bytes: a 10-minute 30 frames/s video with a
#: few whole-body (136-point) detections per frame is about 300 MB.
MAX_RESULTS_FILE_BYTES = 1_000_000_000

#: Frames without any detection allowed between the first and the last frame:
#: at most ``MAX_GAP_PER_FRAME`` per frame with detections, or
#: ``MAX_GAP_FRAMES``, whichever is larger (as for OpenPose folders). A stray
#: frame number far beyond the others is refused before anything is allocated.
MAX_GAP_PER_FRAME = 10
MAX_GAP_FRAMES = 1000

_FLOAT32_MAX = float(np.finfo(np.float32).max)

# Keypoint sets by count when no layout is given; the whole-body sets keep
# only their body and foot points (face and hands carry nothing for gait).
_BY_COUNT = {17: "coco17", 26: "halpe26", 133: "coco_wholebody", 136: "halpe136"}
# COCO-WholeBody points 17-22 (Jin et al., "Whole-Body Human Pose Estimation in the Wild").
_WHOLEBODY_FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")


def load_json(path: Path, what: str) -> object:
    """The parsed JSON of ``path``; unreadable, oversized or corrupt files are ReaderErrors naming it."""
    raw = read_regular_file(path, MAX_RESULTS_FILE_BYTES, what=what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReaderError(f"{path}: not a UTF-8 text file", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReaderError(f"{path}: corrupt JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path) from None
    except RecursionError:
        raise ReaderError(f"{path}: corrupt JSON (nested too deeply)", path) from None


def _positive_finite(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    try:
        v = float(value)
    except OverflowError:
        return False
    return bool(np.isfinite(v)) and v > 0


def check_options(reader: str, layout: object, max_jump: object, lost_after_s: object) -> str | None:
    """Validate the tracking options and the ``layout`` name before any file is read."""
    name = None
    if layout is not None:
        if not isinstance(layout, str):
            raise ValueError(f"{reader}: layout must be a layout name such as 'coco17', got {layout!r:.60}")
        name = get_layout(layout, pipeline=False).name
    if not _positive_finite(max_jump):
        raise ValueError(f"{reader}: max_jump must be a positive finite number (fraction of body size per frame), "
                         f"got {max_jump!r:.60}")
    if not _positive_finite(lost_after_s):
        raise ValueError(f"{reader}: lost_after_s must be a positive finite number of seconds, "
                         f"got {lost_after_s!r:.60}")
    return name


def keypoint_set(path: Path, n_keypoints: int, layout: str | None) -> str:
    """The keypoint set of ``n_keypoints``-point detections: a layout name, "coco_wholebody" or "halpe136"."""
    if layout is None:
        if n_keypoints not in _BY_COUNT:
            known = ", ".join(f"{k} ({v})" for k, v in _BY_COUNT.items())
            raise LayoutError(f"{path}: detections have {n_keypoints} keypoints; supported keypoint counts are {known}")
        return _BY_COUNT[n_keypoints]
    lay = ALL_LAYOUTS[layout]
    if lay.num_joints == n_keypoints:
        return layout
    # A whole-body set begins with the body layout it extends.
    if {133: "coco17", 136: "halpe26"}.get(n_keypoints) == layout:
        return _BY_COUNT[n_keypoints]
    raise LayoutError(f"{path}: detections have {n_keypoints} keypoints but layout {layout!r} has {lay.num_joints}")


def to_pipeline(people: np.ndarray, kind: str) -> tuple[np.ndarray, str, list[str]]:
    """``(N, K, 3)`` detections (NaN = missing) -> ``(N, V, 3)`` in the pipeline layout, its name, absent joints.

    Positions go through :func:`~gaitfeat.layouts.map_joints` and scores
    through :func:`~gaitfeat.layouts.map_confidence`: neck and mid-hip may be
    derived from shoulders and hips, no other joint is invented.
    """
    if kind == "halpe136":
        people, kind = people[:, :26], "halpe26"
    if kind == "coco_wholebody":
        body, feet = people[:, :17], people[:, 17:23]
        target = "body25"
        xy = map_joints(body[..., :2], "coco17", target)
        conf = map_confidence(body[..., 2], "coco17", target)
        lay = get_layout(target)
        for k, name in enumerate(_WHOLEBODY_FEET):
            xy[:, lay.index(name)] = feet[:, k, :2]
            conf[:, lay.index(name)] = np.nan_to_num(feet[:, k, 2])
        absent = [j for j in absent_joints("coco17", target) if j not in _WHOLEBODY_FEET]
    else:
        target = pipeline_layout_for(kind)
        xy = map_joints(people[..., :2], kind, target)
        conf = map_confidence(people[..., 2], kind, target)
        absent = list(absent_joints(kind, target))
    out = np.concatenate([xy, conf[..., None]], axis=-1)
    out[np.isnan(out[..., 0]) | np.isnan(out[..., 1])] = np.nan
    return out, target, absent


def frame_numbers(path: Path, labels: list[object]) -> dict[object, int]:
    """Frame number of each image label, in order of first appearance.

    An integer label is the frame number. A file-name label gives the last
    run of digits in its name without extension (``"0.jpg"`` -> 0,
    ``"clip_000123.png"`` -> 123). When no label has digits the frames are
    numbered in order of first appearance. Two labels for one frame number are
    an error.
    """
    numbers: dict[object, int] = {}
    seen: dict[int, object] = {}
    digits = [re.findall(r"\d+", Path(str(lab)).stem) if isinstance(lab, str) else None for lab in labels]
    if all(d == [] for d in digits):
        return {lab: k for k, lab in enumerate(labels)}
    for lab, d in zip(labels, digits):
        if d == []:
            raise ReaderError(f"{path}: image {lab!r} has no frame number in its name, other images have", path)
        if d is not None and len(d[-1]) > 15:
            raise ReaderError(f"{path}: image {lab!r:.60}: frame number {d[-1][:20]}... is too large", path)
        number = int(lab) if d is None else int(d[-1])
        if number in seen:
            raise ReaderError(f"{path}: two images for frame {number} ({seen[number]!r} and {lab!r})", path)
        seen[number] = lab
        numbers[lab] = number
    return numbers


def check_person(path: Path, where: str, pose: np.ndarray, counts: dict[str, int]) -> np.ndarray:
    """A ``(K, 3)`` detection (x px, y px, score) -> float64 with NaN for undetected points, scores in [0, 1].

    Detector scores are not probabilities: RTMPose's SimCC scores and
    heatmap maxima exceed 1 (open-mmlab/mmpose issues 2755, 3122), and a
    heatmap maximum of 0 or below means "not found". So a score <= 0 marks
    the point undetected and a score above 1 is clipped to 1; both are
    counted. NaN, infinity or a coordinate beyond the float32 range are errors.
    """
    if not np.isfinite(pose).all():
        k = int(np.argwhere(~np.isfinite(pose))[0][0])
        raise ReaderError(f"{path}: {where}: keypoint {k} has a non-finite value ({pose[k].tolist()})", path)
    if (np.abs(pose[:, :2]) > _FLOAT32_MAX).any():
        raise ReaderError(f"{path}: {where}: keypoint values beyond the float32 range (|v| > {_FLOAT32_MAX:.3g})", path)
    p = pose.astype(np.float64, copy=True)
    above = p[:, 2] > 1
    off = p[:, 2] <= 0
    counts["scores_above_one"] += int(above.sum())
    counts["undetected_keypoints"] += int(off.sum())
    p[above, 2] = 1.0
    p[off] = np.nan
    return p


def check_span(path: Path, numbers: list[int], where: dict[int, str] | None = None) -> tuple[int, int]:
    """First frame and frame count of the sorted frame ``numbers``; a stray number far beyond the rest is an error.

    At most ``MAX_GAP_PER_FRAME`` missing frames per frame listed, or
    ``MAX_GAP_FRAMES``, whichever is larger, may lie between the first and
    the last frame; the error names the frame after the largest gap (and its
    line or entry, from ``where``).
    """
    first, n_frames = numbers[0], numbers[-1] - numbers[0] + 1
    allowed = max(MAX_GAP_PER_FRAME * len(numbers), MAX_GAP_FRAMES)
    if n_frames - len(numbers) > allowed:
        k = max(range(1, len(numbers)), key=lambda j: numbers[j] - numbers[j - 1])
        at = f", {where[numbers[k]]}" if where and numbers[k] in where else ""
        raise ReaderError(
            f"{path}{at}: frame {numbers[k]} follows frame {numbers[k - 1]}, leaving {n_frames - len(numbers)} "
            f"frames missing between frames {first} and {numbers[-1]} (at most {allowed} allowed); "
            "is it a stray frame number?",
            path,
        )
    return first, n_frames


def build_sequence(
    path: Path,
    fps: float,
    frames: dict[int, list[np.ndarray]],
    kind: str,
    reader: str,
    counts: dict[str, object],
    *,
    patient_id: str | None,
    video_id: str | None,
    max_jump: float,
    lost_after_s: float,
) -> PoseSequence:
    """Frame number -> people ``(K, 3)`` to the subject's :class:`PoseSequence` in the pipeline layout."""
    numbers = sorted(frames)
    first, n_frames = check_span(path, numbers)
    frames_people: dict[int, list[np.ndarray]] = {}
    target, absent, n_people = None, [], 0
    for number in numbers:
        people = frames[number]
        if not people:
            continue
        converted, target, absent = to_pipeline(np.stack(people), kind)
        kept = [p for p in converted if not np.isnan(p[:, 0]).all()]
        n_people += len(kept)
        frames_people[number - first] = kept
    if n_people == 0:
        raise ReaderError(f"{path}: no person detected in any of the {len(numbers)} frames "
                          "(every keypoint score is 0 or below)", path)
    kp, tracked = track_subject(frames_people, n_frames, fps, max_jump=max_jump, lost_after_s=lost_after_s)
    info = {
        "source": str(path),
        "keypoint_set": kind,
        "first_frame": int(first),
        "frames": int(n_frames),
        "frames_with_people": sum(1 for p in frames_people.values() if p),
        **counts,
        **tracked,
        "layout": target,
        "absent_joints": list(absent),
    }
    try:
        return PoseSequence(kp, fps, target, patient_id=patient_id,
                            video_id=video_id if video_id is not None else path.stem, info={reader: info})
    except GaitError as exc:
        raise ReaderError(f"{path}: {exc}", path) from None


def _flat_keypoints(path: Path, where: str, values: object, n_values: int | None) -> np.ndarray:
    """AlphaPose's flat ``[x, y, c, ...]`` list as ``(K, 3)`` float64; anything else is a ReaderError."""
    if not isinstance(values, list):
        raise ReaderError(f"{path}: {where}: 'keypoints' must be a list of numbers, got {type(values).__name__}", path)
    for k, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = "list" if isinstance(v, list) else type(v).__name__ if v is not None else "null"
            raise ReaderError(f"{path}: {where}: keypoint value {k} is {kind} {v!r:.40}, not a number "
                              "(expected a flat list x, y, score, ...)", path)
    if not values or len(values) % 3:
        raise ReaderError(f"{path}: {where}: {len(values)} keypoint values, not a positive multiple of 3 "
                          "(x, y, score)", path)
    if n_values is not None and len(values) != n_values:
        raise ReaderError(f"{path}: {where}: {len(values) // 3} keypoints, the first detection has "
                          f"{n_values // 3}", path)
    try:
        return np.array(values, dtype=np.float64).reshape(-1, 3)
    except OverflowError:
        raise ReaderError(f"{path}: {where}: a keypoint value is too large for a float", path) from None


def read_alphapose(
    path: str | Path,
    fps: float,
    *,
    layout: str | None = None,
    patient_id: str | None = None,
    video_id: str | None = None,
    max_jump: float = 0.5,
    lost_after_s: float = 1.0,
) -> PoseSequence:
    """Read an AlphaPose results file (``alphapose-results.json``) as one person's :class:`PoseSequence`.

    Detections are grouped by frame: the frame number is the last run of
    digits in ``image_id`` (``"123.jpg"`` -> 123, as AlphaPose names video
    frames), or the number itself; when no ``image_id`` holds digits the
    images are taken as consecutive frames in the order they first appear.
    Frames between the first and the last frame without any detection become
    missing frames, so time stays uniform; the sequence starts at the first
    frame with a detection (``info["read_alphapose"]["first_frame"]``).
    Several people in a frame: the subject is followed by continuity and the
    track with the largest total score is kept (as in
    :func:`~gaitfeat.io.openpose.read_openpose`); AlphaPose's own ``idx``
    track ids are not used, so every reader picks the subject the same way.

    Keypoint sets (by count unless ``layout`` says otherwise): 17 COCO points
    stay ``coco17``; 26 Halpe points become ``body25`` (neck, mid-hip, heels
    and toes are Halpe points; only the head top is dropped); 136 Halpe
    whole-body points: the first 26 (Halpe-26) are used, face and hands
    dropped; 133 COCO-WholeBody points: COCO-17 plus the six foot points
    become ``body25`` with neck and mid-hip derived from shoulders and hips.

    Scores are detector scores, not probabilities: a score of 0 or below
    marks a point undetected (NaN), a score above 1 is clipped to 1; both
    are counted in the info.

    Parameters
    ----------
    path : str or Path
        The results JSON file.
    fps : float
        Frame rate of the video (frames/s; AlphaPose does not record it).
    layout : str, optional
        Keypoint layout of the detections, ``"coco17"`` or ``"halpe26"`` (or
        another registered layout with the same number of points); inferred
        from the count when omitted.
    patient_id, video_id : str, optional
        Identifiers; ``video_id`` defaults to the file name without extension.
    max_jump, lost_after_s : float
        Tracking options, as for :func:`~gaitfeat.io.openpose.read_openpose`.

    Returns
    -------
    PoseSequence
        In ``coco17`` or ``body25``, with ``info["read_alphapose"]`` holding
        the counts: detections, frames, frames with people, multi-person
        frames, subject-missing frames, tracks, undetected keypoints, scores
        above one, and the joints the keypoint set lacks (``absent_joints``).

    Raises
    ------
    ReaderError
        Missing, unreadable or oversized file, corrupt JSON, not a list of
        detections, a detection without ``image_id`` or ``keypoints``, a
        ``category_id`` other than 1, non-numeric or non-finite keypoint
        values, detections with different keypoint counts, two images for
        one frame, a stray frame number, no detection at all.
    LayoutError
        Unknown ``layout`` name, a keypoint count no supported set has, or
        one that does not match ``layout``.
    PoseDataError
        ``fps`` not a finite number from 1 to 1000 frames/s.
    ValueError
        ``max_jump`` or ``lost_after_s`` not a positive finite number.
    """
    path = Path(path)
    check_fps(fps, path)
    layout_name = check_options("read_alphapose", layout, max_jump, lost_after_s)
    data = load_json(path, "an AlphaPose results file")
    if isinstance(data, dict) and data and all(isinstance(v, dict) and ("people" in v or "bodies" in v)
                                               for v in data.values()):
        raise ReaderError(f"{path}: this is AlphaPose's --format open/cmu output (per-image OpenPose-style objects); "
                          "read_alphapose reads the default format (a list of detections); run AlphaPose "
                          "without --format", path)
    if not isinstance(data, list):
        raise ReaderError(f"{path}: not an AlphaPose results file: expected a JSON list of detections "
                          f"({{'image_id', 'keypoints', ...}}), got a JSON {type(data).__name__}", path)
    if not data:
        raise ReaderError(f"{path}: no detections (the list is empty)", path)

    by_image: dict[object, list[np.ndarray]] = {}
    n_values = None
    counts: dict[str, object] = {"detections": len(data), "keypoints": 0, "undetected_keypoints": 0,
                                 "scores_above_one": 0}
    for i, det in enumerate(data):
        if not isinstance(det, dict):
            raise ReaderError(f"{path}: detection {i} is a JSON {type(det).__name__}, not an object", path)
        for key in ("image_id", "keypoints"):
            if key not in det:
                raise ReaderError(f"{path}: detection {i} has no {key!r} (keys: {sorted(det)[:8]})", path)
        image = det["image_id"]
        if isinstance(image, bool) or not isinstance(image, (str, int)) or (isinstance(image, int) and image < 0):
            raise ReaderError(f"{path}: detection {i}: image_id must be a file name or a frame number, "
                              f"got {image!r:.40}", path)
        where = f"detection {i} (image {image!r})"
        if "category_id" in det and det["category_id"] != 1:
            raise ReaderError(f"{path}: {where}: category_id {det['category_id']!r:.20} is not 1 (person)", path)
        pose = _flat_keypoints(path, where, det["keypoints"], n_values)
        n_values = pose.size
        by_image.setdefault(image, []).append(check_person(path, where, pose, counts))
    counts["keypoints"] = n_values // 3
    kind = keypoint_set(path, n_values // 3, layout_name)
    numbers = frame_numbers(path, list(by_image))
    frames = {numbers[image]: people for image, people in by_image.items()}
    return build_sequence(path, fps, frames, kind, "read_alphapose", counts, patient_id=patient_id,
                          video_id=video_id, max_jump=max_jump, lost_after_s=lost_after_s)
