"""Plain NumPy arrays of joint positions (``.npy`` / ``.npz``), e.g. a 3-D lifter's output.

What the arrays mean is fixed by ``kind`` and the last axis, never guessed
from the values:

========  ==========  ==============================================  ======================================
kind      last axis   meaning                                         result
========  ==========  ==============================================  ======================================
``3d``    3           x, y, z in ``units``                            :class:`~gaitfeat.pose3d.PoseSequence3D`
``3d``    4           x, y, z, confidence in [0, 1]                   :class:`~gaitfeat.pose3d.PoseSequence3D`
``2d``    2           x, y in image pixels                            :class:`~gaitfeat.pose.PoseSequence`
``2d``    3           x, y in pixels, confidence in [0, 1]            :class:`~gaitfeat.pose.PoseSequence`
========  ==========  ==============================================  ======================================

An ``.npz`` archive may hold the array under a conventional key with its
metadata beside it, as :func:`write_array` writes it: ``positions`` (or
``keypoints``) ``(T, V, C)``, ``confidence`` ``(T, V)``, and 0-d arrays
``layout``, ``fps``, ``units``, ``patient_id``, ``video_id`` plus
``vertical`` ``(3,)``. Arguments fill in what the file lacks; an argument
that contradicts the file is an error, not a silent override (identifiers
excepted: an explicit ``patient_id``/``video_id`` wins). Files are opened with
``allow_pickle=False`` and arrays holding Python objects are refused before
they are loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gaitfeat.errors import LayoutError, PoseDataError, ReaderError
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.io.npz import MAX_NPZ_BYTES, _array, load_npz, npy_size
from gaitfeat.layouts import absent_joints, get_layout, map_confidence, map_joints, pipeline_layout_for
from gaitfeat.pose import PoseSequence, openpose_undetected
from gaitfeat.pose3d import UNITS, PoseSequence3D

__all__ = ["read_array", "write_array"]

_DATA_KEYS = ("positions", "keypoints")
_META_KEYS = ("confidence", "layout", "fps", "units", "vertical", "patient_id", "video_id")
_CHANNELS = {"3d": (3, 4), "2d": (2, 3)}


def _open(path: Path) -> tuple[str, Any]:
    """``("npy", array)`` or ``("npz", NpzFile)``; every failure is a ReaderError naming the file."""
    if not path.exists():
        raise ReaderError(f"{path}: no such file", path)
    magic = read_regular_file(path, MAX_NPZ_BYTES, what="a .npy or .npz file", head=6)
    if magic.startswith(b"PK\x03\x04"):
        return "npz", load_npz(path)
    if magic == b"\x93NUMPY":
        return "npy", _load_npy(path)
    raise ReaderError(f"{path}: neither a .npy array nor a .npz archive (starts with {magic!r})", path)


def _load_npy(path: Path) -> np.ndarray:
    """A .npy array, its header checked first: no objects, a size that matches the file."""
    try:
        with open(path, "rb") as fh:
            expected = npy_size(fh, path, "the array")
            size = fh.seek(0, 2)
        if expected != size:
            raise ReaderError(f"{path}: truncated or corrupt .npy file (header says {expected} bytes, file has {size})", path)
        return np.load(path, allow_pickle=False)
    except ReaderError:
        raise
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise ReaderError(f"{path}: not a readable .npy file ({type(exc).__name__}: {str(exc)[:200]})", path) from None


def _scalar(path: Path, data: Any, key: str, kind: str) -> Any:
    """A 0-d metadata array as ``str`` or ``float``, or None when absent."""
    if key not in data.files:
        return None
    arr = _array(path, data, key)
    if arr.shape != ():
        raise ReaderError(f"{path}: metadata {key!r} must be a single value (0-d array), got shape {arr.shape}", path)
    if kind == "str":
        if arr.dtype.kind == "U":
            return str(arr[()])
        if arr.dtype.kind == "S":
            return arr[()].decode("utf-8", errors="replace")
        raise ReaderError(f"{path}: metadata {key!r} must be a string, got dtype {arr.dtype}", path)
    if arr.dtype.kind not in "iuf":
        raise ReaderError(f"{path}: metadata {key!r} must be a number, got dtype {arr.dtype}", path)
    return float(arr[()])


def _numeric(path: Path, arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype.hasobject:
        raise ReaderError(f"{path}: {what} holds Python objects, which are never loaded (no pickle)", path)
    if arr.dtype.kind not in "iuf" or arr.dtype.names is not None:
        raise ReaderError(f"{path}: {what} must hold real numbers (integers or floats), got dtype {arr.dtype}", path)
    return arr.astype(np.float64)


def _merge(path: Path, name: str, given: Any, stored: Any) -> Any:
    """The argument or the file's value; both and different is an error."""
    if given is None:
        return stored
    if stored is not None and given != stored:
        raise ReaderError(f"{path}: {name}={given!r} was given but the file stores {name} {stored!r}", path)
    return given


