import json
import os
from pathlib import Path

import numpy as np
import pytest

import gaitfeat
from gaitfeat import read_openpose, write_openpose
from gaitfeat.errors import LabelError, LayoutError, PoseDataError, ReaderError
from gaitfeat.testing import stick_walker


def _clinical_folder(tmp_path, rng, *, n_frames=420):
    """A realistic OpenPose folder: a child walks, turns and walks back; detector
    gaps written as 0,0,0; an adult passes through for four frames; two frame
    files missing; one spurious two-joint detection."""
    seq = stick_walker(n_frames, fps=29.97, turn_at=200, turn_frames=25, leg_px=180, origin=(250, 620))
    kp = seq.keypoints.copy()
    kp[..., :2] += rng.normal(0, 1.5, size=kp[..., :2].shape)
    kp[..., 2] = rng.uniform(0.3, 0.95, size=kp.shape[:2])
    # Bursts of undetected joints (OpenPose writes 0,0,0).
    for _ in range(40):
        t, v = rng.integers(0, n_frames), rng.integers(0, 25)
        kp[t : t + rng.integers(1, 6), v] = np.nan
    truth = gaitfeat.PoseSequence(kp, 29.97, "body25", video_id="walk")
    adult = stick_walker(4, leg_px=260, origin=(900, 650), confidence=0.98).keypoints
    extra = {100 + k: [adult[k]] for k in range(4)}
    extra[150] = [np.array([[10, 10, 0.3], [12, 30, 0.3]] + [[0, 0, 0]] * 23)]
    folder = tmp_path / "walk"
    files = write_openpose(truth, folder, extra_people=extra)
    # The adult comes first in the people list in two frames.
    for t in (101, 102):
        data = json.loads(files[t].read_text())
        data["people"] = data["people"][::-1]
        files[t].write_text(json.dumps(data))
    files[300].unlink()
    files[301].unlink()
    return folder, truth


def test_reads_a_clinical_folder(tmp_path, rng):
    folder, truth = _clinical_folder(tmp_path, rng)
    seq = read_openpose(folder, fps=29.97, patient_id="p1")
    assert seq.layout == "body25" and seq.n_frames == 420 and seq.video_id == "walk" and seq.patient_id == "p1"
    info = seq.info["read_openpose"]
    assert info["files"] == 418 and info["gap_frames"] == 2
    assert info["multi_person_frames"] == 5 and info["ignored_small_detections"] == 1
    assert info["other_people_frames"] == 0
    # The missing files are missing frames; everything else is the child, to the file's 4 decimals.
    assert np.isnan(seq.keypoints[300:302, :, :2]).all()
    keep = np.ones(420, dtype=bool)
    keep[300:302] = False
    np.testing.assert_allclose(seq.keypoints[keep], truth.keypoints[keep], atol=1e-3, equal_nan=True)
    # 0,0,0 became NaN with confidence 0.
    undetected = np.isnan(truth.keypoints[keep, :, 0])
    assert undetected.sum() > 0
    assert (seq.keypoints[keep][undetected][:, 2] == 0).all()

    coco = seq.to_layout("coco17")
    assert coco.keypoints.shape == (420, 17, 3)
    np.testing.assert_array_equal(coco.keypoints[:, 15], seq.keypoints[:, 14])


def test_split_screen_x_range(tmp_path):
    child = stick_walker(60, leg_px=120, origin=(100, 400), confidence=0.6)
    # A second, more confident person in the right half of every frame.
    other = stick_walker(60, leg_px=200, origin=(900, 500), confidence=0.95).keypoints
    folder = tmp_path / "split"
    write_openpose(child, folder, extra_people={t: [other[t]] for t in range(60)})
    picked = read_openpose(folder, fps=30)
    assert np.nanmedian(picked.keypoints[:, :, 0]) > 640  # without a range: the clearer person
    seq = read_openpose(folder, fps=30, x_range=(0, 640))
    np.testing.assert_allclose(seq.keypoints, child.keypoints, atol=1e-3)
    assert seq.info["read_openpose"]["outside_x_range"] == 60


