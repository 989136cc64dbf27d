import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat import read_clips_npz, read_npz, write_clips_npz, write_npz
from gaitfeat.errors import ReaderError
from gaitfeat.testing import stick_walker


def test_sequences_round_trip(tmp_path):
    a = gaitfeat.preprocess(stick_walker(200, turn_at=90))
    b = stick_walker(50, layout="coco17", patient_id=None, video_id="x").replace(fps=25.0)
    path = write_npz(tmp_path / "s.npz", [a, b])
    back = read_npz(path)
    assert len(back) == 2
    np.testing.assert_array_equal(back[0].keypoints, a.keypoints)
    np.testing.assert_array_equal(back[0].direction, a.direction)
    assert back[0].info["orient"] == a.info["orient"]
    assert back[1].layout == "coco17" and back[1].fps == 25.0 and back[1].patient_id is None and back[1].direction is None


def test_clips_round_trip(tmp_path):
    seq = gaitfeat.preprocess(stick_walker(300))
    clips, meta, report = gaitfeat.make_clips(seq, labels=pd.DataFrame({"video_id": ["walk0"], "gmfcs": [2]}))
    path = write_clips_npz(tmp_path / "c.npz", clips, meta, extra={"report": report.to_dict()})
    c2, m2, extra = read_clips_npz(path)
    np.testing.assert_array_equal(c2, clips)
    pd.testing.assert_frame_equal(m2, meta, check_dtype=False)
    assert extra["report"]["windows_kept"] == len(meta)


def test_no_pickle_and_clear_errors(tmp_path):
    obj = tmp_path / "obj.npz"
    np.savez(obj, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ReaderError, match="not a gaitfeat .npz"):
        read_npz(obj)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ReaderError, match="not a readable .npz"):
        read_npz(tmp_path / "junk.npz")
    with pytest.raises(ReaderError, match="no such file"):
        read_npz(tmp_path / "missing.npz")
    seq_file = write_npz(tmp_path / "s.npz", stick_walker(20))
    with pytest.raises(ReaderError, match="expected 'gaitfeat.clips'"):
        read_clips_npz(seq_file)


# -- class: malformed .npz files -------------------------------------------------


def _meta(record) -> np.ndarray:
    return np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)


def _seq_record(**changes):
    rec = {"fps": 30.0, "layout": "body25", "patient_id": "p", "video_id": "v", "info": {}}
    rec.update(changes)
    return {"format": "gaitfeat.sequences", "version": 1, "sequences": [rec]}


GOOD_KP = stick_walker(5).keypoints


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"__meta__": np.array([1.5, 2.5])}, "corrupt metadata record .*float64"),
        ({"__meta__": np.array(["{}"])}, "corrupt metadata record"),
        ({"__meta__": np.array([{"format": 1}], dtype=object)}, "holds Python objects"),
        ({"__meta__": np.frombuffer(b"\xff\xfe", dtype=np.uint8)}, "corrupt metadata record"),
        ({"__meta__": np.frombuffer(b"{not json", dtype=np.uint8)}, "corrupt metadata record"),
        ({"__meta__": _meta([1, 2, 3])}, "not an object"),
        ({"__meta__": _meta("text")}, "not an object"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences"})}, "version None is not an integer"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences", "version": "1"})}, "version '1' is not an integer"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences", "version": 99})}, "version 99 is newer"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences", "version": 0})}, "unknown format version 0"),
        ({"__meta__": _meta({"format": "something.else", "version": 1})}, "holds 'something.else'"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences", "version": 1, "sequences": {"a": 1}})}, "'sequences' is a dict"),
        ({"__meta__": _meta({"format": "gaitfeat.sequences", "version": 1, "sequences": [5]})}, "sequence 0: metadata is a int"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP[0]}, "keypoints must have 3 dimensions"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP.astype(str)}, "must hold real numbers, got dtype <U"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP.astype(complex)}, "must hold real numbers, got dtype complex"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": np.array([GOOD_KP], dtype=object)}, "holds Python objects"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP[:, :17]}, "sequence 0: .*17 joints"),
        ({"__meta__": _meta(_seq_record(fps="fast")), "keypoints_0": GOOD_KP}, "fps 'fast' is not a number"),
        ({"__meta__": _meta(_seq_record(fps=-1)), "keypoints_0": GOOD_KP}, "sequence 0: .*fps"),
        ({"__meta__": _meta(_seq_record(layout=["body25"])), "keypoints_0": GOOD_KP}, "layout .* is not a string"),
        ({"__meta__": _meta(_seq_record(layout="coco18")), "keypoints_0": GOOD_KP}, "sequence 0: .*coco18"),
        ({"__meta__": _meta(_seq_record(video_id=5)), "keypoints_0": GOOD_KP}, "video_id 5 is not a string"),
        ({"__meta__": _meta(_seq_record(info=[1])), "keypoints_0": GOOD_KP}, "info is a list"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP, "direction_0": np.zeros(5)}, "direction must hold integers"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP, "direction_0": np.full(5, 7)}, "direction values"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP, "root_0": np.zeros(5)}, "root must have 2 dimensions"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": -GOOD_KP - 1}, "confidence .* outside"),
        ({"__meta__": _meta(_seq_record()), "keypoints_0": GOOD_KP.astype(np.float64) * 1e300}, "beyond the float32 range"),
    ],
)
def test_malformed_sequence_files(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ReaderError, match=match) as info:
        read_npz(path)
    assert info.value.path == str(path) and str(path) in str(info.value)


