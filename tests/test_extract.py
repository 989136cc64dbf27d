"""Archive-scale extraction (gaitfeat.extract): same numbers as the library, bad videos skipped, resumable, Dask."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gaitfeat
from gaitfeat.extract import extract_archive, read_provenance, tasks
from gaitfeat.extract.cli import main
from gaitfeat.features.definitions import FEATURES, QUALITY_COLUMNS

N_GOOD = 5


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Five simulated videos (one too short for a clip), a corrupt one, an empty folder, and a label table."""
    base = tmp_path_factory.mktemp("archive")
    root = base / "videos"
    rows = []
    for i in range(N_GOOD):
        duration = 3.0 if i == 4 else 7.0      # vid4: a short walkway, no 124-frame clip
        walk = gaitfeat.simulate_walk(1 + i % 3, duration=duration, fps=30.0, random_state=i,
                                      video_id=f"vid{i}", patient_id=f"child{i // 2}")
        gaitfeat.write_openpose(walk.sequence, root / f"vid{i}")
        rows.append({"video_id": f"vid{i}", "patient_id": f"child{i // 2}", "gmfcs": 1 + i % 3, "fps": 30.0,
                     "height_m": round(walk.labels["height"], 3), "cadence": walk.labels["cadence"]})
    (root / "corrupt").mkdir()
    (root / "corrupt" / "corrupt_000000000000_keypoints.json").write_text("{not json")
    (root / "empty").mkdir()
    rows += [{"video_id": "corrupt", "patient_id": "child9", "gmfcs": 2, "fps": 30.0},
             {"video_id": "empty", "patient_id": "child9", "gmfcs": 2, "fps": 30.0},
             {"video_id": "nofolder", "patient_id": "child9", "gmfcs": 2, "fps": 30.0},
             {"video_id": "../escape", "patient_id": "child9", "gmfcs": 2, "fps": 30.0},
             {"video_id": "level7", "patient_id": "child9", "gmfcs": 7, "fps": 30.0}]
    labels = base / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    return root, labels


@pytest.fixture(scope="module")
def reference(archive, tmp_path_factory):
    """One uninterrupted serial run with labels: the output every other run is compared with."""
    root, labels = archive
    out = tmp_path_factory.mktemp("reference") / "features.parquet"
    summary = extract_archive(root, out, labels=labels)
    return summary, pd.read_parquet(out), pd.read_parquet(summary.walks), pd.read_csv(summary.skipped_path)


def _tables(out):
    stem = str(out)[: -len(".parquet")]
    return pd.read_parquet(out), pd.read_parquet(stem + ".walks.parquet"), pd.read_csv(stem + ".skipped.csv")


