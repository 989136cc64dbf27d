import numpy as np
import pytest

from gaitfeat.errors import LayoutError
from gaitfeat.layouts import (
    BODY25,
    BODY25_TO_COCO17,
    COCO17,
    convert_keypoints,
    get_layout,
    layout_for_joint_count,
)


def test_joint_counts_and_names():
    assert BODY25.num_joints == 25
    assert COCO17.num_joints == 17
    # OpenPose BODY_25 order (doc/02_output.md) and COCO order, spot checks.
    assert BODY25.joints[1] == "neck" and BODY25.joints[8] == "mid_hip" and BODY25.joints[24] == "right_heel"
    assert COCO17.joints[0] == "nose" and COCO17.joints[5] == "left_shoulder" and COCO17.joints[16] == "right_ankle"


def test_body25_to_coco17_mapping_is_by_name():
    expected = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
    assert BODY25_TO_COCO17 == expected
    for coco_index, body_index in enumerate(BODY25_TO_COCO17):
        assert COCO17.joints[coco_index] == BODY25.joints[body_index]


def test_convert_keypoints_takes_the_named_joints():
    kp = np.arange(2 * 25 * 3, dtype=np.float32).reshape(2, 25, 3)
    out = convert_keypoints(kp, "body25", "coco17")
    assert out.shape == (2, 17, 3)
    np.testing.assert_array_equal(out[:, COCO17.index("left_knee")], kp[:, 13])
    np.testing.assert_array_equal(out[:, COCO17.index("right_ear")], kp[:, 17])


def test_conversion_never_invents_joints():
    with pytest.raises(LayoutError, match="cannot convert"):
        convert_keypoints(np.zeros((1, 17, 3)), "coco17", "body25")
    with pytest.raises(LayoutError, match="18 joints"):
        convert_keypoints(np.zeros((1, 18, 3)), "body25", "coco17")


def test_parents_are_the_anatomical_tree():
    # Written out by hand from the OpenPose and COCO skeletons.
    body25_parents = (1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 10, 8, 12, 13, 0, 0, 15, 16, 14, 19, 14, 11, 22, 11)
    coco17_parents = (-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
    assert BODY25.parents == body25_parents
    assert COCO17.parents == coco17_parents


def test_left_right_pairs_and_flip():
    for layout in (BODY25, COCO17):
        for left, right in layout.lr_pairs:
            assert layout.joints[left].replace("left_", "") == layout.joints[right].replace("right_", "")
        flip = layout.flip_index
        np.testing.assert_array_equal(flip[flip], np.arange(layout.num_joints))
    assert len(COCO17.lr_pairs) == 8
    assert len(BODY25.lr_pairs) == 11
    assert COCO17.flip_index[COCO17.index("left_knee")] == COCO17.index("right_knee")
    assert COCO17.flip_index[0] == 0


def test_segments_cover_the_body():
    for layout in (BODY25, COCO17):
        assert set(layout.segments) == {"head", "trunk", "left_arm", "right_arm", "left_leg", "right_leg"}
        covered = set().union(*layout.segments.values())
        assert covered == set(range(layout.num_joints))
        for side in ("left", "right"):
            names = {layout.joints[i] for i in layout.segments[f"{side}_leg"]}
            assert {f"{side}_hip", f"{side}_knee", f"{side}_ankle"} <= names


def test_graph_edges_adjacency_and_centre():
    for layout in (BODY25, COCO17):
        a = layout.adjacency()
        assert a.shape == (layout.num_joints,) * 2
        np.testing.assert_array_equal(a, a.T)
        assert a.sum() == 2 * (layout.num_joints - 1)
        hops = layout.hop_distance()
        assert (hops >= 0).all() and (np.diag(hops) == 0).all()
    assert BODY25.joints[BODY25.center] == "neck"
    assert COCO17.joints[COCO17.center] == "nose"
    # Ankle to nose in COCO: ankle-knee-hip-shoulder-nose.
    assert COCO17.hop_distance()[COCO17.index("left_ankle"), 0] == 4


def test_get_layout_and_errors():
    assert get_layout("BODY_25") is BODY25
    assert get_layout("coco-17") is COCO17
    assert get_layout(COCO17) is COCO17
    with pytest.raises(LayoutError, match="unknown skeleton layout"):
        get_layout("mpii")
    assert layout_for_joint_count(25) is BODY25
    with pytest.raises(LayoutError, match="18 joints"):
        layout_for_joint_count(18)
    with pytest.raises(LayoutError, match="no joint"):
        COCO17.index("neck")
