import numpy as np
import pytest

from gaitfeat import PoseSequence
from gaitfeat.errors import LayoutError, PoseDataError


def _kp(T=10, V=25):
    rng = np.random.default_rng(0)
    kp = np.empty((T, V, 3), dtype=np.float32)
    kp[..., :2] = rng.uniform(10, 500, size=(T, V, 2))
    kp[..., 2] = 0.9
    return kp


def test_construction_converts_and_validates():
    seq = PoseSequence(_kp().astype(np.float64), 30, "body25", patient_id=7, video_id="v1")
    assert seq.keypoints.dtype == np.float32
    assert seq.fps == 30.0 and seq.layout == "body25"
    assert seq.patient_id == "7" and seq.video_id == "v1"
    assert seq.n_frames == 10 and seq.n_joints == 25 and seq.duration == pytest.approx(10 / 30)
    assert "10 frames" in repr(seq)


def test_nan_marks_the_whole_joint_missing():
    kp = _kp()
    kp[3, 4, 0] = np.nan
    kp[5, 6, 2] = np.nan
    seq = PoseSequence(kp, 30, "body25")
    assert np.isnan(seq.keypoints[3, 4, :2]).all() and seq.keypoints[3, 4, 2] == 0
    assert np.isnan(seq.keypoints[5, 6, :2]).all() and seq.keypoints[5, 6, 2] == 0
    assert seq.missing_mask().sum() == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"fps": 0}, PoseDataError, "fps"),
        ({"fps": -25}, PoseDataError, "fps"),
        ({"fps": float("nan")}, PoseDataError, "fps"),
        ({"fps": "fast"}, PoseDataError, "fps"),
        ({"layout": "coco17"}, LayoutError, "25 joints but layout 'coco17' has 17"),
        ({"layout": "mpii"}, LayoutError, "unknown skeleton layout"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"keypoints": _kp(), "fps": 30, "layout": "body25", **kwargs}
    with pytest.raises(error, match=match):
        PoseSequence(**args)


def test_bad_arrays_name_frame_and_joint():
    with pytest.raises(PoseDataError, match=r"shape \(T, V, 3\)"):
        PoseSequence(np.zeros((10, 25)), 30)
    with pytest.raises(PoseDataError, match="no frames"):
        PoseSequence(np.zeros((0, 25, 3)), 30)
    kp = _kp()
    kp[4, 11, 1] = np.inf
    with pytest.raises(PoseDataError, match="frame 4, joint 'right_ankle'"):
        PoseSequence(kp, 30, video_id="v9")
    kp = _kp()
    kp[2, 0, 2] = 1.5
    with pytest.raises(PoseDataError, match="confidence 1.5 outside"):
        PoseSequence(kp, 30)


def test_from_openpose_array_zero_means_missing():
    kp = _kp()
    kp[0, 3] = 0.0
    kp[1, 2, 2] = 0.0
    seq = PoseSequence.from_openpose_array(kp, 30)
    assert seq.missing_mask()[0, 3] and seq.missing_mask()[1, 2]
    assert seq.missing_mask().sum() == 2


def test_to_layout_coco17_picks_joints_by_name():
    seq = PoseSequence(_kp(), 25, "body25", video_id="v")
    coco = seq.to_layout("coco17")
    assert coco.layout == "coco17" and coco.n_joints == 17 and coco.fps == 25
    np.testing.assert_array_equal(coco.keypoints[:, 13], seq.keypoints[:, 13])  # left knee
    np.testing.assert_array_equal(coco.keypoints[:, 14], seq.keypoints[:, 10])  # right knee
    assert coco.to_layout("coco17").layout == "coco17"
    with pytest.raises(LayoutError):
        coco.to_layout("body25")


def test_direction_validated_and_info_copied():
    info = {"a": {"b": 1}}
    seq = PoseSequence(_kp(), 30, direction=np.ones(10), info=info)
    info["a"]["b"] = 2
    assert seq.info["a"]["b"] == 1
    assert seq.direction.dtype == np.int8
    with pytest.raises(PoseDataError, match="direction"):
        PoseSequence(_kp(), 30, direction=np.full(10, 2))
    with pytest.raises(PoseDataError, match="direction must have shape"):
        PoseSequence(_kp(), 30, direction=np.ones(3))


def test_replace_merges_info():
    seq = PoseSequence(_kp(), 30, info={"x": 1})
    new = seq.replace(fps=60, info={"y": 2})
    assert new.fps == 60 and new.info == {"x": 1, "y": 2} and seq.fps == 30
