"""NumPy ``.npz`` storage for sequences and clips, without pickle.

Arrays are stored as plain arrays; metadata as UTF-8 JSON in a ``uint8``
array. Files are always opened with ``allow_pickle=False``, so a file from an
untrusted source cannot run code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, PoseDataError, ReaderError
from gaitfeat.io._frames import check_fps, read_regular_file
from gaitfeat.jsonable import to_jsonable
from gaitfeat.pose import PoseSequence

__all__ = ["write_npz", "read_npz", "write_clips_npz", "read_clips_npz"]

_FORMAT_SEQ = "gaitfeat.sequences"
_FORMAT_CLIPS = "gaitfeat.clips"
_VERSION = 1


def _encode(meta: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(to_jsonable(meta), allow_nan=False).encode("utf-8"), dtype=np.uint8)


#: A member may claim at most this many bytes per compressed byte (deflate
#: cannot exceed about 1032); more means a corrupt or hostile header.
_MAX_EXPANSION = 1100

#: Largest ``.npz`` file read, and largest total size of its uncompressed
#: members, in bytes (4 GB).
MAX_NPZ_BYTES = 4_000_000_000


def _open(path: Path, expected_format: str) -> tuple[Any, dict]:
    """The open NpzFile and its validated metadata record; every failure is a ReaderError naming the file."""
    if not path.exists():
        if os.path.islink(path):
            raise ReaderError(f"{path}: broken symbolic link (its target does not exist)", path)
        raise ReaderError(f"{path}: no such file", path)
    magic = read_regular_file(path, MAX_NPZ_BYTES, what="a .npz file", head=4)
    if magic != b"PK\x03\x04":
        raise ReaderError(f"{path}: not a readable .npz file (not a zip archive)", path)
    data = load_npz(path)
    try:
        meta = _check_meta(path, data, expected_format)
    except BaseException:
        data.close()
        raise
    return data, meta


def load_npz(path: Path) -> Any:
    """The open NpzFile, never unpickling, its members checked (:func:`_check_members`); else a ReaderError."""
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise ReaderError(f"{path}: not a readable .npz file ({exc})", path) from None
    try:
        _check_members(path, data)
    except BaseException:
        data.close()
        raise
    return data


def _check_members(path: Path, data: Any) -> None:
    """No two members with one name (one would be silently ignored); at most MAX_NPZ_BYTES in all."""
    zf = getattr(data, "zip", None)
    if zf is None:
        return
    names = zf.namelist()
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dups = sorted({n for n in names if n in seen or seen.add(n)})
        raise ReaderError(f"{path}: the archive holds several members named {dups[:5]}; refusing to pick one", path)
    total = sum(info.file_size for info in zf.infolist())
    if total > MAX_NPZ_BYTES:
        raise ReaderError(f"{path}: members claim {total} bytes in all, more than the {MAX_NPZ_BYTES}-byte limit for a .npz file", path)


def _check_meta(path: Path, data: Any, expected_format: str) -> dict:
    if not hasattr(data, "files") or "__meta__" not in data.files:
        raise ReaderError(f"{path}: not a gaitfeat .npz file (no metadata record)", path)
    raw = _array(path, data, "__meta__")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ReaderError(f"{path}: corrupt metadata record (expected UTF-8 bytes, got {raw.dtype} array of shape {raw.shape})", path)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ReaderError(f"{path}: corrupt metadata record ({type(exc).__name__}: {str(exc)[:200]})", path) from None
    if not isinstance(meta, dict):
        raise ReaderError(f"{path}: corrupt metadata record (a JSON {type(meta).__name__}, not an object)", path)
    if meta.get("format") != expected_format:
        raise ReaderError(f"{path}: holds {meta.get('format')!r}, expected {expected_format!r}", path)
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ReaderError(f"{path}: format version {version!r} is not an integer", path)
    if version > _VERSION:
        raise ReaderError(f"{path}: format version {version} is newer than this gaitfeat reads ({_VERSION})", path)
    if version < 1:
        raise ReaderError(f"{path}: unknown format version {version} (this gaitfeat reads 1-{_VERSION})", path)
    return meta


def npy_size(fh: Any, path: Path, what: str) -> int:
    """Bytes a ``.npy`` stream must have, from its header (read from ``fh``); objects (pickle) refused."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ReaderError(f"{path}: {what} uses .npy format {version}, not 1.0 or 2.0", path)
    if dtype.hasobject:
        raise ReaderError(f"{path}: {what} holds Python objects, which are never loaded (no pickle)", path)
    return fh.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize


