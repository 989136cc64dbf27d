"""models: estimator API, ordinal model, SHAP additivity, sequential selection, importance agreement, evidence."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaitfeat import FEATURES, simulate_cohort
from models import (
    TYPICAL_RANGES,
    FeatureTableClassifier,
    FeatureTableRegressor,
    GaitFeatureClassifier,
    GaitFeatureRegressor,
    OrdinalClassifier,
    by_region,
    evidence_statements,
    gain_ranking,
    rank_agreement,
    sequential_selection,
    shap_values,
)

_RANDOM_WEIGHTING = {
    "check_sample_weight_equivalence_on_dense_data":
        "row subsampling (XGBoost) and bootstrap samples (random forest) draw rows at random, so a weight of 2 "
        "is not the same draw as a repeated row",
}


def _expected_failures(est):
    if getattr(est, "estimator", None) in ("xgb", "rf"):
        return _RANDOM_WEIGHTING
    return {}


@parametrize_with_checks(
    [
        FeatureTableClassifier(estimator="xgb", n_estimators=10, random_state=0),
        FeatureTableClassifier(estimator="logreg"),
        FeatureTableClassifier(estimator="rf", n_estimators=10, random_state=0),
        FeatureTableClassifier(estimator="logreg", ordinal=True),
        OrdinalClassifier(),
        FeatureTableRegressor(estimator="xgb", n_estimators=10, random_state=0),
        FeatureTableRegressor(estimator="ridge"),
        FeatureTableRegressor(estimator="rf", n_estimators=10, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_conformance(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(16, random_state=5, n_jobs=1)


def _mixed_levels(cohort, n: int) -> np.ndarray:
    """Row positions of ``n`` clips, the first clips of every level in turn (a small set with several classes)."""
    order = cohort.meta.reset_index(drop=True).groupby("gmfcs").cumcount().to_numpy()
    return np.argsort(order, kind="stable")[:n]


def test_gait_classifier_api(cohort, tmp_path):
    clips, meta = cohort.clips, cohort.meta
    y = meta["gmfcs"].to_numpy()
    est = GaitFeatureClassifier(fps=30.0, features="paper14", estimator="xgb", n_estimators=30, random_state=3)
    params = est.get_params()
    assert clone(est).get_params() == params
    assert est.set_params(max_depth=3).get_params()["max_depth"] == 3
    est.fit(clips, y)
    proba = est.predict_proba(clips)
    assert proba.shape == (len(y), len(np.unique(y))) and np.allclose(proba.sum(axis=1), 1)
    assert set(est.predict(clips)) <= set(est.classes_)
    assert est.feature_names_ == list(__import__("gaitfeat").FEATURE_SETS["paper14"])
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(clips), proba)
    again = clone(est).fit(clips, y)
    np.testing.assert_array_equal(again.predict_proba(clips), proba)     # same random_state, same model
    with pytest.raises(ValueError, match="pose clips"):
        est.predict(clips[0])
    scores = cross_val_score(GaitFeatureClassifier(fps=30.0, estimator="logreg"), clips, y,
                             groups=meta["patient_id"], cv=GroupKFold(4))
    assert scores.shape == (4,) and np.all((0 <= scores) & (scores <= 1))


def test_gait_regressor_and_ordinal_under_grouped_cv(cohort):
    clips, meta = cohort.clips, cohort.meta
    groups = meta["patient_id"]
    r = cross_val_score(GaitFeatureRegressor(fps=30.0, estimator="ridge"), clips, meta["gdi"].to_numpy(),
                        groups=groups, cv=GroupKFold(4), scoring="neg_root_mean_squared_error")
    assert np.all(np.isfinite(r))
    o = GaitFeatureClassifier(fps=30.0, estimator="logreg", ordinal=True).fit(clips, meta["gmfcs"].to_numpy())
    assert isinstance(o.pipeline_.named_steps["model"].model_, OrdinalClassifier)


def test_ordinal_probabilities_are_consistent():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = np.digitize(x[:, 0] + 0.3 * rng.normal(size=400), [-1.0, 0.0, 1.0]) + 1      # levels 1..4 by one feature
    model = OrdinalClassifier().fit(x, y)
    above = model.exceedance_proba(x)
    assert np.all(np.diff(above, axis=1) <= 1e-12)          # P(y > k) never grows with k
    proba = model.predict_proba(x)
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(model.predict(x) == y) > 0.75
    np.testing.assert_array_equal(model.classes_, [1, 2, 3, 4])


def _toy_table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    score = 1.5 * X["cadence"] - 1.5 * X["knee_rom_left"]
    y = np.digitize(score + 0.3 * rng.normal(size=n), [-1.5, 0.0, 1.5]) + 1
    groups = np.repeat(np.arange(n // 6), 6)
    return X, y, groups


def test_sequential_selection_finds_the_informative_features_first():
    X, y, groups = _toy_table()
    fwd = sequential_selection(X, y, groups, direction="forward")
    assert set(fwd["feature"].iloc[:2]) == {"cadence", "knee_rom_left"}
    assert fwd["score"].iloc[1] > fwd["score"].iloc[0] > 0.4
    assert len(fwd) == len(FEATURES)
    bwd = sequential_selection(X, y, groups, direction="backward")
    removed = list(bwd["feature"].iloc[1:])
    survivor = (set(FEATURES) - set(removed)).pop()
    assert {survivor, removed[-1]} == {"cadence", "knee_rom_left"}      # the informative pair is removed last
    rng = np.random.default_rng(1)
    reg = sequential_selection(X, 3 * X["walking_speed"] + 0.1 * rng.normal(size=len(X)), groups, task="regression",
                               max_features=3)
    assert reg["feature"].iloc[0] == "walking_speed" and len(reg) == 3


@pytest.mark.parametrize("estimator", ["xgb", "logreg"])
def test_shap_values_add_up_to_the_model_output(estimator):
    X, y, _ = _toy_table(300)
    X.iloc[::7, 3] = np.nan                                           # missing values are explained too
    model = FeatureTableClassifier(estimator=estimator, n_estimators=30, random_state=0).fit(X, y)
    sv = shap_values(model, X.iloc[:80])
    assert sv.values.shape == (80, len(FEATURES), 4)
    Xa = X.iloc[:80].to_numpy(float)
    if estimator == "xgb":
        margin = model.model_.predict(Xa, output_margin=True)
    else:
        margin = model.model_.decision_function(Xa)
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.expected, margin, atol=1e-4)
    reg = FeatureTableRegressor(estimator="xgb", n_estimators=30, random_state=0).fit(X, X["cadence"].fillna(0) * 2)
    rv = shap_values(reg, X.iloc[:50])
    np.testing.assert_allclose(rv.values.sum(axis=1) + rv.expected[0], reg.predict(X.iloc[:50]), atol=1e-4)
    gain = gain_ranking(FeatureTableClassifier(estimator="xgb", n_estimators=20, random_state=0).fit(X, y))
    assert gain.sum() == pytest.approx(1.0) and set(gain.sort_values().index[-2:]) == {"cadence", "knee_rom_left"}


def test_rank_agreement_and_regions():
    a = pd.Series([5.0, 4, 3, 2, 1], index=["cadence", "knee_rom_left", "trunk_sway", "neck_angle_left", "hip_rom_left"])
    same = rank_agreement({"a": a, "b": a * 2}, top_k=2).iloc[0]
    assert same["kendall_tau"] == pytest.approx(1.0) and same["top_k_overlap"] == 1.0
    rev = rank_agreement({"a": a, "b": -a}, top_k=2).iloc[0]
    assert rev["kendall_tau"] == pytest.approx(-1.0) and rev["top_k_overlap"] == 0.0
    regions = by_region(a)
    assert regions.sum() == pytest.approx(1.0)
    assert regions["temporal"] == pytest.approx(5 / 15) and regions["knee"] == pytest.approx(4 / 15)


def test_evidence_statements_cite_the_feature_table():
    feats = pd.Series({name: float(TYPICAL_RANGES.loc[name, "median"]) for name in FEATURES})
    feats["cadence"] = 88.4
    feats["knee_rom_left"], feats["knee_rom_right"], feats["knee_rom_symmetry"] = 38.2, 55.1, 36.6
    feats["trunk_sway"] = np.nan                                       # not measured: never stated
    contrib = pd.Series(0.01, index=FEATURES)
    contrib[["cadence", "knee_rom_right", "trunk_sway", "walking_speed"]] = [2.0, 1.0, 5.0, -3.0]
    st = evidence_statements(feats, contrib, n=3)
    assert [s["feature"] for s in st][:2] == ["cadence", "knee_rom_right"]
    assert st[0]["value"] == 88.0 and "cadence 88 steps/min" in st[0]["text"] and st[0]["status"] == "below"
    assert "typical 110–155 steps/min" in st[0]["text"]
    assert st[1]["pair"] == {"knee_rom_left": 38.0, "knee_rom_right": 55.0, "knee_rom_symmetry": 37.0}
    assert "left knee ROM 38° vs right 55° (symmetry index 37 %" in st[1]["text"]
    assert all(s["feature"] != "trunk_sway" for s in st)
    assert len(st) == 3


# ---------------------------------------------------------------- hardening: bad clips and labels
def test_gait_feature_models_refuse_missing_or_unpreprocessed_clips(cohort):
    from gaitfeat.errors import PoseDataError

    rows = _mixed_levels(cohort, 40)
    clips, meta = cohort.clips[rows], cohort.meta.iloc[rows]
    clf = GaitFeatureClassifier(fps=30.0, estimator="logreg").fit(clips, meta["gmfcs"].to_numpy())
    reg = GaitFeatureRegressor(fps=30.0, estimator="ridge").fit(clips, meta["gdi"].to_numpy())
    x = clips[:5].copy()
    nan_clip = x.copy()
    nan_clip[1] = np.nan                                           # clip 1: nothing observed
    nan_clip[4, ..., :2] = np.nan                                  # clip 4: coordinates NaN, confidence kept
    zero_conf = x.copy()
    zero_conf[2, ..., 2] = 0.0                                     # clip 2: confidence all 0
    pixels = x * 300.0
    huge = x.copy()
    huge[0, 5, 3, 1] = -1e30
    conf = x.copy()
    conf[0, 0, 0, 2] = -0.5
    cases = [(nan_clip, r"no observed keypoint.*clip indices 1, 4"), (zero_conf, r"no observed keypoint.*indices 2"),
             (pixels, "pixel"), (huge, "impossible coordinate"), (conf, "confidence -0.5 outside"),
             (x.astype(complex), "real numbers"), (np.zeros((0, 40, 17, 3)), "no clips")]
    for bad, message in cases:
        for call in (clf.predict, clf.predict_proba, clf.transform_features, reg.predict,
                     lambda X: GaitFeatureClassifier(estimator="logreg").fit(X, np.arange(len(X)) % 2)):
            with pytest.raises(PoseDataError, match=message):
                call(bad)
    # Partly missing clips are still measured (NaN features are imputed).
    partly = x.copy()
    partly[0, :, :5] = np.nan
    assert np.isfinite(clf.predict_proba(partly)).all()


@pytest.mark.parametrize("make", [
    lambda: FeatureTableClassifier(estimator="logreg"),
    lambda: FeatureTableClassifier(estimator="xgb", n_estimators=5),
    lambda: FeatureTableClassifier(estimator="logreg", ordinal=True),
    lambda: OrdinalClassifier(),
])
def test_mixed_label_types_are_refused_by_table_classifiers(make):
    from gaitfeat.errors import LabelError

    X = np.random.default_rng(0).normal(size=(9, 3))
    for y in ([1, "2", 3] * 3, np.array([1, "2", 3] * 3, dtype=object), pd.Series([1.0, "a", 2] * 3)):
        with pytest.raises(LabelError, match="mixes kinds of labels"):
            make().fit(X, y)
    with pytest.raises(LabelError, match="missing"):
        make().fit(X, [1, None, 2] * 3)


def test_mixed_labels_and_text_targets_are_refused_from_clips(cohort):
    from gaitfeat.errors import LabelError

    clips = cohort.clips[:9]
    with pytest.raises(LabelError, match="mixes kinds of labels"):
        GaitFeatureClassifier(estimator="logreg").fit(clips, [1, "2", 3] * 3)
    with pytest.raises(LabelError, match="mixes kinds|text labels"):
        FeatureTableRegressor(estimator="ridge").fit(np.ones((9, 2)), [1, "2", 3] * 3)
    with pytest.raises(LabelError, match="text labels"):
        FeatureTableRegressor(estimator="ridge").fit(np.ones((9, 2)), np.array(["1", "2", "3"] * 3, dtype=object))
    with pytest.raises(LabelError, match="real numbers"):
        GaitFeatureRegressor(estimator="ridge").fit(clips, ["a"] * 9)


# ---------------------------------------------------------------- hardening: numbers and evidence
@pytest.mark.parametrize("fps", ["30", 10**400, True, float("nan"), -1, None])
def test_clip_models_refuse_non_numeric_or_huge_fps(cohort, fps):
    clips, y = cohort.clips[:9], cohort.meta["gmfcs"].to_numpy()[:9]
    for make in (GaitFeatureClassifier, GaitFeatureRegressor):
        with pytest.raises(ValueError, match="fps must be a positive finite number") as info:
            make(fps=fps, estimator="logreg" if make is GaitFeatureClassifier else "ridge").fit(clips, y)
        assert not isinstance(info.value, TypeError) and len(str(info.value)) < 200


def test_clips_without_enough_evidence_are_refused(cohort):
    from gaitfeat.errors import PoseDataError
    from models.checks import MIN_OBSERVED_FRACTION, check_clips, missing_mask

    rows = _mixed_levels(cohort, 40)
    clips, y = cohort.clips[rows], cohort.meta["gmfcs"].to_numpy()[rows]
    clf = GaitFeatureClassifier(fps=30.0, estimator="logreg").fit(clips, y)
    x = clips[:4].copy()
    x[0, 1:] = np.nan                                       # one observed frame
    x[1, :, 11:] = np.nan                                   # no leg joints: every feature the model uses is NaN
    x[2, ..., :2] = 0.0                                     # every joint at (0, 0) with confidence
    one_joint = clips[:1].copy()
    one_joint[0, :, 1:] = np.nan                            # one observed joint
    cases = [(x[[0, 3]], r"fewer than 20% .*clip indices 0"), (one_joint, "fewer than 20%"),
             (x[[3, 1]], r"no measurable feature.*clip indices 1"), (x[[3, 2]], r"degenerate.*clip indices 1")]
    fit = lambda X: GaitFeatureClassifier(estimator="logreg").fit(np.concatenate([X, clips[:8]]),  # noqa: E731
                                                                     np.arange(len(X) + 8) % 2)
    for bad, message in cases:
        calls = (clf.predict, clf.predict_proba) + (() if "measurable" in message else (clf.transform_features, fit))
        for call in calls:
            with pytest.raises(PoseDataError, match=message):
                call(bad)
    # Without a measurable feature a clip is not predicted, but its (NaN) features can be read and it can be fitted on.
    assert np.isnan(clf.transform_features(x[[1]]).to_numpy()).all()
    fit(x[[1]])
    # Every simulated clip (default noise) has the evidence the rule asks for.
    observed = 1 - missing_mask(cohort.clips).reshape(len(cohort.clips), -1).mean(axis=1)
    assert observed.min() >= MIN_OBSERVED_FRACTION
    check_clips(cohort.clips)
    assert np.isfinite(clf.predict_proba(cohort.clips)).all()
