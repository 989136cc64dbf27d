"""evaluation.metrics and evaluation.stats: hand-computed cases and agreement with scikit-learn/statsmodels/scipy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn import metrics as skm
from statsmodels.stats.contingency_tables import mcnemar

from evaluation.metrics import aggregate_predictions, classification_metrics, regression_metrics, roc_auc_ovr
from evaluation.stats import (
    bootstrap_classification,
    bootstrap_regression,
    mcnemar_test,
    paired_difference,
    patient_resamples,
    percentile_ci,
    wilcoxon_abs_error,
)

LEVELS = (1, 2, 3, 4)


def test_hand_computed_case():
    # Confusion (true rows, predicted columns), levels 1..4:
    # 1: [1 1 0 0]; 2: [0 1 0 0]; 3: [1 0 0 0]; 4: none.
    m = classification_metrics([1, 1, 2, 3], [1, 2, 2, 1], labels=LEVELS)
    assert m["accuracy"] == 0.5
    assert m["within_one"] == 0.75                     # the 3 -> 1 error is two levels off
    assert m["kappa_linear"] == pytest.approx(0.0)     # observed 3/4 vs chance 3/4 weighted disagreement
    assert m["kappa_quadratic"] == pytest.approx(-0.25)  # observed 5/4 vs chance 4/4
    assert m["per_class_recall"][1] == 0.5 and m["per_class_recall"][2] == 1.0 and m["per_class_recall"][3] == 0.0
    assert math.isnan(m["per_class_recall"][4])
    assert m["per_class_precision"][1] == 0.5 and m["per_class_precision"][2] == 0.5
    assert math.isnan(m["per_class_precision"][3])     # never predicted: undefined, not 0
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m["f1_weighted"] == pytest.approx((0.5 * 2 + (2 / 3) * 1 + 0.0) / 4)
    assert m["f1_macro"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert m["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert m["support"] == {1: 2, 2: 1, 3: 1, 4: 0}
    assert any("class 4: no true examples" in n for n in m["notes"])
    assert any("class 3: never predicted" in n for n in m["notes"])
    assert math.isnan(m["log_loss"]) and math.isnan(m["auc_macro"])


def test_auc_with_ties_by_hand():
    # positives score 0.9 and 0.5, negatives 0.9 and 0.1: pairs 0.5 + 1 + 0 + 1 = 2.5 of 4
    auc = roc_auc_ovr(np.array([1, 0, 1, 0]), np.array([[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9]]), labels=[1, 0])
    assert auc[0] == pytest.approx(0.625)
    assert auc[0] == pytest.approx(skm.roc_auc_score([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 400
    y = rng.choice(LEVELS, size=n, p=[0.35, 0.38, 0.25, 0.02])
    y[:4] = LEVELS                                       # every level present
    logits = rng.normal(size=(n, 4)) + 1.5 * np.eye(4)[y - 1]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 2)                           # creates ties
    proba /= proba.sum(axis=1, keepdims=True)
    pred = np.array(LEVELS)[proba.argmax(axis=1)]
    m = classification_metrics(y, pred, proba, labels=LEVELS)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["f1_weighted"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["kappa_linear"] == pytest.approx(skm.cohen_kappa_score(y, pred, labels=list(LEVELS), weights="linear"))
    assert m["kappa_quadratic"] == pytest.approx(skm.cohen_kappa_score(y, pred, labels=list(LEVELS), weights="quadratic"))
    recall = skm.recall_score(y, pred, labels=list(LEVELS), average=None, zero_division=np.nan)
    precision = skm.precision_score(y, pred, labels=list(LEVELS), average=None, zero_division=np.nan)
    np.testing.assert_allclose([m["per_class_recall"][c] for c in LEVELS], recall)
    np.testing.assert_allclose([m["per_class_precision"][c] for c in LEVELS], precision)
    np.testing.assert_array_equal(m["confusion"], skm.confusion_matrix(y, pred, labels=list(LEVELS)))
    for j, c in enumerate(LEVELS):
        assert m["auc_ovr"][c] == pytest.approx(skm.roc_auc_score(y == c, proba[:, j]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=list(LEVELS)))
    within = np.mean(np.abs(y - pred) <= 1)
    assert m["within_one"] == pytest.approx(within)


def test_absent_class_is_noted_not_crashed():
    y = np.array([1, 1, 2, 2, 3, 3])
    proba = np.array([[0.7, 0.2, 0.1, 0.0], [0.5, 0.3, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1],
                      [0.3, 0.3, 0.3, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.2, 0.6, 0.1]])
    m = classification_metrics(y, np.array(LEVELS)[proba.argmax(1)], proba, labels=LEVELS)
    assert math.isnan(m["auc_ovr"][4]) and math.isfinite(m["auc_ovr"][1])
    assert m["auc_macro"] == pytest.approx(np.mean([m["auc_ovr"][c] for c in (1, 2, 3)]))
    assert any("class 4" in n for n in m["notes"])


def test_classification_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        classification_metrics([1, 2], [1])
    with pytest.raises(ValueError, match="not among labels"):
        classification_metrics([1, 5], [1, 2], labels=LEVELS)
    with pytest.raises(ValueError, match="proba must have shape"):
        classification_metrics([1, 2], [1, 2], np.ones((2, 3)) / 3, labels=LEVELS)
    with pytest.raises(ValueError, match="NaN"):
        classification_metrics([1, 2], [1, 2], np.full((2, 4), np.nan), labels=LEVELS)
    with pytest.raises(ValueError, match="no predictions"):
        classification_metrics([], [])


def test_regression_metrics_by_hand_and_against_scipy():
    y = np.array([60.0, 70.0, 80.0, 90.0, 100.0])
    p = np.array([65.0, 68.0, 85.0, 88.0, 96.0])
    m = regression_metrics(y, p)
    e = p - y                                          # 5 -2 5 -2 -4
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(e**2)))
    assert m["mae"] == pytest.approx(18 / 5)
    assert m["bias"] == pytest.approx(0.4)
    sd = np.std(e, ddof=1)
    assert m["loa_lower"] == pytest.approx(0.4 - 1.96 * sd) and m["loa_upper"] == pytest.approx(0.4 + 1.96 * sd)
    assert m["pearson_r"] == pytest.approx(sps.pearsonr(y, p).statistic)
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    const = regression_metrics(y, np.full(5, 80.0))
    assert math.isnan(const["pearson_r"]) and const["notes"]
    with pytest.raises(ValueError, match="finite"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])


def test_bootstrap_identity_resample_equals_point_estimates():
    rng = np.random.default_rng(3)
    n, n_pat = 300, 30
    patient = rng.integers(0, n_pat, n)
    patient[:n_pat] = np.arange(n_pat)
    y = rng.integers(0, 4, n)
    proba = rng.dirichlet(np.ones(4), n)
    pred = proba.argmax(1)
    ones = np.ones((1, n_pat))
    b = bootstrap_classification(y, pred, patient, ones, 4, proba)
    m = classification_metrics(y, pred, proba, labels=[0, 1, 2, 3])
    for key in ("accuracy", "balanced_accuracy", "f1_weighted", "f1_macro", "kappa_linear", "kappa_quadratic",
                "within_one", "auc_macro", "log_loss"):
        assert b[key][0] == pytest.approx(m[key]), key
    np.testing.assert_allclose(b["auc_ovr"][0], [m["auc_ovr"][c] for c in range(4)])
    yr = rng.normal(70, 10, n)
    pr = yr + rng.normal(0, 5, n)
    br = bootstrap_regression(yr, pr, patient, ones)
    mr = regression_metrics(yr, pr)
    for key in ("rmse", "mae", "pearson_r", "r2", "bias", "loa_lower", "loa_upper"):
        assert br[key][0] == pytest.approx(mr[key]), key


def test_bootstrap_counts_equal_duplicated_patients():
    # A replicate that draws patient 0 twice and patient 2 never equals scoring the duplicated units directly.
    y = np.array([0, 1, 1, 2, 0, 2])
    pred = np.array([0, 1, 2, 2, 1, 2])
    proba = np.eye(3)[pred] * 0.7 + 0.1
    patient = np.array([0, 0, 1, 1, 2, 2])
    counts = np.array([[2.0, 1.0, 0.0]])
    b = bootstrap_classification(y, pred, patient, counts, 3, proba)
    keep = np.r_[0, 1, 0, 1, 2, 3]
    m = classification_metrics(y[keep], pred[keep], proba[keep], labels=[0, 1, 2])
    for key in ("accuracy", "kappa_linear", "f1_weighted", "auc_macro", "log_loss"):
        assert b[key][0] == pytest.approx(m[key]), key


def test_patient_resamples_and_ci():
    counts = patient_resamples(50, 400, random_state=0)
    assert counts.shape == (400, 50) and np.all(counts.sum(axis=1) == 50)
    np.testing.assert_array_equal(counts, patient_resamples(50, 400, random_state=0))
    assert percentile_ci(np.arange(101.0)) == pytest.approx([2.5, 97.5])
    assert all(math.isnan(v) for v in percentile_ci(np.full(10, np.nan)))


def test_paired_difference_and_tests_against_statsmodels_and_scipy():
    a = np.array([0.8, 0.82, 0.79, 0.81])
    b = np.array([0.7, 0.71, 0.69, 0.72])
    d = paired_difference(a, b, 0.8, 0.7)
    assert d["difference"] == pytest.approx(0.1) and d["ci"][0] > 0 and d["p_value"] == 0.0
    rng = np.random.default_rng(0)
    ca = rng.random(80) < 0.75
    cb = rng.random(80) < 0.55
    res = mcnemar_test(ca, cb)
    table = [[np.sum(ca & cb), np.sum(ca & ~cb)], [np.sum(~ca & cb), np.sum(~ca & ~cb)]]
    ref = mcnemar(table, exact=res["exact"], correction=True)
    assert res["p_value"] == pytest.approx(ref.pvalue)
    assert res["a_only"] == table[0][1] and res["b_only"] == table[1][0]
    assert mcnemar_test(ca, ca)["p_value"] == 1.0
    ea, eb = rng.normal(0, 5, 40), rng.normal(0, 8, 40)
    w = wilcoxon_abs_error(ea, eb)
    assert w["p_value"] == pytest.approx(sps.wilcoxon(np.abs(ea), np.abs(eb)).pvalue)


def test_aggregate_predictions():
    pred = pd.DataFrame({
        "patient_id": ["a", "a", "a", "b", "b"], "video_id": ["v1", "v1", "v2", "v3", "v3"],
        "y_true": [1, 1, 2, 3, 3],
        "proba_1": [0.6, 0.2, 0.1, 0.1, 0.1], "proba_2": [0.4, 0.8, 0.9, 0.2, 0.5], "proba_3": [0.0, 0.0, 0.0, 0.7, 0.4],
    })
    cols = ["proba_1", "proba_2", "proba_3"]
    video = aggregate_predictions(pred, "video", proba_columns=cols, labels=[1, 2, 3])
    assert video.set_index("video_id").loc["v1", "y_pred"] == 2     # mean (0.4, 0.6, 0)
    assert video.set_index("video_id").loc["v1", "n_clips"] == 2
    patient = aggregate_predictions(pred, "patient", proba_columns=cols, labels=[1, 2, 3])
    # patient a had level 1 at one visit and level 2 at another: scored once per level
    assert len(patient) == 3 and set(patient["patient_id"]) == {"a", "b"}
    reg = pd.DataFrame({"patient_id": ["a", "a", "b"], "video_id": ["v1", "v2", "v3"], "y_true": [60.0, 70.0, 80.0],
                        "y_pred": [62.0, 66.0, 85.0]})
    pat = aggregate_predictions(reg, "patient").set_index("patient_id")
    assert pat.loc["a", "y_true"] == 65.0 and pat.loc["a", "y_pred"] == 64.0
    with pytest.raises(ValueError, match="different true labels"):
        aggregate_predictions(pred.assign(video_id="same"), "video", proba_columns=cols, labels=[1, 2, 3])
