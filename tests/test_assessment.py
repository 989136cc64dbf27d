"""Assessing walks with a bundle: training children reproduce the bundled models' in-sample predictions, the
evidence is traceable to the feature table, and unusable walks get a clear message instead of numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaluation
from evaluation.assessment import assess
from evaluation.bundle import load_bundle, train_bundle
from evaluation.data import Dataset
from gaitfeat.features import extract_features
from gaitfeat.io import write_openpose
from gaitfeat.simulate import simulate_cohort

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(quick_bundle):
    return load_bundle(quick_bundle[0])


@pytest.fixture(scope="module")
def training_walks(quick_bundle):
    """Three training children's raw walks (one per level present) and the bundle's in-sample predictions."""
    _, cohort = quick_bundle
    videos = cohort.videos.drop_duplicates("gmfcs").head(3)["video_id"].tolist()
    return [s for s in cohort.sequences if s.video_id in videos]


def test_training_children_reproduce_in_sample_predictions(bundle, quick_bundle, training_walks):
    _, cohort = quick_bundle
    result = assess(bundle, training_walks)
    table = bundle.training_predictions
    assert len(result.record["visits"]) == len(training_walks)
    for visit, walk in zip(result.record["visits"], training_walks):
        assert visit["status"] == "ok", visit["message"]
        # the same clips and features as in training
        rows = np.flatnonzero(cohort.meta["video_id"].to_numpy() == walk.video_id)
        assert visit["quality"]["clips_kept"] == len(rows)
        feats = extract_features(cohort.clips[rows], cohort.meta["fps"].to_numpy(float)[rows], "coco17")
        assert visit["feature_values"]["cadence"] == pytest.approx(float(feats["cadence"].median()), abs=1e-12)
        for suite, pred in visit["predictions"].items():
            for name, row in pred["models"].items():
                want = table[(table["suite"] == suite) & (table["model"] == name)
                             & (table["video_id"] == walk.video_id)]
                assert len(want) == 1
                if "proba" in row:
                    expected = want[[f"proba_{c}" for c in pred["classes"]]].to_numpy()[0]
                    np.testing.assert_allclose(row["proba"], expected, atol=1e-6, err_msg=f"{suite} {name}")
                    assert abs(sum(row["proba"]) - 1) < 1e-6       # networks compute in float32
                    assert row["ensemble"]["k"] == 3 and sum(row["ensemble"]["votes"]) == 3
                else:
                    assert row["value"] == pytest.approx(float(want["value"].iloc[0]), abs=1e-6), (suite, name)
                    lo, hi = row["interval"]
                    assert lo < row["value"] < hi


def test_evidence_explains_the_headline_class_and_is_traceable(bundle, quick_bundle, training_walks):
    """The evidence argues for the class the report leads with, and every contribution in the record is the
    clip mean of the explaining model's attributions towards that class."""
    from evaluation.assessment.predict import _contributions, _explainable

    _, cohort = quick_bundle
    result = assess(bundle, training_walks)
    for visit, walk in zip(result.record["visits"], training_walks):
        ev = visit["evidence"]
        pred = visit["predictions"]["gmfcs"]
        headline = pred["models"][pred["primary"]]
        assert ev is not None and ev["suite"] == "gmfcs" and ev["target"] == headline["predicted_name"]
        assert headline["predicted_name"] in ev["rationale"]
        rows = np.flatnonzero(cohort.meta["video_id"].to_numpy() == walk.video_id)
        feats = extract_features(cohort.clips[rows], cohort.meta["fps"].to_numpy(float)[rows], "coco17")
        entry, est = bundle.entry("gmfcs", ev["model"]), bundle.models[("gmfcs", ev["model"], "final")]
        k = int(np.argmax(headline["proba"]))
        phi = _contributions(est, _explainable(est), feats[entry["features"]].reset_index(drop=True),
                             entry["classes"].index(k)).mean(axis=0)
        phi = dict(zip(entry["features"], phi))
        values = visit["feature_values"]
        contributions = [s["contribution"] for s in ev["statements"]]
        assert contributions == sorted(contributions, key=lambda c: (c <= 0, -abs(c)))   # strongest push first
        for s in ev["statements"]:
            assert s["contribution"] == pytest.approx(phi[s["feature"]], abs=1e-9)
            assert s["value"] == round(values[s["feature"]], s["decimals"])
        for s in [s for s in ev["statements"] if s["contribution"] > 0][:3]:
            assert s["text"] in ev["rationale"]
    visit = result.record["visits"][0]
    cam = visit["gradcam"]
    assert cam["model"] == "stgcn" and len(cam["scores"]) == 17 and max(cam["scores"]) == pytest.approx(1.0)
    rows = {r["feature"]: r for r in visit["features"]}
    knee = rows["knee_rom"]
    assert knee["left"] == visit["feature_values"]["knee_rom_left"]
    assert knee["columns"] == {"left": "knee_rom_left", "right": "knee_rom_right"}
    assert knee["flag_left"] in ("below", "within", "above")
    step = [r["measure"] for r in visit["features"] if r["columns"] in ({"value": "step_length"},
                                                                        {"left": "step_length_left",
                                                                         "right": "step_length_right"})]
    assert step == ["step length (both sides)", "step length"] or step == ["step length", "step length (both sides)"]
    n_left, n_right = visit["curves"]["n_strides"]
    duration = visit["quality"]["duration_s"]
    assert 1 <= n_left + n_right <= duration * 2      # each stride once (at most ~1 stride per side per second)


