"""MMPose / RTMPose prediction files (``--save-predictions``, ``pred_out_dir``).

Formats read (github.com/open-mmlab/mmpose, MMPose 1.x):

* **Inferencer, video input** (``MMPoseInferencer(...)(video, pred_out_dir=...)``,
  ``demo/inferencer_demo.py --pred-out-dir``;
  ``mmpose/apis/inferencers/base_mmpose_inferencer.py``): one JSON file per
  video, a list with one entry per frame, numbered from 0::

      [{"frame_id": 0, "instances": [{"keypoints": [[x, y], ...],
        "keypoint_scores": [s, ...], "bbox": [[x1, y1, x2, y2]], "bbox_score": b}, ...]}, ...]

* **Inferencer, image input**: one file per image holding the list of
  instances ``[{"keypoints": ..., "keypoint_scores": ...}, ...]``; read as a
  one-frame sequence.
* **Demo scripts** (``demo/topdown_demo_with_mmdet.py``,
  ``demo/bottomup_demo.py`` with ``--save-predictions``)::

      {"meta_info": {dataset_name, keypoint_id2name, ...}, "instance_info": ...}

  where ``instance_info`` is the per-frame list above (frames numbered
  from 1) for a video, or the list of instances for an image.

Instances come from ``mmpose.structures.split_instances``: ``keypoints`` are
``K`` pairs in image pixels, ``keypoint_scores`` ``K`` numbers. Only 2-D
keypoints are read; a pose lifter's 3-D predictions are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaitfeat.errors import ReaderError
from gaitfeat.io._frames import check_fps
from gaitfeat.io.alphapose import build_sequence, check_options, check_person, keypoint_set, load_json
from gaitfeat.layouts import COCO17, HALPE26
from gaitfeat.pose import PoseSequence

__all__ = ["read_mmpose"]

_ACCEPTED = (
    "a list of frames {'frame_id', 'instances'} (MMPoseInferencer on a video), a list of instances "
    "{'keypoints', 'keypoint_scores'} (one image), or {'meta_info', 'instance_info'} (MMPose demo scripts)"
)
# MMPose's names where they differ from ours (its Halpe sets say "head" and "hip").
_MMPOSE_ALIASES = {"head": "head_top", "hip": "mid_hip"}
_EXPECTED_NAMES = {
    "coco17": COCO17.joints,
    "halpe26": HALPE26.joints,
    "halpe136": HALPE26.joints,
    "coco_wholebody": COCO17.joints
    + ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _instance(path: Path, where: str, inst: object, n_keypoints: int | None, counts: dict) -> np.ndarray:
    """One instance -> ``(K, 3)`` x, y, score (NaN where undetected)."""
    if not isinstance(inst, dict):
        raise ReaderError(f"{path}: {where} is a JSON {type(inst).__name__}, not an object", path)
    for key in ("keypoints", "keypoint_scores"):
        if key not in inst:
            raise ReaderError(f"{path}: {where} has no {key!r} (keys: {sorted(inst)[:8]})", path)
    points, scores = inst["keypoints"], inst["keypoint_scores"]
    if not isinstance(points, list) or not points:
        raise ReaderError(f"{path}: {where}: 'keypoints' must be a non-empty list of [x, y] pairs", path)
    if n_keypoints is not None and len(points) != n_keypoints:
        raise ReaderError(f"{path}: {where}: {len(points)} keypoints, the first instance has {n_keypoints}", path)
    for k, pt in enumerate(points):
        if not isinstance(pt, list) or len(pt) != 2:
            if isinstance(pt, list) and len(pt) == 3:
                raise ReaderError(f"{path}: {where}: keypoint {k} has 3 coordinates; this looks like a 3-D pose "
                                  "lifter's output, and read_mmpose reads 2-D keypoints [x, y]", path)
            raise ReaderError(f"{path}: {where}: keypoint {k} is {pt!r:.40}, not an [x, y] pair", path)
        for v in pt:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ReaderError(f"{path}: {where}: keypoint {k} has {type(v).__name__ if v is not None else 'null'} "
                                  f"{v!r:.30}, not a number", path)
    if not isinstance(scores, list) or len(scores) != len(points):
        n = len(scores) if isinstance(scores, list) else type(scores).__name__
        raise ReaderError(f"{path}: {where}: 'keypoint_scores' must be a list of {len(points)} numbers "
                          f"(one per keypoint), got {n}", path)
    for k, v in enumerate(scores):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = type(v).__name__ if v is not None else "null"
            raise ReaderError(f"{path}: {where}: score of keypoint {k} is {kind} {v!r:.30}, not a number", path)
    try:
        pose = np.column_stack([np.array(points, dtype=np.float64), np.array(scores, dtype=np.float64)])
    except OverflowError:
        raise ReaderError(f"{path}: {where}: a keypoint value is too large for a float", path) from None
    return check_person(path, where, pose, counts)


def _frames(path: Path, body: list) -> list[tuple[int, str, list]]:
    """``(frame number, description, instances)`` for each frame of a per-frame list or a single image."""
    if all(isinstance(e, dict) and "keypoints" in e for e in body):
        return [(0, "image", body)]
    frames, seen = [], {}
    for i, entry in enumerate(body):
        if not isinstance(entry, dict) or "instances" not in entry:
            got = (f"an object with keys {sorted(entry)[:6]}" if isinstance(entry, dict)
                   else f"a JSON {type(entry).__name__}")
            raise ReaderError(f"{path}: entry {i} is {got}; expected {_ACCEPTED}", path)
        fid = entry.get("frame_id")
        if not _is_int(fid) or fid < 0:
            raise ReaderError(f"{path}: frame entry {i}: frame_id must be a non-negative integer, "
                              f"got {fid!r:.40}", path)
        if fid in seen:
            raise ReaderError(f"{path}: frame entries {seen[fid]} and {i} both have frame_id {fid}", path)
        seen[fid] = i
        if not isinstance(entry["instances"], list):
            raise ReaderError(f"{path}: frame entry {i} (frame_id {fid}): 'instances' must be a list, "
                              f"got {type(entry['instances']).__name__}", path)
        frames.append((fid, f"frame entry {i} (frame_id {fid})", entry["instances"]))
    return frames


def _check_names(path: Path, meta: object, kind: str, n_keypoints: int) -> str | None:
    """The dataset name in ``meta_info``; its keypoint names must be those of the keypoint set inferred."""
    if not isinstance(meta, dict):
        return None
    names = meta.get("keypoint_id2name")
    if isinstance(names, dict):
        expected = _EXPECTED_NAMES.get(kind, ())
        for k, want in enumerate(expected[:n_keypoints]):
            got = names.get(str(k), names.get(k))
            if isinstance(got, str) and _MMPOSE_ALIASES.get(got, got) != want:
                raise ReaderError(
                    f"{path}: meta_info names keypoint {k} {got!r}, but the {n_keypoints}-point {kind} set has "
                    f"{want!r} there; the model predicts another keypoint layout: pass layout= (e.g. 'h36m17')",
                    path,
                )
    name = meta.get("dataset_name")
    return name if isinstance(name, str) else None


def read_mmpose(
    path: str | Path,
    fps: float,
    *,
    layout: str | None = None,
    patient_id: str | None = None,
    video_id: str | None = None,
    max_jump: float = 0.5,
    lost_after_s: float = 1.0,
) -> PoseSequence:
    """Read an MMPose / RTMPose predictions JSON file as one person's :class:`PoseSequence`.

    Frames are numbered by ``frame_id``; a gap in the numbering becomes
    missing frames and the sequence starts at the first frame listed
    (``info["read_mmpose"]["first_frame"]``: 0 for the inferencer, 1 for
    the demo scripts). A single-image file is a one-frame sequence. Several
    people in a frame: the subject is followed by continuity and the track
    with the largest total score is kept, as in
    :func:`~gaitfeat.io.openpose.read_openpose`.

    Keypoint sets (by count unless ``layout`` says otherwise): 17 (COCO)
    stays ``coco17``; 26 (Halpe-26, e.g. RTMPose body8-halpe26) becomes
    ``body25`` (head top dropped); 133 (COCO-WholeBody, e.g. RTMW, DWPose):
    COCO-17 plus its six foot points (17-22: left big toe, left small toe,
    left heel, right big toe, right small toe, right heel) become ``body25``
    with neck and mid-hip derived from shoulders and hips, face and hands
    dropped; 136 (Halpe whole body): its first 26 points, as Halpe-26. When
    the file has ``meta_info`` with keypoint names, they must match the set
    inferred from the count (a 17-point Human3.6M model is not COCO-17);
    pass ``layout`` to override.

    Scores: RTMPose's SimCC scores and heatmap maxima are not probabilities
    and exceed 1; a score above 1 is clipped to 1, a score of 0 or below
    marks the point undetected; both are counted in the info.

    Parameters
    ----------
    path : str or Path
        The predictions JSON file.
    fps : float
        Frame rate of the video (frames/s).
    layout : str, optional
        Keypoint layout of the model, any registered layout with the file's
        keypoint count (``"coco17"``, ``"halpe26"``, ``"h36m17"``, ...);
        inferred from the count when omitted.
    patient_id, video_id : str, optional
        Identifiers; ``video_id`` defaults to the file name without extension.
    max_jump, lost_after_s : float
        Tracking options, as for :func:`~gaitfeat.io.openpose.read_openpose`.

    Returns
    -------
    PoseSequence
        In ``coco17`` or ``body25``, with ``info["read_mmpose"]`` holding
        counts (frames, instances, multi-person frames, subject-missing
        frames, tracks, undetected keypoints, scores above one), the
        ``dataset_name`` from ``meta_info`` if any, and ``absent_joints``.

    Raises
    ------
    ReaderError
        Missing, unreadable or oversized file, corrupt JSON, a structure
        other than the accepted ones (the message lists them), a frame entry
        without a non-negative integer ``frame_id`` or with a duplicate one,
        an instance without ``keypoints`` or ``keypoint_scores``,
        non-numeric, non-finite or 3-D keypoints, instances with different
        keypoint counts, keypoint names in ``meta_info`` that contradict the
        count, a stray frame number, no instance in any frame.
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
    layout_name = check_options("read_mmpose", layout, max_jump, lost_after_s)
    data = load_json(path, "an MMPose predictions file")
    meta = None
    if isinstance(data, dict):
        if "instance_info" not in data:
            raise ReaderError(f"{path}: not an MMPose predictions file: a JSON object without 'instance_info' "
                              f"(keys: {sorted(data)[:8]}); expected {_ACCEPTED}", path)
        meta, data = data.get("meta_info"), data["instance_info"]
    if not isinstance(data, list):
        raise ReaderError(f"{path}: not an MMPose predictions file: got a JSON {type(data).__name__}; "
                          f"expected {_ACCEPTED}", path)
    if not data:
        raise ReaderError(f"{path}: no frames and no instances (the list is empty)", path)

    counts: dict[str, object] = {"instances": 0, "keypoints": 0, "undetected_keypoints": 0, "scores_above_one": 0}
    frames: dict[int, list[np.ndarray]] = {}
    n_keypoints = None
    for number, where, instances in _frames(path, data):
        people = []
        for j, inst in enumerate(instances):
            pose = _instance(path, f"{where}, instance {j}", inst, n_keypoints, counts)
            n_keypoints = pose.shape[0]
            people.append(pose)
        counts["instances"] += len(people)
        frames[number] = people
    if n_keypoints is None:
        raise ReaderError(f"{path}: no person detected in any of the {len(frames)} frames "
                          "(every 'instances' list is empty)", path)
    counts["keypoints"] = n_keypoints
    kind = keypoint_set(path, n_keypoints, layout_name)
    if layout_name is None:
        counts["dataset_name"] = _check_names(path, meta, kind, n_keypoints)
    elif isinstance(meta, dict) and isinstance(meta.get("dataset_name"), str):
        counts["dataset_name"] = meta["dataset_name"]
    return build_sequence(path, fps, frames, kind, "read_mmpose", counts, patient_id=patient_id,
                          video_id=video_id, max_jump=max_jump, lost_after_s=lost_after_s)
