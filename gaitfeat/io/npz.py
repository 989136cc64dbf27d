"""NumPy ``.npz`` storage for sequences and clips, without pickle.

Arrays are stored as plain arrays; metadata as UTF-8 JSON in a ``uint8``
array. Files are always opened with ``allow_pickle=False``, so a file from an
untrusted source cannot run code.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gaitfeat.errors import ReaderError
from gaitfeat.jsonable import to_jsonable
from gaitfeat.pose import PoseSequence

__all__ = ["write_npz", "read_npz", "write_clips_npz", "read_clips_npz"]

_FORMAT_SEQ = "gaitfeat.sequences"
_FORMAT_CLIPS = "gaitfeat.clips"
_VERSION = 1


def _encode(meta: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(to_jsonable(meta), allow_nan=False).encode("utf-8"), dtype=np.uint8)


def _open(path: Path, expected_format: str) -> tuple[Any, dict]:
    if not path.exists():
        raise ReaderError(f"{path}: no such file", path)
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ReaderError(f"{path}: not a readable .npz file ({exc})", path) from None
    if not hasattr(data, "files") or "__meta__" not in data.files:
        raise ReaderError(f"{path}: not a gaitfeat .npz file (no metadata record)", path)
    try:
        meta = json.loads(bytes(data["__meta__"]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReaderError(f"{path}: corrupt metadata record ({exc})", path) from None
    if meta.get("format") != expected_format:
        raise ReaderError(f"{path}: holds {meta.get('format')!r}, expected {expected_format!r}", path)
    if meta.get("version", 0) > _VERSION:
        raise ReaderError(f"{path}: format version {meta.get('version')} is newer than this gaitfeat reads ({_VERSION})", path)
    return data, meta


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
    """Read sequences written by :func:`write_npz` (validated on construction)."""
    path = Path(path)
    data, meta = _open(path, _FORMAT_SEQ)
    out = []
    with data:
        for i, rec in enumerate(meta.get("sequences", [])):
            key = f"keypoints_{i}"
            if key not in data.files:
                raise ReaderError(f"{path}: sequence {i} has metadata but no keypoints", path)
            direction = data[f"direction_{i}"] if f"direction_{i}" in data.files else None
            root = data[f"root_{i}"] if f"root_{i}" in data.files else None
            out.append(
                PoseSequence(
                    data[key], rec["fps"], rec["layout"], patient_id=rec.get("patient_id"),
                    video_id=rec.get("video_id"), direction=direction, info=rec.get("info") or {},
                    root=root,
                )
            )
    return out


def write_clips_npz(path: str | Path, clips: np.ndarray, meta: pd.DataFrame, *, extra: dict | None = None) -> Path:
    """Store clips ``(N, T, V, C)`` with their metadata table (one row per clip).

    ``extra`` is any JSON-serialisable dict stored alongside (e.g. a clip report).
    """
    clips = np.asarray(clips)
    if clips.ndim != 4:
        raise ValueError(f"clips must have shape (N, T, V, C), got {clips.shape}")
    if len(meta) != clips.shape[0]:
        raise ValueError(f"meta has {len(meta)} rows but there are {clips.shape[0]} clips")
    table = meta.reset_index(drop=True).to_json(orient="table", index=False, default_handler=str)
    record = {"format": _FORMAT_CLIPS, "version": _VERSION, "meta": table, "extra": extra or {}}
    np.savez_compressed(Path(path), clips=clips.astype(np.float32), __meta__=_encode(record))
    return Path(path)


def read_clips_npz(path: str | Path) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """Read clips written by :func:`write_clips_npz`: ``(clips, meta, extra)``."""
    path = Path(path)
    data, record = _open(path, _FORMAT_CLIPS)
    with data:
        if "clips" not in data.files:
            raise ReaderError(f"{path}: no clips array", path)
        clips = data["clips"]
    meta = pd.read_json(io.StringIO(record["meta"]), orient="table")
    if len(meta) != clips.shape[0]:
        raise ReaderError(f"{path}: {len(meta)} metadata rows for {clips.shape[0]} clips", path)
    return clips, meta, record.get("extra", {})
