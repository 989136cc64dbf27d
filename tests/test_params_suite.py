"""The multi-target ``params`` suite: shared folds, multi-output networks split per target, references, pooling,
the validation-only correction data, the overview record and page."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from evaluation import Dataset, aggregate_predictions, cross_validate
from evaluation.multitarget import MultiTargetResults, best_feature_model
from evaluation.report import read_record, render_folder
from evaluation.suites import PUBLISHED_CORRELATIONS, SUITES, TARGETS
from evaluation.zoo import MODELS, ModelSpec
from gaitfeat import FEATURES
from gaitfeat.errors import LabelError

TARGET_COLS = ("gdi", "speed", "cadence")


def params_dataset(n_patients=30, clips_per_patient=6, seed=0, targets=TARGET_COLS) -> Dataset:
    """Features where ``cadence`` carries every target; the clips hold the targets themselves (joint k, x of frame 0),
    so a network that reads them back is exact."""
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    for p in range(n_patients):
        base = rng.normal(size=len(targets))
        for c in range(clips_per_patient):
            f = dict(zip(FEATURES, rng.normal(size=len(FEATURES))))
            f["cadence"] = base[0] + rng.normal(0, 0.05)
            f["nan_reason"] = ""
            feats.append(f)
            row = {"patient_id": f"P{p:03d}", "video_id": f"P{p:03d}_v{c // 3}", "clip_start": 12 * c, "fps": 30.0}
            row.update({t: 80 + 10 * base[0] + k * base[k] + 0.1 * k for k, t in enumerate(targets)})
            rows.append(row)
    meta = pd.DataFrame(rows)
    clips = np.zeros((len(meta), 4, 17, 3), np.float32)
    clips[:, 0, :len(targets), 0] = meta[list(targets)].to_numpy(np.float32)
    return Dataset(clips, meta, "toy", "toy data set", _features=pd.DataFrame(feats))


class ReadBack(RegressorMixin, BaseEstimator):
    """A 'network' that reads the targets out of the clips, and records what validation data it was given."""

    seen: list = []

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, X, y, *, eval_set=None, eval_videos=None):
        self.n_targets_ = 1 if np.ndim(y) == 1 else np.shape(y)[1]
        ReadBack.seen.append({"fit_rows": len(X), "val_rows": len(eval_set[0]), "eval_videos": np.asarray(eval_videos),
                              "y_shape": np.shape(y)})
        return self

    def predict(self, X):
        out = np.asarray(X)[:, 0, :self.n_targets_, 0].astype(float)
        return out[:, 0] if self.n_targets_ == 1 else out


SPECS = {"mean": MODELS["params"]["mean"], "ridge_all": MODELS["params"]["ridge_all"],
         "readback": ModelSpec(lambda seed: ReadBack(random_state=seed), "reads the targets back", inputs="clips",
                               network=True)}


def _params_suite(monkeypatch, targets=TARGET_COLS):
    monkeypatch.setitem(SUITES, "params", SUITES["params"].__class__(
        "params", "regression", targets[0], None, "", "toy params", tuple(targets)))


def test_one_network_per_fold_learns_all_targets_and_is_split_per_target(monkeypatch):
    _params_suite(monkeypatch)
    ReadBack.seen = []
    ds = params_dataset()
    res = cross_validate(SPECS, ds, "params", n_splits=3, n_bootstrap=50)
    assert isinstance(res, MultiTargetResults)
    assert list(res.targets) == list(TARGET_COLS)
    assert len(ReadBack.seen) == 3                      # once per fold, not once per target
    assert all(s["y_shape"][1] == len(TARGET_COLS) for s in ReadBack.seen)
    for k, (t, r) in enumerate(res.targets.items()):
        p = r.predictions
        net = p[p["model"] == "readback"]
        assert np.allclose(net["y_pred"], net["y_true"], atol=1e-3)      # column k went to target k
        assert np.allclose(net["y_true"], ds.meta[t].to_numpy()[net["row"]])
        assert r.scores()["models"]["readback"]["clip"]["metrics"]["rmse"] < 1e-3
        # every target has the same folds and the same test rows
        assert r.predictions.groupby("fold")["row"].apply(frozenset).to_dict() == \
            res.targets[TARGET_COLS[0]].predictions.groupby("fold")["row"].apply(frozenset).to_dict()
        # the network is compared with the best feature-table model (the only one here: ridge)
        assert r.config["best_feature_model"] == "ridge_all"
        assert r.references()["readback"] == "ridge_all"
        assert r.references()["ridge_all"] == "mean"


def test_the_correction_data_are_validation_videos_never_test_videos(monkeypatch):
    _params_suite(monkeypatch)
    ReadBack.seen = []
    ds = params_dataset()
    res = cross_validate(SPECS, ds, "params", n_splits=3, n_bootstrap=20)
    preds = res.targets["gdi"].predictions
    for fold, seen in enumerate(ReadBack.seen):
        test_videos = set(preds[(preds["model"] == "readback") & (preds["fold"] == fold)]["video_id"])
        assert len(seen["eval_videos"]) == seen["val_rows"]
        assert not set(seen["eval_videos"]) & test_videos
        test_patients = {v.split("_")[0] for v in test_videos}
        assert not {v.split("_")[0] for v in seen["eval_videos"]} & test_patients


def test_clips_missing_a_target_are_dropped_and_absent_targets_left_out(monkeypatch):
    _params_suite(monkeypatch, ("gdi", "speed", "cadence", "gdi_left"))
    ds = params_dataset()
    meta = ds.meta.copy()
    meta.loc[:4, "speed"] = np.nan                       # 5 clips lack speed
    ds = Dataset(ds.clips, meta, "toy", "toy", _features=ds.features)
    res = cross_validate({k: SPECS[k] for k in ("mean", "ridge_all")}, ds, "params", n_splits=3, n_bootstrap=20)
    assert list(res.targets) == ["gdi", "speed", "cadence"]
    assert any("gdi_left" in n for n in res.notes)
    assert any(n.startswith("5 clips") for n in res.notes)
    assert len(res.targets["gdi"].dataset) == len(ds) - 5


def test_no_target_at_all_is_a_clear_error(monkeypatch):
    _params_suite(monkeypatch, ("gdi_left", "gdi_right"))
    with pytest.raises(LabelError, match="none of the"):
        cross_validate({"mean": SPECS["mean"]}, params_dataset(), "params", n_splits=3, n_bootstrap=10)


def test_best_feature_model_is_the_lowest_clip_rmse():
    p = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3 + ["net"] * 3, "repeat": 0,
                      "y_true": [1.0, 2, 3] * 3, "y_pred": [1.5, 2, 3, 1, 2, 3.1, 1, 2, 3]})
    specs = {"a": ModelSpec(lambda s: None, "a"), "b": ModelSpec(lambda s: None, "b"),
             "net": ModelSpec(lambda s: None, "n", inputs="clips", network=True)}
    assert best_feature_model(p, specs) == "b"          # the network is never a candidate, even when perfect


def test_median_pooling_by_hand():
    pred = pd.DataFrame({"patient_id": ["p"] * 3 + ["q"] * 2, "video_id": ["v"] * 3 + ["w"] * 2,
                         "y_true": [10.0, 10, 10, 5, 5], "y_pred": [1.0, 2, 30, 4, 6]})
    mean = aggregate_predictions(pred, "video")
    med = aggregate_predictions(pred, "video", pooling="median")
    assert mean["y_pred"].tolist() == [11.0, 5.0]
    assert med["y_pred"].tolist() == [2.0, 5.0]
    assert med["y_true"].tolist() == [10.0, 5.0]
    with pytest.raises(ValueError, match="pooling"):
        aggregate_predictions(pred, "video", pooling="max")


def test_overview_record_and_page(monkeypatch, tmp_path):
    _params_suite(monkeypatch)
    ds = params_dataset()
    res = cross_validate(SPECS, ds, "params", n_splits=3, n_bootstrap=30, pooling="median")
    folder = res.write(tmp_path)
    record, _ = read_record(folder)
    assert record["kind"] == "multi-target" and list(record["targets"]) == list(TARGET_COLS)
    assert record["configuration"]["pooling"] == "median"
    assert record["targets"]["gdi"]["published_r"] == PUBLISHED_CORRELATIONS["gdi"]
    assert record["network_models"] == ["readback"]
    for t in TARGET_COLS:
        sub = json.loads((folder / t / "metrics.json").read_text())
        assert sub["unit"] == TARGETS[t][0]
        assert sub["models"]["readback"]["reference"] == "ridge_all"
        assert (folder / t / "index.html").is_file()
        assert record["targets"][t]["models"]["readback"]["video"]["metrics"]["rmse"] == pytest.approx(
            sub["models"]["readback"]["levels"]["video"]["metrics"]["rmse"])
    html = (folder / "index.html").read_text()
    assert "Published, on clinical data; not comparable to simulated results." in html
    assert 'href="gdi/index.html"' in html
    assert "yes: readback vs ridge_all" in html            # an exact network beats the features
    before = html
    render_folder(folder)                                   # the page is rendered from the record alone
    assert (folder / "index.html").read_text() == before


def test_params_suite_refuses_single_target_options():
    with pytest.raises(ValueError, match="several targets"):
        cross_validate(None, params_dataset(), "params", importance=True)


@pytest.mark.slow
def test_cli_params_quick_end_to_end(tmp_path):
    from evaluation.run import main

    assert main(["--suite", "params", "--profile", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    folder = tmp_path / "params"
    record = json.loads((folder / "metrics.json").read_text())
    assert record["kind"] == "multi-target"
    assert list(record["targets"]) == list(TARGETS)            # the simulator labels every target
    assert record["data"]["simulated"] is True
    nets = {"tcnn", "tcnn_buckets", "cnnlstm", "stgcn"}
    assert set(record["network_models"]) == nets
    for t in TARGETS:
        sub = json.loads((folder / t / "metrics.json").read_text())
        # one network per fold for all targets: the same fits (epochs, seconds) appear under every target
        assert {d["model"] for d in sub["deep"]} == nets
        assert record["targets"][t]["models"]["ridge_all"]["video"]["metrics"]["pearson_r"] > 0.3
    html = (folder / "index.html").read_text()
    assert "SIMULATED DATA" in html and "not comparable to simulated results" in html
