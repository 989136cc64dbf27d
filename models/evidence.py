"""Evidence statements: plain-language sentences from measured gait features, ranked by their SHAP contribution.

The idea follows the biomechanical "tokens" of E. Chen et al., "BioGait-VLM:
A Tri-Modal Vision-Language-Biomechanics Framework for Interpretable Clinical
Gait Assessment", without a language model: each statement is built from a
number in the patient's feature table, compared with a documented typical
range (:data:`TYPICAL_RANGES`, made by
``benchmarks/typical_ranges.py`` from the simulator's typically developing
children), and ordered by how much that feature pushed the model towards its
prediction. For example::

    cadence 88 steps/min (typical 110-155): below the typical range
    left knee ROM 38 deg vs right 55 deg (symmetry index 37 %, typical up to 27 %)

Every statement also carries its numbers as data (``value``, ``low``,
``high``, ``contribution``), so a reader — or a test — can check the text
against the feature table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gaitfeat.features import FEATURE_INFO

__all__ = ["TYPICAL_RANGES", "UNIT_SUFFIX", "load_typical_ranges", "evidence_statements", "feature_label", "decimals"]

_RANGES_FILE = Path(__file__).resolve().parent / "typical_ranges.csv"

# Symmetry indices and the left/right features they compare.
_PAIRS = {
    "hip_rom_symmetry": ("hip_rom_left", "hip_rom_right"),
    "knee_rom_symmetry": ("knee_rom_left", "knee_rom_right"),
    "arm_swing_symmetry": ("arm_swing_left", "arm_swing_right"),
    "step_length_symmetry": ("step_length_left", "step_length_right"),
}

_LABELS = {
    "rom": "ROM", "ic": "at initial contact", "min": "least", "cv": "CV", "body": "body",
}

#: How a value of each unit is written after the number ("°" for degrees, nothing for ratios).
UNIT_SUFFIX = {"deg": "°", "%": " %", "1": "", "steps/min": " steps/min", "s": " s", "leg lengths": " leg lengths",
          "leg lengths/s": " leg lengths/s"}


def load_typical_ranges(path: str | Path | None = None) -> pd.DataFrame:
    """The typical-range table (index: feature; columns unit, low, median, high, n_videos, source)."""
    table = pd.read_csv(path or _RANGES_FILE)
    return table.set_index("feature")


#: Typical (5th-95th percentile) values of every feature in typically developing children (simulated reference).
TYPICAL_RANGES: pd.DataFrame = load_typical_ranges()


def feature_label(name: str) -> str:
    """Readable name: ``knee_rom_left`` -> ``left knee ROM``."""
    words = name.split("_")
    side = ""
    if words[-1] in ("left", "right"):
        side = words.pop() + " "
    text = " ".join(_LABELS.get(w, w) for w in words)
    text = text.replace("knee flexion least stance", "least knee flexion in stance")
    return side + text


def decimals(unit: str, magnitude: float = 100.0) -> int:
    """Decimals a value is stated with: whole degrees, percent and steps/min (one decimal below 10), else two."""
    if unit in ("deg", "%", "steps/min"):
        return 0 if abs(magnitude) >= 10 else 1
    return 2


def _fmt(value: float, unit: str, d: int | None = None) -> str:
    d = decimals(unit, value) if d is None else d
    return f"{value:.{d}f}{UNIT_SUFFIX.get(unit, ' ' + unit)}"


def _round(value: float, unit: str, d: int | None = None) -> float:
    return round(float(value), decimals(unit, value) if d is None else d)


def evidence_statements(features: pd.Series, contributions: pd.Series, *, n: int = 5,
                        ranges: pd.DataFrame | None = None) -> list[dict]:
    """The ``n`` statements that best explain one prediction.

    Parameters
    ----------
    features : Series
        The patient's (or clip's) feature values, indexed by feature name
        (e.g. the mean over the patient's clips).
    contributions : Series
        SHAP contribution of each feature towards the predicted class (or
        value), same index.
    n : int
        Number of statements (features with a measured value only).
    ranges : DataFrame, optional
        Typical ranges (default :data:`TYPICAL_RANGES`).

    Returns
    -------
    list of dict
        ``feature``, ``value`` (rounded as printed, to ``decimals``), ``unit``, ``low``,
        ``high``, ``status`` (``below``/``within``/``above``),
        ``contribution``, ``text``; strongest contribution first. Left/right
        features of a pair with a symmetry index are stated together.
    """
    ranges = TYPICAL_RANGES if ranges is None else ranges
    contrib = contributions.reindex(features.index).astype(float)
    measured = features.astype(float).notna() & contrib.notna()
    c = contrib[measured]
    # Strongest push towards the prediction first; features that argued against it only fill the remaining places.
    order = list(c[c > 0].sort_values(ascending=False).index) + list(c[c <= 0].abs().sort_values(ascending=False).index)
    out: list[dict] = []
    used: set[str] = set()
    for name in order:
        if len(out) >= n:
            break
        if name in used or name not in FEATURE_INFO:
            continue
        unit = FEATURE_INFO[name].unit
        value = float(features[name])
        low, high = (float(ranges.loc[name, "low"]), float(ranges.loc[name, "high"])) if name in ranges.index else (np.nan, np.nan)
        status = "within" if not (value < low or value > high) else ("below" if value < low else "above")
        pair = _PAIRS.get(name) or next((k for k, v in _PAIRS.items() if name in v), None)
        if isinstance(pair, str):                       # a left/right feature: state it through its pair
            pair = _PAIRS[pair]
        if pair and all(p in features.index and pd.notna(features[p]) for p in pair):
            left, right = pair
            sym = next(k for k, v in _PAIRS.items() if v == pair)
            punit = FEATURE_INFO[left].unit
            text = (f"{feature_label(left)} {_fmt(features[left], punit)} vs right {_fmt(features[right], punit)}")
            if sym in features.index and pd.notna(features[sym]):
                s_high = float(ranges.loc[sym, "high"]) if sym in ranges.index else np.nan
                text += f" (symmetry index {_fmt(features[sym], '%')}"
                text += f", typical up to {_fmt(s_high, '%')})" if np.isfinite(s_high) else ")"
            used.update({left, right, sym})
            out.append({"feature": name, "value": _round(value, unit), "decimals": decimals(unit, value), "unit": unit,
                        "low": low, "high": high,
                        "status": status, "contribution": float(contrib[name]), "text": text,
                        "pair": {left: _round(features[left], punit), right: _round(features[right], punit),
                                 **({sym: _round(features[sym], "%")} if sym in features.index and pd.notna(features[sym]) else {})}})
            continue
        text = f"{feature_label(name)} {_fmt(value, unit)}"
        if np.isfinite(low) and np.isfinite(high):
            d = decimals(unit, max(abs(low), abs(high)))
            text += f" (typical {low:.{d}f}–{high:.{d}f}{UNIT_SUFFIX.get(unit, ' ' + unit)})"
            text += {"below": ": below the typical range", "above": ": above the typical range", "within": ""}[status]
        used.add(name)
        out.append({"feature": name, "value": _round(value, unit), "decimals": decimals(unit, value), "unit": unit,
                    "low": low, "high": high, "status": status, "contribution": float(contrib[name]), "text": text})
    return out
