"""Read and check ``rationales.json``, the file the taxonomy suite writes for the rating kit.

Every problem is reported as a :class:`gaitfeat.errors.ReaderError` naming the
file and the subject at fault, so the command line can print one clear line
(exit status 2) instead of a traceback from deep inside NumPy.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.rating_kit.schema import SOURCE_FORMAT, SOURCE_VERSION, option_labels
from gaitfeat.errors import ReaderError
from gaitfeat.layouts import LAYOUTS

__all__ = ["Subject", "Rationales", "load_rationales", "sha256_of", "bone_sides"]


@dataclass(frozen=True)
class Subject:
    """One subject of the report: identifiers, classes, its rationale per variant and one walk.

    ``skeleton`` has shape ``(T, V, 2)``: preprocessed coordinates in leg lengths, y up, NaN where a joint is missing.
    """

    subject_id: str
    video_id: str
    true_class: str
    predicted_class: str | None
    probability: float | None
    rationales: dict[str, str]
    skeleton: np.ndarray


@dataclass(frozen=True)
class Rationales:
    """The checked content of ``rationales.json``."""

    path: Path
    sha256: str
    data: str
    simulated: bool
    classes: tuple[str, ...]
    variants: dict[str, str]
    layout: str | None
    edges: tuple[tuple[int, int], ...]
    fps: float
    subjects: tuple[Subject, ...]


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _text(value, what: str, path: Path, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ReaderError(f"{path}: {what} must be a non-empty string, not {value!r:.80}", path)
    return value


def _skeleton(raw, n_joints: int, where: str, path: Path) -> np.ndarray:
    try:
        # None (JSON null) becomes NaN with dtype=float: a joint the detector missed.
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ReaderError(f"{path}: {where}: skeleton is not a T x V x 2 array of numbers ({exc})", path) from None
    if arr.ndim != 3 or arr.shape[2] != 2 or arr.shape[0] < 2:
        raise ReaderError(f"{path}: {where}: skeleton must have shape (T >= 2 frames, V joints, 2), "
                          f"not {arr.shape}", path)
    if arr.shape[1] < n_joints:
        raise ReaderError(f"{path}: {where}: skeleton has {arr.shape[1]} joints but the edges use joint "
                          f"{n_joints - 1}", path)
    if np.isinf(arr).any():
        raise ReaderError(f"{path}: {where}: skeleton holds infinite coordinates", path)
    if not np.isfinite(arr).any():
        raise ReaderError(f"{path}: {where}: skeleton has no finite coordinate", path)
    return arr


def _subject(raw, index: int, classes: tuple[str, ...], variants: dict, n_joints: int, path: Path) -> Subject:
    if not isinstance(raw, dict):
        raise ReaderError(f"{path}: subjects[{index}] is not an object", path)
    sid = _text(raw.get("subject_id"), f"subjects[{index}].subject_id", path)
    where = f"subject {sid!r}"
    vid = _text(raw.get("video_id", sid), f"{where}: video_id", path)
    true_class = raw.get("true_class")
    if true_class not in classes:
        raise ReaderError(f"{path}: {where}: true_class {true_class!r} is not one of the file's classes", path)
    predicted = raw.get("predicted_class")
    if predicted is not None and predicted not in classes:
        raise ReaderError(f"{path}: {where}: predicted_class {predicted!r} is not one of the file's classes", path)
    prob = raw.get("probability")
    if prob is not None and (not isinstance(prob, int | float) or isinstance(prob, bool) or not math.isfinite(prob)):
        raise ReaderError(f"{path}: {where}: probability must be a number or null, not {prob!r:.40}", path)
    texts = raw.get("rationales")
    if not isinstance(texts, dict):
        raise ReaderError(f"{path}: {where}: 'rationales' must be an object with one text per variant", path)
    missing = [v for v in variants if v not in texts]
    if missing:
        raise ReaderError(f"{path}: {where} has no rationale for variant(s) {', '.join(missing)}", path)
    rationales = {v: _text(texts[v], f"{where}: rationale {v!r}", path) for v in variants}
    skeleton = _skeleton(raw.get("skeleton"), n_joints, where, path)
    return Subject(sid, vid, true_class, predicted, None if prob is None else float(prob), rationales, skeleton)


def load_rationales(report_dir: str | Path) -> Rationales:
    """Read and check ``REPORT_DIR/rationales.json`` (format ``gaitfeat.rationales``, version 1).

    Parameters
    ----------
    report_dir : str or Path
        The taxonomy report folder (or the JSON file itself).

    Returns
    -------
    Rationales

    Raises
    ------
    ReaderError
        Missing or unreadable file, wrong format or version, a subject without a rationale for every
        variant, a class not in ``classes``, a bad skeleton, fewer than two variants.
    """
    path = Path(report_dir)
    if path.is_dir() or path.suffix.lower() != ".json":
        path = path / "rationales.json"
    if not path.is_file():
        raise ReaderError(f"{path}: no such file (run the taxonomy suite first: it writes rationales.json)", path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReaderError(f"{path}: not readable JSON ({exc})", path) from None
    if not isinstance(raw, dict) or raw.get("format") != SOURCE_FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ReaderError(f"{path}: format is {got!r}, expected {SOURCE_FORMAT!r}", path)
    if raw.get("version") != SOURCE_VERSION:
        raise ReaderError(f"{path}: version {raw.get('version')!r} is not supported (this kit reads version "
                          f"{SOURCE_VERSION})", path)
    if not isinstance(raw.get("simulated"), bool):
        raise ReaderError(f"{path}: 'simulated' must be true or false (the page warns raters about simulated data)",
                          path)
    classes = raw.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
        raise ReaderError(f"{path}: 'classes' must be a non-empty list of class names", path)
    variants = raw.get("variants")
    if not isinstance(variants, dict) or not all(isinstance(v, str) and v for v in variants):
        raise ReaderError(f"{path}: 'variants' must map each rationale variant to its description", path)
    try:
        option_labels(len(variants))
    except ValueError as exc:
        raise ReaderError(f"{path}: {exc}", path) from None
    edges = raw.get("edges")
    if (not isinstance(edges, list) or not edges
            or not all(isinstance(e, list | tuple) and len(e) == 2
                       and all(isinstance(j, int) and not isinstance(j, bool) and j >= 0 for j in e) for e in edges)):
        raise ReaderError(f"{path}: 'edges' must be a non-empty list of [joint, joint] index pairs", path)
    fps = raw.get("fps")
    if not isinstance(fps, int | float) or isinstance(fps, bool) or not math.isfinite(fps) or fps <= 0:
        raise ReaderError(f"{path}: 'fps' must be a positive number, not {fps!r:.40}", path)
    layout = raw.get("layout")
    if layout is not None and not isinstance(layout, str):
        raise ReaderError(f"{path}: 'layout' must be a layout name", path)
    subjects = raw.get("subjects")
    if not isinstance(subjects, list) or not subjects:
        raise ReaderError(f"{path}: 'subjects' must be a non-empty list", path)
    n_joints = 1 + max(max(e) for e in edges)
    classes_t = tuple(classes)
    checked = tuple(_subject(s, i, classes_t, variants, n_joints, path) for i, s in enumerate(subjects))
    seen: set[str] = set()
    for s in checked:
        if s.subject_id in seen:
            raise ReaderError(f"{path}: subject {s.subject_id!r} appears twice", path)
        seen.add(s.subject_id)
    return Rationales(path=path.resolve(), sha256=sha256_of(path), data=_text(raw.get("data", ""), "'data'", path,
                                                                                 allow_empty=True),
                      simulated=raw["simulated"], classes=classes_t, variants={str(k): str(v) for k, v in variants.items()},
                      layout=layout, edges=tuple((int(a), int(b)) for a, b in edges), fps=float(fps),
                      subjects=checked)


def bone_sides(layout: str | None, edges: tuple[tuple[int, int], ...]) -> list[str]:
    """``"left"``, ``"right"`` or ``"mid"`` for each bone, from the layout's joint names (all ``"mid"`` if unknown).

    Colouring the two legs differently lets a rater see asymmetry at a glance.
    """
    known = LAYOUTS.get(layout or "")
    if known is None:
        return ["mid"] * len(edges)
    out = []
    for a, b in edges:
        names = [known.joints[j] if j < len(known.joints) else "" for j in (a, b)]
        side = {n.split("_", 1)[0] for n in names}
        out.append(side.pop() if len(side) == 1 and side <= {"left", "right"} else "mid")
    return out