def test_rows_are_the_library_numbers(archive, reference):
    root, labels = archive
    summary, clips, walks, _ = reference
    table = pd.read_csv(labels).set_index("video_id")
    assert summary.done == N_GOOD and set(walks["video_id"]) == {f"vid{i}" for i in range(N_GOOD)}
    assert "vid4" not in set(clips["video_id"])           # shorter than a window: a walk row, no clip rows
    assert walks.set_index("video_id").loc["vid4", "n_clips"] == 0
    for i in range(N_GOOD):
        vid = f"vid{i}"
        height = float(table.loc[vid, "height_m"])
        seq = gaitfeat.read_openpose(root / vid, 30.0, patient_id=table.loc[vid, "patient_id"], video_id=vid)
        clean = gaitfeat.preprocess(seq.to_layout("coco17"))
        expected_walk = gaitfeat.walk_features(clean, height_m=height, on_error="skip").iloc[0]
        got_walk = walks.set_index("video_id").loc[vid]
        for name in [*FEATURES, "step_length_m", "stride_length_iqr", "n_steps", *QUALITY_COLUMNS]:
            assert got_walk[name] == expected_walk[name] or (pd.isna(got_walk[name]) and pd.isna(expected_walk[name])), name
        if i == 4:
            continue
        windows = gaitfeat.make_clips(clean)
        expected = gaitfeat.extract_features(windows, height_m=height)
        got = clips[clips["video_id"] == vid].reset_index(drop=True)
        assert len(got) == len(expected) > 0
        assert got["clip_start"].tolist() == windows.meta["clip_start"].tolist()
        assert (got["patient_id"] == table.loc[vid, "patient_id"]).all()
        numbers = [c for c in expected.columns if c not in ("spatial_method", "nan_reason")]
        np.testing.assert_array_equal(got[numbers].to_numpy(float), expected[numbers].to_numpy(float))
        assert got["nan_reason"].tolist() == expected["nan_reason"].tolist()
        assert got["spatial_method"].tolist() == expected["spatial_method"].tolist()
        assert (got["gmfcs"] == table.loc[vid, "gmfcs"]).all()
        # A label whose name is an output column is joined under label_<name>.
        assert np.allclose(got["label_cadence"], table.loc[vid, "cadence"])
    meta = read_provenance(summary.out)
    assert meta["schema"] == "gaitfeat.extract/1" and meta["gaitfeat"] == gaitfeat.__version__
    assert meta["settings"]["clips"] == {"window": 124, "stride": 12, "min_valid": 0.8, "conf": 0.2}
    assert meta["settings"]["layout"] == "coco17" and meta["source"]["root"] == os.path.abspath(root)
    assert meta["videos"]["done"] == N_GOOD and meta["rows"]["clips"] == len(clips)
    assert b"gaitfeat" in pq.read_schema(summary.walks).metadata


def test_bad_videos_are_skipped_with_their_reason(reference):
    summary, _, _, skipped = reference
    reasons = skipped.set_index("video_id")
    assert set(reasons.index) == {"corrupt", "empty", "nofolder", "../escape", "level7"}
    assert reasons.loc["corrupt", "stage"] == "read" and "corrupt JSON" in reasons.loc["corrupt", "reason"]
    assert reasons.loc["empty", "stage"] == "read" and "no *_keypoints.json" in reasons.loc["empty", "reason"]
    assert reasons.loc["nofolder", "stage"] == "find"
    assert reasons.loc["../escape", "stage"] == "labels" and ".." in reasons.loc["../escape", "reason"]
    assert reasons.loc["level7", "stage"] == "labels" and "GMFCS" in reasons.loc["level7", "reason"]
    assert not reasons["unexpected"].any()
    assert summary.skipped_by_reason()["read: ReaderError"] == 2


def test_unlabelled_archive_and_unexpected_errors(archive, tmp_path, monkeypatch):
    """Without labels every subfolder is a video; an unexpected exception skips one video, flagged, counted."""
    root, _ = archive
    real = tasks.walk_features

    def broken(seq, **kw):
        if seq.video_id == "vid1":
            raise ZeroDivisionError("boom")
        return real(seq, **kw)

    monkeypatch.setattr(tasks, "walk_features", broken)
    summary = extract_archive(root, tmp_path / "f.parquet", fps=30.0)
    clips, walks, skipped = _tables(tmp_path / "f.parquet")
    assert set(walks["video_id"]) == {"vid0", "vid2", "vid3", "vid4"} and walks["patient_id"].isna().all()
    row = skipped.set_index("video_id").loc["vid1"]
    assert row["stage"] == "walk" and row["error"] == "ZeroDivisionError" and bool(row["unexpected"])
    assert "boom" in row["reason"] and "test_extract.py" in row["reason"]   # where it was raised
    assert set(skipped["video_id"]) == {"vid1", "corrupt", "empty"}
    assert "walk: ZeroDivisionError (unexpected)" in summary.format()
    assert "gmfcs" not in clips.columns and "step_length_m" not in clips.columns


