"""MediaPipe Pose landmarks saved as CSV or JSON.

MediaPipe Pose (Bazarevsky et al., "BlazePose: On-device Real-time Body Pose
tracking"; google.github.io/mediapipe/solutions/pose, and the Tasks API
``PoseLandmarker``) gives 33 landmarks per frame in two forms:

* **image landmarks**: ``x``, ``y`` normalised to [0, 1] by the image width
  and height (x right, y down; slightly outside for a landmark off screen),
  ``z`` a relative depth, ``visibility`` (and ``presence``) in [0, 1];
* **world landmarks**: ``x``, ``y``, ``z`` in metres, origin at the hip
  midpoint, axes oriented as the image's: x right, y **down**, z away from
  the camera (MediaPipe's maintainers, google-ai-edge/mediapipe issue 4205).

MediaPipe has no file format; the tools that save its landmarks write one of
these shapes, all read here (anything else is refused, listing them):

1. **Wide CSV**, one row per frame (the "coords.csv" of widely copied
   MediaPipe tutorials, e.g. liyunwei-3558/Try_mediapipe ``generate_csv.py``,
   KyleKimx/mediapipe-pose-export): landmark columns ``x0, y0, z0, v0, ...``
   (or 1-based ``x1 ... x33``), ``landmark_0_x``, or by name ``nose_x,
   nose_y, nose_z, nose_visibility`` (any case; ``_v``/``_vis``,
   ``_presence``); an optional frame column (``frame``, ``frame_id``,
   ``frame_index``, ``frame_idx``, ``frame_number``), else row ``k`` is frame
   ``k``; time columns are ignored; all landmark cells empty = no person.
2. **Long CSV**, one row per frame and landmark (e.g. ``frame_id,
   landmark_id, landmark_name, x, y, z, visibility``): a frame column, a
   landmark column (``landmark``, ``landmark_id``, ``landmark_index``,
   ``landmark_name``, ``keypoint``, ``joint``: 0-32 or a name), ``x``, ``y``,
   optional ``z``, ``visibility``, ``presence``.
3. **JSON**: a list of frames, or ``{"frames": [...], "width": W, "height": H}``,
   each ``{"frame": i, "landmarks": [{"x", "y", "z", "visibility"}, x33]}``
   (MediaPipe-based services; ``MessageToDict`` of the landmark proto,
   ``{"landmark": [...]}``, is accepted too). ``pose_landmarks`` /
   ``pose_world_landmarks`` (or ``world_landmarks``) pick the image or world
   landmarks when a frame holds both; a list of 33-landmark lists is several
   poses (Tasks API, ``num_poses`` > 1); ``null`` or ``[]`` is nobody.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from gaitfeat.errors import GaitError, ReaderError
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.io._tracking import track_subject
from gaitfeat.io.alphapose import MAX_RESULTS_FILE_BYTES, check_span, load_json
from gaitfeat.layouts import MEDIAPIPE33, absent_joints, map_confidence, map_joints, pipeline_layout_for
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D

__all__ = ["read_mediapipe", "NORMALISED_SCALE", "MEDIAPIPE_VERTICAL"]

#: Pixels per normalised unit when no image size is known: x and y in [0, 1]
#: become 0-1000. The pipeline normalises by leg length, so the unit does not
#: matter, but the aspect ratio does: see :func:`read_mediapipe`.
NORMALISED_SCALE = 1000.0

#: The up direction of MediaPipe's world landmarks (y points down).
MEDIAPIPE_VERTICAL = (0.0, -1.0, 0.0)

_N = 33
_FIELDS = {"x": 0, "y": 1, "z": 2, "v": 3, "vis": 3, "visibility": 3, "p": 4, "presence": 4}
_FIELD_NAMES = ("x", "y", "z", "visibility", "presence")
_FRAME_KEYS = ("frame", "frame_id", "frame_index", "frame_idx", "frame_number")
_TIME_KEYS = ("timestamp", "timestamp_ms", "time", "time_s", "time_ms")
_LANDMARK_KEYS = ("landmark", "landmark_id", "landmark_index", "landmark_name", "keypoint", "joint")
_FIELD_ALT = "x|y|z|v|vis|visibility|p|presence"
_PREFIX_RE = re.compile(rf"^({_FIELD_ALT})_?(\d+)$")
_SUFFIX_RE = re.compile(rf"^(?:landmark|lm|kp|keypoint|point)?_?(\d+)_({_FIELD_ALT})$")
_NAME_RE = re.compile(rf"^([a-z_]+?)_({_FIELD_ALT})$")
# MediaPipe's own names (mouth_left) and the layout's (left_mouth).
_NAMES = {n: i for i, n in enumerate(MEDIAPIPE33.joints)}
_NAMES.update({"mouth_left": _NAMES["left_mouth"], "mouth_right": _NAMES["right_mouth"]})
_ACCEPTED = (
    "a wide CSV (one row per frame; columns x0,y0,z0,v0,... or landmark_0_x,... or nose_x,nose_y,nose_z,"
    "nose_visibility,...; optional frame column), a long CSV (one row per frame and landmark; columns frame, "
    "landmark, x, y[, z, visibility, presence]), or JSON (a list of frames {'frame', 'landmarks': [33 x "
    "{'x','y','z','visibility'}]}, possibly inside {'frames': [...]})"
)


def _key(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def _some(names: list[str]) -> str:
    return f"{', '.join(names[:6])}{' ...' if len(names) > 6 else ''} ({len(names)} of 33)"


def _number(path: Path, where: str, value: object, what: str) -> float:
    """A JSON number as a float; anything else (strings, null, booleans) is a ReaderError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReaderError(f"{path}, {where}: {what} is {value!r:.30}, not a number", path)
    try:
        return float(value)
    except OverflowError:
        raise ReaderError(f"{path}, {where}: {what} is too large for a float", path) from None


