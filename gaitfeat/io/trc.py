"""OpenSim marker-trajectory files (``.trc``), as OpenSim, OpenCap and Pose2Sim write them.

Layout of the text file (tab-separated; line numbers as in the messages)::

    1  PathFileType  4  (X/Y/Z)  NAME
    2  DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    3  60.0  60.0  300  20  m  60.0  1  300
    4  Frame#  Time  Neck  <tab><tab>  RShoulder ...
    5  <tab><tab>  X1  Y1  Z1  X2 ...
    6  (optional blank line)
    7  1  0.0000000  0.0123  1.4567  -0.0321 ...

What real writers do, and this reader accepts: OpenCap's writer separates
line 1 with spaces, ends lines 4 and 5 with tabs and writes a blank line 6;
Pose2Sim writes no blank line, ends line 4 with three tabs and writes a
missing value as an empty field (pandas), or fills long gaps with exact
zeros (its ``fill_large_gaps_with = 'zeros'`` option); OpenSim writes a tab
after every value and ``nan`` for a missing one. Data in a TRC file is
Y-up (OpenSim's convention), in the ``Units`` of line 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError, ReaderError
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.layouts import ALL_LAYOUTS, get_layout
from gaitfeat.layouts.mapping import DERIVED, EQUIVALENT_NAMES
from gaitfeat.layouts.markers import marker_names_for, plan_markers
from gaitfeat.pose3d import PoseSequence3D

__all__ = ["read_trc", "write_trc", "MAX_TRC_BYTES", "MAX_GAP_FRAMES"]

#: Largest TRC file read (bytes): 10 minutes at 100 Hz with 60 markers is about 150 MB.
MAX_TRC_BYTES = 500_000_000
#: Frames missing between rows (from the Time column) that are filled with NaN; more is refused.
MAX_GAP_FRAMES = 1000
_REQUIRED_KEYS = ("DataRate", "NumFrames", "NumMarkers", "Units")
_LOWER_BODY = ("left_shoulder", "right_shoulder", "left_knee", "right_knee", "left_ankle", "right_ankle")
_Y_UP = (0.0, 1.0, 0.0)


def _fields(line: str) -> list[str]:
    """Tab-separated fields; a line without tabs is split on blanks (hand-edited files)."""
    return [f.strip() for f in line.split("\t")] if "\t" in line else line.split()


def _int(value: str, path: Path, where: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not np.isfinite(number) or number != int(number) or number < 0:
        raise ReaderError(f"{path}, {where}: {value!r:.40} is not a whole number", path)
    return int(number)


def _header(path: Path, lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    """Header values (line 3 by key of line 2), marker names (line 4) and the index of the first data line."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) < 5:
        what = ("PathFileType", "header keys", "header values", "marker names", "X/Y/Z labels")[len(lines)]
        raise ReaderError(f"{path}, line {len(lines) + 1}: missing ({what}); the file ends after {len(lines)} lines, "
                          "and a TRC file has 5 header lines before the data", path)
    first = lines[0].split()  # OpenCap separates line 1 with spaces; OpenSim splits it on any blank too
    if not first or first[0] != "PathFileType":
        raise ReaderError(f"{path}, line 1: does not start with 'PathFileType' ({lines[0][:60]!r}); not a TRC file", path)
    keys = [k for k in _fields(lines[1]) if k]
    values = [v for v in _fields(lines[2]) if v]
    missing = [k for k in _REQUIRED_KEYS if k not in keys]
    if missing:
        raise ReaderError(f"{path}, line 2: header keys {keys[:10]} lack {missing}", path)
    if len(values) != len(keys):
        raise ReaderError(f"{path}, line 3: {len(values)} header values for the {len(keys)} keys of line 2", path)
    header = dict(zip(keys, values))
    labels = _fields(lines[3])
    if len(labels) < 2 or labels[0].lower() != "frame#" or labels[1].lower() != "time":
        raise ReaderError(f"{path}, line 4: expected 'Frame#' and 'Time' before the marker names, got {labels[:2]}", path)
    names = [n for n in labels[2:] if n]
    n_markers = _int(header["NumMarkers"], path, "line 3 (NumMarkers)")
    if len(names) != n_markers:
        raise ReaderError(f"{path}, line 4: {len(names)} marker names but line 3 announces NumMarkers {n_markers}", path)
    seen: dict[str, int] = {}
    for name in names:
        if name in seen:
            raise ReaderError(f"{path}, line 4: marker name {name!r} appears twice; refusing to pick one", path)
        seen[name] = 1
    coords = [c for c in _fields(lines[4]) if c]
    if len(coords) != 3 * n_markers:
        raise ReaderError(f"{path}, line 5: {len(coords)} coordinate labels (X1 Y1 Z1 ...) for {n_markers} markers "
                          f"(expected {3 * n_markers})", path)
    return header, names, 5


