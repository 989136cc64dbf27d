"""The Kidziński label table: reading it, naming its columns, and the L/R consistency checks."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gaitfeat.errors import LabelError, ReaderError
from gaitfeat.io._frames import read_regular_file

__all__ = ["snake", "sides_differ", "read_label_csv", "snake_columns", "video_id_text", "check_finite", "check_sides_agree", "MAX_CSV_BYTES"]

#: Largest Kidziński CSV read (label table or one trajectory file), in bytes.
#: The release's label table is about 1 MB and its largest trajectory files a
#: few MB; anything larger is refused before it is read whole.
MAX_CSV_BYTES = 200_000_000

_RENAME = {
    "videoid": "video_id",
    "examid": "exam_id",
    "patient_id": "patient_id",
    "kneeflex_maxextension": "knee_flex_max_extension",
    "event_date": "event_date",
}


def snake(name: str) -> str:
    """A column name in snake_case, with the release's spellings mapped to gaitfeat's (``videoid`` -> ``video_id``)."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    compact = s.replace("_", "")
    for raw, new in _RENAME.items():
        if compact == raw.replace("_", ""):
            return new
    return s


def sides_differ(a: pd.Series, b: pd.Series) -> bool:
    """Whether the L and R values differ for some video where both are given."""
    both = (a.notna() & b.notna()).to_numpy()
    if not both.any():
        return False
    a, b = a[both], b[both]
    na, nb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    if na.notna().all() and nb.notna().all():
        # 7 and 7.0 are the same value (a column with gaps is read as float).
        return bool((~np.isclose(na.to_numpy(float), nb.to_numpy(float))).any())
    return bool((a.astype(str).to_numpy() != b.astype(str).to_numpy()).any())


def read_label_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table and its header exactly as written (pandas renames repeated names ``x.1``)."""
    if not path.exists():
        if os.path.islink(path):
            raise ReaderError(f"{path}: broken symbolic link (its target does not exist)", path)
        raise ReaderError(f"{path}: no such file", path)
    data = read_regular_file(path, MAX_CSV_BYTES, what="a label table")
    try:
        raw = pd.read_csv(io.BytesIO(data))
        header = pd.read_csv(io.BytesIO(data), header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    except (ValueError, csv.Error, IndexError, OverflowError) as exc:  # pandas' ParserError, EmptyDataError, UnicodeDecodeError
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReaderError(f"{path}: cannot parse label table ({first})", path) from None
    if len(header) != raw.shape[1]:
        raise ReaderError(f"{path}: cannot parse label table (header has {len(header)} names, rows {raw.shape[1]} values)", path)
    # An empty header cell keeps pandas' name ("Unnamed: 3"), as before.
    names = [h if str(h).strip() else str(c) for h, c in zip(header, raw.columns)]
    return raw, names


def snake_columns(raw: pd.DataFrame, header: list[str], path: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Columns in snake_case; names that collide (``GMFCS``/``gmfcs``) must hold the same values.

    Returns the table and ``{snake name: [original names]}`` of the identical
    columns merged into one; columns that collide but differ raise LabelError.
    """
    names = [snake(c) for c in header]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    merged: dict[str, list[str]] = {}
    for name, idx in groups.items():
        if len(idx) < 2:
            continue
        first = raw.iloc[:, idx[0]]
        for j in idx[1:]:
            other = raw.iloc[:, j]
            same = (first.isna() & other.isna()) | (first.astype(str) == other.astype(str))
            if not same.all():
                row = int(np.flatnonzero(~same.to_numpy())[0])
                raise LabelError(
                    f"{path}: columns {header[idx[0]]!r} and {header[j]!r} both mean {name!r} but differ "
                    f"(file line {row + 2}: {first.iloc[row]!r} vs {other.iloc[row]!r}); keep one of them"
                )
        merged[name] = [header[i] for i in idx]
    keep = [idx[0] for idx in groups.values()]
    out = raw.iloc[:, keep].copy()
    out.columns = [names[i] for i in keep]
    return out, merged


def video_id_text(v: object, path: Path) -> str:
    """A video ID as text: integer-valued floats (a column with gaps) as ``"123"``."""
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise LabelError(f"{path}: video ID {v!r} is not a valid identifier")
        if float(v) == int(v):
            return str(int(v))
    return str(v).strip()


def check_finite(values: pd.Series, videos: pd.Series, col: str, path: Path) -> None:
    bad = [f"{vid}: {v!r}" for vid, v in zip(videos, values) if isinstance(v, (float, np.floating)) and np.isinf(v)]
    if bad:
        raise LabelError(f"{path}: column {col!r} has infinite values (videos {'; '.join(bad[:5])})")


def check_sides_agree(left: pd.Series, right: pd.Series, col: str, path: Path) -> None:
    """A per-video column must have the same value on the L and R rows (where both are given)."""
    both = (left.notna() & right.notna()).to_numpy()
    differ = [
        f"{vid} (L {a!r}, R {b!r})"
        for vid, a, b, ok in zip(left.index, left, right, both)
        if ok and str(a).strip() != str(b).strip() and not _same_number(a, b)
    ]
    if differ:
        what = "name different patients" if col == "patient_id" else f"have different {col!r} values"
        raise LabelError(
            f"{path}: the L and R rows of {len(differ)} videos {what}: {'; '.join(differ[:5])}"
            + (" ..." if len(differ) > 5 else "")
        )


def _same_number(a: object, b: object) -> bool:
    try:
        return bool(np.isclose(float(a), float(b)))
    except (TypeError, ValueError, OverflowError):
        return False
