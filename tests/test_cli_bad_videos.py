"""One bad video never stops a run: the CLI over a folder with a corrupt, an unreadable and a mislabelled video."""

from __future__ import annotations

import json

import pandas as pd

import gaitfeat
from evaluation.run import main


def _folder(tmp_path):
    root = tmp_path / "videos"
    rows = []
    for i in range(12):
        walk = gaitfeat.simulate_walk(1 + i % 2, duration=9.0, random_state=i)
        gaitfeat.write_openpose(walk.sequence, root / f"vid{i}")
        rows.append({"video_id": f"vid{i}", "patient_id": f"child{i}", "gmfcs": 1 + i % 2, "fps": walk.sequence.fps})
    # corrupt: not JSON
    (root / "corrupt").mkdir()
    (root / "corrupt" / "corrupt_000000000000_keypoints.json").write_text("{not json")
    rows.append({"video_id": "corrupt", "patient_id": "child20", "gmfcs": 1, "fps": 30.0})
    # unreadable: a dangling link and a directory named like a frame file
    (root / "unreadable").mkdir()
    (root / "unreadable" / "unreadable_000000000000_keypoints.json").symlink_to(root / "nowhere.json")
    (root / "unreadable" / "unreadable_000000000001_keypoints.json").mkdir()
    rows.append({"video_id": "unreadable", "patient_id": "child21", "gmfcs": 2, "fps": 30.0})
    # mislabelled: a GMFCS level that does not exist
    gaitfeat.write_openpose(gaitfeat.simulate_walk(1, duration=9.0, random_state=99).sequence, root / "mislabelled")
    rows.append({"video_id": "mislabelled", "patient_id": "child22", "gmfcs": 7, "fps": 30.0})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    return root, tmp_path / "labels.csv"


def test_cli_skips_and_reports_bad_videos(tmp_path, capsys):
    root, labels = _folder(tmp_path)
    args = ["--suite", "gmfcs", "--profile", "quick", "--data", f"openpose:{root}", "--labels", str(labels),
            "--models", "majority,logreg_paper14", "--folds", "2", "--val-fraction", "0.34", "--no-importance", "--no-progress",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 2 videos unreadable" in err and "corrupt" in err and "unreadable" in err
    assert "skipped 1 videos mislabelled" in err and "mislabelled" in err
    record = json.loads((tmp_path / "out" / "gmfcs" / "metrics.json").read_text())
    text = json.dumps(record["data"])
    for video in ("corrupt", "unreadable", "mislabelled"):
        assert video in text
    page = (tmp_path / "out" / "gmfcs" / "index.html").read_text()
    assert "unreadable videos (skipped)" in page and "invalid label row (skipped)" in page
    # --strict: the first bad video stops the run with exit code 2 and says why.
    assert main(args + ["--strict"]) == 2
    assert "error:" in capsys.readouterr().err
