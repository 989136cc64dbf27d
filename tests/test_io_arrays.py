""".npy / .npz joint arrays: round trips, explicit kinds and shapes, metadata conflicts, malformed files."""

import numpy as np
import pytest

from gaitfeat.errors import LayoutError, PoseDataError, ReaderError
from gaitfeat.io.arrays import read_array, write_array
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.testing import stick_walker_3d


def _seq(**changes):
    seq = stick_walker_3d(30).replace(patient_id="p7", **changes)
    pos = seq.positions.copy()
    pos[3, 4] = np.nan
    conf = np.clip(seq.confidence * 0.8, 0, 1)
    return seq.replace(positions=pos, confidence=conf)


@pytest.mark.parametrize("layout", ["body25", "h36m17", "mediapipe33"])
def test_write_read_round_trip_needs_no_arguments(tmp_path, layout):
    seq = _seq().to_layout(layout)
    back = read_array(write_array(tmp_path / "walk.npz", seq))
    assert isinstance(back, PoseSequence3D)
    assert (back.layout, back.fps, back.units, back.patient_id, back.video_id) == (
        seq.layout, seq.fps, seq.units, seq.patient_id, seq.video_id)
    np.testing.assert_array_equal(back.positions, seq.positions)
    np.testing.assert_array_equal(back.confidence, seq.confidence)
    np.testing.assert_array_equal(back.vertical, seq.vertical)
    assert back.info["read_array"]["key"] == "positions"


def test_round_trip_mm_without_vertical_and_exact_path(tmp_path):
    seq = stick_walker_3d(10, units="mm", view="behind", video_id=None)
    path = write_array(tmp_path / "walk.arr", seq)  # no .npz appended
    assert path.exists() and not (tmp_path / "walk.arr.npz").exists()
    back = read_array(path)
    assert back.units == "mm" and back.vertical is None and back.video_id == "walk"
    np.testing.assert_array_equal(back.positions, seq.positions)


def test_plain_npy_3d_and_with_confidence(tmp_path):
    seq = _seq()
    np.save(tmp_path / "xyz.npy", seq.positions.astype(np.float32))
    back = read_array(tmp_path / "xyz.npy", layout="body25", fps=30, units="m", vertical=(0, 1, 0))
    np.testing.assert_allclose(back.positions, seq.positions, atol=1e-6)
    assert back.confidence[3, 4] == 0 and back.confidence[0, 0] == 1 and back.vertical is not None
    xyzc = np.concatenate([seq.positions, seq.confidence[..., None]], axis=2)
    np.save(tmp_path / "xyzc.npy", xyzc)
    back = read_array(tmp_path / "xyzc.npy", layout="BODY-25", fps=30)
    np.testing.assert_allclose(back.confidence, seq.confidence)
    assert back.units == "m" and back.video_id == "xyzc"


def test_npz_from_another_tool_with_key(tmp_path):
    seq = _seq().to_layout("h36m17")
    np.savez(tmp_path / "lifter.npz", poses_3d=seq.positions * 1000, frame_ids=np.arange(30))
    with pytest.raises(ReaderError, match=r"cannot tell which array .*\['frame_ids', 'poses_3d'\].*key="):
        read_array(tmp_path / "lifter.npz", layout="h36m17", fps=30)
    back = read_array(tmp_path / "lifter.npz", key="poses_3d", layout="h36m17", fps=30, units="mm")
    np.testing.assert_allclose(back.to_metres().positions, seq.positions)
    with pytest.raises(ReaderError, match="no array 'poses'"):
        read_array(tmp_path / "lifter.npz", key="poses", layout="h36m17", fps=30)