def test_truncated_and_corrupt_zips(tmp_path):
    good = write_npz(tmp_path / "good.npz", stick_walker(50)).read_bytes()
    for n in (0, 3, 10, 100, len(good) // 2, len(good) - 10):
        path = tmp_path / f"trunc{n}.npz"
        path.write_bytes(good[:n])
        with pytest.raises(ReaderError, match="trunc"):
            read_npz(path)
    flipped = bytearray(good)
    for k in range(60, len(flipped) - 100, 97):
        flipped[k] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ReaderError, match="flipped.npz"):
        read_npz(tmp_path / "flipped.npz")


def _npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def test_array_header_that_lies_about_its_size(tmp_path):
    """A header claiming 10^12 floats must not be allocated."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(4))
    header["shape"] = (10**12,)
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    member.write(np.zeros(4).tobytes())
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__meta__.npy", _npy_bytes(_meta(_seq_record())))
        zf.writestr("keypoints_0.npy", member.getvalue())
    with pytest.raises(ReaderError, match="keypoints_0.* truncated or corrupt"):
        read_npz(path)


def test_folder_and_broken_link(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ReaderError, match="is a folder"):
        read_npz(tmp_path / "dir.npz")
    (tmp_path / "link.npz").symlink_to(tmp_path / "gone.npz")
    with pytest.raises(ReaderError, match="broken symbolic link"):
        read_clips_npz(tmp_path / "link.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ReaderError, match="not a zip archive"):
        read_npz(tmp_path / "plain.npy")


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"clips": np.zeros((2, 4, 17))}, "clips must have 4 dimensions"),
        ({"clips": np.zeros((2, 4, 17, 3), dtype=bool)}, "real numbers"),
        ({"clips": np.zeros((2, 4, 17, 3)), "meta": 5}, "clip table is a int"),
        ({"clips": np.zeros((2, 4, 17, 3)), "meta": "{not json"}, "corrupt clip table"),
        ({"clips": np.zeros((2, 4, 17, 3)), "meta": '{"schema": {"fields": 3}, "data": 1}'}, "corrupt clip table"),
        ({"clips": np.zeros((2, 4, 17, 3)), "meta": None}, "clip table is a NoneType"),
        ({"clips": np.zeros((3, 4, 17, 3))}, "2 metadata rows for 3 clips"),
        ({"clips": np.zeros((2, 4, 17, 3)), "extra": [1]}, "'extra' is a list"),
    ],
)
def test_malformed_clip_files(tmp_path, arrays, match):
    table = pd.DataFrame({"video_id": ["a", "b"]}).to_json(orient="table", index=False)
    record = {"format": "gaitfeat.clips", "version": 1, "meta": arrays.pop("meta", table), "extra": arrays.pop("extra", {})}
    path = tmp_path / "clips.npz"
    np.savez(path, __meta__=_meta(record), **arrays)
    with pytest.raises(ReaderError, match=match):
        read_clips_npz(path)


def test_write_clips_rejects_ragged_input(tmp_path):
    from gaitfeat.errors import PoseDataError

    with pytest.raises(PoseDataError, match="ragged or non-numeric"):
        write_clips_npz(tmp_path / "c.npz", [np.zeros((4, 17, 3)), np.zeros((5, 17, 3))], pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(PoseDataError, match="shape"):
        write_clips_npz(tmp_path / "c.npz", np.zeros((4, 17, 3)), pd.DataFrame({"a": [1, 2]}))


# -- class: metadata numbers, duplicate members, special files ---------------------------


@pytest.mark.parametrize(
    ("fps", "match"),
    [
        (10**400, "fps must be a finite number"),
        (1e-300, "fps 1e-300 is outside the plausible range 1 to 1000 frames/s"),
        (1e300, "fps 1e\\+300 is outside the plausible range 1 to 1000 frames/s"),
        (0.5, "fps 0.5 is outside the plausible range 1 to 1000"),
    ],
    ids=["10**400", "1e-300", "1e300", "0.5"],
)
def test_fps_metadata_out_of_range(tmp_path, fps, match):
    meta = np.frombuffer(json.dumps(_seq_record(fps=fps)).encode(), dtype=np.uint8)
    np.savez(tmp_path / "f.npz", __meta__=meta, keypoints_0=GOOD_KP)
    with pytest.raises(ReaderError, match=rf"f.npz: sequence 0: {match}"):
        read_npz(tmp_path / "f.npz")


def test_duplicate_member_names_are_refused(tmp_path):
    import warnings

    path = tmp_path / "dup.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("__meta__.npy", _npy_bytes(_meta(_seq_record())))
            zf.writestr("keypoints_0.npy", _npy_bytes(GOOD_KP))
            zf.writestr("keypoints_0.npy", _npy_bytes(GOOD_KP * 2))
    with pytest.raises(ReaderError, match=r"dup.npz: the archive holds several members named \['keypoints_0.npy'\]"):
        read_npz(path)


def test_total_member_size_is_bounded(tmp_path, monkeypatch):
    import gaitfeat.io.npz as npz

    path = write_npz(tmp_path / "ok.npz", stick_walker(20))
    monkeypatch.setattr(npz, "MAX_NPZ_BYTES", 2000)
    with pytest.raises(ReaderError, match="ok.npz: .*(more than|larger than) the 2000-byte limit"):
        read_npz(path)


def test_special_files_are_refused(tmp_path):
    import os

    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.npz")
        with pytest.raises(ReaderError, match=r"pipe.npz: is a named pipe \(FIFO\), not a regular file"):
            read_npz(tmp_path / "pipe.npz")
    if os.path.exists("/dev/zero"):
        (tmp_path / "zero.npz").symlink_to("/dev/zero")
        with pytest.raises(ReaderError, match="zero.npz: is a device, not a regular file"):
            read_clips_npz(tmp_path / "zero.npz")