def test_round_trip(tmp_path, walker):
    write_openpose(walker, tmp_path / "rt")
    back = read_openpose(tmp_path / "rt", fps=walker.fps)
    np.testing.assert_allclose(back.keypoints, walker.keypoints, atol=1e-3)


def test_empty_frames_and_old_format(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    person = stick_walker(3).keypoints
    for t in range(3):
        people = [] if t == 1 else [{"pose_keypoints": person[t].ravel().tolist()}]
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.0, "people": people}))
    seq = read_openpose(folder, fps=25)
    assert seq.info["read_openpose"]["empty_frames"] == 1
    assert np.isnan(seq.keypoints[1, :, 0]).all()
    np.testing.assert_allclose(seq.keypoints[2], person[2], atol=1e-3)


def test_errors(tmp_path, walker):
    with pytest.raises(ReaderError, match="no such folder"):
        read_openpose(tmp_path / "nope", fps=30)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match="no \\*_keypoints.json"):
        read_openpose(tmp_path / "empty", fps=30)
    folder = tmp_path / "w"
    files = write_openpose(walker, folder)
    with pytest.raises(PoseDataError, match="fps"):
        read_openpose(folder, fps=0)
    files[7].write_text('{"version":1.3,"people":[{"pose_keypoints_2d":[1,2,')
    with pytest.raises(ReaderError, match=r"walk0_000000000007_keypoints.json: corrupt JSON") as info:
        read_openpose(folder, fps=30)
    assert info.value.path.endswith("walk0_000000000007_keypoints.json")
    files[7].write_text('{"version":1.3,"people":[{"pose_keypoints_2d":[1,2,0.5]}]}')
    with pytest.raises(ReaderError, match="has 1 joints, other frames have 25"):
        read_openpose(folder, fps=30)
    files[7].write_text('{"version":1.3}')
    with pytest.raises(ReaderError, match="no 'people' list"):
        read_openpose(folder, fps=30)


def test_wrong_joint_count_and_layout(tmp_path):
    folder = tmp_path / "coco18"
    folder.mkdir()
    pose = np.column_stack([np.linspace(10, 100, 18), np.linspace(10, 300, 18), np.full(18, 0.9)])
    (folder / "v_000000000000_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": pose.ravel().tolist()}]}))
    with pytest.raises(LayoutError, match="18 joints"):
        read_openpose(folder, fps=30)
    with pytest.raises(LayoutError, match="18 joints but layout 'body25'"):
        read_openpose(folder, fps=30, layout="body25")


def test_duplicate_frame_numbers_and_bad_names(tmp_path, walker):
    folder = tmp_path / "mixed"
    write_openpose(walker, folder, prefix="a")
    write_openpose(walker, folder, prefix="b")
    with pytest.raises(ReaderError, match="mixes 2 recordings with different file-name prefixes: 'a' .*'b'"):
        read_openpose(folder, fps=30)
    folder = tmp_path / "padding"
    folder.mkdir()
    (folder / "a_0_keypoints.json").write_text('{"people": []}')
    (folder / "a_000_keypoints.json").write_text('{"people": []}')
    with pytest.raises(ReaderError, match="two files for frame 0"):
        read_openpose(folder, fps=30)
    folder = tmp_path / "noname"
    folder.mkdir()
    (folder / "x_keypoints.json").write_text('{"people": []}')
    with pytest.raises(ReaderError, match="frame number"):
        read_openpose(folder, fps=30)


def test_no_person_anywhere(tmp_path):
    folder = tmp_path / "nobody"
    folder.mkdir()
    for t in range(3):
        (folder / f"v_{t:012d}_keypoints.json").write_text('{"version":1.3,"people":[]}')
    with pytest.raises(ReaderError, match="no person is detected"):
        read_openpose(folder, fps=30)


def _frame(person=None, **extra):
    people = [] if person is None else [{"pose_keypoints_2d": person}]
    return json.dumps({"version": 1.3, "people": people, **extra})


def _small_folder(tmp_path, n=5, name="v"):
    folder = tmp_path / name
    write_openpose(stick_walker(n), folder, prefix="v")
    return folder