def test_2d_keypoints_convert_to_the_pipeline_layout(tmp_path):
    rng = np.random.default_rng(1)
    xy = rng.uniform(10, 500, (20, 17, 2))
    xy[2, 5] = 0.0  # OpenPose's undetected encoding
    xy[3, 6] = np.nan
    np.save(tmp_path / "kp.npy", xy)
    seq = read_array(tmp_path / "kp.npy", layout="h36m17", fps=25, kind="2d")
    assert isinstance(seq, PoseSequence) and seq.layout == "coco17"
    rep = seq.info["read_array"]
    assert rep["pipeline_layout"] == "coco17" and "nose" in rep["absent_joints"] and rep["missing_values"] == 2
    knee = seq.skeleton.index("right_knee")
    np.testing.assert_allclose(seq.xy[:, knee], xy[:, 2], rtol=1e-6)
    xyc = np.concatenate([rng.uniform(10, 500, (20, 26, 2)), rng.uniform(0, 1, (20, 26, 1))], axis=2)
    xyc[4, 20, 2] = 0.0
    seq = read_array(_save_npz(tmp_path, keypoints=xyc), layout="halpe26", fps=25, kind="2d")
    assert seq.layout == "body25" and seq.info["read_array"]["absent_joints"] == []  # Halpe-26 has every BODY_25 joint
    assert seq.info["read_array"]["key"] == "keypoints"
    np.testing.assert_allclose(seq.confidence[:, seq.skeleton.index("right_heel")], xyc[:, 25, 2], rtol=1e-6)
    assert np.isnan(seq.keypoints[4, seq.skeleton.index("left_big_toe"), 0])
    with pytest.raises(ValueError, match="units and vertical are for 3-D"):
        read_array(tmp_path / "kp.npy", layout="h36m17", fps=25, kind="2d", units="m")
    with pytest.raises(ValueError, match="kind must be"):
        read_array(tmp_path / "kp.npy", layout="h36m17", fps=25, kind="3-D")


