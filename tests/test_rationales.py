"""Tokens and rationale texts (evaluation.rationales), against hand-computed cases."""

import re

import numpy as np
import pandas as pd
import pytest

from evaluation.rationales import (
    AGE_GROUPS,
    HALLMARK_FEATURES,
    HALLMARKS,
    abnormal_tokens,
    age_group,
    format_value,
    ranked_tokens,
    render,
    typical_ranges,
)
from gaitfeat.labels import GAIT_CLASSES

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _ranges():
    # 20 typical children with cadence 100..119 and step_length 0.50..0.69, one adult; plus two non-typical rows.
    n = 20
    features = pd.DataFrame({
        "cadence": np.r_[np.arange(100.0, 100 + n), 150.0, 90.0, 95.0],
        "step_length_left": np.r_[np.linspace(0.50, 0.69, n), 0.9, 0.3, 0.2],
        "step_length_right": np.r_[np.linspace(0.51, 0.70, n), 0.9, 0.3, 0.2],
    })
    classes = pd.Series(["typical"] * (n + 1) + ["parkinsonian", "ataxic"])
    ages = pd.Series([10.0] * n + [30.0, 70.0, 70.0])
    return features, classes, ages


def test_age_groups_cover_all_ages():
    assert [age_group(a) for a in (3, 17.9, 18, 59.9, 60, 95)] == [
        "children", "children", "adults", "adults", "adults", "adults"]
    assert age_group(float("nan")) == "all ages"
    assert AGE_GROUPS[0][0] == "children"


def test_typical_ranges_are_quantiles_of_typical_rows_in_the_age_group():
    features, classes, ages = _ranges()
    r = typical_ranges(features, classes, ages)
    child = features["cadence"].to_numpy()[:20]
    lo, hi = np.quantile(child, [0.05, 0.95])
    assert r.loc[("children", "cadence"), "low"] == pytest.approx(lo)
    assert r.loc[("children", "cadence"), "high"] == pytest.approx(hi)
    assert r.loc[("children", "cadence"), "n"] == 20
    # One typical adult only: the adults borrow the range of all typical walkers; non-typical rows never count.
    all_typ = features["cadence"].to_numpy()[:21]
    assert r.loc[("adults", "cadence"), "low"] == pytest.approx(np.quantile(all_typ, 0.05))
    assert r.loc[("adults", "cadence"), "source_group"] == "all ages"


def test_typical_ranges_count_each_subject_once():
    features, classes, ages = _ranges()
    # Children 0-9 are one subject each; children 10-19 are five subjects with two visits each.
    subjects = pd.Series([f"c{i}" for i in range(10)] + [f"d{i // 2}" for i in range(10)] + ["adult", "p", "a"])
    r = typical_ranges(features, classes, ages, subjects)
    assert r.loc[("children", "cadence"), "n"] == 15
    pooled = np.r_[np.arange(100.0, 110.0), [110.5, 112.5, 114.5, 116.5, 118.5]]   # the visits' medians
    assert r.loc[("children", "cadence"), "high"] == pytest.approx(np.quantile(pooled, 0.95))


def test_ranked_tokens_follow_shap_skip_unmeasured_and_pair_sides():
    features, classes, ages = _ranges()
    r = typical_ranges(features, classes, ages)
    values = pd.Series({"cadence": 131.26, "step_length_left": 0.44, "step_length_right": 0.61, "walking_speed": np.nan})
    shap = pd.Series({"cadence": 0.2, "step_length_left": 0.9, "step_length_right": 0.5, "walking_speed": 2.0})
    tokens = ranked_tokens(values, shap, r, "children", top=5)
    # walking speed is not measured (NaN): never a token, whatever its SHAP; the right step length is the same
    # measure as the left one, shown as its pair.
    assert [t["feature"] for t in tokens] == ["step_length_left", "cadence"]
    assert tokens[0]["pair"]["feature"] == "step_length_right"
    assert tokens[0]["text_value"] == "0.44" and tokens[0]["pair"]["text_value"] == "0.61"
    assert tokens[0]["direction"] == "below typical"
    assert tokens[1]["text_value"] == "131.3" and tokens[1]["direction"] == "above typical"
    negative = ranked_tokens(values, -shap, r, "children")
    assert negative == []          # nothing supports the class: no token


def test_abnormal_tokens_are_the_furthest_out_of_range_listed_in_table_order():
    features, classes, ages = _ranges()
    r = typical_ranges(features, classes, ages)
    values = pd.Series({"cadence": 125.0, "step_length_left": 0.2, "step_length_right": 0.61})
    tokens = abnormal_tokens(values, r, "children")
    assert [t["feature"] for t in tokens] == ["cadence", "step_length_left"]     # table order
    assert tokens[0]["shap"] is None
    # With room for one, the step length (about 2 range widths below) beats cadence (about 0.3 above).
    assert [t["feature"] for t in abnormal_tokens(values, r, "children", top=1)] == ["step_length_left"]
    assert abnormal_tokens(pd.Series({"cadence": 110.0}), r, "children") == []


@pytest.mark.parametrize("variant", ["ranked", "unranked", "label_only"])
def test_every_number_in_a_rationale_comes_from_its_tokens(variant):
    features, classes, ages = _ranges()
    r = typical_ranges(features, classes, ages)
    values = pd.Series({"cadence": 131.26, "step_length_left": 0.44, "step_length_right": 0.61})
    shap = pd.Series({"cadence": 0.2, "step_length_left": 0.9, "step_length_right": 0.5})
    tokens = ranked_tokens(values, shap, r, "children") if variant == "ranked" else abnormal_tokens(values, r, "children")
    text = render(variant, "parkinsonian", 0.8123, tokens)
    allowed = {"0.81"}
    if variant != "label_only":
        for t in tokens:
            allowed |= {t["text_value"], *t["typical_text"].split(" to ")}
            if "pair" in t:
                allowed.add(t["pair"]["text_value"])
            assert t["text_value"] == format_value(values[t["feature"]], t["unit"])
    assert set(NUMBER.findall(text)) <= allowed
    assert text.startswith("Predicted: Parkinsonian gait (model probability 0.81).")
    if variant == "ranked":
        # step length is a Parkinsonian hallmark measure: the hallmark sentence may close the rationale
        assert "strongest first" in text and text.endswith(HALLMARKS["parkinsonian"])
        assert text.index("step length") < text.index("cadence")


def test_the_hallmark_closes_a_rationale_only_when_a_token_measures_it():
    features, classes, ages = _ranges()
    r = typical_ranges(features, classes, ages)
    values = pd.Series({"cadence": 131.0, "step_length_left": 0.44, "step_length_right": 0.61})
    cadence_only = ranked_tokens(values, pd.Series({"cadence": 1.0, "step_length_left": -1.0, "step_length_right": -1.0}),
                                 r, "children")
    text = render("ranked", "ataxic", 0.7, cadence_only)        # cadence is no hallmark of ataxia
    assert HALLMARKS["ataxic"] not in text and "None of these findings is a hallmark measure" in text
    assert render("unranked", "ataxic", 0.7, cadence_only).endswith(text.split(". ")[-1])   # same closing


def test_every_class_has_a_hallmark_and_unknown_variants_are_refused():
    assert set(HALLMARKS) == set(GAIT_CLASSES) == set(HALLMARK_FEATURES)
    with pytest.raises(ValueError, match="variant"):
        render("shouting", "typical", 0.5, [])
