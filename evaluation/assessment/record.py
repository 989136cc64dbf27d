"""Assessing walks with a bundle: the record (``assessment.json``), the feature table and the written files.

:func:`assess` measures each walk (:mod:`evaluation.assessment.measure`), applies the bundle's models
(:mod:`evaluation.assessment.predict`) and returns an :class:`Assessment`; :meth:`Assessment.write` saves the
record and renders ``report.html`` (and ``report.pdf``) from the saved record alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.assessment.inputs import read_walks
from evaluation.assessment.measure import NotAssessed, measure_walk
from evaluation.assessment.predict import explain_walk, gradcam_walk, predict_walk
from evaluation.bundle import Bundle, load_bundle
from evaluation.provenance import environment
from gaitfeat.features import FEATURE_INFO
from gaitfeat.jsonable import to_jsonable
from models.evidence import UNIT_SUFFIX, feature_label

__all__ = ["Assessment", "assess", "RECORD_FORMAT", "feature_rows"]

#: Version of ``assessment.json``.
RECORD_FORMAT = 1


def _number(v) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def _flag(value, low, high) -> str | None:
    if value is None or low is None or high is None:
        return None
    return "below" if value < low else ("above" if value > high else "within")


def _range(ranges: pd.DataFrame, names: list[str]) -> tuple[float | None, float | None]:
    rows = [n for n in names if n in ranges.index]
    if not rows:
        return None, None
    return _number(float(ranges.loc[rows, "low"].mean())), _number(float(ranges.loc[rows, "high"].mean()))


def feature_rows(values: pd.Series, ranges: pd.DataFrame) -> list[dict]:
    """The clinical feature table of one walk: one row per measure, left and right side by side.

    Each row carries its typical range (the bundle's typical ranges; the mean of the two sides' bounds for a
    sided measure) and a below/within/above flag per value. Features the walk could not measure (NaN) show
    as missing; a measure with no value at all is left out.
    """
    rows, done = [], set()
    for name, info in FEATURE_INFO.items():
        if name in done or name not in values.index:
            continue
        partner = name.replace("_left", "_right") if "_left" in name else None
        metres = name.endswith("_m")
        base = (name.replace("_left", "") if partner else name)
        label = feature_label(base[:-2] if metres else base) + (" (m)" if metres else "")
        if partner and partner in values.index:
            done.update({name, partner})
            left, right = _number(values[name]), _number(values[partner])
            if left is None and right is None:
                continue
            low, high = _range(ranges, [name, partner])
            rows.append({"measure": label, "feature": base, "unit": info.unit, "left": left, "right": right,
                         "value": None, "low": low, "high": high, "flag_left": _flag(left, low, high),
                         "flag_right": _flag(right, low, high), "flag": None,
                         "columns": {"left": name, "right": partner}})
            continue
        done.add(name)
        sided = (name[:-2] + "_left_m") if metres else (name + "_left")
        if sided in values.index:          # the walk's value beside the per-side rows of the same measure
            label += " (both sides)"
        value = _number(values[name])
        if value is None:
            continue
        low, high = _range(ranges, [name])
        rows.append({"measure": label, "feature": name, "unit": info.unit, "left": None, "right": None,
                     "value": value, "low": low, "high": high, "flag_left": None, "flag_right": None,
                     "flag": _flag(value, low, high), "columns": {"value": name}})
    return rows


def _bundle_summary(bundle: Bundle) -> dict:
    m = bundle.manifest

    models = {s: {n: {"description": bundle.entry(s, n)["description"], "cv": m["cv"].get(s, {}).get(n, {})}
                  for n in bundle.model_names(s)} for s in bundle.suites}
    return {"path": bundle.root.name, "format": m["format"], "created": m["created"], "suites": bundle.suites,
            "simulated": bundle.simulated, "training_data": m["data"]["description"], "layout": bundle.layout,
            "fps_range": m["preprocessing"]["fps_range"], "window": m["preprocessing"]["window"],
            "stride": m["preprocessing"]["stride"], "models": models, "primary": bundle.primary,
            "ensemble_k": m["ensemble_k"], "manifest_sha256": bundle.manifest_sha256,
            "git": m["environment"].get("git", {}), "packages": m["environment"].get("packages", {})}


def _outside_training(bundle: Bundle, values: pd.Series) -> list[str]:
    """The model features whose walk value lies outside the range of every training clip."""
    used = {f for m in bundle.manifest["models"] for f in m["features"]}
    support = bundle.feature_support
    out = []
    for name in sorted(used):
        v = values.get(name)
        if name not in support.index or v is None or not np.isfinite(v):
            continue
        lo, hi = float(support.loc[name, "min"]), float(support.loc[name, "max"])
        if v < lo or v > hi:
            raw = FEATURE_INFO[name].unit if name in FEATURE_INFO else ""
            unit = UNIT_SUFFIX.get(raw, " " + raw) if raw else ""
            out.append(f"{feature_label(name)} {v:.3g}{unit} (training clips {lo:.3g} to {hi:.3g}{unit})")
    return out


def _visit(i: int, walk, bundle: Bundle, height_m) -> tuple[dict, pd.Series | None]:
    base = {"visit": i, "label": f"visit {i} — {walk.video_id}", "video_id": walk.video_id, "source": walk.source,
            "status": "not_assessed", "message": None, "quality": None, "warnings": [], "features": None,
            "typical_source": None, "feature_values": None, "curves": None, "predictions": {}, "evidence": None,
            "evidence_note": None, "gradcam": None, "animation": None}
    if walk.sequence is None:
        base["message"] = f"This video could not be read: {walk.error}"
        return base, None
    try:
        m = measure_walk(walk.sequence, bundle.manifest, bundle.typical_curves, height_m=height_m)
    except NotAssessed as exc:
        base.update({"message": str(exc), "quality": exc.quality})
        return base, None
    predictions = predict_walk(bundle, m.clips, m.features)
    outside = _outside_training(bundle, m.values)
    if outside:
        m.warnings.append("Outside the training data (the models extrapolate here; read their predictions with "
                          "care): " + "; ".join(outside) + ".")
    evidence, note = explain_walk(bundle, m.features, m.values, predictions)
    source = bundle.typical_ranges["source"].iloc[0] if "source" in bundle.typical_ranges.columns else ""
    base.update({"status": "ok", "quality": m.quality, "warnings": m.warnings,
                 "features": feature_rows(m.values, bundle.typical_ranges), "typical_source": str(source),
                 "feature_values": {k: _number(v) for k, v in m.values.items()},
                 "curves": m.curves, "predictions": predictions, "evidence": evidence, "evidence_note": note or None,
                 "gradcam": gradcam_walk(bundle, m.clips, predictions), "animation": m.animation})
    return base, m.values


@dataclass
class Assessment:
    """The assessment of one patient's walks.

    Attributes
    ----------
    record : dict
        Everything the report shows (``assessment.json``; schema in docs/assessment.md).
    features : DataFrame
        One row per assessed visit: ``visit``, ``video_id`` and every measured feature (visit medians over
        clips, unrounded) — the numbers the report's feature table shows.
    """

    record: dict
    features: pd.DataFrame

    def write(self, out, *, pdf: bool = False) -> Path:
        """Write ``assessment.json``, ``features.csv`` and ``report.html`` (rendered from the saved record) to
        ``out``; with ``pdf``, also ``report.pdf`` (headless Chromium, A4). Returns the folder."""
        from evaluation.assessment.page import render_report

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "assessment.json"
        path.write_text(json.dumps(self.record, indent=1, allow_nan=False), encoding="utf-8")
        self.features.to_csv(out / "features.csv", index=False, float_format="%.17g")
        record = json.loads(path.read_text(encoding="utf-8"))
        html = out / "report.html"
        html.write_text(render_report(record), encoding="utf-8")
        stale = out / "report.pdf"
        if stale.exists():          # never leave a PDF of an earlier assessment beside this one
            stale.unlink()
        if pdf:
            from evaluation.assessment.pdf import write_pdf

            write_pdf(html, out / "report.pdf")
        return out


def _check_optional(name: str, value, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def assess(bundle, data, *, fps: float | None = None, height_m: float | None = None, age: float | None = None,
           patient_id: str | None = None) -> Assessment:
    """Assess one patient's walk(s) with a trained model bundle.

    Parameters
    ----------
    bundle : Bundle or path
        A bundle from :func:`evaluation.load_bundle`, or its folder (verified on loading).
    data : PoseSequence, list of PoseSequence, or str
        The walk(s): raw detector output, ``"openpose:DIR"`` (a folder of ``*_keypoints.json`` files, or of
        such folders, one per visit, in name order) or ``"npz:FILE"``. Several walks are visits of the same
        patient: one report with a longitudinal table.
    fps : float, optional
        Frame rate of OpenPose input (its files do not record it).
    height_m : float, optional
        The patient's standing height (m): step length and speed are also given in metres.
    age : float, optional
        Age in years (shown in the report).
    patient_id : str, optional
        Shown in the report (escaped); never used as a path.

    Returns
    -------
    Assessment
        A walk that cannot be assessed (unreadable, wrong layout, too short, not side-on) is part of the
        record, with a message saying why, instead of numbers.
    """
    height_m = _check_optional("height_m", height_m, 0.5, 2.5)
    age = _check_optional("age", age, 0.0, 120.0)
    if patient_id is not None and not isinstance(patient_id, str):
        raise TypeError(f"patient_id must be text, got {type(patient_id).__name__}")
    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle)
    walks = read_walks(data, fps=fps)
    visits, rows = [], []
    for i, walk in enumerate(walks, start=1):
        visit, values = _visit(i, walk, bundle, height_m)
        visits.append(visit)
        if values is not None:
            rows.append({"visit": i, "video_id": walk.video_id, **{k: float(v) for k, v in values.items()}})
    record = {"format": RECORD_FORMAT, "kind": "gaitfeat-assessment",
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "patient": {"patient_id": patient_id, "age_years": age, "height_m": height_m},
              "bundle": _bundle_summary(bundle), "environment": environment(), "visits": visits}
    return Assessment(to_jsonable(record), pd.DataFrame(rows))