def _save_npz(tmp_path, name="a.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


GOOD = np.zeros((5, 17, 3)) + 0.5


@pytest.mark.parametrize(
    ("arrays", "kwargs", "error", "match"),
    [
        ({"positions": GOOD}, {"fps": 30}, LayoutError, "no layout given and none stored"),
        ({"positions": GOOD}, {"layout": "coco18", "fps": 30}, LayoutError, "unknown skeleton layout 'coco18'"),
        ({"positions": GOOD, "layout": np.array("coco18"), "fps": np.array(30.0)}, {}, LayoutError, "stored layout"),
        ({"positions": GOOD}, {"layout": "body25", "fps": 30}, LayoutError, "17 joints but layout 'body25' has 25"),
        ({"positions": GOOD}, {"layout": "coco17"}, PoseDataError, "no fps given and none stored"),
        ({"positions": GOOD}, {"layout": "coco17", "fps": 5000}, PoseDataError, "outside the plausible range"),
        ({"positions": GOOD}, {"layout": "coco17", "fps": 30, "units": "cm"}, PoseDataError, "units must be 'm' or 'mm'"),
        ({"positions": GOOD, "units": np.array("cm")}, {"layout": "coco17", "fps": 30}, ReaderError, "stored units 'cm'"),
        ({"positions": GOOD, "units": np.array("mm")}, {"layout": "coco17", "fps": 30, "units": "m"}, ReaderError,
         "units='m' was given but the file stores units 'mm'"),
        ({"positions": GOOD, "fps": np.array(60.0)}, {"layout": "coco17", "fps": 30}, ReaderError, "fps=30.0 was given but the file stores fps 60.0"),
        ({"positions": GOOD, "layout": np.array("h36m17")}, {"layout": "coco17", "fps": 30}, ReaderError, "layout='coco17' was given"),
        ({"positions": GOOD, "vertical": np.array([0.0, 0.0, 1.0])}, {"layout": "coco17", "fps": 30, "vertical": (0, 1, 0)},
         ReaderError, "vertical=.* was given but the file stores"),
        ({"positions": GOOD[0]}, {"layout": "coco17", "fps": 30}, ReaderError, r"must have shape \(frames, joints, 3 or 4\).*got shape \(17, 3\)"),
        ({"positions": np.zeros((5, 17, 5))}, {"layout": "coco17", "fps": 30}, ReaderError, "got shape"),
        ({"positions": np.zeros((0, 17, 3))}, {"layout": "coco17", "fps": 30}, ReaderError, "no frames"),
        ({"positions": GOOD.astype(str)}, {"layout": "coco17", "fps": 30}, ReaderError, "must hold real numbers .*<U"),
        ({"positions": GOOD.astype(complex)}, {"layout": "coco17", "fps": 30}, ReaderError, "must hold real numbers .*complex"),
        ({"positions": GOOD > 0}, {"layout": "coco17", "fps": 30}, ReaderError, "must hold real numbers .*bool"),
        ({"positions": np.array([GOOD], dtype=object)}, {"layout": "coco17", "fps": 30}, ReaderError, "holds Python objects"),
        ({"positions": np.where(np.arange(3) == 1, np.inf, GOOD)}, {"layout": "coco17", "fps": 30}, ReaderError,
         "infinite value at frame 0, joint 0, channel 1"),
        ({"positions": GOOD, "confidence": np.full((5, 17), 1.5)}, {"layout": "coco17", "fps": 30}, ReaderError,
         r"confidence 1.5 outside \[0, 1\]"),
        ({"positions": GOOD, "confidence": np.ones((5, 16))}, {"layout": "coco17", "fps": 30}, ReaderError, "'confidence' has shape"),
        ({"positions": np.concatenate([GOOD, GOOD[..., :1]], 2), "confidence": np.ones((5, 17))}, {"layout": "coco17", "fps": 30},
         ReaderError, "confidence is both"),
        ({"positions": GOOD, "fps": np.array([30.0, 30.0])}, {"layout": "coco17"}, ReaderError, "must be a single value"),
        ({"positions": GOOD, "fps": np.array("fast")}, {"layout": "coco17"}, ReaderError, "metadata 'fps' must be a number"),
        ({"positions": GOOD, "layout": np.array(5)}, {"fps": 30}, ReaderError, "metadata 'layout' must be a string"),
        ({"positions": GOOD, "fps": np.array(-3.0)}, {"layout": "coco17"}, ReaderError, "stored fps"),
        ({"a": GOOD, "b": GOOD}, {"layout": "coco17", "fps": 30}, ReaderError, "cannot tell which array"),
    ],
)
def test_bad_npz(tmp_path, arrays, kwargs, error, match):
    path = _save_npz(tmp_path, "bad_array.npz", **arrays)
    with pytest.raises(error, match=match) as info:
        read_array(path, **kwargs)
    assert str(path) in str(info.value)
    if isinstance(info.value, ReaderError):
        assert info.value.path == str(path)


def test_bad_npy_and_other_files(tmp_path, no_hang):
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ReaderError, match="obj.npy: the array holds Python objects"):
        read_array(tmp_path / "obj.npy", layout="coco17", fps=30)
    np.save(tmp_path / "ok.npy", GOOD)
    raw = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[:-10])
    with pytest.raises(ReaderError, match="cut.npy: truncated or corrupt"):
        read_array(tmp_path / "cut.npy", layout="coco17", fps=30)
    with pytest.raises(ReaderError, match="key= is for .npz"):
        read_array(tmp_path / "ok.npy", layout="coco17", fps=30, key="positions")
    (tmp_path / "junk.npy").write_bytes(b"hello world")
    with pytest.raises(ReaderError, match="junk.npy: neither a .npy array nor a .npz archive"):
        read_array(tmp_path / "junk.npy", layout="coco17", fps=30)
    good_npz = write_array(tmp_path / "g.npz", stick_walker_3d(5)).read_bytes()
    (tmp_path / "cut.npz").write_bytes(good_npz[: len(good_npz) // 2])
    with pytest.raises(ReaderError, match="cut.npz"):
        read_array(tmp_path / "cut.npz")
    with pytest.raises(ReaderError, match="no such file"):
        read_array(tmp_path / "missing.npy", layout="coco17", fps=30)
    import os

    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(ReaderError, match="named pipe"):
        read_array(tmp_path / "pipe.npy", layout="coco17", fps=30)


def test_gaitfeat_sequence_file_gets_a_hint(tmp_path):
    from gaitfeat import write_npz
    from gaitfeat.testing import stick_walker

    path = write_npz(tmp_path / "seqs.npz", [stick_walker(10), stick_walker(10)])
    with pytest.raises(ReaderError, match="read it with read_npz"):
        read_array(path, layout="body25", fps=30)


def test_write_array_type_error(tmp_path):
    from gaitfeat.testing import stick_walker

    with pytest.raises(TypeError, match="PoseSequence3D"):
        write_array(tmp_path / "x.npz", stick_walker(5))


def test_units_that_contradict_the_body_size_are_refused(tmp_path):
    from gaitfeat.testing import stick_walker_3d

    seq = stick_walker_3d(30, units="mm")
    np.save(tmp_path / "walk.npy", seq.positions)  # millimetres, but declared metres below
    with pytest.raises(ReaderError, match=r"walk\.npy.*800 m .*fit units .mm."):
        read_array(tmp_path / "walk.npy", layout="body25", fps=30.0, units="m")
