"""Bad input to the pose model, preprocessing, the feature engine and the CLI's data loading."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat.errors import PoseDataError
from gaitfeat.testing import rolling_walker, stick_walker
from robustness import Case


def _pose_fps_bool(tmp):
    with pytest.raises(PoseDataError, match="fps must be a number"):
        gaitfeat.PoseSequence(np.zeros((5, 17, 3)), True, "coco17")


def _pose_ragged(tmp):
    with pytest.raises(PoseDataError, match="rectangular"):
        gaitfeat.PoseSequence([[[1.0, 2.0, 1.0]] * 17, [[1.0, 2.0, 1.0]] * 16], 30.0, "coco17")


def _pose_text(tmp):
    with pytest.raises(PoseDataError, match="real numbers"):
        gaitfeat.PoseSequence(np.full((5, 17, 3), "1"), 30.0, "coco17")


def _pose_negative_conf(tmp):
    kp = np.ones((5, 17, 3))
    kp[2, 3, 2] = -0.5
    with pytest.raises(PoseDataError, match="confidence -0.5 outside"):
        gaitfeat.PoseSequence(kp, 30.0, "coco17")


def _extreme_value(tmp):
    seq = stick_walker(300)
    kp = seq.keypoints.copy()
    kp[100, 10, 0] = 1e30
    out = gaitfeat.preprocess(seq.replace(keypoints=kp))
    assert out.info["reject_outliers"]["impossible"] == 1
    assert (out.direction == 0).sum() == (gaitfeat.preprocess(seq).direction == 0).sum()
    assert np.nanmax(np.abs(out.xy)) < 10


def _spike(tmp):
    seq = stick_walker(300)
    kp = seq.keypoints.copy()
    kp[50, 13, :2] += 600.0  # three leg lengths away for one frame
    out = gaitfeat.preprocess(seq.replace(keypoints=kp))
    assert out.info["reject_outliers"]["spikes"] >= 1


def _clips(shape=(2, 60, 17, 3)):
    return gaitfeat.make_clips(gaitfeat.preprocess(rolling_walker(n_frames=200)), window=shape[1]).clips[: shape[0]]


def _no_frames(tmp):
    with pytest.raises(PoseDataError, match="no frames"):
        gaitfeat.extract_features(np.zeros((2, 0, 17, 3)), 30.0)


def _pixels(tmp):
    with pytest.raises(PoseDataError, match="raw pixel coordinates"):
        gaitfeat.extract_features(_clips() * 200 + 300, 30.0)


def _impossible(tmp):
    clips = _clips()
    clips[1, 7, 4, 1] = 1e30
    with pytest.raises(PoseDataError, match="infinite or impossible"):
        gaitfeat.extract_features(clips, 30.0)


def _ragged_clips(tmp):
    with pytest.raises(PoseDataError, match="rectangular"):
        gaitfeat.extract_features([np.zeros((30, 17, 3)), np.zeros((20, 17, 3))], 30.0)


def _fps_bool(tmp):
    with pytest.raises(ValueError, match="fps must be a positive number"):
        gaitfeat.extract_features(_clips(), True)


def _walk_raw(tmp):
    raw = rolling_walker(n_frames=150, video_id="raw")
    with pytest.raises(PoseDataError, match="raw: .*preprocess"):
        gaitfeat.walk_features(raw)
    row = gaitfeat.walk_features([raw], on_error="skip").iloc[0]
    assert np.isnan(row["cadence"]) and "not measured" in row["nan_reason"]


def _static_without_root(tmp):
    with pytest.raises(ValueError, match="camera='static'"):
        gaitfeat.extract_features(_clips(), 30.0, camera="static")


def _bad_videos(tmp):
    from evaluation.run import main

    root = tmp / "videos"
    rows = []
    for i in range(12):
        walk = gaitfeat.simulate_walk(1 + i % 2, duration=9.0, random_state=i)
        gaitfeat.write_openpose(walk.sequence, root / f"v{i}")
        rows.append({"video_id": f"v{i}", "patient_id": f"p{i}", "gmfcs": 1 + i % 2, "fps": walk.sequence.fps})
    (root / "corrupt").mkdir()
    (root / "corrupt" / "corrupt_000000000000_keypoints.json").write_text("[1, 2")
    rows.append({"video_id": "corrupt", "patient_id": "p20", "gmfcs": 1, "fps": 30.0})
    gaitfeat.write_openpose(gaitfeat.simulate_walk(2, duration=9.0, random_state=50).sequence, root / "badlabel")
    rows.append({"video_id": "badlabel", "patient_id": "p21", "gmfcs": "V", "fps": 30.0})
    for name, patient, rate in (("nofps", "p22", None), ("inffps", "p23", float("inf")), ("hugefps", "p24", 1e300),
                                ("nopatient", None, 30.0)):
        gaitfeat.write_openpose(gaitfeat.simulate_walk(1, duration=9.0, random_state=60).sequence, root / name)
        rows.append({"video_id": name, "patient_id": patient, "gmfcs": 1, "fps": rate})
    pd.DataFrame(rows).to_csv(tmp / "labels.csv", index=False)
    args = ["--data", f"openpose:{root}", "--labels", str(tmp / "labels.csv"), "--profile", "quick", "--folds", "2",
            "--val-fraction", "0.34", "--models", "majority", "--no-importance", "--no-progress", "--no-html",
            "--out", str(tmp / "out")]
    assert main(args) == 0
    data = json.loads((tmp / "out" / "gmfcs" / "metrics.json").read_text())["data"]
    for video in ("corrupt", "badlabel", "nofps", "inffps", "hugefps", "nopatient"):
        assert video in json.dumps(data), video
    assert main(args + ["--strict"]) == 2


CASES = [
    Case("PoseSequence", "`fps` that is not a number (`True`, text)", "`PoseDataError`: fps must be a number",
         _pose_fps_bool),
    Case("PoseSequence", "ragged frames (frames or joints of different lengths)",
         "`PoseDataError`: keypoints must be a rectangular array", _pose_ragged),
    Case("PoseSequence", "keypoints that are not real numbers (text, complex, objects)",
         "`PoseDataError`: keypoints must hold real numbers", _pose_text),
    Case("PoseSequence", "a confidence outside [0, 1] (e.g. negative)",
         "`PoseDataError` naming the frame and joint (the OpenPose reader applies the same rule)", _pose_negative_conf),
    Case("preprocess", "one physically impossible coordinate (1e30, or a joint far from the body)",
         "marked missing before smoothing, counted in `info['reject_outliers']['impossible']`; no other frame "
         "changes", _extreme_value),
    Case("preprocess", "a joint that jumps away for one frame and back",
         "marked missing before smoothing, counted in `info['reject_outliers']['spikes']`", _spike),
    Case("extract_features", "clips with no frames (T = 0) or no joints", "`PoseDataError`: clips have no frames",
         _no_frames),
    Case("extract_features", "raw pixel coordinates (not preprocessed)",
         "`PoseDataError`: clips look like raw pixel coordinates; run gaitfeat.preprocess first", _pixels),
    Case("extract_features", "an infinite or impossible coordinate (|x| > 1000 leg lengths)",
         "`PoseDataError`: clips contain infinite or impossible coordinates", _impossible),
    Case("extract_features", "a ragged list of clips", "`PoseDataError`: clips must be a rectangular numeric array",
         _ragged_clips),
    Case("extract_features", "`fps` that is not a positive number (`True`, text, 0)",
         "`ValueError`: fps must be a positive number", _fps_bool),
    Case("extract_features", "`camera='static'` without the clips' pelvis paths",
         "`ValueError`: camera='static' measures distances from the pelvis path, but no root was given",
         _static_without_root),
    Case("walk_features", "a sequence that is not preprocessed",
         "`PoseDataError` naming the video; with `on_error='skip'` a row of NaN whose `nan_reason` says why",
         _walk_raw),
    Case("CLI (`python -m evaluation.run`)", "a folder with a corrupt video and label rows with an invalid GMFCS, "
         "an fps that is empty, infinite or outside 1-1000, or no patient ID, among good ones",
         "each skipped, listed with its reason in the report and on stderr, exit 0; with `--strict` exit 2",
         _bad_videos),
]


def _label_inf(tmp):
    from gaitfeat.errors import LabelError
    from gaitfeat.labels import validate_gmfcs, validate_patient_ids

    with pytest.raises(LabelError, match="GMFCS labels must be levels 1-4"):
        validate_gmfcs([1, float("inf")])
    with pytest.raises(LabelError, match="not an identifier"):
        validate_patient_ids(["a", float("-inf")])


CASES.append(Case("labels", "an infinite GMFCS level or patient ID", "`LabelError` naming the row", _label_inf))


def _frame_jump(tmp):
    from gaitfeat.features import walk_features

    seq = stick_walker(300)
    kp = seq.keypoints.copy()
    kp[100, :, :2] += 3000.0  # the detector followed someone else for one frame
    out = gaitfeat.preprocess(seq.replace(keypoints=kp))
    assert out.info["reject_outliers"]["frames"] == 1
    clean = walk_features(gaitfeat.preprocess(seq)).iloc[0]
    got = walk_features(out).iloc[0]
    assert abs(got["walking_speed"] - clean["walking_speed"]) < 0.01 * clean["walking_speed"]


def _two_frame_excursion(tmp):
    seq = stick_walker(300)
    kp = seq.keypoints.copy()
    kp[50:52, 11, :2] = 0.0  # a joint at the image corner for two frames, confidence unchanged
    out = gaitfeat.preprocess(seq.replace(keypoints=kp))
    assert out.info["reject_outliers"]["spikes"] == 2
    assert np.nanmax(np.abs(out.xy)) < 1.5


def _fps_range(tmp):
    for fps in (1e-300, 0.5, 1e300, 5000.0):
        with pytest.raises(PoseDataError, match="outside 1-1000 frames/s"):
            gaitfeat.PoseSequence(np.zeros((5, 17, 3)), fps, "coco17")
    with pytest.raises(ValueError, match="within 1-1000"):
        gaitfeat.extract_features(_clips(), 1e300)
    with pytest.raises(ValueError, match="fps must be a positive number"):
        gaitfeat.extract_features(_clips(), "30")


CASES += [
    Case("preprocess", "a whole frame that jumps away (the detector followed someone else) and back",
         "the frame is marked missing before smoothing, counted in `info['reject_outliers']['frames']`; features "
         "as without it", _frame_jump),
    Case("preprocess", "a joint that leaves for two or three frames (e.g. at the image corner) and comes back",
         "marked missing, counted in `info['reject_outliers']['spikes']`", _two_frame_excursion),
    Case("PoseSequence, extract_features", "a frame rate outside 1-1000 frames/s (1e-300, 1e300) or given as text",
         "`PoseDataError` / `ValueError` naming the range", _fps_range),
]


def _cohort_tampered(tmp):
    import os

    from gaitfeat.errors import ReaderError

    cohort = gaitfeat.simulate_cohort(3, n_jobs=1, random_state=0, duration=(9.0, 9.0))
    folder = cohort.save(tmp / "c")
    gaitfeat.Cohort.load(folder)
    truth = (folder / "truth.csv").read_text()
    for name, damage, pattern in (
        ("truth.csv", lambda p: (p.unlink(), os.mkfifo(p)), "named pipe"),
        ("truth.csv", lambda p: p.write_text(truth.splitlines()[0] + "\n" + truth.splitlines()[1] + "\n"),
         "rows for"),
        ("truth.csv", lambda p: p.write_text(""), "not a readable CSV"),
        ("frames.npz", lambda p: p.write_bytes(b"garbage"), "not a readable array file"),
        ("root.npy", lambda p: np.save(p, np.full((2, 2), 1e300)), "does not match"),
        ("cohort.json", lambda p: p.write_text("[1, 2]"), "not a saved cohort"),
    ):
        target = folder / name
        backup = target.read_bytes()
        damage(target)
        with pytest.raises(ReaderError, match=pattern):
            gaitfeat.Cohort.load(folder)
        target.unlink()
        target.write_bytes(backup)


CASES.append(Case("Cohort.load", "a saved cohort folder with a file missing, replaced by a FIFO or a folder, "
                  "truncated, of the wrong shape or not parsable",
                  "`ReaderError` naming the file; never a hang or a raw pandas/numpy error", _cohort_tampered))


def _damaged_record(tmp):
    from evaluation.report.__main__ import main as report_main
    from evaluation.schema import SCHEMA, SCHEMA_VERSION

    record = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "models": {"m": {}}}
    folder = tmp / "r"
    folder.mkdir()
    for damage in ({"folds": "x"}, {"models": None, "importance": None}, {"deep": "x"}, {"models": {"m": "x"}}):
        (folder / "metrics.json").write_text(json.dumps({**record, "folds": [], **damage}))
        assert report_main([str(folder)]) == 2, damage
        assert not (folder / "index.html").exists()


CASES.append(Case("`python -m evaluation.report`", "a record (`metrics.json`) with keys of the wrong type, nothing "
                  "to render, or a damaged model entry", "exit 2 with `error: FOLDER: ...` naming the problem; no page "
                  "written", _damaged_record))


def _options(tmp):
    from gaitfeat.errors import LabelError

    seq = stick_walker(200)
    for option in ({"cutoff_hz": float("nan")}, {"max_gap_s": float("nan")}, {"max_swap_s": -1}, {"conf": True}):
        with pytest.raises(ValueError, match=next(iter(option))):
            gaitfeat.preprocess(seq, **option)
    clean = gaitfeat.preprocess(seq)
    with pytest.raises(LabelError, match="GMFCS labels must be levels 1-4"):
        gaitfeat.make_clips(clean, labels=pd.DataFrame({"video_id": [clean.video_id], "gmfcs": [7]}))
    clips = _clips()
    for value in (1e30, True, 0.05, "1.7"):
        with pytest.raises(ValueError, match="height_m"):
            gaitfeat.extract_features(clips, 30.0, height_m=value)
    with pytest.raises(ValueError, match="chunk_size"):
        list(gaitfeat.iter_features(clips, 30.0, chunk_size=2.5))


CASES.append(Case("preprocess, make_clips, extract_features, iter_features",
                  "options that are not finite numbers in range (NaN cutoff or gap, negative swap time, a height of "
                  "1e30 m or as text, a fractional chunk size) or a label table with a GMFCS of 7",
                  "`ValueError` naming the option / `LabelError` naming the video", _options))
