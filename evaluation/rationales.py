"""Biomechanical tokens and templated rationales for a predicted gait class.

A *token* is one measured feature of a subject, carried as data: its value
(from the subject's feature row), its unit, the typical range of its age
group, whether it lies above, below or within that range, and its SHAP
contribution toward the predicted class. A *rationale* is a short paragraph
in plain clinical language built from tokens by a template; every number in
it is a token's value or typical-range bound, formatted by
:func:`format_value`, so it can be traced to the feature table.

Three variants are written per subject, for blinded rating
(:mod:`evaluation.rating_kit`):

``ranked``
    the tokens that push the model toward its prediction, strongest first
    (SHAP), each against its typical range, then the class's hallmark;
``unranked``
    the subject's measurements that lie outside the typical range, in the
    feature table's order, without model attributions;
``label_only``
    the predicted class and its probability.

The idea follows Chen et al. (BioGait-VLM), who ground each predicted gait
class in numbers measured from the skeleton; here the grounding comes from
the feature table and SHAP instead of a language model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gaitfeat.features import FEATURE_INFO
from gaitfeat.labels import GAIT_CLASS_NAMES

__all__ = ["AGE_GROUPS", "VARIANTS", "HALLMARKS", "HALLMARK_FEATURES", "age_group", "format_value", "typical_ranges", "ranked_tokens",
           "abnormal_tokens", "render"]

#: Age groups of the typical ranges: (name, lowest age, age it ends before), years. Two groups only: a
#: fold holds a few dozen typical walkers, and finer groups would leave ranges of a handful of people.
AGE_GROUPS: tuple[tuple[str, float, float], ...] = (("children", 0.0, 18.0), ("adults", 18.0, math.inf))

#: The rationale variants, as described in the rating kit's key.
VARIANTS: dict[str, str] = {
    "ranked": "measured tokens that support the predicted class, ranked by SHAP contribution, with typical ranges",
    "unranked": "the measurements furthest outside the typical range, listed in feature-table order, without model "
                "attributions",
    "label_only": "predicted class and probability only",
}

#: One sentence per class naming its clinical hallmark. A rationale ends with it only when one of the class's
#: hallmark measures (:data:`HALLMARK_FEATURES`) is among its tokens, so it never claims what was not measured.
HALLMARKS: dict[str, str] = {
    "typical": "The measurements are close to those of typical walkers of the same age.",
    "antalgic": "A short stance on one leg, with a quick swing of the other, is the picture of an antalgic, "
                "pain-avoiding gait.",
    "cp_hemiplegic": "One-sided loss of knee and ankle motion with unequal steps suggests a hemiplegic "
                     "(unilateral spastic) gait.",
    "cp_diplegic": "Knee and ankle involvement of both legs, in equinus or crouch, suggests a spastic diplegic gait.",
    "idiopathic_toe_walking": "Forefoot contact on both sides with otherwise typical walking suggests idiopathic "
                              "toe walking.",
    "myopathic": "A backward-leaning trunk with slow walking on the toes suggests a myopathic gait.",
    "ataxic": "Irregular step timing and step length from one stride to the next suggest an ataxic gait.",
    "cervical_myelopathy": "Slow, short steps with a stiff swing knee and long double support suggest a "
                           "myelopathic (spastic) gait.",
    "parkinsonian": "Short steps with little arm swing and a forward-flexed trunk suggest a Parkinsonian gait.",
}

#: The measures (feature names without their side) that make up each class's hallmark.
HALLMARK_FEATURES: dict[str, tuple[str, ...]] = {
    "typical": (),
    "antalgic": ("stance_swing_ratio", "step_time", "step_timing_symmetry", "knee_rom", "knee_rom_symmetry"),
    "cp_hemiplegic": ("ankle_angle_ic", "ankle_dorsiflexion_max_stance", "heel_strike_fraction", "knee_rom",
                      "knee_rom_symmetry", "knee_flexion_ic", "step_timing_symmetry"),
    "cp_diplegic": ("knee_flexion_ic", "knee_flexion_min_stance", "ankle_angle_ic", "ankle_dorsiflexion_max_stance",
                    "heel_strike_fraction"),
    "idiopathic_toe_walking": ("heel_strike_fraction", "ankle_angle_ic", "ankle_dorsiflexion_max_stance"),
    "myopathic": ("trunk_inclination", "walking_speed", "heel_strike_fraction", "ankle_angle_ic"),
    "ataxic": ("stride_time_cv", "step_time_cv", "step_length_cv", "trunk_sway", "double_support_fraction"),
    "cervical_myelopathy": ("walking_speed", "step_length", "stride_length", "knee_rom", "double_support_fraction",
                            "cadence"),
    "parkinsonian": ("step_length", "stride_length", "arm_swing", "trunk_inclination", "knee_rom", "neck_angle"),
}

# Decimals per unit: enough to tell typical from atypical, no false precision.
_DIGITS = {"deg": 1, "s": 2, "%": 1, "steps/min": 1, "leg lengths": 2, "leg lengths/s": 2, "1": 2, "m": 2, "m/s": 2}
_UNIT_TEXT = {"deg": "°", "%": " %", "1": "", "steps/min": " steps/min", "s": " s", "leg lengths": " leg lengths",
              "leg lengths/s": " leg lengths/s", "m": " m", "m/s": " m/s"}
# Short clinical labels; other features are named from their column (underscores as spaces).
_LABELS = {
    "cadence": "cadence", "gait_cycle_duration": "stride time", "walking_speed": "walking speed",
    "trunk_inclination": "trunk lean (forward +)", "trunk_sway": "trunk sway", "stride_time_cv": "stride-time variability",
    "double_support_fraction": "double support", "step_length": "step length", "stride_length": "stride length",
    "step_length_symmetry": "step-length asymmetry", "step_timing_symmetry": "step-time asymmetry",
    "arm_swing_symmetry": "arm-swing asymmetry", "hip_rom_symmetry": "hip-motion asymmetry",
    "knee_rom_symmetry": "knee-motion asymmetry", "hip_rom": "hip range of motion", "knee_rom": "knee range of motion",
    "knee_flexion_ic": "knee flexion at contact", "knee_flexion_min_stance": "least knee flexion in stance",
    "arm_swing": "arm swing", "arm_body_angle": "arm position", "neck_angle": "neck flexion",
    "stance_swing_ratio": "stance/swing ratio", "step_time": "step time", "step_time_cv": "step-time variability",
    "step_length_cv": "step-length variability", "heel_strike_fraction": "heel-first contacts",
    "ankle_angle_ic": "ankle angle at contact", "ankle_dorsiflexion_max_stance": "peak ankle dorsiflexion in stance",
}


def age_group(age: float) -> str:
    """The :data:`AGE_GROUPS` name of an age in years (``"all ages"`` when unknown)."""
    if age is None or not np.isfinite(age):
        return "all ages"
    return next(name for name, lo, hi in AGE_GROUPS if lo <= age < hi)


def _unit(feature: str) -> str:
    info = FEATURE_INFO.get(feature)
    return info.unit if info is not None else ""


def format_value(value: float, unit: str) -> str:
    """A value as rationales print it: the unit's decimals (:data:`_DIGITS`), no unit text."""
    digits = _DIGITS.get(unit, 2)
    return f"{round(value, digits) + 0.0:.{digits}f}"     # + 0.0: no "-0.0" for a value that rounds to zero