@pytest.mark.parametrize("kind", ["linear", "tree"])
def test_two_class_attributions_add_up_to_the_margin(kind):
    """With two classes each side's attributions are the other's negative, and they add up to the margin."""
    from sklearn.linear_model import LogisticRegression
    from xgboost import XGBClassifier

    from evaluation.assessment.predict import _contributions
    from models.tabular import impute_scale

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.5 * X["b"] + rng.normal(0, 0.5, 80) > 0).astype(int)
    est = (impute_scale(LogisticRegression()) if kind == "linear"
           else XGBClassifier(n_estimators=20, max_depth=2, random_state=0)).fit(X, y)
    to1, to0 = _contributions(est, kind, X, 1), _contributions(est, kind, X, 0)
    np.testing.assert_allclose(to0, -to1, atol=1e-6)
    margin = (est.decision_function(X) if kind == "linear" else est.predict(X, output_margin=True))
    base = est.steps[-1][1].intercept_[0] if kind == "linear" else margin - to1.sum(axis=1)
    np.testing.assert_allclose(to1.sum(axis=1) + base, margin, atol=1e-5)
    if kind == "tree":
        assert np.ptp(base) < 1e-5          # one bias for every row: the attributions carry the rest


def test_too_short_walk_gets_a_message_not_numbers(bundle, training_walks, tmp_path):
    walk = training_walks[0]
    short = walk.replace(keypoints=walk.keypoints[:60], video_id="short")
    result = assess(bundle, [walk, short], patient_id="P<1>")
    ok, bad = result.record["visits"]
    assert ok["status"] == "ok" and bad["status"] == "not_assessed"
    assert "too short" in bad["message"] and "60 frames" in bad["message"] and "124-frame" in bad["message"]
    assert bad["predictions"] == {} and bad["features"] is None and bad["quality"]["frames"] == 60
    assert list(result.features["visit"]) == [1]             # only the assessed visit has feature values
    out = result.write(tmp_path / "visit")
    html = (out / "report.html").read_text()
    section = html[html.index('id="visit-2"'):html.index('id="provenance"')]
    assert "too short" in section and "data-feature" not in section and "Prediction" not in section
    assert "P&lt;1&gt;" in html and "P<1>" not in html


def test_wrong_layout_gets_a_message(tmp_path):
    """A COCO-17 walk has no feet: a bundle trained on BODY_25 cannot use it, and says so."""
    cohort = simulate_cohort(12, random_state=5, n_jobs=1, layout="body25")
    data = Dataset(cohort.clips, cohort.meta, "synthetic", "SIMULATED", simulated=True, layout="body25",
                   report=cohort.report)
    root = train_bundle(tmp_path / "b25", data=data, models=["logreg_all"], n_splits=2, ensemble=False,
                        n_bootstrap=10)
    coco = cohort.sequences[0].to_layout("coco17")
    visit = assess(root, coco).record["visits"][0]
    assert visit["status"] == "not_assessed"
    assert "COCO17 layout" in visit["message"] and "BODY25" in visit["message"]
    body = assess(root, cohort.sequences[0]).record["visits"][0]
    assert body["status"] == "ok" and "left_ankle" in body["curves"]["channels"]


