"""Joint-angle curves per gait cycle: hand-computed poses, the stick walker, the simulator's true angles."""

from __future__ import annotations

import numpy as np
import pytest

import gaitfeat
from gaitfeat.errors import LayoutError, PoseDataError
from gaitfeat.features.angle_curves import AngleCurves, angle_channels, angle_curves, frame_angles
from gaitfeat.simulate.pathology import side_angles
from gaitfeat.testing import stick_walker

FPS, CADENCE = 30.0, 100.0          # 36 frames per stride
HIP_AMP, KNEE_AMP, ARM_AMP = 20.0, 50.0, 15.0
# The stick walker's foot points are fixed offsets from the ankle: heel (-0.06, -0.05), big toe (0.15, -0.07).
FOOT_DEG = np.degrees(np.arctan2(-0.02, 0.21))


def stick_truth(name: str, phase: np.ndarray) -> np.ndarray:
    """The stick walker's angles (deg) at its phase (rad): upright trunk, so hip flexion is the thigh angle."""
    if name == "trunk":
        return np.zeros_like(phase)
    side, angle = name.split("_", 1)
    p = phase + (np.pi if side == "right" else 0.0)
    hip = HIP_AMP * np.sin(p)
    knee = KNEE_AMP * 0.5 * (1.0 + np.cos(p))
    return {"hip": hip, "knee": knee, "shoulder": -ARM_AMP * np.sin(p), "elbow": np.full_like(p, np.degrees(0.3)),
            # foot direction minus the shank's (hip - knee from the downward vertical), less the 90 deg neutral
            "ankle": FOOT_DEG - (hip - knee)}[angle]


def stick_clip(layout: str) -> np.ndarray:
    raw = stick_walker(240, fps=FPS, layout=layout, cadence=CADENCE, hip_amp_deg=HIP_AMP, knee_amp_deg=KNEE_AMP,
                       arm_amp_deg=ARM_AMP)
    return gaitfeat.preprocess(raw).keypoints[None]


