"""The harness's 3-D and pose-file data sources: synthetic3d, trc:, array:, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evaluation.data import SOURCES, load_data
from evaluation.run import main
from gaitfeat.errors import GaitError, LabelError
from gaitfeat.io import write_array, write_trc
from gaitfeat.simulate import simulate_walk


@pytest.fixture(scope="module")
def walks():
    """Six simulated children, one 3-D walk each (lifter noise), filmed from behind or in front."""
    out = []
    for i in range(6):
        w = simulate_walk(1 + i % 3, random_state=100 + i, camera="back" if i % 2 else "front", dims=3,
                          patient_id=f"P{i}", video_id=f"v{i}", duration=12.0, noise="default")
        out.append(w)
    return out


def _labels(tmp_path, walks, **extra) -> str:
    rows = [{"video_id": w.sequence.video_id, "patient_id": w.sequence.patient_id, "gmfcs": w.labels["gmfcs"],
             "gdi": w.labels["gdi"], **extra} for w in walks]
    path = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_sources_are_listed():
    for name in ("synthetic3d", "trc", "array", "mediapipe", "mediapipe3d", "alphapose", "mmpose"):
        assert name in SOURCES
    with pytest.raises(ValueError, match="trc:PATH"):
        load_data("vicon:/data")
    with pytest.raises(ValueError, match="camera"):
        load_data("synthetic3d:ceiling")
    with pytest.raises(LabelError, match="label table"):
        load_data("trc:/nowhere")


def test_trc_folder_with_labels(tmp_path, walks):
    folder = tmp_path / "trc"
    folder.mkdir()
    for w in walks:
        write_trc(folder / f"{w.sequence.video_id}.trc", w.sequence, marker_names="openpose")
    (folder / "v5.trc").write_text("PathFileType\t4\t(X/Y/Z)\tbroken.trc\n")  # one bad file
    labels = _labels(tmp_path, walks)
    data = load_data(f"trc:{folder}", labels=labels, layout="body25")
    assert set(data.meta["video_id"]) == {f"v{i}" for i in range(5)}
    assert "v5.trc" in data.report["videos_unreadable"]["v5"] and "line" in data.report["videos_unreadable"]["v5"]
    assert "3-D" in data.description and not data.simulated
    # Metric input: the clips know their leg length in metres, and the features have metre columns.
    assert np.isfinite(data.meta["leg_length_m"]).all()
    legs = data.meta.groupby("video_id")["leg_length_m"].first()
    truth = {w.sequence.video_id: w.labels["leg_length_m"] for w in walks}
    for video, leg in legs.items():
        assert leg == pytest.approx(truth[video], rel=0.05)
    feats = data.features
    assert "stride_length_m" in feats.columns and np.isfinite(feats["cadence"]).mean() > 0.8
    with pytest.raises(GaitError, match="v5"):
        load_data(f"trc:{folder}", labels=labels, strict=True)


def test_array_folder_and_layout_conversion(tmp_path, walks):
    folder = tmp_path / "arrays"
    folder.mkdir()
    for w in walks[:4]:
        seq = w.sequence.to_layout("mpi_inf_3dhp_17")  # a MeTRAbs-like skeleton: no face, no feet
        write_array(folder / f"{seq.video_id}.npz", seq.replace(positions=seq.positions * 1000.0, units="mm"))
    labels = _labels(tmp_path, walks[:4])
    data = load_data(f"array:{folder}", labels=labels, layout="coco17")
    assert len(data) > 0 and data.layout == "coco17"
    assert data.meta["valid_fraction"].min() >= 0.8  # the absent face joints are not held against the clips
    # The models want BODY_25 but a lifter without feet cannot give it: every video is skipped, with the reason.
    with pytest.raises(GaitError, match="no video could be preprocessed: v0: .*cannot convert 'coco17' to 'body25'"):
        load_data(f"array:{folder}", labels=labels, layout="body25")


def test_synthetic3d_source():
    data = load_data("synthetic3d:back", n_patients=8, random_state=1)
    assert data.simulated and "SIMULATED 3-D" in data.description
    assert set(data.meta["camera"]) == {"back"} and set(data.meta["dims"]) == {3}
    assert np.isfinite(data.meta["leg_length_m"]).all()
    assert np.isfinite(data.features["stride_length_m"]).mean() > 0.8


@pytest.mark.slow
def test_cli_quick_gmfcs_on_simulated_3d(tmp_path, capsys):
    assert main(["--suite", "gmfcs", "--profile", "quick", "--data", "synthetic3d", "--patients", "24",
                 "--out", str(tmp_path), "--no-progress", "--no-importance"]) == 0
    out = capsys.readouterr().out
    assert "simulated" in out.lower()
    record = json.loads((tmp_path / "gmfcs" / "metrics.json").read_text())
    assert record["data"]["simulated"] and record["data"]["source"] == "synthetic3d"
    assert record["data"]["description"].startswith("SIMULATED 3-D cohort")
    accuracy = [m["levels"]["clip"]["metrics"]["accuracy"] for m in record["models"].values()
                if "levels" in m and "accuracy" in m["levels"]["clip"]["metrics"]]
    assert accuracy and max(accuracy) > 0.4
    assert "SIMULATED 3-D" in (tmp_path / "gmfcs" / "index.html").read_text()


def test_alphapose_folder_with_a_missing_frame_rate(tmp_path):
    """A 2-D scheme end to end; a label row without fps is skipped and reported, not fatal (unless strict)."""
    import json as _json

    folder = tmp_path / "ap"
    folder.mkdir()
    rows = []
    for i in range(4):
        walk = simulate_walk(1 + i % 3, random_state=200 + i, noise="none", duration=10.0)
        kp = np.nan_to_num(walk.sequence.to_layout("coco17").keypoints)
        dets = [{"image_id": f"{t}.jpg", "category_id": 1, "keypoints": kp[t].ravel().tolist(), "score": 2.5}
                for t in range(len(kp))]
        (folder / f"v{i}.json").write_text(_json.dumps(dets))
        rows.append({"video_id": f"v{i}", "patient_id": f"P{i}", "gmfcs": walk.labels["gmfcs"],
                     "fps": walk.sequence.fps if i else np.nan})
    labels = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    data = load_data(f"alphapose:{folder}", labels=str(labels))
    assert set(data.meta["video_id"]) == {"v1", "v2", "v3"} and "fps" in data.report["videos_mislabelled"]["v0"]
    with pytest.raises(LabelError, match="no fps for video 'v0'"):
        load_data(f"alphapose:{folder}", labels=str(labels), strict=True)