# -- class: two recordings in one folder ---------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [("a", "b"), ("walk", "Walk"), ("", "cam2"), ("trial_1", "trial_2")],
)
def test_different_prefixes_are_never_merged(tmp_path, first, second):
    """Non-overlapping frame numbers used to be merged into one sequence."""
    folder = tmp_path / "two"
    walker = stick_walker(10)
    write_openpose(walker, folder, prefix="tmp")
    for k, path in enumerate(sorted(folder.iterdir())):
        # first recording: frames 0-4, second: frames 5-9 (no clash of frame numbers)
        prefix = first if k < 5 else second
        path.rename(folder / (f"{prefix}_{k:012d}_keypoints.json" if prefix else f"{k:012d}_keypoints.json"))
    with pytest.raises(ReaderError, match="different file-name prefixes") as info:
        read_openpose(folder, fps=30)
    assert repr(first) in str(info.value) and repr(second) in str(info.value)


# -- class: stray frame number -------------------------------------------------


@pytest.mark.parametrize("stray", [99_999_999, 10**30, 5000])
def test_stray_frame_number_fails_fast(tmp_path, stray):
    import time

    folder = _small_folder(tmp_path)
    (folder / f"v_{stray:012d}_keypoints.json").write_text(_frame())
    start = time.perf_counter()
    with pytest.raises(ReaderError, match=f"v_{stray:012d}_keypoints.json.*stray") as info:
        read_openpose(folder, fps=30)
    assert time.perf_counter() - start < 2
    assert info.value.path.endswith(f"v_{stray:012d}_keypoints.json")


def test_gaps_within_the_documented_maximum_are_read(tmp_path):
    from gaitfeat.io.openpose import MAX_GAP_FRAMES

    folder = _small_folder(tmp_path)
    (folder / f"v_{4 + MAX_GAP_FRAMES:012d}_keypoints.json").write_text(_frame())
    seq = read_openpose(folder, fps=30)
    assert seq.info["read_openpose"]["gap_frames"] == MAX_GAP_FRAMES - 1


# -- class: negative confidences -----------------------------------------------


@pytest.mark.parametrize("conf", [-0.5, -1e-6, -1000.0, 1.5])
def test_confidence_outside_unit_interval_is_refused(tmp_path, conf):
    folder = _small_folder(tmp_path)
    path = sorted(folder.iterdir())[3]
    data = json.loads(path.read_text())
    data["people"][0]["pose_keypoints_2d"][3 * 7 + 2] = conf
    path.write_text(json.dumps(data))
    with pytest.raises(ReaderError, match=r"v_000000000003_keypoints.json: frame 3, person 0, joint 7: confidence .* outside \[0, 1\]"):
        read_openpose(folder, fps=30)


def test_negative_confidence_on_an_undetected_joint_is_refused_too(tmp_path):
    folder = _small_folder(tmp_path)
    path = sorted(folder.iterdir())[0]
    data = json.loads(path.read_text())
    data["people"][0]["pose_keypoints_2d"][0:3] = [0, 0, -1]
    path.write_text(json.dumps(data))
    with pytest.raises(ReaderError, match="joint 0: confidence -1 outside"):
        read_openpose(folder, fps=30)


# -- class: malformed values ---------------------------------------------------


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (["1", "2", "0.5"] * 25, "is str '1', not a number"),
        ([None, 2, 0.5] * 25, "is null"),
        ([True, 2, 0.5] * 25, "is bool"),
        ([[1, 2, 0.5]] * 25, "is list"),
        ([[1, 2, 0.5], [1, 2]] * 5, "is list"),
        ({"x": 1}, "must be a list of numbers"),
        ([10**400, 1, 0.5] * 25, "too large for a float"),
        ([], "0 keypoint values"),
    ],
)
def test_non_numeric_or_ragged_keypoints(tmp_path, values, match):
    folder = _small_folder(tmp_path)
    path = sorted(folder.iterdir())[2]
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": values}]}))
    with pytest.raises(ReaderError, match=match) as info:
        read_openpose(folder, fps=30)
    assert info.value.path == str(path)


def test_deeply_nested_json(tmp_path):
    folder = _small_folder(tmp_path)
    sorted(folder.iterdir())[1].write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ReaderError, match="corrupt JSON"):
        read_openpose(folder, fps=30)


