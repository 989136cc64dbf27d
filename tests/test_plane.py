"""3-D poses onto the walking plane: vertical, bouts, projections, step width, the side-view check."""

from __future__ import annotations

import numpy as np
import pytest

import gaitfeat
from gaitfeat.errors import PoseDataError, ViewError
from gaitfeat.features import step_widths, walk_features, walk_features_3d
from gaitfeat.layouts import BODY25
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing import (
    check_side_view,
    estimate_vertical,
    make_clips,
    preprocess,
    preprocess_many,
    project_to_walking_plane,
)
from gaitfeat.testing import stick_walker, stick_walker_3d

COLUMNS = ["cadence", "stride_length", "walking_speed", "knee_rom_left", "knee_rom_right", "hip_rom_left",
           "hip_rom_right", "trunk_inclination", "stance_swing_ratio_left"]


def _angle_deg(a, b) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def _turned(seq: PoseSequence3D, at: int, degrees: float) -> PoseSequence3D:
    """An L-shaped walk: from frame ``at`` on, the walk is rotated about the vertical through the pelvis."""
    pos = seq.positions.copy()
    pivot = pos[at, BODY25.index("mid_hip")].copy()
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    pos[at:] = (pos[at:] - pivot) @ rot.T + pivot
    return seq.replace(positions=pos)


@pytest.mark.parametrize("view", ["lab", "behind"])
def test_vertical_is_found(view):
    seq = stick_walker_3d(300, view=view, heading_deg=25.0, turn_at=150)
    up, source = estimate_vertical(seq)
    assert source == ("given" if view == "lab" else "skeleton")
    assert _angle_deg(up, seq.info["truth"]["up"]) < 0.5


def test_projection_is_the_side_view():
    """A 3-D walk seen from anywhere, projected, measures what the 2-D side view of the same walk measures."""
    side = walk_features(preprocess(stick_walker(360, turn_at=180)))
    for view, heading in (("lab", 0.0), ("lab", 70.0), ("behind", 0.0), ("behind", -30.0)):
        seq = stick_walker_3d(360, view=view, heading_deg=heading, turn_at=180, units="mm")
        flat = project_to_walking_plane(seq)
        assert flat.layout == "body25" and flat.info["projection"]["units"] == "m"
        assert len(flat.info["projection"]["bouts"]) == 2
        assert abs(flat.info["projection"]["bouts"][1]["turn_deg"]) > 179.0  # out and back on one line
        got = walk_features(preprocess(flat))
        for col in COLUMNS:
            assert got[col].iloc[0] == pytest.approx(side[col].iloc[0], rel=0.01, abs=0.5), (view, heading, col)


def test_out_and_back_walks_back_along_minus_x():
    seq = stick_walker_3d(360, view="behind", turn_at=180)
    x = project_to_walking_plane(seq).keypoints[:, BODY25.index("mid_hip"), 0]
    assert x[170] - x[0] > 1.0 and x[-1] < x[220] - 1.0


def test_a_corner_keeps_x_growing():
    straight = stick_walker_3d(360, view="lab")
    corner = _turned(straight, 180, 90.0)
    flat = project_to_walking_plane(corner)
    bouts = flat.info["projection"]["bouts"]
    assert len(bouts) == 2 and abs(abs(bouts[1]["turn_deg"]) - 90.0) < 2.0
    x = flat.keypoints[:, BODY25.index("mid_hip"), 0]
    assert np.all(np.diff(x[5:-5]) > 0)
    a = walk_features(preprocess(project_to_walking_plane(straight)))
    b = walk_features(preprocess(flat))
    for col in ("cadence", "stride_length", "knee_rom_left", "hip_rom_right"):
        assert b[col].iloc[0] == pytest.approx(a[col].iloc[0], rel=0.02), col


