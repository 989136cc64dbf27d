"""Camera views of the simulator: side/front/back/oblique cameras, 3-D lifter output, step width."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from gaitfeat import simulate_cohort, simulate_walk
from gaitfeat.layouts import BODY25
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.simulate import Cohort
from gaitfeat.simulate.views import CAMERAS, STEP_WIDTH, child_step_width

CAMS = list(CAMERAS)
BONES = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
         ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("right_elbow", "right_wrist"))


def _j(name):
    return BODY25.index(name)


def _checksum(a):
    return hashlib.sha256(np.ascontiguousarray(np.round(np.asarray(a, dtype=np.float64), 2)).tobytes()).hexdigest()[:16]


def _kabsch(src, dst):
    """Rotation R and translation t minimising |R src + t - dst| over point rows."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    R = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return R, cd - R @ cs


@pytest.fixture(scope="module")
def views():
    """One child (GMFCS I, 10 s, 30 fps), noise-free, seen by every camera in 3-D and 2-D."""
    return {(cam, dims): simulate_walk(1, noise="none", duration=10.0, fps=30.0, random_state=8, camera=cam, dims=dims)
            for cam in CAMS for dims in (2, 3)}


def test_side_video_is_unchanged():
    """Checksums of the 2-D side video of a typically developing child (level 0), computed with the
    implementation before the latent-severity model of children with CP (which left typical children as
    they were; children with CP now walk differently by design). That implementation's side video was in
    turn checked bit-identical to the one before camera views existed."""
    w = simulate_walk(0, duration=9.0, random_state=123)
    assert _checksum(w.sequence.keypoints) == "5993cdba0ec96aa3"
    assert _checksum(w.clean.keypoints) == "501b283f7f7fdf89"
    quiet = simulate_walk(0, duration=9.0, random_state=123, noise="none")
    assert _checksum(quiet.sequence.keypoints) == "6ff63fb218cd772d"
    explicit = simulate_walk(0, duration=9.0, random_state=123, camera="side", dims=2)
    np.testing.assert_array_equal(explicit.sequence.keypoints, w.sequence.keypoints)
    assert w.sequence.info["simulator"]["camera"] == "side" and w.sequence.info["simulator"]["dims"] == 2


@pytest.mark.parametrize("camera", CAMS)
def test_3d_view_is_the_world_skeleton_moved_rigidly(views, camera):
    w = views[(camera, 3)]
    assert isinstance(w.sequence, PoseSequence3D) and isinstance(w.clean, PoseSequence3D)
    assert w.sequence.layout == "body25" and w.sequence.units == "m" and w.sequence.vertical is None
    np.testing.assert_array_equal(w.sequence.positions, w.clean.positions)  # noise "none": exact
    world, cam = w.world.reshape(-1, 3), w.clean.positions.reshape(-1, 3)
    R, t = _kabsch(world, cam)
    assert np.linalg.det(R) == pytest.approx(1.0)  # a rotation, not a mirror image
    assert np.abs(world @ R.T + t - cam).max() < 1e-9
    # The true vertical is the world's up direction (y) in camera coordinates.
    vertical = np.array(w.sequence.info["simulator"]["vertical"])
    np.testing.assert_allclose(vertical, R[:, 1], atol=1e-9)
    # Bone lengths are those of the side video (in its walking frames, where it is a true sagittal view).
    side = views[("side", 2)]
    walking = w.frames["walking"].to_numpy()
    for a, b in BONES:
        length3 = np.linalg.norm(w.clean.positions[:, _j(a)] - w.clean.positions[:, _j(b)], axis=1)
        length2 = np.hypot(*(side.clean.keypoints[:, _j(a), :2] - side.clean.keypoints[:, _j(b), :2]).T.astype(float))
        length2 = length2 / side.labels["px_per_m"]
        np.testing.assert_allclose(length3[walking], length2[walking], rtol=1e-4)


@pytest.mark.parametrize("camera", CAMS)
def test_trunk_points_along_the_true_vertical(views, camera):
    w = views[(camera, 3)]
    pos = w.clean.positions
    trunk = pos[:, _j("neck")] - pos[:, _j("mid_hip")]
    mean = np.mean(trunk / np.linalg.norm(trunk, axis=1, keepdims=True), axis=0)
    vertical = np.array(w.sequence.info["simulator"]["vertical"])
    angle = np.degrees(np.arccos(mean @ vertical / np.linalg.norm(mean)))
    assert angle < 5.0
    assert vertical[1] < -0.95  # camera y points down; pitch <= 10 deg, roll < 3 deg