@pytest.mark.parametrize("fps", [True, "30", None, float("nan"), -1])
def test_bad_fps(tmp_path, fps):
    with pytest.raises(PoseDataError, match="fps"):
        read_openpose(_small_folder(tmp_path), fps=fps)


# -- class: raw OS errors ------------------------------------------------------


def test_folder_named_like_a_frame(tmp_path):
    folder = _small_folder(tmp_path)
    (folder / "v_000000000005_keypoints.json").mkdir()
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: is a folder, not a frame file"):
        read_openpose(folder, fps=30)


def test_dangling_symlink(tmp_path):
    folder = _small_folder(tmp_path)
    (folder / "v_000000000005_keypoints.json").symlink_to(tmp_path / "gone.json")
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: broken symbolic link"):
        read_openpose(folder, fps=30)


def test_symlink_loop(tmp_path):
    folder = _small_folder(tmp_path)
    a, b = folder / "v_000000000005_keypoints.json", folder / "v_000000000006_keypoints.json"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: (cannot read the file|broken symbolic link)"):
        read_openpose(folder, fps=30)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_unreadable_frame_file(tmp_path):
    folder = _small_folder(tmp_path)
    path = sorted(folder.iterdir())[1]
    path.chmod(0)
    try:
        with pytest.raises(ReaderError, match="permission denied"):
            read_openpose(folder, fps=30)
    finally:
        path.chmod(0o644)


def test_unreadable_frame_file_simulated(tmp_path, monkeypatch):
    """Root ignores file permissions: simulate the PermissionError os.open() would raise."""
    import os

    folder = _small_folder(tmp_path)
    target = str(sorted(folder.iterdir())[1])
    real_open = os.open

    def fake_open(file, *args, **kwargs):
        if str(file) == target:
            raise PermissionError(13, "Permission denied", target)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    with pytest.raises(ReaderError, match="v_000000000001_keypoints.json: permission denied"):
        read_openpose(folder, fps=30)


# -- class: identifiers that become file names (writer) -------------------------