def _split_side(feature: str) -> tuple[str, str | None]:
    for side in ("left", "right"):
        if feature.endswith(f"_{side}"):
            return feature[: -len(side) - 1], side
    return feature, None


def _label(feature: str) -> str:
    base, side = _split_side(feature)
    text = _LABELS.get(base, base.replace("_", " "))
    return f"{side} {text}" if side else text


def typical_ranges(features: pd.DataFrame, classes: pd.Series, ages: pd.Series, subjects: pd.Series | None = None,
                   *, quantiles=(0.05, 0.95), min_subjects: int = 6) -> pd.DataFrame:
    """Typical range of every feature per age group, from the subjects of class ``"typical"``.

    Parameters
    ----------
    features : DataFrame
        One row per video (or subject), feature columns.
    classes : Series
        Class name of each row.
    ages : Series
        Age (years) of each row.
    subjects : Series, optional
        Subject of each row: a subject's rows are pooled (median) first, so each walker counts once
        however many visits it has. Default: each row is a subject.
    quantiles : (float, float)
        The range's lower and upper quantile.
    min_subjects : int
        An age group with fewer typical subjects borrows the range of all ages (``source_group``
        says so; rationales then say "across ages").

    Returns
    -------
    DataFrame
        Index ``(age_group, feature)``; columns ``low``, ``high``, ``n`` (subjects measured),
        ``source_group`` (the group the range comes from).
    """
    typical = (classes == "typical").to_numpy()
    rows = features[typical].assign(_age=ages[typical].to_numpy())
    key = subjects[typical].to_numpy() if subjects is not None else np.arange(int(typical.sum()))
    per_subject = rows.groupby(key, sort=True).median()
    groups = np.array([age_group(a) for a in per_subject["_age"]], dtype=object)
    per_subject = per_subject.drop(columns="_age")
    out = []
    for name in [g for g, _, _ in AGE_GROUPS] + ["all ages"]:
        sub = per_subject if name == "all ages" else per_subject[groups == name]
        used = name
        if name != "all ages" and len(sub) < min_subjects:
            sub, used = per_subject, "all ages"
        for f in features.columns:
            v = sub[f].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            lo, hi = (np.quantile(v, quantiles) if v.size >= min_subjects else (np.nan, np.nan))
            out.append({"age_group": name, "feature": f, "low": float(lo), "high": float(hi), "n": int(v.size),
                        "source_group": used})
    return pd.DataFrame(out).set_index(["age_group", "feature"])