def _cell(path: Path, line: int, column: str, text: str) -> float:
    """A CSV cell as a float; empty or "nan" is NaN (no person in that frame)."""
    text = text.strip()
    if text == "" or text.lower() in ("nan", "none", "null"):
        return np.nan
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or np.isinf(value):
        raise ReaderError(f"{path}, line {line}: column {column!r}: {text!r:.30} is not a finite number", path)
    return value


def _frame_number(path: Path, where: str, value: float) -> int:
    if not np.isfinite(value) or value < 0 or value != int(value):
        raise ReaderError(f"{path}, {where}: frame number {value!r} is not a non-negative integer", path)
    return int(value)


def _check_pose(path: Path, where: str, pose: np.ndarray) -> np.ndarray | None:
    """A ``(33, 5)`` pose (NaN = absent field) -> itself, ``None`` if entirely empty; partial poses are errors."""
    empty = np.isnan(pose[:, :2]).any(axis=1)
    if empty.all():
        return None
    if empty.any():
        names = [MEDIAPIPE33.joints[i] for i in np.flatnonzero(empty)]
        raise ReaderError(f"{path}, {where}: landmarks missing: {_some(names)}; MediaPipe gives all 33 or none", path)
    for f in (3, 4):
        bad = (pose[:, f] < 0) | (pose[:, f] > 1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ReaderError(f"{path}, {where}: {_FIELD_NAMES[f]} {pose[j, f]:g} of landmark "
                              f"{MEDIAPIPE33.joints[j]!r} outside [0, 1]", path)
    return pose


def _wide_columns(path: Path, header: list[str]) -> tuple[list[tuple[int, int, int]], int | None, str]:
    """``[(column, landmark, field)]``, the frame column and a note, from a wide CSV header."""
    found, frame_col, unknown = [], None, []
    for c, raw in enumerate(header):
        h = _key(raw)
        m = _PREFIX_RE.match(h) or _SUFFIX_RE.match(h)
        if h in _FRAME_KEYS and frame_col is None:
            frame_col = c
        elif m is not None:
            field, index = (m.group(1), m.group(2)) if m.re is _PREFIX_RE else (m.group(2), m.group(1))
            found.append((c, int(index), _FIELDS[field], True))
        elif (m := _NAME_RE.match(h)) is not None and m.group(1) in _NAMES:
            found.append((c, _NAMES[m.group(1)], _FIELDS[m.group(2)], False))
        elif h not in _TIME_KEYS:
            unknown.append(raw)
    if unknown:
        raise ReaderError(f"{path}, line 1: unknown columns {unknown[:5]}; expected {_ACCEPTED}", path)
    numbered = [lm for _, lm, _, num in found if num]
    lo = min(numbered, default=0)
    if numbered and (lo, max(numbered)) not in ((0, _N - 1), (1, _N)):
        raise ReaderError(f"{path}, line 1: landmark numbers {lo}-{max(numbered)} in the column names are not "
                          "MediaPipe Pose's 33 landmarks (0-32 or 1-33); a holistic or face export is not read", path)
    seen: dict[tuple[int, int], int] = {}
    for c, lm, f, num in found:
        lm -= lo if num else 0
        if (lm, f) in seen:
            raise ReaderError(f"{path}, line 1: columns {header[seen[lm, f]]!r} and {header[c]!r} are both "
                              f"{_FIELD_NAMES[f]} of landmark {MEDIAPIPE33.joints[lm]!r}", path)
        seen[lm, f] = c
    for f in range(5):
        have = {lm for lm, ff in seen if ff == f}
        lacking = [MEDIAPIPE33.joints[i] for i in range(_N) if i not in have]
        if lacking and (f < 2 or have):
            raise ReaderError(f"{path}, line 1: no {_FIELD_NAMES[f]} column for landmarks {_some(lacking)}", path)
    return [(c, lm, f) for (lm, f), c in seen.items()], frame_col, f"numbered from {lo}" if numbered else "named"


def _rows(path: Path, rows, header: list[str]):
    """``(line, row)`` for every non-empty CSV line (a row of empty cells is a frame without a person)."""
    for row in rows:
        if row and (len(row) > 1 or row[0].strip()):
            if len(row) != len(header):
                raise ReaderError(f"{path}, line {rows.line_num}: {len(row)} values but the header has "
                                  f"{len(header)} columns", path)
            yield rows.line_num, row


def _read_csv(path: Path, text: str) -> tuple[dict[int, list[np.ndarray]], dict[int, str], str]:
    head = text.split("\n", 1)[0]
    delim = "\t" if "\t" in head and "," not in head else ";" if ";" in head and "," not in head else ","
    rows = csv.reader(io.StringIO(text), delimiter=delim)
    header = next(rows, None) or [""]
    keys = [_key(h) for h in header]
    if not any(k in _FRAME_KEYS or k in _LANDMARK_KEYS or _PREFIX_RE.match(k) or _SUFFIX_RE.match(k)
               or getattr(_NAME_RE.match(k), "group", lambda _: None)(1) in _NAMES for k in keys):
        raise ReaderError(f"{path}, line 1: no header line with MediaPipe landmark columns (got {header[:4]}); "
                          f"expected {_ACCEPTED}", path)
    if any(k in _LANDMARK_KEYS for k in keys) and "x" in keys and "y" in keys:
        frames = _read_long(path, rows, header, keys)
        return frames, {t: f"frame {t}" for t in frames}, "csv-long"
    cols, frame_col, note = _wide_columns(path, header)
    frames, where = {}, {}
    for k, (line, row) in enumerate(_rows(path, rows, header)):
        pose = np.full((_N, 5), np.nan)
        for c, lm, f in cols:
            pose[lm, f] = _cell(path, line, header[c], row[c])
        t = k if frame_col is None else _frame_number(path, f"line {line}",
                                                      _cell(path, line, header[frame_col], row[frame_col]))
        if t in where:
            raise ReaderError(f"{path}, line {line}: frame {t} appears twice (also {where[t]})", path)
        checked = _check_pose(path, f"line {line}", pose)
        frames[t], where[t] = [] if checked is None else [checked], f"line {line}"
    return frames, where, f"csv-wide ({note})"


def _read_long(path: Path, rows, header: list[str], keys: list[str]) -> dict[int, list[np.ndarray]]:
    frame_col = next((keys.index(k) for k in _FRAME_KEYS if k in keys), None)
    if frame_col is None:
        raise ReaderError(f"{path}, line 1: a CSV with one row per landmark needs a frame column "
                          f"({', '.join(_FRAME_KEYS)})", path)
    lm_cols = [keys.index(k) for k in _LANDMARK_KEYS if k in keys]
    fields = {f: keys.index(n) for n, f in _FIELDS.items() if n in keys}
    known = {frame_col, *lm_cols, *fields.values(), *(keys.index(k) for k in _TIME_KEYS if k in keys)}
    unknown = [header[c] for c in range(len(header)) if c not in known]
    if unknown:
        raise ReaderError(f"{path}, line 1: unknown columns {unknown[:5]}; expected {_ACCEPTED}", path)
    poses: dict[int, np.ndarray] = {}
    lines: dict[tuple[int, int], int] = {}
    for line, row in _rows(path, rows, header):
        t = _frame_number(path, f"line {line}", _cell(path, line, header[frame_col], row[frame_col]))
        ids = {_NAMES.get(_key(v)) if not v.isdigit() else int(v) if len(v) < 6 else _N
               for v in (row[c].strip() for c in lm_cols)}
        lm = ids.pop()
        if ids or lm is None or not 0 <= lm < _N:
            raise ReaderError(f"{path}, line {line}: {[row[c] for c in lm_cols]} is not one MediaPipe Pose landmark "
                              "(0-32 or a name)", path)
        if (t, lm) in lines:
            raise ReaderError(f"{path}, line {line}: frame {t}, landmark {MEDIAPIPE33.joints[lm]!r} appears twice "
                              f"(also line {lines[t, lm]})", path)
        lines[t, lm] = line
        pose = poses.setdefault(t, np.full((_N, 5), np.nan))
        for f, c in fields.items():
            pose[lm, f] = _cell(path, line, header[c], row[c])
    frames = {}
    for t, pose in poses.items():
        checked = _check_pose(path, f"frame {t} (from line {min(v for (u, _), v in lines.items() if u == t)})", pose)
        frames[t] = [] if checked is None else [checked]
    return frames


def _json_pose(path: Path, where: str, value: object) -> np.ndarray | None:
    if isinstance(value, dict) and isinstance(value.get("landmark"), list):
        value = value["landmark"]  # MessageToDict of a LandmarkList proto
    if not isinstance(value, list) or len(value) != _N:
        got = f"{len(value)} landmarks" if isinstance(value, list) else f"a JSON {type(value).__name__}"
        raise ReaderError(f"{path}, {where}: expected 33 landmarks, got {got}", path)
    pose = np.full((_N, 5), np.nan)
    for j, lm in enumerate(value):
        if not isinstance(lm, dict) or "x" not in lm or "y" not in lm:
            raise ReaderError(f"{path}, {where}, landmark {j} ({MEDIAPIPE33.joints[j]}): expected an object "
                              f"{{'x', 'y', 'z', 'visibility'}}, got {lm!r:.40}", path)
        for f, name in enumerate(_FIELD_NAMES):
            if f < 2 or lm.get(name) is not None:
                pose[j, f] = _number(path, f"{where}, landmark {j}", lm[name], name)
    if not np.isfinite(pose[:, :2]).all() or np.isinf(pose).any():
        raise ReaderError(f"{path}, {where}: non-finite landmark values (NaN or infinity)", path)
    return _check_pose(path, where, pose)


def _read_json(path: Path, data: object, coordinates: str) -> tuple[dict, dict, str, tuple | None]:
    size = None
    if isinstance(data, dict) and isinstance(data.get("frames"), list):
        dims = [data.get(k, data.get(f"image_{k}")) for k in ("width", "height")]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e6 for v in dims):
            size = (float(dims[0]), float(dims[1]))
        elif any(v is not None for v in dims):  # a size given but unusable: never drop it silently
            raise ReaderError(f"{path}: width/height {dims!r:.60} are not two positive numbers of pixels", path)
        data = data["frames"]
    if not isinstance(data, list) or not data:
        got = "an empty list" if data == [] else f"a JSON {type(data).__name__}"
        raise ReaderError(f"{path}: not a MediaPipe landmarks file (got {got}); expected {_ACCEPTED}", path)
    keys = ("pose_landmarks", "landmarks") if coordinates == "image" else (
        "pose_world_landmarks", "world_landmarks", "landmarks")
    frames, where = {}, {}
    for i, entry in enumerate(data):
        w = f"frame entry {i}"
        key = next((k for k in keys if k in entry), None) if isinstance(entry, dict) else None
        if key is None:
            got = f"keys {sorted(entry)[:8]}" if isinstance(entry, dict) else f"a JSON {type(entry).__name__}"
            raise ReaderError(f"{path}: {w} has no {' or '.join(map(repr, keys))} ({got}); expected {_ACCEPTED}", path)
        fkey = next((k for k in _FRAME_KEYS if k in entry), None)
        t = i if fkey is None else _frame_number(path, w, _number(path, w, entry[fkey], fkey))
        if t in frames:
            raise ReaderError(f"{path}: {where[t]} and {w} are both frame {t}", path)
        value = entry[key]
        several = isinstance(value, list) and value and (
            isinstance(value[0], list) or (isinstance(value[0], dict) and "landmark" in value[0]))
        people = ([] if value is None or value == [] else [_json_pose(path, w, value)] if not several
                  else [_json_pose(path, f"{w}, pose {p}", v) for p, v in enumerate(value)])
        frames[t], where[t] = [p for p in people if p is not None], w
    return frames, where, "json", size