def test_units_do_not_matter_and_metres_need_no_height():
    m = walk_features_3d(stick_walker_3d(300, view="behind", units="m"))
    mm = walk_features_3d(stick_walker_3d(300, view="behind", units="mm"))
    for col in ("stride_length_m", "walking_speed_m", "step_width_m", "knee_rom_left"):
        assert mm[col].iloc[0] == pytest.approx(m[col].iloc[0], rel=1e-5)
    # The leg length preprocessing divides by is the walker's, in metres.
    flat = preprocess(project_to_walking_plane(stick_walker_3d(300, leg_m=0.62)))
    assert flat.info["scale_by_leg_length"]["leg_length"] == pytest.approx(0.62, rel=0.01)


def test_step_width_and_frontal_plane():
    seq = stick_walker_3d(360, view="behind", heading_deg=40.0, turn_at=180)
    widths = step_widths(seq)
    assert len(widths) >= 10 and set(widths["side"]) == {"left", "right"}
    np.testing.assert_allclose(widths["step_width_m"], seq.info["truth"]["step_width_m"], rtol=1e-3)
    front = project_to_walking_plane(seq, "frontal")
    x = front.keypoints[:, :, 0]
    # Seen from behind the walker's right is +x: the right hip is to the right of the left one (before the turn).
    assert np.all(x[:150, BODY25.index("right_hip")] > x[:150, BODY25.index("left_hip")])
    table = walk_features_3d(seq)
    assert table["step_width_m"].iloc[0] == pytest.approx(0.16, rel=1e-3)
    assert table["step_width_point"].iloc[0] == "heel" and table["vertical_source"].iloc[0] == "skeleton"


def test_lifter_layout_without_face_or_feet():
    seq = stick_walker_3d(300, view="behind", layout="mpi_inf_3dhp_17")
    flat = project_to_walking_plane(seq)
    assert flat.layout == "coco17"
    assert set(flat.info["projection"]["absent_joints"]) == {"nose", "left_eye", "right_eye", "left_ear", "right_ear"}
    clips = make_clips([preprocess(flat)], window=124, stride=62)
    # The five absent face joints do not count as undetected: the clips are kept.
    assert len(clips.clips) >= 2 and clips.meta["valid_fraction"].min() == pytest.approx(1.0)
    assert np.allclose(clips.meta["leg_length_m"], 0.8, rtol=0.02)
    table = walk_features_3d(seq)
    assert table["step_width_point"].iloc[0] == "ankle"
    # The lifter has no face: the head angles are NaN with a reason, never computed from made-up points.
    assert np.isnan(table["neck_angle_left"].iloc[0]) and "neck_angle_left" in table["nan_reason"].iloc[0]
    assert np.isfinite(table[["cadence", "stride_length_m", "knee_rom_left", "step_width_m"]].to_numpy(float)).all()


def test_hip_centred_world_landmarks_use_the_facing_direction():
    seq = stick_walker_3d(240, view="lab", heading_deg=30.0)
    pelvis = seq.positions[:, BODY25.index("mid_hip")]
    centred = seq.replace(positions=seq.positions - pelvis[:, None])
    flat = project_to_walking_plane(centred)
    assert len(flat.info["projection"]["bouts"]) == 1
    # The knee flexes forward: with the facing direction as +x the knee angle ranges as in the walking case.
    a = walk_features(preprocess(project_to_walking_plane(seq)), camera="moving")
    b = walk_features(preprocess(flat), camera="moving")
    assert b["knee_rom_left"].iloc[0] == pytest.approx(a["knee_rom_left"].iloc[0], abs=0.5)


def test_projection_errors():
    seq = stick_walker_3d(120)
    with pytest.raises(ValueError, match="plane"):
        project_to_walking_plane(seq, "transverse")
    with pytest.raises(TypeError, match="PoseSequence3D"):
        project_to_walking_plane(stick_walker(120))
    pos = seq.positions.copy()
    pos[:, BODY25.index("left_hip")] = np.nan
    with pytest.raises(PoseDataError, match="hips found in only 0"):
        project_to_walking_plane(seq.replace(positions=pos))
    with pytest.raises(PoseDataError, match="units"):
        PoseSequence3D(seq.positions, 30.0, units="cm")
    with pytest.raises(PoseDataError, match="vertical"):
        PoseSequence3D(seq.positions, 30.0, vertical=(0, 0, 0))


