"""Validation of clinical labels and identifiers (GMFCS levels, patient IDs)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from gaitfeat.errors import LabelError

__all__ = ["GMFCS_LEVELS", "GMFCS_ROMAN", "gmfcs_name", "validate_gmfcs", "gmfcs_per_video", "validate_patient_ids",
           "normalise_side", "GAIT_CLASSES", "GAIT_CLASS_NAMES", "GAIT_CLASS_GROUPS", "GAIT_CLASS_ABBREVIATIONS", "validate_gait_class"]

#: The GMFCS levels of children who walk (level V does not walk and has no gait video).
GMFCS_LEVELS: tuple[int, ...] = (1, 2, 3, 4)

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
#: Roman numeral of each GMFCS level, as clinicians write them.
GMFCS_ROMAN: dict[int, str] = {v: k for k, v in _ROMAN.items()}


#: The gait classes of the pathology taxonomy (``--suite taxonomy``), in an order that puts clinically
#: similar gaits next to each other: near-normal gaits, then the spastic and equinus gaits, then the
#: neurological gaits of adults (balance, myelopathy, Parkinsonism). Confusion matrices use this order.
GAIT_CLASSES: tuple[str, ...] = (
    "typical", "antalgic", "cp_hemiplegic", "cp_diplegic", "idiopathic_toe_walking", "myopathic",
    "ataxic", "cervical_myelopathy", "parkinsonian",
)

#: How reports name each gait class.
GAIT_CLASS_NAMES: dict[str, str] = {
    "typical": "typical / healthy", "antalgic": "antalgic", "cp_hemiplegic": "CP hemiplegic",
    "cp_diplegic": "CP diplegic", "idiopathic_toe_walking": "idiopathic toe walking", "myopathic": "myopathic",
    "ataxic": "cerebellar ataxic", "cervical_myelopathy": "cervical myelopathy", "parkinsonian": "Parkinsonian",
}

#: Short names for the axes of confusion matrices.
GAIT_CLASS_ABBREVIATIONS: dict[str, str] = {
    "typical": "TYP", "antalgic": "ANT", "cp_hemiplegic": "HEMI", "cp_diplegic": "DIPL",
    "idiopathic_toe_walking": "ITW", "myopathic": "MYO", "ataxic": "ATX", "cervical_myelopathy": "DCM",
    "parkinsonian": "PD",
}

#: Clinically similar classes: a confusion inside a group is a near miss, one across groups a gross error.
GAIT_CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    "near-normal": ("typical", "antalgic"),
    "spastic / equinus": ("cp_hemiplegic", "cp_diplegic", "idiopathic_toe_walking", "myopathic"),
    "neurological, adult": ("ataxic", "cervical_myelopathy", "parkinsonian"),
}


def validate_gait_class(values: Iterable, *, where: str = "labels", ids: Iterable | None = None) -> pd.Series:
    """Check gait-class labels (names from :data:`GAIT_CLASSES`, any case, spaces or hyphens for ``_``).

    Returns the canonical names as a Series of objects, ``None`` where a label is missing.

    Raises
    ------
    LabelError
        A label that is not a gait class, naming the row (``ids``) and the classes.
    """
    values = list(values)
    ids = list(ids) if ids is not None else list(range(len(values)))
    out = []
    for vid, value in zip(ids, values):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append(None)
            continue
        name = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        if name not in GAIT_CLASSES:
            raise LabelError(f"{where}: {value!r} (row {vid}) is not a gait class; expected one of "
                             f"{', '.join(GAIT_CLASSES)}")
        out.append(name)
    return pd.Series(out, dtype=object)


def gmfcs_name(level) -> str:
    """``"GMFCS III"`` for level 3; any other value (a string label, say) as text."""
    try:
        return f"GMFCS {GMFCS_ROMAN[int(level)]}"
    except (KeyError, TypeError, ValueError):
        return str(level)


def gmfcs_per_video(ids: Iterable, values: Iterable, *, where: str = "labels") -> tuple[pd.array, dict]:
    """Validate one GMFCS label per video, keeping the bad ones apart instead of failing the table.

    Returns the levels as a nullable ``Int64`` array (``<NA>`` where the label
    is missing or bad) and ``{video_id: LabelError}`` for the bad ones, in
    table order (the first is what a strict reader raises).
    """
    levels, bad = [], {}
    for vid, value in zip(ids, values):
        try:
            levels.append(validate_gmfcs([value], where=where, ids=[vid]).iloc[0])
        except LabelError as exc:
            bad.setdefault(vid, exc)
            levels.append(pd.NA)
    return pd.array(levels, dtype="Int64"), bad


def validate_gmfcs(values: Iterable, *, where: str = "labels", ids: Iterable | None = None, allow_missing: bool = True) -> pd.Series:
    """Check GMFCS labels and return them as a nullable integer Series.

    Accepts 1-4 as numbers or strings, and roman numerals ``I``-``IV``.

    Parameters
    ----------
    values : iterable
        The labels.
    where : str
        What the labels are (used in messages, e.g. a file name).
    ids : iterable, optional
        Row identifiers (e.g. video IDs) named in messages.
    allow_missing : bool
        Whether empty / NaN labels are allowed (kept as ``<NA>``).

    Raises
    ------
    LabelError
        For a value that is not a GMFCS level 1-4 (level V children do not
        walk), or a missing value when ``allow_missing`` is False.
    """
    values = list(values)
    ids = list(ids) if ids is not None else list(range(len(values)))
    out: list[object] = []
    bad: list[str] = []
    missing: list[str] = []
    for ident, v in zip(ids, values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip() == "") or v is pd.NA:
            missing.append(str(ident))
            out.append(pd.NA)
            continue
        level: int | None = None
        if isinstance(v, str):
            s = v.strip().upper().removeprefix("GMFCS").strip()
            if s in _ROMAN:
                level = _ROMAN[s]
            else:
                try:
                    f = float(s)
                except ValueError:
                    f = np.nan
                level = int(f) if np.isfinite(f) and f == int(f) else None
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            level = int(v)
        elif isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v) == int(v):
            level = int(v)
        if level not in GMFCS_LEVELS:
            bad.append(f"{ident}: {v!r}")
            out.append(pd.NA)
        else:
            out.append(level)
    if bad:
        shown = "; ".join(bad[:5]) + (f"; ... ({len(bad)} in all)" if len(bad) > 5 else "")
        raise LabelError(f"{where}: GMFCS labels must be levels 1-4 (I-IV); got {shown}")
    if missing and not allow_missing:
        raise LabelError(f"{where}: {len(missing)} rows have no GMFCS label (e.g. {', '.join(missing[:5])})")
    return pd.Series(out, dtype="Int64")


def validate_patient_ids(patient_ids: Iterable, *, where: str = "labels", ids: Iterable | None = None) -> pd.Series:
    """Check that every row has a patient ID; return them as strings.

    Every train/test split in this toolkit is made by patient, so data
    without patient IDs cannot be evaluated without risking leakage.

    Raises
    ------
    LabelError
        Naming the rows (e.g. videos) without a patient ID.
    """
    values = list(patient_ids)
    ids = list(ids) if ids is not None else list(range(len(values)))
    out, missing = [], []
    for ident, v in zip(ids, values):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            missing.append(str(ident))
            out.append(None)
        else:
            # Integer-valued floats (a CSV column with gaps) become "123", not "123.0".
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                raise LabelError(f"{where}: patient ID of {ident} is {v!r}, not an identifier")
            if isinstance(v, (float, np.floating)) and float(v) == int(v):
                v = int(v)
            out.append(str(v).strip())
    if missing:
        raise LabelError(
            f"{where}: {len(missing)} rows have no patient ID (e.g. {', '.join(missing[:5])}); "
            "splits are made by patient, so every video needs one"
        )
    return pd.Series(out, dtype=object)


def normalise_side(value: object, *, where: str = "labels") -> str:
    """Map a side label (``L``, ``left``, ``R``, ``right``; any case) to ``"left"`` or ``"right"``."""
    s = str(value).strip().lower()
    if s in ("l", "left"):
        return "left"
    if s in ("r", "right"):
        return "right"
    raise LabelError(f"{where}: side must be L or R, got {value!r}")
