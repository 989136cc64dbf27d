"""The explanation study (--suite explain): clip choice, summaries, the record and its page."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from evaluation.explain_study import EXPLAIN_PROFILES, choose_clips
from evaluation.explain_summary import patient_mean, significance, top_k_sets
from evaluation.explain_study import FoldExplanation


def test_choose_clips_takes_overlapping_pairs_from_test_videos_levels_in_turn():
    meta = pd.DataFrame({"video_id": np.repeat([f"v{i}" for i in range(8)], 5),
                         "clip_start": np.tile(np.arange(5) * 12, 8)})
    y = np.repeat([1, 1, 2, 2, 3, 3, 4, 4], 5)
    test = np.arange(10, 40)                       # videos v2..v7
    rows, pairs = choose_clips(meta, test, y, 8, np.random.default_rng(0))
    assert len(rows) == 8 and set(rows) <= set(test)
    assert sorted(set(y[rows])) == [2, 3, 4]       # every level of the test videos
    assert len(pairs) == 4
    for i, j, shift in pairs:
        a, b = rows[i], rows[j]
        assert meta.video_id[a] == meta.video_id[b] and shift == 12
        assert meta.clip_start[b] - meta.clip_start[a] == shift


def test_patient_mean_resamples_patients_not_clips():
    values = np.r_[np.zeros(50), np.ones(2)]
    patients = np.r_[np.repeat(["a"], 50), ["b", "c"]]
    out = patient_mean(values, patients, 500, 0)
    assert out["mean"] == pytest.approx(2 / 52)
    assert out["n_patients"] == 3 and out["n"] == 52
    lo, hi = out["ci"]
    assert lo < 0.02 and hi == pytest.approx(1.0)   # ~30 % of resamples hold only b and c (clip resampling: ~4 %)
    assert patient_mean(np.full(3, np.nan), np.arange(3), 10, 0)["mean"] is None


def _explanation(fold, scores, groups):
    e = FoldExplanation("stgcn", fold, np.arange(len(scores)), np.asarray(groups))
    e.scores["ig"] = np.asarray(scores, dtype=float)
    return e


def test_significance_and_top_k_from_the_selection_half_only():
    rng = np.random.default_rng(0)
    n, v = 40, 6
    high = rng.uniform(0, 0.2, (n, v))
    high[:, [1, 4]] = rng.uniform(0.8, 1.0, (n, 2))         # two joints dominate the severe clips
    low = rng.uniform(0, 0.2, (n, v))
    low[:, 0] = 1.0
    scores = np.vstack([high, low])
    groups = ["high"] * n + ["low"] * n
    e = _explanation(0, scores, groups)
    sig = significance([e], "stgcn")["ig"]
    assert set(sig["groups"]["high"]["top_k"]) <= {1, 4}
    assert sig["groups"]["low"]["top_k"] == [0]              # evidence for the predicted mild level: red joints
    assert sig["groups"]["high"]["colours"][1] == "very_high"
    # the selection half holds different joints than the rest: top-k must follow the selection half
    flipped = scores.copy()
    flipped[:n // 2, [1, 4]] = 0.05
    flipped[:n // 2, [2, 3]] = 0.95
    e2 = _explanation(0, flipped, groups)
    half = np.zeros(2 * n, bool)
    half[:n // 2] = True
    half[n:n + n // 2] = True
    sets = top_k_sets([e2], "stgcn", {0: half})
    assert set(sets[("ig", "high")]) <= {2, 3} and sets[("ig", "high")]


def test_all_zero_maps_are_left_out_of_significance():
    scores = np.zeros((6, 4))
    e = _explanation(0, scores, ["high"] * 6)
    assert significance([e], "stgcn")["ig"]["groups"] == {}


def _tiny_settings():
    return replace(EXPLAIN_PROFILES["quick"], n_explain=8, models=("stgcn", "angle"), lime_samples=20,
                   angle_selection=0, reference_clips=40)


@pytest.fixture(scope="module")
def tiny_study():
    from evaluation.explain_run import explain_study

    return explain_study("synthetic", n_splits=2, profile="quick", settings=_tiny_settings(), n_bootstrap=50,
                         device="cpu", random_state=3, data_options={"n_patients": 16})


def test_study_record_holds_every_model_and_method(tiny_study):
    from evaluation.explain_study import MODEL_METHODS

    rec = tiny_study["record"]
    pairs = {(r["model"], r["method"]) for r in rec["faithfulness"]}
    assert pairs == {(m, k) for m in ("stgcn", "angle") for k in MODEL_METHODS[m]}
    for r in rec["faithfulness"]:
        assert r["n_clips"] > 0 and r["n_patients"] > 0
    assert set(rec["agreement"]["stgcn"]["methods"]) == set(MODEL_METHODS["stgcn"])
    assert len(rec["angle"]["channels"]) == len(rec["angle"]["maps"]["ig"])
    assert rec["baselines"] and {b["baseline"] for b in rec["baselines"]} == {"training mean pose", "clip_mean",
                                                                               "zeros"}


def test_record_page_renders_and_re_renders_identically(tiny_study, tmp_path):
    from evaluation.explain_record import write_explain_record
    from evaluation.report import render_folder

    folder = write_explain_record(tiny_study, tmp_path / "explain", command="python -m evaluation.run --suite explain")
    first = (folder / "explain.html").read_text()
    assert "SIMULATED DATA" in first and "Faithfulness" in first and "<script" not in first
    record = json.loads((folder / "metrics.json").read_text())
    assert record["suite"] == "explain" and record["data"]["simulated"] is True
    render_folder(folder)
    assert (folder / "explain.html").read_text() == first


def test_page_escapes_strings_from_data(tiny_study, tmp_path):
    from evaluation.explain_record import build_explain_record
    from evaluation.report.explain_page import render_explain_page

    record = build_explain_record(tiny_study)
    record["data"]["description"] = "<script>alert(1)</script>"
    record["configuration"]["command"] = "<img src=x onerror=alert(1)>"
    html = render_explain_page(json.loads(json.dumps(record)))
    assert "<script>alert" not in html and "<img src=x" not in html


@pytest.mark.slow
def test_same_seed_same_numbers(tiny_study):
    from evaluation.explain_run import explain_study

    again = explain_study("synthetic", n_splits=2, profile="quick", settings=_tiny_settings(), n_bootstrap=50,
                          device="cpu", random_state=3, data_options={"n_patients": 16})
    assert json.dumps(again["record"], sort_keys=True, default=str) == \
        json.dumps(tiny_study["record"], sort_keys=True, default=str)


@pytest.mark.slow
def test_cli_quick_profile(tmp_path):
    """The quick profile end to end from the command line."""
    cmd = [sys.executable, "-m", "evaluation.run", "--suite", "explain", "--profile", "quick", "--no-progress",
           "--device", "cpu", "--out", str(tmp_path), "--patients", "24", "--folds", "2", "--bootstrap", "100"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "most faithful" in done.stdout
    assert (tmp_path / "explain" / "explain.html").is_file()
    record = json.loads((tmp_path / "explain" / "metrics.json").read_text())
    assert record["configuration"]["command"].startswith("python -m evaluation.run --suite explain")
    bad = subprocess.run([sys.executable, "-m", "evaluation.run", "--suite", "explain", "--models", "xgb",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--models" in bad.stderr