def test_frontal_2d_video_is_refused_with_a_clear_message():
    frontal = gaitfeat.simulate_walk(2, camera="back", dims=2, random_state=4).sequence
    with pytest.raises(ViewError, match="not a side view.*3-D poses"):
        preprocess(frontal)
    side = gaitfeat.simulate_walk(2, random_state=4).sequence
    assert check_side_view(side).info["check_side_view"]["shoulder_width"] < 0.1
    done, skipped = preprocess_many([side, frontal.replace(video_id="front")], on_error="skip")
    assert len(done) == 1 and "not a side view" in skipped["front"]
    # The same walk in 3-D from the same camera is fine once projected.
    walk3d = gaitfeat.simulate_walk(2, camera="back", dims=3, random_state=4, noise="none").sequence
    assert preprocess(project_to_walking_plane(walk3d)).info["check_side_view"]["hip_width"] < 0.05


@pytest.mark.parametrize("camera", ["side", "front", "back", "oblique"])
@pytest.mark.parametrize("seed", [0, 5])
def test_simulated_3d_walk_from_every_camera_matches_truth(camera, seed):
    """The acceptance of the any-view issue: a 3-D walk from any camera, projected, within 2 % / 2 deg of truth."""
    walk = gaitfeat.simulate_walk(random_state=seed, camera=camera, dims=3, noise="none")
    assert walk.sequence.vertical is None  # the camera's tilt is unknown to the pipeline
    row = walk_features_3d(walk.sequence).iloc[0]
    labels = walk.labels
    assert row["vertical_source"] == "skeleton" and row["metre_source"] == "3-D data"
    for ours, truth in (("cadence", "cadence"), ("stride_length_m", "stride_length_m"), ("walking_speed_m", "speed")):
        assert row[ours] == pytest.approx(labels[truth], rel=0.02), ours
    walking = walk.frames[walk.frames["walking"]]
    for joint in ("knee", "hip"):
        for side in ("left", "right"):
            assert abs(row[f"{joint}_rom_{side}"] - np.ptp(walking[f"{joint}_{side}"])) < 2.0, (joint, side)
    # Step width at each detected heel strike equals the simulator's at the nearest true heel strike.
    widths = step_widths(walk.sequence)
    truth = walk.events[walk.events["event"] == "heel_strike"]
    matched = 0
    for strike in widths.itertuples():
        same = truth[truth["side"] == strike.side]
        k = int(np.argmin(np.abs(same["frame"].to_numpy() - strike.frame)))
        if abs(same["frame"].iloc[k] - strike.frame) <= 3:
            assert strike.step_width_m == pytest.approx(same["step_width_m"].iloc[k], abs=0.005)
            matched += 1
    assert matched >= 0.8 * len(widths) and matched >= 6


def test_lifter_noise_keeps_spatiotemporal_parameters():
    """With lifter-like noise from behind: cadence, stride and speed stay close; ROM is what the noise allows."""
    walk = gaitfeat.simulate_walk(2, random_state=7, camera="back", dims=3, noise="default")
    row = walk_features_3d(walk.sequence).iloc[0]
    assert row["cadence"] == pytest.approx(walk.labels["cadence"], rel=0.03)
    assert row["stride_length_m"] == pytest.approx(walk.labels["stride_length_m"], rel=0.06)
    assert row["step_width_m"] == pytest.approx(walk.labels["step_width_m"], abs=0.02)
    # Metres from a known height instead of the 3-D data's scale.
    scaled = walk_features_3d(walk.sequence, height_m=walk.labels["height"]).iloc[0]
    assert scaled["metre_source"] == "height"
    assert scaled["stride_length"] == pytest.approx(row["stride_length"])