def _parse_rows(path: Path, lines: list[str], start: int, n_markers: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Time ``(R,)`` and values ``(R, M, 3)`` of the data rows, and their line numbers; blank lines skipped."""
    width = 2 + 3 * n_markers
    times, rows, numbers = [], [], []
    for k in range(start, len(lines)):
        line = lines[k]
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) > width and not any(f.strip() for f in fields[width:]):
            fields = fields[:width]  # trailing tabs (OpenSim, Pose2Sim headers)
        if len(fields) != width:
            raise ReaderError(f"{path}, line {k + 1}: {len(fields)} values, but {n_markers} markers need {width} "
                              f"(Frame#, Time and 3 x {n_markers} coordinates)", path)
        try:
            values = [float(f) for f in fields]
        except ValueError:
            values = [_value(path, k + 1, c, f) for c, f in enumerate(fields)]
        if not np.isfinite(values[0]) or not np.isfinite(values[1]):
            raise ReaderError(f"{path}, line {k + 1}: Frame# and Time must be finite numbers, got {fields[:2]}", path)
        finite = np.isfinite(values) | np.isnan(values)
        if not finite.all():
            c = int(np.flatnonzero(~finite)[0])
            raise ReaderError(f"{path}, line {k + 1}, column {c + 1}: {fields[c].strip()!r} is not a finite number", path)
        times.append(values[1])
        rows.append(values[2:])
        numbers.append(k + 1)
    if not rows:
        raise ReaderError(f"{path}: no data rows after the header (line {start + 1} onwards)", path)
    return np.asarray(times), np.asarray(rows, dtype=np.float64).reshape(len(rows), n_markers, 3), numbers


def _value(path: Path, line: int, column: int, text: str) -> float:
    """One field: a number, or NaN for an empty field (Pose2Sim's missing value); else a ReaderError."""
    text = text.strip()
    if not text and column >= 2:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        marker, axis = divmod(column - 2, 3)
        what = "Frame#" if column == 0 else "Time" if column == 1 else f"coordinate {'XYZ'[axis]}{marker + 1}"
        raise ReaderError(f"{path}, line {line}, column {column + 1} ({what}): {text!r:.40} is not a number",
                          path) from None


def _frame_slots(path: Path, times: np.ndarray, numbers: list[int], fps: float) -> np.ndarray:
    """Frame index of every row from its time; rows on one frame or running backwards are errors."""
    slots = np.rint((times - times[0]) * fps).astype(np.int64)
    step = np.diff(slots)
    bad = np.flatnonzero(step < 1)
    if bad.size:
        k = int(bad[0]) + 1
        raise ReaderError(
            f"{path}, line {numbers[k]}: time {times[k]:g} s does not advance by a frame at DataRate {fps:g} "
            f"(previous row, line {numbers[k - 1]}: {times[k - 1]:g} s); check DataRate (line 3) and the Time column",
            path,
        )
    gap = int(slots[-1] + 1 - len(slots))
    if gap > MAX_GAP_FRAMES:
        k = int(np.argmax(step)) + 1
        raise ReaderError(
            f"{path}, line {numbers[k]}: the Time column leaves {gap} frames missing at DataRate {fps:g} (at most "
            f"{MAX_GAP_FRAMES}); the largest jump is from {times[k - 1]:g} s to {times[k]:g} s; check DataRate (line 3)",
            path,
        )
    return slots


def _choose_layout(path: Path, sources: dict[str, tuple[int, ...]], layout: str | None) -> tuple[str, str]:
    """The layout to build and how it was chosen."""
    if layout is not None:
        return get_layout(layout, pipeline=False).name, "argument"
    in_order = tuple(sorted(sources, key=lambda j: sources[j]))
    joints = set(in_order)
    # Human3.6M and MPI-INF-3DHP have the same 17 joints in different orders: the file's order decides.
    same = [name for name, lay in ALL_LAYOUTS.items() if set(lay.joints) == joints]
    for name in same:
        if ALL_LAYOUTS[name].joints == in_order:
            return name, "the markers are its joints in its order"
    if len(same) == 1:
        return same[0], "the markers are exactly its joints"
    hips = {"left_hip", "right_hip"} <= joints or "mid_hip" in joints
    if hips and set(_LOWER_BODY) <= joints:
        return "body25", "hips, knees, ankles and shoulders present"
    lacking = [j for j in ("left_hip", "right_hip", *_LOWER_BODY) if j not in joints]
    raise ReaderError(
        f"{path}, line 4: too few usable markers for gait analysis: they give {sorted(joints) or 'no joints'}, "
        f"lacking {lacking} (hips or mid_hip, knees, ankles and shoulders are needed); pass layout= to read "
        "the joints there are anyway",
        path,
    )


def read_trc(
    path: str | Path,
    *,
    layout: str | None = None,
    vertical: Sequence[float] | None = _Y_UP,
    patient_id: str | None = None,
    video_id: str | None = None,
) -> PoseSequence3D:
    """Read an OpenSim ``.trc`` marker file as one person's :class:`~gaitfeat.pose3d.PoseSequence3D`.

    Marker names become joints through :func:`gaitfeat.layouts.markers.plan_markers`
    (OpenPose/OpenCap, Pose2Sim and our own names; OpenCap's hip joint
    centre markers and knee, ankle, elbow and wrist centres as the midpoint
    of the documented lateral/medial landmarks). ``neck`` and ``mid_hip``
    are derived as the shoulder and hip midpoints when no marker gives them
    (:data:`gaitfeat.layouts.mapping.DERIVED`). Every other joint of the
    layout that no marker gives is absent (NaN in every frame).

    Missing values are missing joints, never errors: an empty field, ``nan``
    or ``NaN`` in any coordinate, and a marker at exactly ``(0, 0, 0)`` in
    two or more consecutive rows (Pose2Sim fills long gaps with zeros on
    request; a single row at the origin is taken as a measurement) all make
    that joint missing in that frame (NaN, confidence 0). TRC files have no
    confidence: present joints get 1.

    Frames are placed by the Time column at ``DataRate``: a time gap becomes
    missing frames (at most :data:`MAX_GAP_FRAMES`). ``NumFrames`` must equal
    the number of data rows: fewer rows means a truncated file, more means
    an edited or concatenated one, and either is refused rather than
    guessed around.

    Parameters
    ----------
    path : str or Path
    layout : str, optional
        Layout of the result (any of :data:`gaitfeat.layouts.ALL_LAYOUTS`).
        By default the layout whose joints are exactly the markers' (what
        :func:`write_trc` wrote), else ``"body25"`` when the markers give
        hips (or the mid-hip), knees, ankles and shoulders.
    vertical : 3 floats or None
        The up direction in the file's frame: ``(0, 1, 0)`` (OpenSim's Y up)
        by default; ``(0, 0, 1)`` for a Z-up export, ``None`` if unknown.
    patient_id, video_id : str, optional
        Identifiers; ``video_id`` defaults to the file name without suffix.

    Returns
    -------
    PoseSequence3D
        In the file's units (``"m"`` or ``"mm"``), ``fps`` = DataRate.
        ``info["read_trc"]``: file, units, fps, rows, frames, gap_frames,
        markers, layout, layout_reason, joint_sources (joint -> marker, or
        how it was derived), absent_joints, ignored_markers (names no table
        knows), unused_markers (known markers not used, with the reason),
        missing_values (joint-frames missing), zero_markers (marker-rows taken
        as Pose2Sim's zero fill).

    Raises
    ------
    ReaderError
        Naming the file and line: missing, unreadable or oversized file, not
        text; fewer than 5 header lines, no ``PathFileType``; missing header
        keys or a value count that does not match them; ``NumMarkers`` or
        ``NumFrames`` not whole numbers or not matching the marker names or
        data rows; duplicate marker names; a coordinate label count that
        does not match; units other than ``m`` or ``mm``; a DataRate outside
        1-1000 frames/s; a data row with the wrong number of values, a
        non-numeric or infinite value; rows whose Time does not advance by a
        frame; too few usable markers (none of an explicit layout's joints,
        or without ``layout`` no hips, knees, ankles and shoulders).
    LayoutError
        Unknown ``layout`` name.
    PoseDataError
        ``vertical`` not a finite, non-zero 3-vector.
    """
    path = Path(path)
    if layout is not None:  # an unknown name fails before the file is read
        try:
            get_layout(layout, pipeline=False)
        except LayoutError as exc:
            raise LayoutError(f"{path}: {exc}") from None
    if not path.exists():
        raise ReaderError(f"{path}: no such file", path)
    raw = read_regular_file(path, MAX_TRC_BYTES, what="a TRC file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # marker names from Windows tools; numbers are ASCII either way
    if "\x00" in text:
        raise ReaderError(f"{path}: binary data (NUL bytes), not a TRC text file", path)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    header, names, start = _header(path, lines)

    units = header["Units"].strip().lower()
    if units not in ("m", "mm"):
        raise ReaderError(f"{path}, line 3: Units {header['Units']!r:.30} is not 'm' or 'mm'", path)
    try:
        fps = check_fps(float(header["DataRate"]), f"{path}, line 3: DataRate")
    except ValueError as exc:  # PoseDataError is a ValueError too
        if isinstance(exc, PoseDataError):
            raise ReaderError(str(exc), path) from None
        raise ReaderError(f"{path}, line 3: DataRate {header['DataRate']!r:.30} is not a number", path) from None
    n_frames_header = _int(header["NumFrames"], path, "line 3 (NumFrames)")

    plan = plan_markers(names)
    times, values, numbers = _parse_rows(path, lines, start, len(names))
    if len(numbers) != n_frames_header:
        raise ReaderError(
            f"{path}, line 3: NumFrames {n_frames_header} but the file has {len(numbers)} data rows "
            f"(lines {numbers[0]}-{numbers[-1]}); " + ("is it truncated?" if len(numbers) < n_frames_header
                                                       else "was it edited or concatenated?"),
            path,
        )
    # Pose2Sim's zero fill spans whole gaps; one measured frame exactly at the origin (a synthetic
    # walker's start) is kept, two or more consecutive ones are a fill.
    at_origin = (values == 0.0).all(axis=2)
    zero = at_origin & (np.roll(at_origin, 1, axis=0) | np.roll(at_origin, -1, axis=0))
    if len(at_origin) > 1:
        zero[0] = at_origin[0] & at_origin[1]
        zero[-1] = at_origin[-1] & at_origin[-2]
    else:
        zero[:] = False
    values[zero] = np.nan
    slots = _frame_slots(path, times, numbers, fps)

    lay_name, reason = _choose_layout(path, plan.sources, layout)
    lay = get_layout(lay_name, pipeline=False)
    positions = np.full((int(slots[-1]) + 1, lay.num_joints, 3), np.nan)
    joint_sources: dict[str, str] = {}
    used: set[str] = set()
    for j, joint in enumerate(lay.joints):
        reverse = [k for k, eq in EQUIVALENT_NAMES.items() if joint in eq]
        found = next((c for c in (joint, *EQUIVALENT_NAMES.get(joint, ()), *reverse) if c in plan.sources), None)
        if found is not None:
            cols = plan.sources[found]
            positions[slots, j] = values[:, list(cols)].mean(axis=1)
            joint_sources[joint] = plan.descriptions[found]
            used.add(found)
        elif joint in DERIVED and all(p in plan.sources for p in DERIVED[joint]):
            a, b = (plan.sources[p] for p in DERIVED[joint])
            positions[slots, j] = 0.5 * (values[:, list(a)].mean(axis=1) + values[:, list(b)].mean(axis=1))
            joint_sources[joint] = f"midpoint of {DERIVED[joint][0]} and {DERIVED[joint][1]} (derived)"
    if not joint_sources:
        raise ReaderError(f"{path}, line 4: too few usable markers: none of {len(names)} markers gives a joint of "
                          f"layout {lay.name!r} (markers: {names[:8]}{' ...' if len(names) > 8 else ''})", path)
    unused = dict(plan.unused)
    for joint in set(plan.sources) - used:
        for c in plan.sources[joint]:
            unused[names[c]] = f"{joint} is not a joint of layout {lay.name!r}"
    absent = [j for j in lay.joints if j not in joint_sources]
    info = {
        "file": path.name, "units": units, "fps": fps, "rows": len(numbers), "frames": int(positions.shape[0]),
        "gap_frames": int(positions.shape[0] - len(numbers)), "markers": len(names), "layout": lay.name,
        "layout_reason": reason, "joint_sources": joint_sources, "absent_joints": absent,
        "ignored_markers": list(plan.unknown), "unused_markers": unused,
        "missing_values": int(np.isnan(positions).any(axis=2).sum()), "zero_markers": int(zero.sum()),
    }
    try:
        seq = PoseSequence3D(positions, fps, lay.name, units=units, vertical=vertical, patient_id=patient_id,
                             video_id=video_id if video_id is not None else path.stem, info={"read_trc": info})
    except PoseDataError as exc:  # the positions are checked above: only the vertical argument is left
        raise PoseDataError(f"{path}: {exc}") from None
    try:
        seq.check_units()
    except PoseDataError as exc:  # e.g. a file in metres whose header says mm
        raise ReaderError(f"{path}, line 3: Units {units!r} do not fit the data: {exc}", path) from None
    return seq


def _rotation_to_y_up(up: np.ndarray) -> np.ndarray:
    """The smallest rotation taking the unit vector ``up`` onto +Y (Rodrigues' formula)."""
    y = np.array(_Y_UP)
    axis = np.cross(up, y)
    s, c = float(np.linalg.norm(axis)), float(np.dot(up, y))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])  # upside down: half a turn about X
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def write_trc(
    path: str | Path,
    seq: PoseSequence3D,
    *,
    marker_names: str | Sequence[str] | dict[str, str] | None = None,
) -> Path:
    """Write a :class:`~gaitfeat.pose3d.PoseSequence3D` as an OpenSim ``.trc`` marker file.

    The file follows OpenSim's own writer (tab-separated, blank line after
    the header, frames numbered from 1, Time = frame / fps) and is read back
    by :func:`read_trc` with identical positions (values are written with
    Python's shortest exact float representation), units, fps and layout.
    Missing joints are written as ``NaN``, which OpenSim, OpenCap and
    Pose2Sim read as missing. Confidences, identifiers and ``info`` have no
    place in a TRC file and are not written.

    TRC data is Y-up: a sequence whose ``vertical`` is not ``(0, 1, 0)`` is
    rotated (the smallest rotation taking its up direction onto +Y) so that
    OpenSim sees it upright. An unknown vertical (a lifter's camera
    coordinates) is first estimated from the skeleton
    (:func:`gaitfeat.preprocessing.estimate_vertical`); a sequence without
    hips and shoulders to estimate it from is refused.

    Parameters
    ----------
    path : str or Path
    seq : PoseSequence3D
    marker_names : None, "joints", "openpose", list of str or dict
        ``None``/``"joints"``: our joint names (``right_knee``);
        ``"openpose"``: the OpenPose/OpenCap names (``RKnee``, ``midHip``)
        for BODY_25's joints and ours for the others; a list of one name per
        joint; or a dict ``{joint: name}`` for some joints. Names :func:`read_trc`
        does not know are not read back.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        ``seq`` is not a PoseSequence3D.
    ValueError
        Marker names that are not one per joint, empty, contain blanks, or repeat.
    """
    if not isinstance(seq, PoseSequence3D):
        raise TypeError(f"write_trc: seq must be a PoseSequence3D, got {type(seq).__name__}")
    path = Path(path)
    names = marker_names_for(seq.skeleton, marker_names, who="write_trc")
    pos = seq.positions
    up = seq.vertical
    if up is None:  # readers take TRC as Y-up: a camera frame (y down) would be read upside down
        from gaitfeat.preprocessing.plane import estimate_vertical
        try:
            up, _ = estimate_vertical(seq)
        except PoseDataError as exc:
            raise PoseDataError(f"write_trc: the sequence's vertical is unknown and cannot be estimated ({exc}); "
                                "give it: seq.replace(vertical=(0, 1, 0))") from None
    if not np.allclose(up, _Y_UP, rtol=0.0, atol=1e-12):
        pos = pos @ _rotation_to_y_up(np.asarray(up)).T
    t_count, v_count = pos.shape[:2]
    rate = repr(float(seq.fps))
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{t_count}\t{v_count}\t{seq.units}\t{rate}\t1\t{t_count}",
        "Frame#\tTime\t" + "".join(f"{n}\t\t\t" for n in names),
        "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, v_count + 1)),
        "",
    ]
    flat = pos.reshape(t_count, 3 * v_count)
    for i in range(t_count):
        cells = ["NaN" if v != v else repr(float(v)) for v in flat[i].tolist()]
        lines.append(f"{i + 1}\t{repr(i / seq.fps)}\t" + "\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