def _token(feature: str, values: pd.Series, ranges: pd.DataFrame, group: str, shap: float | None) -> dict:
    unit = _unit(feature)
    value = float(values[feature])
    lo, hi, used = (ranges.loc[(group, feature), ["low", "high", "source_group"]] if (group, feature) in ranges.index
                    else (np.nan, np.nan, group))
    known = bool(np.isfinite(lo) and np.isfinite(hi))
    group = used     # the group whose range is quoted (all ages when the subject's own group had too few walkers)
    direction = ("no typical range" if not known else "above typical" if value > hi else
                 "below typical" if value < lo else "within typical")
    token = {"feature": feature, "label": _label(feature), "value": value, "text_value": format_value(value, unit),
             "unit": unit, "typical": [float(lo), float(hi)] if known else None,
             "typical_text": f"{format_value(lo, unit)} to {format_value(hi, unit)}" if known else None,
             "age_group": group, "direction": direction, "shap": None if shap is None else float(shap)}
    base, side = _split_side(feature)
    other = f"{base}_{'right' if side == 'left' else 'left'}" if side else None
    if other is not None and other in values.index and np.isfinite(values[other]):
        token["pair"] = {"feature": other, "value": float(values[other]),
                         "text_value": format_value(float(values[other]), unit)}
    return token


def ranked_tokens(values: pd.Series, shap: pd.Series, ranges: pd.DataFrame, group: str, *, top: int = 5) -> list[dict]:
    """The measured features that push the model toward its predicted class, strongest first.

    Parameters
    ----------
    values : Series
        The subject's feature row (NaN: not measured, never a token).
    shap : Series
        SHAP value of each feature toward the predicted class (same index).
    ranges : DataFrame
        :func:`typical_ranges`.
    group : str
        The subject's age group.
    top : int
        At most this many tokens (the two sides of one measure count once).
    """
    order = shap[np.isfinite(values.reindex(shap.index).to_numpy(dtype=float))].sort_values(ascending=False)
    tokens, bases = [], set()
    for feature, s in order.items():
        if s <= 0 or len(tokens) >= top:
            break
        base, _ = _split_side(feature)
        if base in bases:
            continue
        bases.add(base)
        tokens.append(_token(feature, values, ranges, group, s))
    return tokens