def test_a_wrong_given_vertical_is_refused():
    """Z-up data read as Y-up, or the sign reversed, would turn every angle into nonsense: refused, with a hint."""
    seq = stick_walker_3d(300, view="lab")
    zup = seq.replace(positions=seq.positions[..., [0, 2, 1]] * [1, -1, 1])  # the same walk with Z up, labelled Y up
    with pytest.raises(PoseDataError, match=r"from the trunk.*Z-up"):
        walk_features_3d(zup)
    with pytest.raises(PoseDataError, match="vertical"):
        walk_features_3d(seq.replace(vertical=(0, -1, 0)))
    assert walk_features_3d(zup.replace(vertical=(0, 0, 1)))["knee_rom_left"].iloc[0] == pytest.approx(60.0, abs=0.5)


def test_corner_walk_with_a_trunk_lean_keeps_the_vertical():
    lean = _turned(stick_walker_3d(360, view="lab", trunk_lean_deg=15.0), 180, 90.0)
    up, source = estimate_vertical(lean.replace(vertical=None))
    assert source == "skeleton" and _angle_deg(up, [0, 1, 0]) < 1.0
    a = walk_features_3d(lean).iloc[0]
    b = walk_features_3d(lean.replace(vertical=None)).iloc[0]
    for col in ("stride_length_m", "hip_rom_left", "trunk_inclination"):
        assert b[col] == pytest.approx(a[col], rel=0.02, abs=0.5), col
    assert a["trunk_inclination"] == pytest.approx(15.0, abs=1.0) and b["spatial_method"] == "pelvis_path"


def test_root_relative_out_and_back_walk():
    """Hip-centred data (MediaPipe world landmarks, root-relative lifters): one axis along the walkway, no lean."""
    seq = stick_walker_3d(330, view="behind", turn_at=150, trunk_lean_deg=10.0)
    pelvis = seq.positions[:, BODY25.index("mid_hip")]
    rel = seq.replace(positions=seq.positions - pelvis[:, None])
    flat = project_to_walking_plane(rel)
    walkway = np.asarray(project_to_walking_plane(seq).info["projection"]["bouts"][0]["direction"])
    assert abs(np.dot(flat.info["projection"]["bouts"][0]["direction"], walkway)) > 0.99
    row = walk_features_3d(rel).iloc[0]
    assert row["vertical_source"] == "trunk" and np.isnan(row["trunk_inclination"])
    assert "vertical was taken from the trunk" in row["nan_reason"]
    assert row["knee_rom_left"] == pytest.approx(walk_features_3d(seq)["knee_rom_left"].iloc[0], abs=1.0)


def test_frontal_view_of_an_out_and_back_walk():
    seq = stick_walker_3d(330, view="lab", turn_at=150)
    front = project_to_walking_plane(seq, "frontal")
    x = front.keypoints[:, :, 0]
    gap = x[:, BODY25.index("right_hip")] - x[:, BODY25.index("left_hip")]
    assert np.all(gap[:140] > 0) and np.all(gap[200:] > 0)  # the walker's right is +x both ways
    assert np.abs(np.diff(x[:, BODY25.index("mid_hip")])).max() < 0.05  # no jump at the turn


def test_vertical_estimate_edge_cases():
    # Stepping on the spot in mm: the trunk gives the vertical (no NaN from a tiny path).
    seq = stick_walker_3d(120, step_length=0.0, units="mm")
    up, source = estimate_vertical(seq.replace(vertical=None))
    assert source == "trunk" and _angle_deg(up, [0, 1, 0]) < 1.0
    # Shoulders missing, neck present: the neck stands in frame by frame.
    pos = seq.positions.copy()
    pos[:, [BODY25.index("left_shoulder"), BODY25.index("right_shoulder")]] = np.nan
    assert estimate_vertical(seq.replace(positions=pos, vertical=None))[1] == "trunk"


def test_walks_that_fail_keep_the_columns():
    bad = stick_walker_3d(3)
    table = walk_features_3d([bad, stick_walker_3d(240)], on_error="skip")
    assert "cadence" in table.columns and "step_width_m" in table.columns
    assert np.isnan(table["cadence"].iloc[0]) and "too few" in table["nan_reason"].iloc[0]
    assert np.isfinite(table["cadence"].iloc[1])