def test_resume_does_not_redo_finished_videos(archive, reference, tmp_path, monkeypatch):
    root, labels = archive
    out = tmp_path / "features.parquet"
    real = tasks.process_video
    calls = []

    def dies_on_the_third(task, settings, threads=None):
        calls.append(task.video_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task, settings, threads)

    monkeypatch.setattr(tasks, "process_video", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        extract_archive(root, out, labels=labels, flush_every=1)
    assert not out.exists() and (tmp_path / "features.parts" / "run.json").is_file()
    first = calls[:2]
    # Without --resume the unfinished run is not overwritten by accident.
    with pytest.raises(FileExistsError, match="--resume"):
        extract_archive(root, out, labels=labels)
    # Nor resumed with other settings.
    with pytest.raises(ValueError, match="window"):
        extract_archive(root, out, labels=labels, resume=True, window=100)

    calls.clear()
    monkeypatch.setattr(tasks, "process_video", lambda task, settings, threads=None: (calls.append(task.video_id),
                                                                                      real(task, settings, threads))[1])
    summary = extract_archive(root, out, labels=labels, resume=True)
    assert not set(calls) & set(first) and len(calls) == len(set(calls)) == N_GOOD + 2 - len(first)
    assert summary.done_before == len([v for v in first if v.startswith("vid")]) and summary.done == N_GOOD
    clips, walks, skipped = _tables(out)
    _, ref_clips, ref_walks, ref_skipped = reference
    pd.testing.assert_frame_equal(clips, ref_clips)
    pd.testing.assert_frame_equal(walks, ref_walks)
    pd.testing.assert_frame_equal(skipped, ref_skipped)
    assert not (tmp_path / "features.parts").exists() and read_provenance(out)["runs"] == 2


def test_resume_keeps_skipped_videos_unless_asked(archive, tmp_path, monkeypatch):
    root, labels = archive
    out = tmp_path / "features.parquet"
    real = tasks.process_video
    calls = []

    def stop_after_corrupt(task, settings, threads=None):
        calls.append(task.video_id)
        if task.video_id == "empty":       # sorted order: corrupt, empty, vid0, ...
            raise KeyboardInterrupt
        return real(task, settings, threads)

    monkeypatch.setattr(tasks, "process_video", stop_after_corrupt)
    with pytest.raises(KeyboardInterrupt):
        extract_archive(root, out, labels=labels, flush_every=1)
    calls.clear()
    monkeypatch.setattr(tasks, "process_video", lambda task, settings, threads=None: (calls.append(task.video_id),
                                                                                      real(task, settings, threads))[1])
    # The resume does the videos left; a video recorded as skipped stays skipped ...
    extract_archive(root, out, labels=labels, resume=True)
    assert "corrupt" not in calls and "empty" in calls
    # ... and a complete output is not "resumed" again.
    with pytest.raises(FileExistsError, match="complete"):
        extract_archive(root, out, labels=labels, resume=True)


def test_retry_skipped(archive, tmp_path, monkeypatch):
    root, labels = archive
    out = tmp_path / "features.parquet"
    real = tasks.process_video
    calls = []

    def interrupt_at_vid3(task, settings, threads=None):
        calls.append(task.video_id)
        if task.video_id == "vid3":
            raise KeyboardInterrupt
        return real(task, settings, threads)

    monkeypatch.setattr(tasks, "process_video", interrupt_at_vid3)
    with pytest.raises(KeyboardInterrupt):
        extract_archive(root, out, labels=labels)      # one batch: committed on the interrupt
    calls.clear()
    monkeypatch.setattr(tasks, "process_video", lambda task, settings, threads=None: (calls.append(task.video_id),
                                                                                      real(task, settings, threads))[1])
    extract_archive(root, out, labels=labels, resume=True, retry_skipped=True)
    assert sorted(calls) == ["corrupt", "empty", "vid3", "vid4"]
    assert set(_tables(out)[2]["video_id"]) == {"corrupt", "empty", "nofolder", "../escape", "level7"}


def test_dask_local_cluster_gives_the_serial_table(archive, reference, tmp_path):
    root, labels = archive
    summary = extract_archive(root, tmp_path / "features.parquet", labels=labels, scheduler="local:2")
    clips, walks, skipped = _tables(tmp_path / "features.parquet")
    _, ref_clips, ref_walks, ref_skipped = reference
    pd.testing.assert_frame_equal(clips, ref_clips)
    pd.testing.assert_frame_equal(walks, ref_walks)
    pd.testing.assert_frame_equal(skipped, ref_skipped)
    assert summary.scheduler == "local:2" and read_provenance(summary.out)["scheduler"] == "local:2"


def test_parts_folder_inside_the_archive_is_not_a_video(archive, tmp_path):
    root, _ = archive
    inside = tmp_path / "videos"
    inside.mkdir()
    os.symlink(root / "vid0", inside / "vid0", target_is_directory=True)
    (inside / ".hidden").mkdir()
    (inside / "bad:name").mkdir()
    out = inside / "features.parquet"
    (inside / "features.parts").mkdir()
    with pytest.raises(FileExistsError, match="not written by gaitfeat"):
        extract_archive(inside, out, fps=30.0)
    (inside / "features.parts").rmdir()
    extract_archive(inside, out, fps=30.0, flush_every=1)
    _, walks, skipped = _tables(out)
    assert walks["video_id"].tolist() == ["vid0"]
    assert skipped["stage"].tolist() == ["find"] and "bad:name" in skipped["video_id"][0]


def test_cli_exit_codes(archive, tmp_path, capsys, monkeypatch):
    root, labels = archive
    out = tmp_path / "cli" / "features.parquet"
    base = ["--data", f"openpose:{root}", "--labels", str(labels), "--out", str(out), "--no-progress"]
    assert main(base) == 0
    printed = capsys.readouterr().out
    assert f"videos: {N_GOOD} of 10 extracted, 5 skipped" in printed and "videos/s" in printed
    assert main(base) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(base + ["--overwrite", "--strict"]) == 1
    assert "skipped" in capsys.readouterr().err
    command = read_provenance(out)["command"]
    assert command.startswith("python -m gaitfeat.extract --data") and "--strict" in command
    assert main(base + ["--overwrite", "--scheduler", "local:x"]) == 2
    assert "unknown scheduler" in capsys.readouterr().err
    assert main(["--data", f"openpose:{root}", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "fps" in capsys.readouterr().err
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert main(["--data", f"openpose:{empty}", "--fps", "30", "--out", str(tmp_path / "y.parquet")]) == 2
    assert "no video folders" in capsys.readouterr().err
    for bad in (["--data", f"kidzinski:{root}", "--fps", "30", "--out", str(tmp_path / "z.parquet")],
                ["--data", f"openpose:{root}", "--fps", "30", "--out", str(tmp_path / "z.csv")],
                ["--data", f"openpose:{root}", "--fps", "30", "--out", str(tmp_path / "z.parquet"), "--retry-skipped"],
                ["--data", f"openpose:{root}", "--fps", "30", "--out", str(tmp_path / "z.parquet"), "--window", "0"]):
        assert main(bad) == 2, bad
        assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:      # argparse: --resume and --overwrite exclude each other
        main(base + ["--resume", "--overwrite"])
    assert exc.value.code == 2

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("gaitfeat.extract.runner.extract_archive", interrupted)
    assert main(base + ["--resume"]) == 130
    assert "--resume" in capsys.readouterr().err


def test_label_table_checks(tmp_path):
    from gaitfeat.extract import read_video_labels

    path = tmp_path / "labels.csv"
    path.write_text("Video_ID,patient_id,fps,height_m,gmfcs\n0012,p1,30,1.2,II\n0013,,abc,1.2,1\n0014,p2,30,120,1\n")
    table, bad = read_video_labels(path)
    assert table["video_id"].tolist() == ["0012"] and table["gmfcs"].tolist() == [2]
    assert set(bad) == {"0013", "0014"} and "fps" in str(bad["0013"]) and "height_m" in str(bad["0014"])
    path.write_text("video_id,fps\na,30\na,30\n")
    with pytest.raises(gaitfeat.LabelError, match="more than once"):
        read_video_labels(path)
    path.write_text(json.dumps({"not": "csv"}))
    with pytest.raises(gaitfeat.GaitError):
        read_video_labels(path)
