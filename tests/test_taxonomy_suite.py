"""The taxonomy suite: nominal gait classes on the harness, subject-disjoint folds, confusion structure, rationales."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import evaluation
from evaluation.data import Dataset
from evaluation.rationale_run import video_rows
from evaluation.rationales import format_value
from evaluation.record import confusion_structure
from evaluation.suites import SUITES
from gaitfeat.errors import LabelError
from gaitfeat.labels import GAIT_CLASS_GROUPS, GAIT_CLASSES

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
SUITE = SUITES["taxonomy"]


def test_suite_is_nominal_with_every_class_in_one_group():
    assert SUITE.class_names == GAIT_CLASSES and not SUITE.ordinal
    assert SUITE.labels == tuple(range(len(GAIT_CLASSES)))
    members = [c for g in GAIT_CLASS_GROUPS.values() for c in g]
    assert sorted(members) == sorted(GAIT_CLASSES)


def test_confusion_structure_by_hand():
    # 3 of the classes used: typical (0), antalgic (1, same group), parkinsonian (8, other group).
    k = len(GAIT_CLASSES)
    c = np.zeros((k, k), dtype=int)
    c[0, 0], c[0, 1], c[0, 8] = 5, 3, 1          # typical: 3 near misses (antalgic), 1 gross error
    c[8, 8], c[8, 6] = 4, 2                      # Parkinsonian -> ataxic: same group
    scores = {"models": {"m": {lvl: {"metrics": {"confusion": c.tolist()}} for lvl in ("clip", "patient")}}}
    out = confusion_structure(scores, ["m"], SUITE)["models"]["m"]["patient"]
    assert out["errors"] == 6
    assert out["within_group_share"] == pytest.approx(5 / 6)
    top = out["top_confusions"][0]
    assert (top["true"], top["predicted"], top["count"]) == ("typical", "antalgic", 3)
    assert top["share_of_true"] == pytest.approx(3 / 9) and top["same_group"]
    gross = [t for t in out["top_confusions"] if not t["same_group"]]
    assert [(t["true"], t["predicted"]) for t in gross] == [("typical", "parkinsonian")]


def _tiny(classes, n_per_class=2, layout="body25"):
    """A dataset of stick-figure clips whose gait_class labels are given per patient (plumbing only)."""
    from gaitfeat.simulate import simulate_cohort

    n = len(classes) * n_per_class
    cohort = simulate_cohort(n, layout=layout, random_state=3, n_jobs=1, visits=(1, 1), duration=(8.0, 9.0))
    meta = cohort.meta.copy()
    pids = sorted(meta["patient_id"].unique())
    label = {p: classes[i % len(classes)] for i, p in enumerate(pids)}
    meta["gait_class"] = meta["patient_id"].map(label)
    return Dataset(cohort.clips, meta, "synthetic", "plumbing test", simulated=True, layout=layout, report=cohort.report)


def test_bad_class_label_is_refused_naming_the_video():
    data = _tiny(["typical", "ataxic"], n_per_class=2)
    meta = data.meta.copy()
    meta.loc[meta.index[0], "gait_class"] = "zombie walk"
    with pytest.raises(LabelError, match="zombie walk"):
        evaluation.cross_validate(["majority"], data.with_meta(meta), "taxonomy", n_splits=2, n_bootstrap=10)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A quick taxonomy run on the simulated taxonomy cohort (three folds, no networks), recording which
    subjects the rationale model and the typical ranges were fitted on in each fold."""
    import evaluation.rationale_run as rr
    from models.tabular import FeatureTableClassifier

    seen = {"fit": [], "ranges": []}
    data = evaluation.load_data("taxonomy", n_patients=54, layout="body25", random_state=0, n_jobs=1)
    video_patient = data.meta.drop_duplicates("video_id").set_index("video_id")["patient_id"]
    real_fit, real_ranges = FeatureTableClassifier.fit, rr.typical_ranges

    def spy_fit(self, X, y, *args, **kwargs):
        if isinstance(X, pd.DataFrame) and X.index.isin(video_patient.index).all():
            seen["fit"].append(set(video_patient[X.index]))
        return real_fit(self, X, y, *args, **kwargs)

    def spy_ranges(features, classes, ages, subjects=None, **kwargs):
        seen["ranges"].append(set(video_patient[features.index]))
        return real_ranges(features, classes, ages, subjects, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(FeatureTableClassifier, "fit", spy_fit)
    mp.setattr(rr, "typical_ranges", spy_ranges)
    try:
        results = evaluation.cross_validate(["majority", "logreg_all", "xgb_extended"], data, "taxonomy", n_splits=3,
                                            n_bootstrap=50, random_state=0)
    finally:
        mp.undo()
    folder = results.write(tmp_path_factory.mktemp("reports"))
    return results, folder, seen


def test_no_subject_in_two_folds(run):
    results, _, _ = run
    pred = results.predictions
    for model, p in pred.groupby("model"):
        folds = p.groupby("patient_id")["fold"].nunique()
        assert (folds == 1).all(), model
    # every subject is tested once, and its videos never sit on both sides of a split
    assert set(pred["patient_id"]) == set(results.dataset.meta["patient_id"])


def test_record_has_nominal_metrics_and_class_names(run):
    _, folder, _ = run
    record = json.loads((folder / "metrics.json").read_text())
    assert record["class_names"] == list(GAIT_CLASSES) and record["ordinal"] is False
    m = record["models"]["xgb_extended"]["levels"]["patient"]["metrics"]
    for key in ("f1_macro", "balanced_accuracy", "per_class_recall", "per_class_precision", "auc_ovr", "confusion"):
        assert key in m
    assert len(m["confusion"]) == len(GAIT_CLASSES)
    assert record["confusion_structure"]["models"]["xgb_extended"]["patient"]["errors"] >= 0
    html = (folder / "index.html").read_text()
    assert "Parkinsonian" in html and "Confusion structure" in html and "Rationales" in html
    assert "within one" not in html          # ordinal metrics are not shown for nominal classes
    assert "SIMULATED" in html or "simulated" in html


def test_every_number_in_every_rationale_equals_the_feature_table(run):
    results, folder, _ = run
    doc = json.loads((folder / "rationales.json").read_text())
    table = pd.read_csv(folder / "rationale_features.csv").set_index("video_id")
    ranges = pd.read_csv(folder / "rationale_ranges.csv").set_index(["fold", "age_group", "feature"])
    # The rationale feature rows are the medians of the clip feature table over each video's clips.
    rows, _ = video_rows(results.dataset.features[list(doc["feature_units"])], results.dataset.meta)
    assert len(doc["subjects"]) == results.dataset.meta["patient_id"].nunique()
    for s in doc["subjects"]:
        row = table.loc[s["video_id"]]
        allowed = {f"{s['probability']:.2f}"}
        for t in s["tokens"] + s["unranked_tokens"]:
            value = row[t["feature"]]
            assert value == pytest.approx(rows.loc[s["video_id"], t["feature"]], rel=1e-6)
            assert t["text_value"] == format_value(value, t["unit"])
            allowed.add(t["text_value"])
            if "pair" in t:
                assert t["pair"]["text_value"] == format_value(row[t["pair"]["feature"]], t["unit"])
                allowed.add(t["pair"]["text_value"])
            if t["typical_text"]:
                # the bounds quoted are those of the written ranges table, for the subject's fold and group
                r = ranges.loc[(s["fold"], s["age_group"], t["feature"])]
                assert t["age_group"] == r["source_group"]
                bounds = f"{format_value(r['low'], t['unit'])} to {format_value(r['high'], t['unit'])}"
                assert t["typical_text"] == bounds
                allowed |= set(bounds.split(" to "))
        for variant, text in s["rationales"].items():
            assert set(NUMBER.findall(text)) <= allowed, (s["subject_id"], variant, text)
        # ranked tokens are in decreasing SHAP order and all support the prediction
        shaps = [t["shap"] for t in s["tokens"]]
        assert shaps == sorted(shaps, reverse=True) and all(v > 0 for v in shaps)
        assert len(s["skeleton"]) == results.dataset.clips.shape[1]


def test_rationale_model_and_typical_ranges_see_no_held_out_subject(run):
    results, folder, seen = run
    doc = json.loads((folder / "rationales.json").read_text())
    folds = sorted({s["fold"] for s in doc["subjects"]})
    assert len(seen["fit"]) == len(seen["ranges"]) == len(folds)
    for fold, fitted, ranged in zip(folds, seen["fit"], seen["ranges"]):
        tested = {s["subject_id"] for s in doc["subjects"] if s["fold"] == fold}
        assert tested and not (tested & fitted) and not (tested & ranged)
        assert fitted | tested == set(results.dataset.meta["patient_id"])


def test_rating_kit_from_the_suites_rationales(run, tmp_path):
    from html import escape

    from evaluation.rating_kit import build_kit

    _, folder, _ = run
    out = build_kit(folder, n=9, random_state=0, out=tmp_path / "kit")
    page = (out / "rating_kit.html").read_text()
    key = json.loads((out / "key.json").read_text())
    doc = json.loads((folder / "rationales.json").read_text())
    by_subject = {s["subject_id"]: s for s in doc["subjects"]}
    assert len(key["items"]) == 9
    assert len({by_subject[i["subject_id"]]["true_class"] for i in key["items"]}) == 9   # stratified: one per class
    for item in key["items"]:
        subject = by_subject[item["subject_id"]]
        assert sorted(item["options"].values()) == sorted(doc["variants"])
        for variant in item["options"].values():
            assert escape(subject["rationales"][variant], quote=False) in page
        assert item["subject_id"] not in page


def test_feature_study_is_refused_with_a_clear_message():
    data = _tiny(["typical", "ataxic"], n_per_class=2)
    with pytest.raises(ValueError, match="rationales"):
        evaluation.cross_validate(["majority"], data, "taxonomy", n_splits=2, n_bootstrap=10, importance=True)