def test_camera_placements(views):
    for camera in CAMS:
        info = views[(camera, 3)].sequence.info["simulator"]
        near, far = info["pelvis_distance_m"]
        # The nearest 4-4.8 m away; farther only when the walk still ends within 9 m (metres horizontally).
        assert near >= 3.99 and (near <= 4.9 or far <= 9.05)
        assert 0.8 <= info["height_m"] <= 1.2 and 0 <= info["pitch_deg"] <= 10 and abs(info["roll_deg"]) < 3
        if camera == "oblique":
            assert 30 <= info["angle_deg"] <= 60
    # Front: the child walks towards the camera first (the pelvis gets nearer), back: away from it.
    for camera, sign in (("front", -1), ("back", 1)):
        w = views[(camera, 3)]
        d = w.frames["direction"].to_numpy()
        depth = w.clean.positions[:, _j("mid_hip"), 2]
        first = np.flatnonzero(d == d[0])
        assert sign * (depth[first[-1]] - depth[first[0]]) > 1.0


def test_truth_is_the_same_for_every_camera(views):
    ref = views[("side", 2)]
    for key, w in views.items():
        pd.testing.assert_frame_equal(w.frames, ref.frames)
        pd.testing.assert_frame_equal(w.events, ref.events)
        np.testing.assert_array_equal(w.world, ref.world)
        assert {k: v for k, v in w.labels.items() if k != "px_per_m"} == \
            {k: v for k, v in ref.labels.items() if k != "px_per_m"}, key
    assert np.isnan(views[("front", 3)].labels["px_per_m"]) and views[("front", 2)].labels["px_per_m"] > 0


def test_step_width_truth(views):
    w = views[("side", 3)]
    ev = w.events
    hs = ev[ev["event"] == "heel_strike"]
    assert hs["step_width_m"].notna().all() and ev.loc[ev["event"] == "toe_off", "step_width_m"].isna().all()
    assert (hs["step_width_m"] > 0.01).all() and (hs["step_width_m"] < 0.35).all()
    assert w.labels["step_width_m"] == pytest.approx(hs["step_width_m"].median())
    # While walking straight the lateral axis is the world's z: the heels' z distance at each strike.
    f = hs["frame"].to_numpy()
    lateral = np.abs(w.world[f, _j("left_heel"), 2] - w.world[f, _j("right_heel"), 2])
    np.testing.assert_allclose(hs["step_width_m"], lateral, atol=1e-12)
    assert hs["step_width_m"].std() > 0.003  # steps vary
    # Plausible values, wider with more severe involvement (several children per level).
    rng = np.random.default_rng(1)
    widths = {}
    for level in (0, 4):
        walks = [simulate_walk(level, noise="none", duration=7.0, random_state=rng) for _ in range(10)]
        widths[level] = np.array([x.labels["step_width_m"] for x in walks])
        assert np.allclose([child_step_width(x.params) for x in walks], widths[level], atol=0.05)
    assert 0.05 < widths[0].mean() < 0.13 and widths[4].mean() > widths[0].mean() + 0.03
    assert STEP_WIDTH[0][0] < STEP_WIDTH[4][0]


def test_step_width_is_a_trait_of_the_child():
    w = simulate_walk(2, noise="none", duration=8.0, random_state=3)
    again = simulate_walk(params=w.params, noise="none", duration=8.0, random_state=4)
    assert child_step_width(w.params) == child_step_width(again.params)
    fixed = w.params.__class__(**{**w.params.__dict__, "extra": {"step_width_m": 0.2}})
    walk = simulate_walk(params=fixed, noise="none", duration=8.0, random_state=3)
    assert walk.labels["step_width_m"] == pytest.approx(0.2, abs=0.04)