def _select(path: Path, data: Any, key: str | None) -> str:
    """The key of the data array in an archive."""
    if key is not None:
        if key not in data.files:
            raise ReaderError(f"{path}: no array {key!r}; the archive holds {sorted(data.files)}", path)
        return key
    for k in _DATA_KEYS:
        if k in data.files:
            return k
    rest = [k for k in data.files if k not in _META_KEYS]
    if len(rest) == 1:
        return rest[0]
    hint = "; it looks like a gaitfeat.write_npz file, read it with read_npz" if "__meta__" in data.files else ""
    raise ReaderError(f"{path}: cannot tell which array to read among {sorted(rest)}; choose one with key={hint}", path)


def read_array(
    path: str | Path,
    *,
    layout: str | None = None,
    fps: float | None = None,
    units: str | None = None,
    vertical: Sequence[float] | None = None,
    kind: str = "3d",
    patient_id: str | None = None,
    video_id: str | None = None,
    key: str | None = None,
) -> PoseSequence3D | PoseSequence:
    """Read joint positions from a ``.npy`` or ``.npz`` array (see the module notes for the shapes).

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file, or a ``.npz`` archive (the file's content decides,
        not its name).
    layout : str, optional
        Layout of the array's joint axis (any of
        :data:`gaitfeat.layouts.ALL_LAYOUTS`); required unless the archive stores it.
    fps : float, optional
        Frames per second (1 to 1000); required unless the archive stores it.
    units : {"m", "mm"}, optional
        Length unit of 3-D positions; the archive's, else ``"m"``. Not allowed
        with ``kind="2d"`` (pixels).
    vertical : 3 floats, optional
        The up direction in the data's frame (3-D only); the archive's, else
        unknown (None).
    kind : {"3d", "2d"}
        What the coordinates are. 2-D keypoints are converted to the pipeline
        layout :func:`gaitfeat.layouts.pipeline_layout_for` gives (absent
        joints listed in ``info["read_array"]["absent_joints"]``); a joint
        with NaN, confidence 0, or exactly at ``(0, 0)`` is missing.
    patient_id, video_id : str, optional
        Identifiers; they override the archive's. ``video_id`` defaults to the
        archive's, else the file name without suffix.
    key : str, optional
        The array to read from an archive; by default ``positions``, then
        ``keypoints``, then the only array that is not metadata.

    Returns
    -------
    PoseSequence3D or PoseSequence
        ``info["read_array"]``: file, key, shape, kind, layout (of the array),
        missing_values (joint-frames missing), absent_joints (2-D).

    Raises
    ------
    ReaderError
        Naming the file: missing, not a regular file, not .npy/.npz, truncated
        or corrupt; Python objects (never unpickled); a non-numeric dtype; a
        shape other than ``(T, V, C)`` with ``C`` as in the table, or no frames;
        infinite values; confidences outside [0, 1]; no such ``key`` or several
        candidate arrays; malformed metadata; an argument contradicting the
        stored metadata; stored units other than ``m``/``mm``.
    LayoutError
        An unknown layout name, no layout given or stored, or a joint count
        that does not match the layout.
    PoseDataError
        ``fps`` missing or outside 1-1000 frames/s, ``units`` other than ``m``/``mm``.
    ValueError
        ``kind`` not ``"3d"``/``"2d"``, or ``units``/``vertical`` with ``kind="2d"``.
    """
    path = Path(path)
    if kind not in _CHANNELS:
        raise ValueError(f"read_array: kind must be '3d' or '2d', got {kind!r:.30}")
    if kind == "2d" and (units is not None or vertical is not None):
        raise ValueError("read_array: units and vertical are for 3-D positions; 2-D keypoints are in pixels")
    if units is not None and units not in UNITS:
        raise PoseDataError(f"{path}: units must be 'm' or 'mm', got {units!r:.30}")
    if layout is not None:
        try:
            layout = get_layout(layout, pipeline=False).name
        except LayoutError as exc:
            raise LayoutError(f"{path}: {exc}") from None
    if fps is not None:
        fps = check_fps(fps, path)

    form, data = _open(path)
    meta: dict[str, Any] = {}
    conf = None
    if form == "npy":
        if key is not None:
            raise ReaderError(f"{path}: a .npy file holds one array; key= is for .npz archives", path)
        raw, used_key = data, None
    else:
        with data:
            used_key = _select(path, data, key)
            raw = _array(path, data, used_key)
            for name in ("layout", "units", "patient_id", "video_id"):
                meta[name] = _scalar(path, data, name, "str")
            meta["fps"] = _scalar(path, data, "fps", "float")
            if "vertical" in data.files:
                meta["vertical"] = _numeric(path, _array(path, data, "vertical"), "metadata 'vertical'")
            if "confidence" in data.files and used_key in _DATA_KEYS:
                conf = _numeric(path, _array(path, data, "confidence"), "array 'confidence'")
    what = f"array {used_key!r}" if used_key else "the array"
    arr = _numeric(path, np.asarray(raw), what)
    channels = _CHANNELS[kind]
    if arr.ndim != 3 or arr.shape[2] not in channels:
        meaning = "x, y, z[, confidence]" if kind == "3d" else "x, y[, confidence]"
        raise ReaderError(f"{path}: {what} must have shape (frames, joints, {' or '.join(map(str, channels))}) "
                          f"= ({meaning}) for kind={kind!r}, got shape {arr.shape}", path)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ReaderError(f"{path}: {what} has no frames or no joints (shape {arr.shape})", path)
    if np.isinf(arr).any():
        t, v, c = np.argwhere(np.isinf(arr))[0]
        raise ReaderError(f"{path}: {what} has an infinite value at frame {t}, joint {v}, channel {c}; "
                          "mark missing joints with NaN", path)

    stored_layout = meta.get("layout")
    if stored_layout is not None:
        try:
            stored_layout = get_layout(stored_layout, pipeline=False).name
        except LayoutError as exc:
            raise LayoutError(f"{path}: stored layout: {exc}") from None
    lay_name = _merge(path, "layout", layout, stored_layout)
    if lay_name is None:
        raise LayoutError(f"{path}: no layout given and none stored; pass layout= (e.g. 'h36m17', 'body25')")
    lay = get_layout(lay_name, pipeline=False)
    if arr.shape[1] != lay.num_joints:
        raise LayoutError(f"{path}: {what} has {arr.shape[1]} joints but layout {lay.name!r} has {lay.num_joints}")
    stored_fps = meta.get("fps")
    if stored_fps is not None:
        try:
            stored_fps = check_fps(stored_fps, f"{path}: stored fps")
        except PoseDataError as exc:
            raise ReaderError(str(exc), path) from None
    rate = _merge(path, "fps", fps, stored_fps)
    if rate is None:
        raise PoseDataError(f"{path}: no fps given and none stored; pass fps= (frames per second)")
    if arr.shape[2] == channels[1]:
        if conf is not None:
            raise ReaderError(f"{path}: confidence is both the last channel of {what} and array 'confidence'", path)
        conf, arr = arr[:, :, -1], arr[:, :, :-1]
    elif conf is not None and conf.shape != arr.shape[:2]:
        raise ReaderError(f"{path}: array 'confidence' has shape {conf.shape}, expected {arr.shape[:2]} (frames, joints)", path)
    if conf is not None:
        bad = (conf < 0) | (conf > 1)
        if bad.any():
            t, v = np.argwhere(bad)[0]
            raise ReaderError(f"{path}: confidence {conf[t, v]:g} outside [0, 1] at frame {t}, joint {lay.joints[v]!r}", path)
    info = {"file": path.name, "key": used_key, "shape": list(np.shape(raw)), "kind": kind, "layout": lay.name}
    patient_id = patient_id if patient_id is not None else meta.get("patient_id")
    video_id = video_id if video_id is not None else meta.get("video_id") or path.stem
    try:
        if kind == "2d":
            return _to_2d(arr, conf, lay.name, rate, patient_id, video_id, info)
        stored_units = meta.get("units")
        if stored_units is not None and stored_units not in UNITS:
            raise ReaderError(f"{path}: stored units {stored_units!r:.30} are not 'm' or 'mm'", path)
        up = meta.get("vertical")
        missing = np.isnan(arr).any(axis=2) | (np.isnan(conf) if conf is not None else False)
        info["missing_values"] = int(missing.sum())
        seq = PoseSequence3D(arr, rate, lay.name, confidence=conf,
                             units=_merge(path, "units", units, stored_units) or "m",
                             vertical=vertical if vertical is not None else up, patient_id=patient_id,
                             video_id=video_id, info={"read_array": info})
        if vertical is not None and up is not None:
            stored = PoseSequence3D(arr[:1], rate, lay.name, vertical=up).vertical  # normalised like the given one
            if not np.allclose(seq.vertical, stored, rtol=0.0, atol=1e-9):
                raise ReaderError(f"{path}: vertical={tuple(vertical)} was given but the file stores "
                                  f"{tuple(up.tolist())}", path)
        seq.check_units()  # metres labelled mm, or the reverse
        return seq
    except (PoseDataError, LayoutError) as exc:
        raise ReaderError(f"{path}: {exc}", path) from None