def _array(path: Path, data: Any, key: str, *, what: str | None = None) -> np.ndarray:
    """One member array, checked before it is loaded: no objects, a header that matches the member's size."""
    what = what or repr(key)
    try:
        info = data.zip.getinfo(f"{key}.npy")
        if info.file_size > _MAX_EXPANSION * max(info.compress_size, 1) + (1 << 20):
            raise ReaderError(f"{path}: array {what} claims {info.file_size} bytes from {info.compress_size} compressed bytes", path)
        with data.zip.open(info) as fh:
            expected = npy_size(fh, path, f"array {what}")
        if expected != info.file_size:
            raise ReaderError(f"{path}: array {what} is truncated or corrupt (header says {expected} bytes, file has {info.file_size})", path)
        return data[key]
    except ReaderError:
        raise
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, TypeError, NotImplementedError) as exc:
        raise ReaderError(f"{path}: cannot read array {what} ({type(exc).__name__}: {str(exc)[:200]})", path) from None


def _real(path: Path, arr: np.ndarray, what: str, ndim: int) -> np.ndarray:
    """A real-valued (int or float) array of ``ndim`` dimensions, else a ReaderError."""
    if arr.dtype.kind not in "iuf" or arr.dtype.names is not None:
        raise ReaderError(f"{path}: {what} must hold real numbers, got dtype {arr.dtype}", path)
    if arr.ndim != ndim:
        raise ReaderError(f"{path}: {what} must have {ndim} dimensions, got shape {arr.shape}", path)
    return arr


def write_npz(path: str | Path, sequences: list[PoseSequence] | PoseSequence) -> Path:
    """Store sequences (keypoints, fps, layout, IDs, direction, pelvis path ``root``, info) in one ``.npz`` file."""
    if isinstance(sequences, PoseSequence):
        sequences = [sequences]
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    records = []
    for i, seq in enumerate(sequences):
        if not isinstance(seq, PoseSequence):
            raise TypeError(f"item {i} is a {type(seq).__name__}, not a PoseSequence")
        arrays[f"keypoints_{i}"] = seq.keypoints
        if seq.direction is not None:
            arrays[f"direction_{i}"] = seq.direction
        if seq.root is not None:
            arrays[f"root_{i}"] = seq.root
        records.append(
            {"fps": seq.fps, "layout": seq.layout, "patient_id": seq.patient_id, "video_id": seq.video_id, "info": seq.info}
        )
    arrays["__meta__"] = _encode({"format": _FORMAT_SEQ, "version": _VERSION, "sequences": records})
    np.savez_compressed(path, **arrays)
    return path


def read_npz(path: str | Path) -> list[PoseSequence]:
    """Read sequences written by :func:`write_npz` (validated on construction).

    Raises
    ------
    ReaderError
        Naming the file, for anything that is not a well-formed gaitfeat
        sequence file: missing, a folder, not a zip archive, truncated or
        corrupt members, no ``__meta__`` record or one that is not UTF-8 JSON
        object, another format, a version other than 1, metadata fields of
        the wrong type, arrays holding objects (never unpickled), of a
        non-real dtype or the wrong shape, two members with one name, a
        file that is not a regular file, members of more than
        :data:`MAX_NPZ_BYTES` in all, an ``fps`` that is not a finite number
        from 1 to 1000 frames/s (the limit is named), and keypoints that
        :class:`~gaitfeat.pose.PoseSequence` refuses (its message is kept).
    """
    path = Path(path)
    data, meta = _open(path, _FORMAT_SEQ)
    out = []
    with data:
        records = meta.get("sequences", [])
        if not isinstance(records, list):
            raise ReaderError(f"{path}: corrupt metadata record ('sequences' is a {type(records).__name__}, not a list)", path)
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise ReaderError(f"{path}: sequence {i}: metadata is a {type(rec).__name__}, not an object", path)
            key = f"keypoints_{i}"
            if key not in data.files:
                raise ReaderError(f"{path}: sequence {i} has metadata but no keypoints", path)
            kp = _real(path, _array(path, data, key), f"sequence {i} keypoints", 3)
            if kp.dtype.kind == "f" and kp.dtype.itemsize > 4 and (np.abs(np.nan_to_num(kp, nan=0.0, posinf=0.0, neginf=0.0)) > np.finfo(np.float32).max).any():
                raise ReaderError(f"{path}: sequence {i} keypoints hold values beyond the float32 range", path)
            direction = None
            if f"direction_{i}" in data.files:
                direction = _array(path, data, f"direction_{i}")
                if direction.dtype.kind not in "iu":
                    raise ReaderError(f"{path}: sequence {i} direction must hold integers, got dtype {direction.dtype}", path)
            root = _real(path, _array(path, data, f"root_{i}"), f"sequence {i} root", 2) if f"root_{i}" in data.files else None
            fps = rec.get("fps")
            if isinstance(fps, bool) or not isinstance(fps, (int, float)):
                raise ReaderError(f"{path}: sequence {i}: fps {fps!r:.60} is not a number", path)
            try:
                fps = check_fps(fps, f"{path}: sequence {i}")
            except PoseDataError as exc:
                raise ReaderError(str(exc), path) from None
            if not isinstance(rec.get("layout"), str):
                raise ReaderError(f"{path}: sequence {i}: layout {rec.get('layout')!r} is not a string", path)
            for field in ("patient_id", "video_id"):
                if rec.get(field) is not None and not isinstance(rec.get(field), str):
                    raise ReaderError(f"{path}: sequence {i}: {field} {rec.get(field)!r} is not a string", path)
            info = rec.get("info") or {}
            if not isinstance(info, dict):
                raise ReaderError(f"{path}: sequence {i}: info is a {type(info).__name__}, not an object", path)
            try:
                seq = PoseSequence(
                    kp, fps, rec["layout"], patient_id=rec.get("patient_id"),
                    video_id=rec.get("video_id"), direction=direction, info=info, root=root,
                )
            except GaitError as exc:
                raise ReaderError(f"{path}: sequence {i}: {exc}", path) from None
            out.append(seq)
    return out


