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