BAD_IDS = [
    "../../x", "..", ".", "...", "a/b", "/abs/path", "a\\b", "..\\..\\x", "C:evil", "c:\\win", "x\x00y",
    "line\nbreak", "tab\there", "", "   ", " lead", "x" * 300, "bell\x07",
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_write_openpose_refuses_unsafe_ids(tmp_path, bad):
    target = tmp_path / "deep" / "out"
    with pytest.raises(LabelError, match="cannot be used as a file name"):
        write_openpose(stick_walker(3, video_id="ok"), target, prefix=bad)
    if bad:  # an empty video ID means "none": the prefix is then "video"
        with pytest.raises(LabelError, match="video ID .*cannot be used as a file name"):
            write_openpose(stick_walker(3).replace(video_id=bad), target)
    # Nothing was written anywhere.
    assert sorted(p for p in tmp_path.rglob("*")) == []


def test_write_openpose_checks_its_other_arguments(tmp_path):
    seq = stick_walker(3)
    with pytest.raises(PoseDataError, match="first_frame"):
        write_openpose(seq, tmp_path / "a", first_frame=-1)
    with pytest.raises(PoseDataError, match="first_frame"):
        write_openpose(seq, tmp_path / "a", first_frame=1.5)
    with pytest.raises(PoseDataError, match="ragged or non-numeric"):
        write_openpose(seq, tmp_path / "a", extra_people={0: [[[1, 2, 0.5], [1, 2]]]})
    with pytest.raises(PoseDataError, match="shape"):
        write_openpose(seq, tmp_path / "a", extra_people={0: [np.zeros((3, 3))]})
    with pytest.raises(PoseDataError, match="not a frame index"):
        write_openpose(seq, tmp_path / "a", extra_people={7: [np.zeros((25, 3))]})
    with pytest.raises(PoseDataError, match="confidence outside"):
        write_openpose(seq, tmp_path / "a", extra_people={0: [np.full((25, 3), -1.0)]})


@pytest.mark.skipif(not os.environ.get("GAITFEAT_REAL_OPENPOSE"), reason="set GAITFEAT_REAL_OPENPOSE to a real OpenPose JSON folder")
def test_real_openpose_folder():
    folder = Path(os.environ["GAITFEAT_REAL_OPENPOSE"])
    seq = read_openpose(folder, fps=29.97)
    assert seq.layout == "body25" and seq.n_frames > 100
    clean = gaitfeat.preprocess(seq, layout="coco17")
    clips = gaitfeat.make_clips(clean, on_short="skip")
    assert clips.clips.shape[1:] == (124, 17, 3)


@pytest.mark.skipif(not os.environ.get("GAITFEAT_REAL_OPENPOSE"), reason="set GAITFEAT_REAL_OPENPOSE to a real OpenPose JSON folder")
@pytest.mark.parametrize("layout", ["body25", "coco17"])
def test_real_openpose_features_are_plausible(layout):
    """A child walking, turning and walking back: plausible numbers, and every NaN has a reason."""
    seq = gaitfeat.preprocess(read_openpose(Path(os.environ["GAITFEAT_REAL_OPENPOSE"]), fps=30.0), layout=layout)
    clips = gaitfeat.make_clips(seq, on_short="skip")
    table = gaitfeat.extract_features(clips.clips, seq.fps, layout)
    assert table["usable_fraction"].median() > 0.7
    assert 80 < table["cadence"].median() < 160
    assert 0.8 < table["gait_cycle_duration"].median() < 1.5
    for side in ("left", "right"):
        assert 30 < table[f"hip_rom_{side}"].median() < 70
        assert 40 < table[f"knee_rom_{side}"].median() < 95
        assert 1.0 < table[f"stance_swing_ratio_{side}"].median() < 2.5
    for i, row in table.iterrows():
        for name in gaitfeat.FEATURES:
            if np.isnan(row[name]):
                assert name in row["nan_reason"], (i, name)


def test_values_beyond_float32_are_refused(tmp_path):
    """1e300 is finite in JSON but overflows the float32 keypoint array."""
    folder = _small_folder(tmp_path)
    path = sorted(folder.iterdir())[1]
    data = json.loads(path.read_text())
    data["people"][0]["pose_keypoints_2d"][0] = 1e300
    path.write_text(json.dumps(data))
    with pytest.raises(ReaderError, match="beyond the float32 range"):
        read_openpose(folder, fps=30)


# -- class: special and oversized files named like frame files ----------------------



@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_frame_file_is_refused_not_opened(tmp_path, no_hang):
    folder = _small_folder(tmp_path)
    os.mkfifo(folder / "v_000000000005_keypoints.json")
    with pytest.raises(ReaderError, match=r"v_000000000005_keypoints.json: is a named pipe \(FIFO\), not a regular file"):
        read_openpose(folder, fps=30)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_link_to_device_is_refused(tmp_path, no_hang):
    folder = _small_folder(tmp_path)
    (folder / "v_000000000005_keypoints.json").symlink_to("/dev/zero")
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: is a device, not a regular file"):
        read_openpose(folder, fps=30)


def test_oversized_frame_file_is_refused(tmp_path, monkeypatch):
    import gaitfeat.io._frames as frames

    folder = _small_folder(tmp_path)
    big = folder / "v_000000000005_keypoints.json"
    with open(big, "wb") as fh:  # sparse: nothing is written or read
        fh.truncate(frames.MAX_FRAME_FILE_BYTES + 1)
    with pytest.raises(ReaderError, match=rf"v_000000000005_keypoints.json: {frames.MAX_FRAME_FILE_BYTES + 1} bytes, larger than the 10000000-byte limit"):
        read_openpose(folder, fps=30)
    big.unlink()
    monkeypatch.setattr(frames, "MAX_FRAME_FILE_BYTES", 100)
    with pytest.raises(ReaderError, match="larger than the 100-byte limit for a frame file"):
        read_openpose(folder, fps=30)


# -- class: arguments out of range -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x_range": (5, 1)}, "x_range .*x_min must be less than x_max"),
        ({"x_range": (float("nan"), 1)}, "x_range must be two finite numbers"),
        ({"x_range": (0, 10**400)}, "x_range must be two finite numbers"),
        ({"x_range": (1, 2, 3)}, "x_range must be two finite numbers"),
        ({"min_joints": 1000}, "min_joints must be an integer from 1 to 25"),
        ({"min_joints": 18, "layout": "coco17"}, "min_joints must be an integer from 1 to 17 .*coco17"),
        ({"min_joints": -1}, "min_joints must be an integer from 1"),
        ({"min_joints": 0}, "min_joints must be an integer from 1"),
        ({"min_joints": 2.5}, "min_joints must be an integer"),
        ({"max_jump": float("nan")}, "max_jump must be a positive finite number"),
        ({"max_jump": 0}, "max_jump must be a positive finite number"),
        ({"lost_after_s": -1}, "lost_after_s must be a positive finite number"),
        ({"lost_after_s": float("inf")}, "lost_after_s must be a positive finite number"),
        ({"layout": 25}, "layout must be a layout name"),
    ],
)
def test_arguments_are_validated_before_reading(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        read_openpose(tmp_path / "does-not-exist", fps=30, **kwargs)


def test_min_joints_beyond_inferred_layout(tmp_path):
    folder = tmp_path / "coco"
    write_openpose(stick_walker(5).to_layout("coco17") if hasattr(stick_walker(5), "to_layout") else stick_walker(5), folder, prefix="v")
    n = len(json.loads(next(folder.iterdir()).read_text())["people"][0]["pose_keypoints_2d"]) // 3
    if n == 25:
        pytest.skip("no coco17 conversion available")
    with pytest.raises(ValueError, match=f"min_joints 20 is more than the {n} joints"):
        read_openpose(folder, fps=30, min_joints=20)


@pytest.mark.parametrize("fps", [1e-300, 0.5, 1e300, 1001, 10**400, float("nan"), -1, 0],
                         ids=["1e-300", "0.5", "1e300", "1001", "10**400", "nan", "-1", "0"])
def test_fps_outside_plausible_range(tmp_path, fps):
    with pytest.raises(PoseDataError, match=r"fps .*(outside the plausible range 1 to 1000 frames/s|finite)"):
        read_openpose(_small_folder(tmp_path), fps=fps)


def test_nobody_kept_is_an_error_not_an_all_missing_sequence(tmp_path):
    folder = _small_folder(tmp_path)
    with pytest.raises(ReaderError, match=r"no person detected in any of the 5 frames \(5 people were outside x_range"):
        read_openpose(folder, fps=30, x_range=(1e6, 2e6))
    for path in folder.iterdir():
        path.write_text(_frame([0.0] * 75))
    with pytest.raises(ReaderError, match="no person detected in any of the 5 frames .*fewer than min_joints=4"):
        read_openpose(folder, fps=30)


# -- class: writer arguments ----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["\ud800", "a\udcffb"])
def test_write_prefix_not_encodable(tmp_path, prefix):
    with pytest.raises(LabelError, match="cannot be used as a file name: .*cannot be encoded as UTF-8"):
        write_openpose(stick_walker(3), tmp_path / "out", prefix=prefix)
    assert not (tmp_path / "out").exists()


def test_write_non_sequence_says_how_to_get_one(tmp_path):
    with pytest.raises(TypeError, match=r"seq must be a gaitfeat.PoseSequence, got list; .*walk.sequence"):
        write_openpose([1, 2], tmp_path / "out")


def test_walker_hidden_for_two_seconds_is_rejoined(tmp_path):
    """One child, hidden behind a parent for 2 s: both halves of the walk are kept, the gap stays missing."""
    from gaitfeat.testing import stick_walker

    seq = stick_walker(240, fps=30.0)
    kp = seq.keypoints.copy()
    kp[100:160] = np.nan
    write_openpose(seq.replace(keypoints=kp), tmp_path / "hidden")
    back = read_openpose(tmp_path / "hidden", fps=30.0)
    info = back.info["read_openpose"]
    assert info["rejoined_tracks"] == 1 and info["subject_missing_frames"] == 60
    assert np.isfinite(back.keypoints[:100, 0, 0]).all() and np.isfinite(back.keypoints[160:, 0, 0]).all()