def _to_2d(xy: np.ndarray, conf: np.ndarray | None, layout: str, fps: float, patient_id: Any, video_id: Any,
           info: dict) -> PoseSequence:
    """2-D keypoints in the pipeline layout; OpenPose's undetected encoding becomes missing."""
    c = np.ones(xy.shape[:2]) if conf is None else np.nan_to_num(conf, nan=0.0)
    kp = np.concatenate([xy, c[:, :, None]], axis=2)
    missing = openpose_undetected(kp) | np.isnan(xy).any(axis=2)
    kp[missing] = np.nan
    kp[missing, 2] = 0.0
    target = pipeline_layout_for(layout)
    out = np.concatenate([map_joints(kp[:, :, :2], layout, target),
                          map_confidence(kp[:, :, 2], layout, target)[:, :, None]], axis=2)
    info = {**info, "missing_values": int(missing.sum()), "pipeline_layout": target,
            "absent_joints": list(absent_joints(layout, target))}
    return PoseSequence(out, fps, target, patient_id=patient_id, video_id=video_id, info={"read_array": info})


def write_array(path: str | Path, seq: PoseSequence3D) -> Path:
    """Store a :class:`~gaitfeat.pose3d.PoseSequence3D` as an ``.npz`` that :func:`read_array` reads back alone.

    Holds ``positions`` (float64), ``confidence`` and the 0-d metadata
    arrays ``layout``, ``fps``, ``units`` (and ``vertical``, ``patient_id``,
    ``video_id`` when set); no pickled objects. ``info`` is not stored (use
    :func:`gaitfeat.io.npz.write_npz` for 2-D sequences with their reports).
    The file is written at ``path`` exactly (no ``.npz`` is appended).

    Raises
    ------
    TypeError
        ``seq`` is not a PoseSequence3D.
    """
    if not isinstance(seq, PoseSequence3D):
        raise TypeError(f"write_array: seq must be a PoseSequence3D, got {type(seq).__name__}")
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "positions": seq.positions, "confidence": seq.confidence,
        "layout": np.array(seq.layout), "fps": np.array(float(seq.fps)), "units": np.array(seq.units),
    }
    if seq.vertical is not None:
        arrays["vertical"] = np.asarray(seq.vertical, dtype=np.float64)
    for name in ("patient_id", "video_id"):
        if getattr(seq, name) is not None:
            arrays[name] = np.array(str(getattr(seq, name)))
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path