def write_clips_npz(path: str | Path, clips: np.ndarray, meta: pd.DataFrame, *, extra: dict | None = None) -> Path:
    """Store clips ``(N, T, V, C)`` with their metadata table (one row per clip).

    ``extra`` is any JSON-serialisable dict stored alongside (e.g. a clip report).
    """
    try:
        clips = np.asarray(clips, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        raise PoseDataError("clips must be a numeric array (N, T, V, C); got ragged or non-numeric values") from None
    if clips.ndim != 4:
        raise PoseDataError(f"clips must have shape (N, T, V, C), got {clips.shape}")
    if not isinstance(meta, pd.DataFrame):
        raise TypeError(f"meta must be a DataFrame, got {type(meta).__name__}")
    if len(meta) != clips.shape[0]:
        raise PoseDataError(f"meta has {len(meta)} rows but there are {clips.shape[0]} clips")
    table = meta.reset_index(drop=True).to_json(orient="table", index=False, default_handler=str)
    record = {"format": _FORMAT_CLIPS, "version": _VERSION, "meta": table, "extra": extra or {}}
    np.savez_compressed(Path(path), clips=clips, __meta__=_encode(record))
    return Path(path)


def read_clips_npz(path: str | Path) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """Read clips written by :func:`write_clips_npz`: ``(clips, meta, extra)``.

    Raises
    ------
    ReaderError
        Naming the file, for anything that is not a well-formed gaitfeat
        clip file (as :func:`read_npz`), clips that are not a real-valued
        ``(N, T, V, C)`` array, a metadata table that does not parse or has
        a row count other than ``N``, ``extra`` not a JSON object.
    """
    path = Path(path)
    data, record = _open(path, _FORMAT_CLIPS)
    with data:
        if "clips" not in data.files:
            raise ReaderError(f"{path}: no clips array", path)
        clips = _real(path, _array(path, data, "clips"), "clips", 4)
    table = record.get("meta")
    if not isinstance(table, str):
        raise ReaderError(f"{path}: corrupt metadata record (clip table is a {type(table).__name__}, not a JSON string)", path)
    try:
        meta = pd.read_json(io.StringIO(table), orient="table")
    except Exception as exc:  # noqa: BLE001 - pandas raises many types for malformed JSON tables
        raise ReaderError(f"{path}: corrupt clip table ({type(exc).__name__}: {str(exc)[:200]})", path) from None
    if not isinstance(meta, pd.DataFrame):
        raise ReaderError(f"{path}: corrupt clip table (not a table)", path)
    if len(meta) != clips.shape[0]:
        raise ReaderError(f"{path}: {len(meta)} metadata rows for {clips.shape[0]} clips", path)
    extra = record.get("extra", {})
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise ReaderError(f"{path}: corrupt metadata record ('extra' is a {type(extra).__name__}, not an object)", path)
    return clips, meta, extra