def abnormal_tokens(values: pd.Series, ranges: pd.DataFrame, group: str, *, top: int = 5,
                    shap: pd.Series | None = None) -> list[dict]:
    """The ``top`` measured features furthest outside their typical range (distance in range widths),
    listed in the order of ``values`` (the feature table's): abnormal findings without model attributions."""
    candidates, bases = [], {}
    for feature in values.index:
        if not np.isfinite(values[feature]):
            continue
        t = _token(feature, values, ranges, group, None if shap is None else shap.get(feature))
        if t["direction"] not in ("above typical", "below typical"):
            continue
        lo, hi = t["typical"]
        distance = (max(lo - t["value"], t["value"] - hi)) / max(hi - lo, 1e-9)
        base, _ = _split_side(feature)
        if distance > bases.get(base, (-1.0, None))[0]:
            bases[base] = (distance, t)      # the two sides of one measure count once: the more deviant side
    chosen = sorted(bases.values(), key=lambda d: -d[0])[:top]
    order = {f: i for i, f in enumerate(values.index)}
    return sorted((t for _, t in chosen), key=lambda t: order[t["feature"]])


def _phrase(t: dict, *, with_range: bool) -> str:
    unit = _UNIT_TEXT.get(t["unit"], f" {t['unit']}")
    if "pair" in t:
        side = t["feature"].rsplit("_", 1)[1]
        other = "right" if side == "left" else "left"
        text = f"{t['label']} {t['text_value']}{unit} vs {other} {t['pair']['text_value']}{unit}"
    else:
        text = f"{t['label']} {t['text_value']}{unit}"
    if with_range and t["typical_text"]:
        where = t["direction"].replace(" typical", "")
        who = "across ages" if t["age_group"] == "all ages" else f"for {t['age_group']}"
        text += f" ({where} the typical {t['typical_text']}{unit} {who})"
    return text


def _closing(predicted: str, tokens: list[dict]) -> str:
    """The class's hallmark sentence when the tokens measure part of it; otherwise a plain statement that they do not."""
    name = GAIT_CLASS_NAMES.get(predicted, predicted)
    if predicted == "typical":
        inside = all(t["direction"] == "within typical" for t in tokens)
        return HALLMARKS["typical"] if inside else "Some measurements lie outside the typical ranges."
    hallmark = HALLMARK_FEATURES[predicted]
    if any(_split_side(t["feature"])[0] in hallmark for t in tokens):
        return HALLMARKS[predicted]
    return (f"None of these findings is a hallmark measure of {name} gait "
            f"({', '.join(_LABELS.get(h, h.replace('_', ' ')) for h in hallmark)}).")


def render(variant: str, predicted: str, probability: float, tokens: list[dict]) -> str:
    """The rationale paragraph of one variant (:data:`VARIANTS`).

    ``ranked`` and ``unranked`` end the same way (:func:`_closing`), so a blinded comparison of the two
    judges the choice and order of the evidence, not a stock sentence only one of them carries.
    """
    name = GAIT_CLASS_NAMES.get(predicted, predicted)
    head = f"Predicted: {name} gait (model probability {probability:.2f})."
    if variant == "label_only":
        return head
    if variant == "ranked":
        if not tokens:
            return f"{head} No single measurement stands out as evidence for this class."
        return (f"{head} Evidence, strongest first: " + "; ".join(_phrase(t, with_range=True) for t in tokens)
                + f". {_closing(predicted, tokens)}")
    if variant == "unranked":
        if not tokens:
            return f"{head} No measurement lies outside its typical range."
        return (f"{head} Outside the typical range: " + "; ".join(_phrase(t, with_range=True) for t in tokens)
                + f". {_closing(predicted, tokens)}")
    raise ValueError(f"unknown rationale variant {variant!r}; choose from {', '.join(VARIANTS)}")