def test_openpose_visits_one_unreadable(bundle, training_walks, tmp_path):
    """A folder of visit folders: one report; a broken visit is reported, the others are assessed."""
    visits = tmp_path / "visits"
    write_openpose(training_walks[0], visits / "2024-01-visit")
    write_openpose(training_walks[1], visits / "2025-01-visit")
    broken = visits / "2025-06-visit"
    broken.mkdir()
    (broken / "x_000000000000_keypoints.json").write_text("{not json")
    result = assess(bundle, f"openpose:{visits}", fps=training_walks[0].fps, height_m=1.3, age=9)
    status = [(v["video_id"], v["status"]) for v in result.record["visits"]]
    assert status == [("2024-01-visit", "ok"), ("2025-01-visit", "ok"), ("2025-06-visit", "not_assessed")]
    assert "could not be read" in result.record["visits"][2]["message"]
    assert "walking_speed_m" in result.features.columns          # height given: metres
    with pytest.raises(Exception, match="give fps"):
        assess(bundle, f"openpose:{visits}")


def test_bad_arguments(bundle, training_walks):
    with pytest.raises(ValueError, match="height_m"):
        assess(bundle, training_walks[0], height_m=13.2)
    with pytest.raises(TypeError, match="patient_id"):
        assess(bundle, training_walks[0], patient_id=17)
    with pytest.raises(TypeError, match="PoseSequence"):
        assess(bundle, np.zeros((10, 17, 3)))


def test_evaluation_assess_is_callable_after_importing_the_cli():
    import evaluation.assess as cli

    assert callable(evaluation.assess) and callable(cli) and cli.main is not None


# ---- end to end: command lines, a real OpenPose folder, the page in Chromium ---------------------------------

def _cli(*args, timeout=900):
    res = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.mark.slow
def test_end_to_end_quick_profile(tmp_path, quick_bundle):
    model, out = tmp_path / "model", tmp_path / "visit"
    started = time.perf_counter()
    _cli("evaluation.train", "--suite", "gmfcs", "--models", "logreg_all", "xgb_all", "stgcn", "--profile", "quick",
         "--out", str(model), "--quiet")
    train_s = time.perf_counter() - started
    walks = tmp_path / "walks"
    _, cohort = quick_bundle                  # children the bundle never saw (another cohort seed)
    write_openpose(cohort.sequences[0], walks / "walk01")
    sources = [f"openpose:{walks / 'walk01'}"]
    real = os.environ.get("GAITFEAT_REAL_OPENPOSE")
    if real:
        sources.append(f"openpose:{real}")
    for i, source in enumerate(sources):
        target = out / f"v{i}"
        res = _cli("evaluation.assess", "--model", str(model), "--data", source, "--fps",
                   str(cohort.sequences[0].fps if i == 0 else 29.97), "--patient-id", "<b>P17</b>", "--age", "9",
                   "--out", str(target), "--pdf")
        assert "GMFCS" in res.stdout
        assert (target / "report.pdf").read_bytes().startswith(b"%PDF")
        record = json.loads((target / "assessment.json").read_text())
        assert record["bundle"]["simulated"] and record["visits"][0]["status"] == "ok"
        _check_in_browser(target)
    print(f"train {train_s:.1f} s")


def _check_in_browser(folder: Path):
    """The page renders, the walk animates, and every value cell in the DOM equals features.csv."""
    from browser_driver import headless_chrome

    drv = headless_chrome()
    from selenium.webdriver.common.by import By

    table = pd.read_csv(folder / "features.csv")
    try:
        drv.get((folder / "report.html").as_uri())
        assert "not for clinical use" in drv.find_element(By.CSS_SELECTOR, ".sim-banner").text.lower()
        svg = drv.find_element(By.ID, "anim-1")
        f0 = int(svg.get_attribute("data-frame"))
        time.sleep(1.0)
        assert int(svg.get_attribute("data-frame")) != f0
        cells = drv.find_elements(By.CSS_SELECTOR, "#visit-1 [data-feature]")
        assert len(cells) > 20
        for cell in cells:
            name = cell.get_attribute("data-feature")
            assert float(cell.get_attribute("data-value")) == table.loc[0, name], name
            assert cell.text.strip() != ""
    finally:
        drv.quit()


def test_walk_outside_the_training_data_is_flagged(bundle, training_walks, tmp_path):
    """A walk declared at twice its frame rate walks twice as fast: extrapolation, and the report says so."""
    fast = training_walks[0].replace(fps=training_walks[0].fps * 2, video_id="fast")
    result = assess(bundle, [training_walks[0], fast])
    normal, odd = result.record["visits"]
    assert not any("Outside the training data" in w for w in normal["warnings"])
    text = " ".join(odd["warnings"])
    assert "Outside the training data" in text and "walking speed" in text and "frame rate" in text
    html = (result.write(tmp_path / "v") / "report.html").read_text()
    assert html.count('class="warn"') >= 2 and "Outside the training data" in html