def read_mediapipe(
    path: str | Path,
    fps: float,
    *,
    coordinates: str = "image",
    image_size: tuple[float, float] | None = None,
    patient_id: str | None = None,
    video_id: str | None = None,
) -> PoseSequence | PoseSequence3D:
    """Read MediaPipe Pose landmarks (CSV or JSON, see the module notes) as one person's sequence.

    ``coordinates="image"`` gives a 2-D :class:`~gaitfeat.pose.PoseSequence`
    in ``body25`` (``pipeline_layout_for("mediapipe33")``): neck and mid-hip
    derived from shoulders and hips, big toes from MediaPipe's "foot index",
    heels as they are, the small toes absent (NaN); confidence = visibility
    (1 when the file has none); the relative depth ``z`` is dropped. x and
    y are in pixels when ``image_size`` is given (or the JSON holds
    ``width``/``height``), else normalised coordinates x :data:`NORMALISED_SCALE`.
    Without the image size the pipeline's leg-length normalisation makes
    the unit irrelevant, but the aspect ratio is not restored: in a 16:9
    video horizontal distances are then 9/16 of their true size relative to
    vertical ones, which distorts joint angles; give ``image_size``.

    ``coordinates="world"`` gives a :class:`~gaitfeat.pose3d.PoseSequence3D`
    in metres, layout ``mediapipe33``, ``vertical`` = :data:`MEDIAPIPE_VERTICAL`
    (y down, as in the image; exact only for a level camera). World
    landmarks are centred on the hips in every frame, so the walking
    progression is not in them.

    Frames without a person, and gaps in the frame numbers, are missing
    frames; the sequence starts at the first frame listed. Several poses in
    a JSON frame: the subject is tracked as by
    :func:`~gaitfeat.io.openpose.read_openpose` (image coordinates only).

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (or ``.tsv``/``.txt``) or ``.json`` file.
    fps : float
        Frame rate of the video (frames/s).
    coordinates : {"image", "world"}
        What a CSV's x, y, z (or a JSON frame's ``landmarks``) are; which of
        ``pose_landmarks`` / ``pose_world_landmarks`` to read from JSON.
    image_size : (float, float), optional
        Video width and height in pixels, for image coordinates.
    patient_id, video_id : str, optional
        Identifiers; ``video_id`` defaults to the file name without extension.

    Returns
    -------
    PoseSequence or PoseSequence3D
        With ``info["read_mediapipe"]``: format, coordinates, frames, first
        frame, frames without a person, scale (px per normalised unit) or
        units, absent joints, tracking counts.

    Raises
    ------
    ReaderError
        Naming the file and the CSV line or JSON frame entry: unreadable
        file; no header or unknown columns; a line with the wrong number of
        values; non-numeric values; landmarks missing in a frame or a column;
        visibility or presence outside [0, 1]; duplicate frame numbers (or
        frame and landmark); corrupt JSON or an unknown structure; image
        coordinates that look like pixels or world landmarks, world landmarks
        not centred on the hips; no person at all.
    PoseDataError
        ``fps`` not a finite number from 1 to 1000 frames/s.
    ValueError
        ``coordinates`` not "image" or "world"; a bad ``image_size``.
    """
    path = Path(path)
    check_fps(fps, path)
    if coordinates not in ("image", "world"):
        raise ValueError(f"read_mediapipe: coordinates must be 'image' or 'world', got {coordinates!r:.40}")
    if image_size is not None and not (
            isinstance(image_size, (tuple, list)) and len(image_size) == 2 and coordinates == "image"
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e6 for v in image_size)):
        raise ValueError(f"read_mediapipe: image_size must be (width, height) in pixels, two positive numbers, for "
                         f"image coordinates; got {image_size!r:.60} with coordinates={coordinates!r}")
    what = "a MediaPipe landmarks file"
    raw = read_regular_file(path, MAX_RESULTS_FILE_BYTES, what=what, head=64)
    size = None
    if path.suffix.lower() == ".json" or raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        frames, where, fmt, size = _read_json(path, load_json(path, what), coordinates)
    else:
        try:
            text = read_regular_file(path, MAX_RESULTS_FILE_BYTES, what=what).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ReaderError(f"{path}: not a UTF-8 text file", path) from None
        frames, where, fmt = _read_csv(path, text)
    if not frames:
        raise ReaderError(f"{path}: no frames (only a header line)", path)
    numbers = sorted(frames)
    first, n_frames = check_span(path, numbers, where)
    people = [(t, p) for t in numbers for p in frames[t]]
    if not people:
        raise ReaderError(f"{path}: no person in any of the {len(numbers)} frames", path)
    hips = np.array([np.linalg.norm(0.5 * (p[23, :2] + p[24, :2])) for _, p in people])
    scale = np.array([np.abs(p[:, :2]).max() for _, p in people])
    info = {"source": str(path), "format": fmt, "coordinates": coordinates, "first_frame": int(first),
            "frames": int(n_frames), "gap_frames": int(n_frames - len(numbers)),
            "empty_frames": sum(1 for t in numbers if not frames[t]),
            "visibility": bool(np.isfinite(people[0][1][:, 3]).all())}
    if coordinates == "image":
        if scale.max() > 10:
            t = people[int(np.argmax(scale))][0]
            raise ReaderError(f"{path}, {where[t]}: coordinate {scale.max():g} is far outside MediaPipe's normalised "
                              "[0, 1] image coordinates; pixel coordinates are not read", path)
        if np.median(hips) < 0.01:
            raise ReaderError(f"{path}: the hip midpoint is at the origin in every frame: these are world landmarks; "
                              "pass coordinates='world'", path)
        size = tuple(image_size) if image_size is not None else size
        scale_xy = size if size is not None else (NORMALISED_SCALE, NORMALISED_SCALE)
        target = pipeline_layout_for(MEDIAPIPE33)
        frames_people = {t - first: [np.column_stack([
            map_joints(p[:, :2] * scale_xy, MEDIAPIPE33, target),
            map_confidence(np.nan_to_num(p[:, 3], nan=1.0), MEDIAPIPE33, target)]) for p in frames[t]] for t in numbers}
        kp, tracked = track_subject(frames_people, n_frames, fps)
        info.update(image_size=list(size) if size is not None else None,
                    scale_px_per_unit=None if size is not None else NORMALISED_SCALE,
                    aspect_corrected=size is not None, layout=target,
                    absent_joints=list(absent_joints(MEDIAPIPE33, target)), **tracked)
        cls, args, kwargs = PoseSequence, (kp, fps, target), {}
    else:
        several = [t for t in numbers if len(frames[t]) > 1]
        if several:
            raise ReaderError(f"{path}, {where[several[0]]}: {len(frames[several[0]])} poses; the world landmarks "
                              "of several people cannot be told apart (each is centred on its own hips)", path)
        if np.median(hips) > 0.1:
            raise ReaderError(f"{path}: the hip midpoint is {np.median(hips):.2g} from the origin (median): these are "
                              "not world landmarks (origin at the hip midpoint); pass coordinates='image'", path)
        if any(np.isnan(p[:, 2]).any() for _, p in people):
            raise ReaderError(f"{path}: world landmarks need z; the file has no z values", path)
        pos = np.full((n_frames, _N, 3), np.nan)
        conf = np.zeros((n_frames, _N))
        for t, p in people:
            pos[t - first] = p[:, :3]
            conf[t - first] = np.nan_to_num(p[:, 3], nan=1.0)
        info.update(units="m", vertical=list(MEDIAPIPE_VERTICAL), layout="mediapipe33")
        cls, args = PoseSequence3D, (pos, fps, "mediapipe33")
        kwargs = {"confidence": conf, "units": "m", "vertical": MEDIAPIPE_VERTICAL}
    try:
        return cls(*args, patient_id=patient_id, video_id=video_id if video_id is not None else path.stem,
                   info={"read_mediapipe": info}, **kwargs)
    except GaitError as exc:
        raise ReaderError(f"{path}: {exc}", path) from None
