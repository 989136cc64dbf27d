"""The evaluation harness: leakage guard, known-answer data, data sources, CLI, report safety."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, KFold

import evaluation
from evaluation import Dataset, LeakageError, check_disjoint, cross_validate, load_data
from evaluation.browser import dump_dom, find_chromium, screenshot
import evaluation.report
from evaluation.report.__main__ import main as report_main
from evaluation.run import main
from gaitfeat import FEATURE_INFO, FEATURES, simulate_walk, write_clips_npz, write_openpose
from gaitfeat.errors import GaitError, LabelError
from models.evidence import decimals


def toy_dataset(n_patients=60, clips_per_patient=8, informative=True, seed=0, patient_ids=None) -> Dataset:
    """A feature table where ``cadence`` alone decides the GMFCS level (or, shuffled, decides nothing)."""
    rng = np.random.default_rng(seed)
    levels = np.resize([1, 2, 3, 4], n_patients)
    rng.shuffle(levels)
    pids = patient_ids if patient_ids is not None else [f"P{i:03d}" for i in range(n_patients)]
    rows, feats = [], []
    for p, level in zip(pids, levels):
        for c in range(clips_per_patient):
            f = dict(zip(FEATURES, rng.normal(size=len(FEATURES))))
            f["cadence"] = 140 - 15 * level + rng.normal(0, 2)
            f["nan_reason"] = ""
            feats.append(f)
            rows.append({"patient_id": p, "video_id": f"{p}_v{c // 4}", "clip_start": 12 * c, "fps": 30.0,
                         "gmfcs": int(level), "gdi": 100 - 10 * level + rng.normal(0, 1)})
    meta = pd.DataFrame(rows)
    table = pd.DataFrame(feats)
    if not informative:
        # labels drawn per patient, independent of every feature
        new = dict(zip(pids, rng.permutation(levels)))
        meta["gmfcs"] = meta["patient_id"].map(new)
    clips = np.zeros((len(meta), 4, 17, 3), np.float32)
    return Dataset(clips, meta, "toy", "toy data set", _features=table)


FAST = ("majority", "logreg_all")


def test_known_answer_is_learned_and_shuffled_labels_are_chance():
    good = cross_validate(list(FAST), toy_dataset(), "gmfcs", n_splits=4, n_bootstrap=200)
    s = good.scores()["models"]
    assert s["logreg_all"]["clip"]["metrics"]["accuracy"] > 0.97
    assert s["logreg_all"]["patient"]["metrics"]["kappa_linear"] > 0.95
    assert abs(s["majority"]["clip"]["metrics"]["kappa_linear"]) < 0.15   # the majority class differs between folds
    comp = good.scores()["comparisons"]["models"]["logreg_all"]
    assert comp["patient"]["accuracy"]["ci"][0] > 0 and comp["mcnemar_patient"]["p_value"] < 0.01

    bad = cross_validate(list(FAST), toy_dataset(informative=False, seed=1), "gmfcs", n_splits=4, n_bootstrap=200)
    m = bad.scores()["models"]["logreg_all"]["patient"]
    assert abs(m["metrics"]["kappa_linear"]) < 0.3
    assert m["ci95"]["kappa_linear"][0] < 0 < m["ci95"]["kappa_linear"][1] or abs(m["metrics"]["kappa_linear"]) < 0.1
    assert m["metrics"]["accuracy"] < 0.45


def test_regression_known_answer():
    res = cross_validate(["mean", "ridge_all"], toy_dataset(), "gdi", n_splits=4, n_bootstrap=100)
    s = res.scores()["models"]
    assert s["ridge_all"]["video"]["metrics"]["pearson_r"] > 0.95
    assert s["ridge_all"]["clip"]["metrics"]["rmse"] < 3.0 < s["mean"]["clip"]["metrics"]["rmse"]
    assert "wilcoxon_patient" in res.scores()["comparisons"]["models"]["ridge_all"]


def test_every_clip_predicted_once_per_model_and_folds_disjoint():
    ds = toy_dataset(n_patients=24)
    res = cross_validate(list(FAST), ds, "gmfcs", n_splits=3, n_repeats=2, n_bootstrap=50)
    pred = res.predictions
    for (model, repeat), g in pred.groupby(["model", "repeat"]):
        assert sorted(g["row"]) == list(range(len(ds)))
        fold_of_patient = g.groupby("patient_id")["fold"].nunique()
        assert (fold_of_patient == 1).all()
    assert "repeat_sd" in res.scores()["models"]["logreg_all"]["clip"]
    assert set(res.folds["repeat"]) == {0, 1}


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
def test_leakage_guard_refuses_planted_leaks():
    patients = np.array(["a", "a", "b", "b", "c", "c"])
    check_disjoint(patients, np.array([0, 1, 2, 3]), np.array([4, 5]))
    with pytest.raises(LeakageError, match="1 patient"):
        check_disjoint(patients, np.array([0, 1, 2]), np.array([3, 4, 5]))
    ds = toy_dataset(n_patients=20)
    # clip-level KFold puts clips of one patient on both sides
    with pytest.raises(LeakageError, match="both sides"):
        cross_validate(list(FAST), ds, "gmfcs", cv=KFold(4, shuffle=True, random_state=0), n_bootstrap=10)
    rows = np.arange(len(ds))
    planted = [(rows[rows % 2 == 0], rows[rows % 2 == 1])]
    with pytest.raises(LeakageError):
        cross_validate(list(FAST), ds, "gmfcs", cv=planted, n_bootstrap=10)
    ok = cross_validate(list(FAST), ds, "gmfcs", cv=GroupKFold(4), n_bootstrap=10)
    assert ok.config["user_splits"]


def test_patient_ids_required_unless_video_as_patient():
    ds = toy_dataset(n_patients=12)
    meta = ds.meta.copy()
    meta.loc[:5, "patient_id"] = None
    with pytest.raises(LabelError, match="no patient ID"):
        Dataset(ds.clips, meta, "toy", "toy")
    meta2 = ds.meta.drop(columns=["patient_id"])
    with pytest.raises(LabelError, match="--video-as-patient"):
        Dataset(ds.clips, meta2, "toy", "toy")
    as_video = Dataset(ds.clips, meta2, "toy", "toy", video_as_patient=True, _features=ds.features)
    assert as_video.meta["patient_id"].nunique() == as_video.meta["video_id"].nunique()
    # one video claimed by two patients is a leak waiting to happen
    meta3 = ds.meta.copy()
    meta3.loc[0, "patient_id"] = "someone_else"
    with pytest.raises(LeakageError, match="more than one patient"):
        Dataset(ds.clips, meta3, "toy", "toy")


def test_holdout_protocol_and_reproducibility():
    ds = toy_dataset(n_patients=40)
    a = cross_validate(list(FAST), ds, "gmfcs", protocol="holdout", n_bootstrap=50, random_state=3)
    b = cross_validate(list(FAST), ds, "gmfcs", protocol="holdout", n_bootstrap=50, random_state=3)
    assert a.folds.shape[0] == 1
    test_patients = a.predictions["patient_id"].nunique()
    assert 0.25 * 40 <= test_patients <= 0.4 * 40
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    assert json.dumps(a.scores(), default=str) == json.dumps(b.scores(), default=str)


def test_unknown_labels_and_bad_options():
    ds = toy_dataset(n_patients=12)
    ds.meta.loc[0, "gmfcs"] = 7
    with pytest.raises(LabelError):
        cross_validate(list(FAST), ds, "gmfcs", n_splits=3)
    ds = toy_dataset(n_patients=12)
    with pytest.raises(ValueError, match="unknown model"):
        cross_validate(["nope"], ds, "gmfcs")
    with pytest.raises(ValueError, match="unknown suite"):
        cross_validate(None, ds, "speed")
    with pytest.raises(LabelError, match="cannot be split"):
        cross_validate(list(FAST), ds, "gmfcs", n_splits=20)
    # clips without a label are left out and counted, not crashed on
    ds.meta.loc[:7, "gmfcs"] = np.nan
    res = cross_validate(list(FAST), ds, "gmfcs", n_splits=3, n_bootstrap=10)
    assert res.target_info["clips_without_label"] == 8
    assert len(res.dataset) == len(ds) - 8


def test_class_weight_and_user_estimator():
    from sklearn.ensemble import RandomForestClassifier

    ds = toy_dataset(n_patients=24)
    res = cross_validate({"rf": RandomForestClassifier(n_estimators=20), "majority": evaluation.MODELS["gmfcs"]["majority"]},
                         ds, "gmfcs", n_splits=3, class_weight="balanced", n_bootstrap=20, random_state=1)
    assert res.scores()["models"]["rf"]["clip"]["metrics"]["accuracy"] > 0.7
    assert res.config["class_weight"] == "balanced" and res.config["reference"] == "majority"


def test_report_escapes_data_strings(tmp_path):
    evil = "<script>alert(1)</script>"
    ids = [evil] + [f"P{i}" for i in range(1, 16)]
    ds = toy_dataset(n_patients=16, patient_ids=ids)
    ds.description = "toy <b>bold</b> & co"
    res = cross_validate({"<img src=x onerror=alert(2)>": evaluation.MODELS["gmfcs"]["logreg_all"],
                          "majority": evaluation.MODELS["gmfcs"]["majority"]}, ds, "gmfcs", n_splits=4, n_bootstrap=20)
    folder = res.write(tmp_path)
    page = (folder / "index.html").read_text()
    assert evil not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    record = json.loads((folder / "metrics.json").read_text())
    assert record["schema_version"] == evaluation.SCHEMA_VERSION
    # The record is an input of `python -m evaluation.report`: numbers replaced by markup are escaped too.
    tampered = json.loads((folder / "metrics.json").read_text())
    tampered["data"]["counts"]["videos"] = "<script>alert(3)</script>"
    tampered["deep"] = [{"model": "<i>net</i>", "fold": 0, "epochs_run": "<i>many</i>", "best_epoch": 1,
                         "fit_seconds": 1.0}]
    tampered["patient_predictions"]["rows"][0][1] = "<script>alert(4)</script>"
    first = next(iter(tampered["models"]))
    tampered["models"][first]["levels"]["clip"]["metrics"]["accuracy"] = "<script>alert(5)</script>"
    (folder / "metrics.json").write_text(json.dumps(tampered))
    evaluation.report.render_folder(folder)
    page = (folder / "index.html").read_text()
    assert "<script" not in page.lower() and "<i>" not in page
    assert "&lt;script&gt;alert(3)" in page and "&lt;script&gt;alert(5)" in page
    (folder / "metrics.json").write_text(json.dumps(record))
    evaluation.report.render_folder(folder)
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: the page was checked as text only")
    dom = dump_dom(folder / "index.html")
    assert "<table" in dom and "<script" not in dom.lower()
    png = screenshot(folder / "index.html", tmp_path / "page.png", height=1200)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_two_levels_roman_labels_and_padded_ids(tmp_path):
    ds = toy_dataset(n_patients=24)
    keep = ds.meta["gmfcs"].isin([1, 2]).to_numpy()
    two = ds.subset(keep)
    two.meta["gmfcs"] = two.meta["gmfcs"].map({1: "I", 2: "GMFCS II"})     # valid spellings of levels 1 and 2
    two.meta.loc[two.meta.index[:3], "patient_id"] = " " + two.meta["patient_id"].iloc[:3] + " "
    two = Dataset(two.clips, two.meta, "toy", "toy", _features=two.features)
    assert two.meta["patient_id"].nunique() == 12                        # padded IDs are the same patients
    res = cross_validate(["majority", "xgb_all"], two, "gmfcs", n_splits=3, n_bootstrap=20)
    assert res.scores()["models"]["xgb_all"]["clip"]["metrics"]["accuracy"] > 0.9
    record = json.loads((res.write(tmp_path) / "metrics.json").read_text())
    assert set(record["data"]["counts"]["per_class"]) == {"1", "2"}


def test_user_split_rows_refer_to_the_data_as_given():
    ds = toy_dataset(n_patients=12)
    ds.meta.loc[:7, "gmfcs"] = np.nan                                  # patient P000's clips carry no label
    patients = ds.meta["patient_id"].to_numpy()
    folds = [(np.flatnonzero(~np.isin(patients, g)), np.flatnonzero(np.isin(patients, g)))
             for g in (["P000", "P001", "P002", "P003"], ["P004", "P005", "P006", "P007"], ["P008", "P009", "P010", "P011"])]
    res = cross_validate(list(FAST), ds, "gmfcs", cv=folds, n_bootstrap=10)
    pred = res.predictions[res.predictions["model"] == "majority"]
    assert len(pred) == len(ds) - 8
    assert (res.dataset.meta["patient_id"].to_numpy()[pred["row"]] == pred["patient_id"].to_numpy()).all()
    with pytest.raises(ValueError, match="overlap"):
        cross_validate(list(FAST), ds, "gmfcs", cv=folds + folds[:1], n_bootstrap=10)


# ---------------------------------------------------------------- data sources and the command line

@pytest.fixture(scope="module")
def walks():
    return [simulate_walk(level, noise="default", random_state=seed, duration=8.0)
            for seed, level in enumerate((1, 2, 3, 1, 2, 3))]


def test_openpose_source(tmp_path, walks):
    root = tmp_path / "videos"
    rows = []
    for i, w in enumerate(walks):
        write_openpose(w.sequence, root / f"vid{i}")
        rows.append({"video_id": f"vid{i}", "patient_id": f"child{i // 2}", "gmfcs": w.labels["gmfcs"], "fps": w.sequence.fps})
    (root / "unlabelled").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "x_000000000000_keypoints.json").write_text("{not json")
    rows.append({"video_id": "broken", "patient_id": "child9", "gmfcs": 2, "fps": 30.0})
    rows.append({"video_id": "missing_folder", "patient_id": "child9", "gmfcs": 2, "fps": 30.0})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    ds = load_data(f"openpose:{root}", labels=tmp_path / "labels.csv")
    assert ds.meta["video_id"].nunique() == 6 and ds.meta["patient_id"].nunique() == 3
    assert ds.report["video_folders_without_labels"] == ["unlabelled"]
    assert ds.report["labels_without_video_folder"] == ["missing_folder"]
    assert "broken" in ds.report["videos_unreadable"]
    assert ds.features.shape[0] == len(ds)
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"video_id": "vid0", "patient_id": "c", "gmfcs": "VI"}]).to_csv(bad, index=False)
    with pytest.raises(LabelError):
        load_data(f"openpose:{root}", labels=bad, fps=30.0)
    pd.DataFrame([{"video_id": "vid0", "patient_id": "c", "gmfcs": 1, "fps": "abc"}]).to_csv(bad, index=False)
    with pytest.raises(LabelError, match="fps"):
        load_data(f"openpose:{root}", labels=bad)
    with pytest.raises(LabelError, match="label table"):
        load_data(f"openpose:{root}")


def test_kidzinski_source(tmp_path, walks):
    root = tmp_path / "gillette"
    (root / "video_csvs").mkdir(parents=True)
    rows = []
    for i, w in enumerate(walks):
        kp = np.nan_to_num(w.sequence.keypoints.astype(np.float64), nan=0.0).reshape(len(w.sequence.keypoints), -1)
        np.savetxt(root / "video_csvs" / f"{100 + i}.csv", kp, delimiter=",", fmt="%.3f")
        for side in ("L", "R"):
            rows.append({"videoid": 100 + i, "Patient_ID": i // 2, "side": side, "GDI": w.labels["gdi"],
                         "gmfcs": w.labels["gmfcs"], "speed": 1.0, "cadence": 1.0})
    pd.DataFrame(rows).to_csv(root / "alldata_processed.csv", index=False)
    ds = load_data(f"kidzinski:{root}")
    assert ds.layout == "coco17" and ds.clips.shape[2] == 17
    assert ds.meta["patient_id"].nunique() == 3
    assert np.allclose(ds.meta.groupby("video_id")["gdi"].first().sort_index().to_numpy(),
                       [w.labels["gdi"] for w in walks], atol=1e-6)


def test_npz_source_and_errors(tmp_path):
    ds = load_data("synthetic", n_patients=8, random_state=1, n_jobs=1)
    assert ds.simulated
    write_clips_npz(tmp_path / "c.npz", ds.clips, ds.meta, extra={"simulated": True})
    back = load_data(f"npz:{tmp_path / 'c.npz'}")
    assert back.simulated and len(back) == len(ds)
    for bad, error in (("nonsense", ValueError), ("npz:", ValueError), (f"npz:{tmp_path / 'none.npz'}", GaitError),
                       ("synthetic:extra", ValueError), (f"openpose:{tmp_path / 'nowhere'}", GaitError)):
        with pytest.raises(error):
            load_data(bad)


def test_cli_quick_end_to_end(tmp_path, capsys):
    assert main(["--suite", "gmfcs", "--profile", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "patient-level" in out and "SIMULATED" in out
    folder = tmp_path / "gmfcs"
    record = json.loads((folder / "metrics.json").read_text())
    assert record["data"]["simulated"] and record["task"] == "classification"
    assert set(record["models"]) == set(evaluation.MODELS["gmfcs"])
    for name, model in record["models"].items():
        for level in ("clip", "video", "patient"):
            entry = model["levels"][level]
            assert set(entry["ci95"]) >= {"accuracy", "kappa_linear", "f1_weighted"}
            acc = entry["metrics"]["accuracy"]
            lo, hi = entry["ci95"]["accuracy"]
            assert lo <= acc <= hi
    assert record["environment"]["packages"]["numpy"]
    assert record["comparisons"]["reference"] == "majority"
    pred = pd.read_csv(folder / "predictions.csv")
    assert len(pred) == len(evaluation.MODELS["gmfcs"]) * record["data"]["counts"]["clips"]
    page = (folder / "index.html").read_text()
    assert "SIMULATED DATA" in page and "data:image/png;base64," in page
    # Yang, Chen & He's Table 3 rows: the dual-stream models are compared with the fold's ST-GCN baseline they start from.
    comp = record["comparisons"]["models"]
    assert comp["stgcn"]["reference"] == "majority"
    for name in ("dual_all_xattn", "dual_gradcam_xattn", "dual_gradcam_concat"):
        assert comp[name]["reference"] == "stgcn"
    deep = pd.DataFrame(record["deep"])
    assert set(deep["model"]) == {"stgcn", "dual_all_xattn", "dual_gradcam_xattn", "dual_gradcam_concat"}
    assert len(deep) == 4 * 3 and deep.loc[deep["model"] != "stgcn", "backbone_reused"].all()
    cams = deep[deep["model"] == "dual_gradcam_xattn"]
    assert all(len(j) == 17 and max(j) == 1.0 for j in cams["joint_contributions"])
    assert "Grad-CAM" in page and "Paired comparisons" in page
    # The pages are a pure function of the written record: delete them, re-render from the folder, same bytes.
    pages = {name: (folder / name).read_bytes() for name in ("index.html", "features.html")}
    for name in pages:
        (folder / name).unlink()
    assert report_main([str(folder)]) == 0
    for name, content in pages.items():
        assert (folder / name).read_bytes() == content, name
    # same seed, same numbers (a subset of the models, deep ones included)
    subset = ["majority", "logreg_all", "stgcn", "dual_gradcam_concat"]
    assert main(["--suite", "gmfcs", "--profile", "quick", "--out", str(tmp_path / "again"), "--no-progress",
                 "--no-html", "--no-importance", "--models", ",".join(subset)]) == 0
    again = json.loads((tmp_path / "again" / "gmfcs" / "metrics.json").read_text())
    for name in subset:
        record["models"][name].pop("fit_seconds")
        again["models"][name].pop("fit_seconds")
        assert again["models"][name] == record["models"][name], name
        if name != "majority":
            assert again["comparisons"]["models"][name] == record["comparisons"]["models"][name], name


def test_cli_gdi_quick(tmp_path):
    assert main(["--suite", "gdi", "--profile", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    record = json.loads((tmp_path / "gdi" / "metrics.json").read_text())
    assert record["task"] == "regression"
    assert record["models"]["xgb_all"]["levels"]["video"]["metrics"]["pearson_r"] > 0.3
    assert "Bland" in (tmp_path / "gdi" / "index.html").read_text()
    # the sequence regressors ran, were compared with the best feature model, and the bucket head has a spread
    best = record["configuration"]["best_feature_model"]
    assert best in ("ridge_all", "xgb_all")
    for name in ("tcnn", "tcnn_buckets", "cnnlstm", "stgcn"):
        assert record["models"][name]["reference"] == best
    assert record["models"]["dual_gradcam_concat"]["reference"] == "stgcn"
    assert set(record["uncertainty"]) == {"tcnn_buckets"}
    assert 0 < record["uncertainty"]["tcnn_buckets"]["coverage_95"] <= 1
    assert "Uncertainty of the bucket heads" in (tmp_path / "gdi" / "index.html").read_text()
    page = (tmp_path / "gdi" / "index.html").read_bytes()
    (tmp_path / "gdi" / "index.html").unlink()
    evaluation.report.render_folder(tmp_path / "gdi")
    assert (tmp_path / "gdi" / "index.html").read_bytes() == page


def test_report_command_refuses_folders_without_a_record(tmp_path, capsys):
    assert report_main([str(tmp_path)]) == 2
    assert "no metrics.json" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text('{"schema": "something else"}')
    assert report_main([str(tmp_path)]) == 2
    assert "not a gaitfeat evaluation record" in capsys.readouterr().err


def test_cli_unwritable_output_exits_2_before_running(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["--profile", "quick", "--out", str(blocker / "sub"), "--no-progress"]) == 2
    assert "cannot write the report" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--folds", "1"],
    ["--conf", "2"],
    ["--protocol", "holdout", "--repeats", "3"],
    ["--suite", "speed"],
    ["--data", "nonsense"],
    ["--data", "npz:/no/such/file.npz"],
    ["--labels", "x.csv"],
    ["--models", "nope", "--profile", "quick"],
    ["--val-fraction", "1.5"],
])
def test_cli_bad_arguments_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(argv + ["--out", str(tmp_path), "--no-progress"])
        raise SystemExit(code)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_feature_study_evidence_matches_feature_table(tmp_path):
    ds = load_data("synthetic", n_patients=24, random_state=2, n_jobs=1)
    res = cross_validate(["majority", "logreg_all"], ds, "gmfcs", n_splits=3, n_bootstrap=20, importance=True,
                         importance_options={"shap_rows": 200, "n_permutation": 2})
    study = res.importance
    assert set(study["importance"]) >= {"shap_xgb", "shap_linear", "permutation_xgb", "gain_xgb", "sfs_forward",
                                        "sfs_backward"}
    for values in study["importance"].values():
        assert sum(values.values()) == pytest.approx(1.0)
    assert len(study["sfs"]["forward"]["heldout_mean"]) == len(FEATURES)
    # every held-out patient has statements, and their numbers are the patient's mean feature values
    table = res.dataset.features
    patients = res.dataset.meta["patient_id"]
    assert {e["patient_id"] for e in study["evidence"]} == set(patients)
    for e in study["evidence"][:8]:
        means = table.loc[(patients == e["patient_id"]).to_numpy(), list(FEATURES)].mean()
        assert 3 <= len(e["statements"]) <= 5
        for st in e["statements"]:
            assert st["value"] == round(float(means[st["feature"]]), st["decimals"])
            assert f"{st['value']:.{st['decimals']}f}" in st["text"] or "pair" in st
            for name, value in st.get("pair", {}).items():
                mean = float(means[name])
                assert value == round(mean, decimals(FEATURE_INFO[name].unit, mean))
    folder = res.write(tmp_path)
    page = (folder / "features.html").read_text()
    assert "Rankings side by side" in page and "Evidence statements" in page and "SIMULATED DATA" in page
    assert 'href="features.html"' in (folder / "index.html").read_text()
    assert json.loads((folder / "metrics.json").read_text())["importance"]["folds"] == 3


def test_cli_features_suite(tmp_path):
    assert main(["--suite", "features", "--profile", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    page = (tmp_path / "features" / "index.html").read_text()
    assert "backward elimination" in page and "<script" not in page.lower()
    record = json.loads((tmp_path / "features" / "metrics.json").read_text())
    assert record["models"] == {} and record["importance"]["agreement"]
    assert record["configuration"]["study"] == "only" and record["suite"] == "features"
    (tmp_path / "features" / "index.html").unlink()
    assert report_main([str(tmp_path / "features")]) == 0
    assert (tmp_path / "features" / "index.html").read_text() == page