@pytest.mark.parametrize("noise", ["default", "heavy"])
def test_lifter_noise_is_bounded(noise):
    clean = simulate_walk(1, noise="none", duration=10.0, random_state=5, camera="oblique", dims=3)
    w = simulate_walk(1, noise=noise, duration=10.0, random_state=5, camera="oblique", dims=3)
    np.testing.assert_array_equal(w.clean.positions, clean.clean.positions)
    err = np.linalg.norm(w.sequence.positions - w.clean.positions, axis=-1)
    missing = np.isnan(err)
    scale = 1.0 if noise == "default" else 2.0
    assert 0.0 < missing.mean() < 0.05 * scale
    assert 0.01 * scale < np.nanmedian(err) < 0.05 * scale
    assert np.nanpercentile(err, 99) < 0.3 * scale
    again = simulate_walk(1, noise=noise, duration=10.0, random_state=5, camera="oblique", dims=3)
    np.testing.assert_array_equal(again.sequence.positions, w.sequence.positions)


def test_frontal_2d_video(views):
    side, front = views[("side", 2)].clean.keypoints, views[("front", 2)].clean.keypoints
    def hips(kp):
        return np.abs(kp[:, _j("left_hip"), 0] - kp[:, _j("right_hip"), 0])

    def shoulders(kp):
        return np.abs(kp[:, _j("left_shoulder"), 0] - kp[:, _j("right_shoulder"), 0])

    walking = views[("front", 2)].frames["walking"].to_numpy()
    assert np.median(hips(side)[walking]) < 1e-6 and np.median(shoulders(side)[walking]) < 1e-6
    assert (hips(front)[walking] > 3).all() and (shoulders(front)[walking] > 1.5 * hips(front)[walking]).all()
    for camera in ("front", "back", "oblique"):
        w = views[(camera, 2)]
        assert isinstance(w.sequence, PoseSequence) and w.sequence.layout == "body25"
        W, H = w.sequence.info["simulator"]["image_size"]
        kp = w.clean.keypoints
        assert (kp[..., 0] > 0).all() and (kp[..., 0] < W).all() and (kp[..., 1] > 0).all() and (kp[..., 1] < H).all()
    noisy = simulate_walk(1, duration=10.0, fps=30.0, random_state=8, camera="front")
    np.testing.assert_array_equal(noisy.clean.keypoints, front)
    assert 0.01 < noisy.sequence.missing_mask().mean() < 0.3


def test_bad_camera_or_dims():
    with pytest.raises(ValueError, match="camera"):
        simulate_walk(1, camera="top")
    with pytest.raises(ValueError, match="dims"):
        simulate_walk(1, dims=4)
    with pytest.raises(ValueError, match="camera"):
        simulate_cohort(2, camera="above")
    with pytest.raises(ValueError, match="dims"):
        simulate_cohort(2, dims=1)


def test_3d_cohort(tmp_path):
    kw = {"random_state": 4, "n_jobs": 1, "visits": (1, 2), "duration": (8.0, 10.0)}
    flat = simulate_cohort(5, **kw)
    c = simulate_cohort(5, camera="mixed", dims=3, **kw)
    assert (flat.meta["camera"] == "side").all() and (flat.meta["dims"] == 2).all()
    assert (c.meta["dims"] == 3).all() and c.meta["camera"].isin(CAMS).all() and c.videos["camera"].nunique() > 1
    assert all(isinstance(s, PoseSequence3D) for s in c.sequences)
    # The children and their walks do not depend on the camera; the clips are sagittal views in metres.
    cols = [k for k in flat.videos.columns if k not in ("camera", "dims", "px_per_m")]
    pd.testing.assert_frame_equal(c.videos[cols], flat.videos[cols])
    pd.testing.assert_frame_equal(c.events, flat.events)
    assert c.clips.shape[1:] == flat.clips.shape[1:] and len(c.meta) > 0.8 * len(flat.meta)
    assert c.truth["step_width_m"].between(0.02, 0.35).all()
    c.save(tmp_path / "c3")
    back = Cohort.load(tmp_path / "c3")
    assert len(back.sequences) == len(c.sequences) and isinstance(back.sequences[0], PoseSequence3D)
    np.testing.assert_array_equal(back.sequences[0].positions, c.sequences[0].positions)
    pd.testing.assert_frame_equal(back.meta, c.meta, check_dtype=False)
    assert back.config["camera"] == "mixed" and back.config["dims"] == 3