def test_channels_per_layout():
    assert angle_channels("coco17") == ("trunk", "left_hip", "right_hip", "left_knee", "right_knee",
                                        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
    assert angle_channels("body25")[5:7] == ("left_ankle", "right_ankle") and len(angle_channels("body25")) == 11


@pytest.mark.parametrize("layout", ["coco17", "body25"])
def test_stick_walker_frame_angles(layout):
    """Every per-frame angle equals the stick figure's construction (preprocessing smooths by < 0.2 deg)."""
    clips = stick_clip(layout)
    angles, channels = frame_angles(clips, FPS, layout)
    phase = 2 * np.pi * CADENCE / 120.0 * np.arange(clips.shape[1]) / FPS
    assert channels == angle_channels(layout) and angles.shape == (1, len(channels), clips.shape[1])
    for c, name in enumerate(channels):
        np.testing.assert_allclose(angles[0, c], stick_truth(name, phase), atol=0.3, err_msg=name)


@pytest.mark.parametrize("layout", ["coco17", "body25"])
def test_stick_walker_cycle_curves(layout):
    """Each curve is the known angle from the detected heel strike over one stride, 1 % steps."""
    clips = stick_clip(layout)
    ac = angle_curves(clips, FPS, layout)
    assert ac.curves.shape == (1, len(ac.channels), 101) and ac.curves.dtype == np.float32
    ev = gaitfeat.detect_events(clips, FPS, layout)
    strikes = ev[ev["event"] == "heel_strike"]
    left = strikes[strikes["side"] == "left"]["frame"].to_numpy()
    np.testing.assert_allclose(np.diff(left), 120.0 / CADENCE * FPS, atol=0.01)     # periodic: 36 frames a stride
    assert ac.n_strides.tolist() == [[len(left) - 1, (strikes["side"] == "right").sum() - 1]]
    # Trunk: both sides' strides; a sided angle: its own side's.
    assert ac.n_used[0, 0] == ac.n_strides.sum() and ac.n_used[0, 1] == ac.n_strides[0, 0]
    phase0 = 2 * np.pi * CADENCE / 120.0 * left[0] / FPS
    cycle = phase0 + 2 * np.pi * np.linspace(0.0, 1.0, 101)
    for c, name in enumerate(ac.channels):
        # The right foot lands half a stride (pi) after the left; its curves start at its own strike.
        # (The trunk is upright throughout, so its curve is the same from either foot's strike.)
        start = cycle + (np.pi if name.startswith("right_") else 0.0)
        np.testing.assert_allclose(ac.curves[0, c], stick_truth(name, start), atol=0.3, err_msg=name)


def test_frozen_pose_by_hand_and_no_stride():
    """Hand-set BODY_25 pose: trunk lean 10, thigh 30 (hip 40), knee 90, arm vertical (+10), elbow 90, ankle -20."""
    lay = gaitfeat.get_layout("body25")
    pose = np.full((25, 3), np.nan, dtype=np.float32)
    pose[:, 2] = 1.0

    def put(name, xy):
        pose[lay.index(name), :2] = xy

    def unit(deg_from_down):      # a direction turned forward (counter-clockwise) from straight down
        r = np.radians(deg_from_down)
        return np.array([np.sin(r), -np.cos(r)])

    lean = np.radians(10.0)
    shoulder = 0.6 * np.array([np.sin(lean), np.cos(lean)])
    for side in ("left", "right"):
        put(f"{side}_hip", (0.0, 0.0))
        knee = 0.5 * unit(30.0)
        ankle = knee + 0.5 * unit(30.0 - 90.0)                      # shank 90 deg behind the thigh line
        put(f"{side}_knee", knee)
        put(f"{side}_ankle", ankle)
        # Neutral foot: 90 deg forward of the shank (= horizontal here); 20 deg plantarflexion turns it down.
        foot = unit(30.0 - 90.0 + 90.0 - 20.0)
        put(f"{side}_heel", ankle - 0.05 * foot)
        put(f"{side}_big_toe", ankle + 0.2 * foot)
        put(f"{side}_shoulder", shoulder)
        elbow = shoulder + 0.3 * unit(0.0)
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", elbow + 0.25 * unit(90.0))              # forearm horizontal, forward
        put(f"{side}_ear", shoulder + (0.0, 0.2))
    put("nose", shoulder + (0.08, 0.2))
    clip = np.repeat(pose[None, None], 60, axis=1)
    angles, channels = frame_angles(clip, 30.0, "body25")
    expect = {"trunk": 10.0, "hip": 40.0, "knee": 90.0, "ankle": -20.0, "shoulder": 10.0, "elbow": 90.0}
    for c, name in enumerate(channels):
        np.testing.assert_allclose(angles[0, c], expect[name.split("_", 1)[-1]], atol=1e-3, err_msg=name)
    # Standing still: no heel strike, no stride -- counted, never invented.
    ac = angle_curves(np.concatenate([clip, stick_clip("body25")[:, :60]]), 30.0, "body25")
    assert ac.n_strides[0].tolist() == [0, 0] and ac.n_without_strides >= 1
    assert np.isnan(ac.curves[0]).all() and (ac.n_used[0] == 0).all()


def _true_cycle(params, side: int, q: np.ndarray) -> dict[str, np.ndarray]:
    """The simulator's mean cycle of one side at its own phase, in this module's definitions.

    The simulator's hip angle is the thigh against the pelvis (tilted ``pelvic_tilt`` forward); 2-D
    poses have no pelvis, so hip flexion here is the thigh against the trunk (leaning ``trunk_lean``
    plus a sway at step frequency, which peaks twice per stride).
    """
    hip, knee, ankle = side_angles(params, side, q)
    trunk = params.trunk_lean + params.trunk_sway * np.sin(4 * np.pi * q)
    return {"hip": hip - params.pelvic_tilt + trunk, "clinical_hip": hip, "knee": knee, "ankle": ankle,
            "trunk": trunk}


@pytest.mark.parametrize("level, seed", [(2, 4), (1, 5), (3, 6)])
def test_simulator_true_angles(level, seed):
    """Noise-free simulated walks (COCO-17, 16 s incl. a turn): the curves follow the true mean cycle.

    Measured: knee r = 0.985-0.993, RMS 1.4-2.7 deg; hip (thigh vs trunk) r = 0.990-0.997, RMS 0.8-1.5
    deg; trunk RMS 0.1-0.6 deg; per-frame knee and hip RMS <= 0.25 deg. The remaining cycle error is the
    detected heel strike's timing (~1 frame early) and the stride-to-stride variation of the walk.
    """
    walk = gaitfeat.simulate_walk(level, noise="none", duration=16.0, fps=30.0, random_state=seed)
    clips = gaitfeat.preprocess(walk.sequence, layout="coco17").keypoints[None]
    ac = angle_curves(clips, 30.0, "coco17")
    assert (ac.n_strides >= 4).all()
    q = np.linspace(0.0, 1.0, 101)
    for s, side in enumerate(("left", "right")):
        truth = _true_cycle(walk.params, s, q)
        for name, min_r, max_rms in (("knee", 0.97, 3.5), ("hip", 0.98, 2.0)):
            curve = ac.curves[0, ac.channels.index(f"{side}_{name}")]
            assert np.corrcoef(curve, truth[name])[0, 1] > min_r, (side, name)
            assert np.sqrt(np.mean((curve - truth[name]) ** 2)) < max_rms, (side, name)
        # Against the simulator's pelvis-referenced hip the shape still agrees (offset: lean - tilt).
        hip = ac.curves[0, ac.channels.index(f"{side}_hip")]
        assert np.corrcoef(hip, truth["clinical_hip"])[0, 1] > 0.9
    assert np.sqrt(np.mean((ac.curves[0, 0] - truth["trunk"]) ** 2)) < 1.0
    # Per frame (walking frames away from the turn), against the per-frame truth.
    angles, channels = frame_angles(clips, 30.0, "coco17")
    frames = walk.frames
    for side in ("left", "right"):
        knee = angles[0, channels.index(f"{side}_knee")]
        known = ~np.isnan(knee)
        assert known.mean() > 0.7
        assert np.sqrt(np.mean((knee - frames[f"knee_{side}"].to_numpy())[known] ** 2)) < 0.5


def test_simulator_ankle_with_rigid_foot():
    """BODY_25 ankle against the truth: exact with the rigid foot (heel-toe line = foot axis).

    Measured r = 0.97-0.99, RMS 0.8-1.4 deg. With the simulator's two-segment foot the heel->big-toe
    line also turns with the toes (up to 50 deg of MTP dorsiflexion at push-off): r = 0.53-0.78,
    RMS 4.8-6.9 deg -- a property of any 2-D heel-toe ankle angle, not checked here.
    """
    walk = gaitfeat.simulate_walk(2, noise="none", duration=16.0, fps=30.0, random_state=4, foot="rigid")
    clips = gaitfeat.preprocess(walk.sequence, layout="body25").keypoints[None]
    ac = angle_curves(clips, 30.0, "body25")
    q = np.linspace(0.0, 1.0, 101)
    for s, side in enumerate(("left", "right")):
        truth = _true_cycle(walk.params, s, q)["ankle"]
        curve = ac.curves[0, ac.channels.index(f"{side}_ankle")]
        assert np.corrcoef(curve, truth)[0, 1] > 0.95
        assert np.sqrt(np.mean((curve - truth) ** 2)) < 2.0


def test_noisy_clips_count_what_they_lack():
    """Default detector noise, 124-frame clips: strides are the engine's; missing curves are NaN and counted."""
    cohort = gaitfeat.simulate_cohort(3, noise="default", random_state=3, n_jobs=1)
    fps = cohort.meta["fps"].to_numpy()
    ac = angle_curves(cohort.clips, fps, "coco17")
    table = gaitfeat.extract_features(cohort.clips, fps, "coco17")
    np.testing.assert_array_equal(ac.n_strides.sum(axis=1), table["n_strides"].to_numpy())
    assert ac.n_without_strides == int((table["n_strides"] == 0).sum())
    missing = np.isnan(ac.curves)
    np.testing.assert_array_equal(missing.any(axis=2), ac.n_used == 0)        # whole curves, never partly NaN
    np.testing.assert_array_equal(missing.all(axis=2), ac.n_used == 0)
    assert (ac.n_used[:, 1:] <= np.tile(ac.n_strides, (1, 4))).all()       # left, right alternate
    assert (ac.n_used > 0).mean() > 0.5
    known = ac.curves[:, ac.channels.index("left_knee")][~missing[:, 3, 0]]
    assert known.min() > -20 and known.max() < 110                               # plausible knee flexion


def test_take_select_and_bad_input():
    clips = stick_clip("coco17")
    ac = angle_curves(np.concatenate([clips, clips]), FPS, points=51)
    assert ac.points == 51 and len(ac) == 2
    sub = ac.take([1]).select(["right_knee", "trunk"])
    assert isinstance(sub, AngleCurves) and sub.channels == ("right_knee", "trunk") and sub.curves.shape == (1, 2, 51)
    np.testing.assert_array_equal(sub.curves[0, 0], ac.curves[1, 4])
    with pytest.raises(ValueError, match="unknown angle channels"):
        ac.select(["left_ankle"])
    with pytest.raises(ValueError, match="more than once"):
        ac.select(["trunk", "trunk"])
    with pytest.raises(ValueError, match="points"):
        angle_curves(clips, FPS, points=1)
    with pytest.raises(PoseDataError):
        angle_curves(clips * 500.0, FPS)                    # pixels, not leg lengths
    bad = clips.copy()
    bad[0, 3, 5, 0] = np.inf
    with pytest.raises(PoseDataError, match="infinite"):
        frame_angles(bad, FPS)
    with pytest.raises(LayoutError):
        angle_curves(clips, FPS, "body25")
    with pytest.raises(ValueError, match="fps"):
        angle_curves(clips, 0.0)
    with pytest.raises(ValueError, match="channels"):
        AngleCurves(ac.curves, ac.channels[:-1], ac.n_strides, ac.n_used, "coco17")
    with pytest.raises(ValueError, match="n_strides"):
        AngleCurves(ac.curves, ac.channels, ac.n_strides[:1], ac.n_used, "coco17")
