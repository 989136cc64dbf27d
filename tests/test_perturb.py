"""Kinematic perturbations (models.perturb, models.perturb_response), after Pellano et al."""

import numpy as np
import pandas as pd
import pytest

from gaitfeat.layouts import get_layout
from models.perturb import (frame_angle_change, frame_speed, kinematic_tree, perturbation_groups, scale_angles,
                            warp_velocity)
from models.perturb_response import (COLUMNS, SLOWDOWN_MULTIPLIERS, SPEEDUP_MULTIPLIERS, Reference,
                                     angle_reference, perturb, response_curves, sample_factors,
                                     velocity_reference)

COCO = get_layout("coco17")
BODY25 = get_layout("body25")


# ----------------------------------------------------------------------------- clips

def fk_clip(layout, theta, length, dtype=np.float64):
    """One clip (1, T, V, 3) built root-outwards from bone angles theta (T, V) and lengths (V,): exact bone lengths."""
    tree = kinematic_tree(layout)
    depth = np.zeros(layout.num_joints, int)
    for j in range(layout.num_joints):
        a = j
        while tree.parents[a] >= 0:
            depth[j] += 1
            a = tree.parents[a]
    xy = np.zeros((theta.shape[0], layout.num_joints, 2))
    for j in np.argsort(depth, kind="stable"):
        p = tree.parents[j]
        if p >= 0:
            xy[:, j] = xy[:, p] + length[j] * np.stack([np.cos(theta[:, j]), np.sin(theta[:, j])], axis=-1)
    return np.concatenate([xy, np.ones(xy.shape[:2] + (1,))], axis=-1)[None].astype(dtype)


def smooth_clip(layout, rng, t=120, dtype=np.float64):
    """A clip whose every bone swings smoothly (different rate and phase per bone), lengths constant."""
    v = layout.num_joints
    steps = np.arange(t)[:, None]
    theta = rng.uniform(-np.pi, np.pi, v) + rng.uniform(0.2, 0.8, v) * np.sin(
        2 * np.pi * steps / rng.uniform(25, 60, v) + rng.uniform(0, 2 * np.pi, v))
    return fk_clip(layout, theta, rng.uniform(0.1, 0.4, v), dtype)


def swinging_arm(t=200, omega=0.01):
    """COCO clip, everything still except the left arm, which turns straight and rigid at omega rad/frame."""
    theta = np.tile(np.linspace(-np.pi, np.pi, COCO.num_joints, endpoint=False), (t, 1))
    theta[:, [7, 9]] = (-np.pi / 2 + 0.3 + omega * np.arange(t))[:, None]
    length = np.full(COCO.num_joints, 0.2)
    length[[7, 9]] = [0.3, 0.25]
    return fk_clip(COCO, theta, length)


def edge_lengths(clips, layout):
    xy = np.asarray(clips, dtype=np.float64)[..., :2]
    return np.stack([np.linalg.norm(xy[:, :, a] - xy[:, :, b], axis=-1) for a, b in layout.edges], axis=-1)


@pytest.fixture(scope="module")
def sim():
    """Simulated COCO-17 clips (detector noise, some keypoints missing), float32."""
    from evaluation import load_data
    data = load_data("synthetic", n_patients=3, random_state=0)
    clips = data.clips[::4][:24].copy()
    assert np.isnan(clips).any()
    return clips


# ----------------------------------------------------------------------------- tree

def test_kinematic_tree_roots_and_head():
    coco, body = kinematic_tree(COCO), kinematic_tree(BODY25)
    assert coco.root == COCO.index("nose") and body.root == BODY25.index("mid_hip")
    assert coco.parents[COCO.index("left_hip")] == COCO.index("left_shoulder")      # COCO hips hang from shoulders
    assert body.parents[BODY25.index("left_hip")] == BODY25.index("mid_hip")
    assert coco.head_unit == (1, 2, 3, 4) and coco.head_ref == (1, 2)                # eyes and ears turn about the nose
    assert body.head_unit == (0, 15, 16, 17, 18) and body.parents[0] == BODY25.index("neck")
    # a limb's warp moves its elbow and wrist, the shoulder (shared with the trunk) stays
    assert [g.tolist() for g in perturbation_groups("velocity", ["left_wrist"], COCO)] == [[7, 9]]
    assert [g.tolist() for g in perturbation_groups("angle", ["nose", "left_knee"], COCO)] == [[1, 2, 3, 4], [13]]


# ----------------------------------------------------------------------------- identity and missing data

def test_factor_one_returns_input_unchanged(sim):
    joints = ["left_knee", "right_wrist", "nose", "left_hip"]
    for out in (warp_velocity(sim, joints, 1.0, COCO), scale_angles(sim, joints, 1.0, COCO),
                scale_angles(warp_velocity(sim, joints, 1.0, COCO), joints, 1.0, COCO)):
        assert out is not sim and out.dtype == sim.dtype and out.tobytes() == sim.tobytes()
    # per-clip factors: the clips with factor 1 come back bitwise, the others change
    f = np.where(np.arange(len(sim)) % 2 == 0, 1.0, 0.5)
    for op in (warp_velocity, scale_angles):
        out = op(sim, joints, f, COCO)
        assert out[::2].tobytes() == sim[::2].tobytes()
        assert not np.array_equal(out[1::2], sim[1::2], equal_nan=True)


def test_missing_keypoints_stay_missing_and_confidence_is_kept(sim):
    clips = sim.copy()
    clips[0, 10:14, 13, :2] = np.nan                      # a knee gap inside a warped segment
    # A lost ankle with placeholder coordinates, in a frame where turning the knee moves the ankle.
    moved = np.linalg.norm(scale_angles(clips, ["left_knee"], 3.0, COCO)[1, :, 15, :2] - clips[1, :, 15, :2], axis=-1)
    t = int(np.nanargmax(moved))
    assert moved[t] > 1e-3
    clips[1, t, 15, 2] = 0.0
    warped, turned = warp_velocity(clips, ["left_knee"], 2.5, COCO), scale_angles(clips, ["left_knee"], 3.0, COCO)
    for out in (warped, turned):
        assert np.array_equal(np.isnan(out), np.isnan(clips))
        assert np.array_equal(out[..., 2], clips[..., 2], equal_nan=True)
        assert np.isfinite(out[~np.isnan(clips)]).all()
    assert not np.array_equal(turned[1, t, 15], clips[1, t, 15])      # still lost, but carried along with its knee
    assert np.isclose(*(np.linalg.norm(c[1, t, 15, :2] - c[1, t, 13, :2]) for c in (turned, clips)), atol=1e-6)


# ----------------------------------------------------------------------------- bone lengths

@pytest.mark.parametrize("factor", [0.2, 0.5, 3.0, 5.0])
def test_angle_scaling_keeps_every_bone_length_frame_by_frame(sim, factor, rng):
    out = scale_angles(sim, list(range(COCO.num_joints)), factor, COCO)
    before, after = edge_lengths(sim, COCO), edge_lengths(out, COCO)
    ok = np.isfinite(before)
    assert np.allclose(after[ok], before[ok], rtol=0, atol=1e-6)
    assert np.abs(out[..., :2] - sim[..., :2])[~np.isnan(sim[..., :2])].max() > 0.05
    clip = smooth_clip(BODY25, rng, dtype=np.float32)
    out = scale_angles(clip, list(range(BODY25.num_joints)), factor, BODY25)
    assert np.allclose(edge_lengths(out, BODY25), edge_lengths(clip, BODY25), rtol=0, atol=1e-6)
    assert np.array_equal(out[0, :, 8], clip[0, :, 8])                           # the pelvis (root) stays


@pytest.mark.parametrize("layout", [COCO, BODY25])
@pytest.mark.parametrize("factor", [0.3, 2.5])
def test_velocity_warp_keeps_bone_lengths(layout, factor, rng):
    clip = smooth_clip(layout, rng)
    out = warp_velocity(clip, list(range(layout.num_joints)), factor, layout)
    assert np.allclose(edge_lengths(out, layout), edge_lengths(clip, layout), rtol=0, atol=1e-6)
    assert np.abs(out - clip).max() > 0.05


# ----------------------------------------------------------------------------- velocity warp

@pytest.mark.parametrize("factor", [0.2, 0.25, 0.5, 2.0, 3.0])
def test_warp_scales_relative_speed_of_a_uniformly_swinging_arm(factor):
    clip = swinging_arm()
    out = warp_velocity(clip, ["left_elbow"], factor, COCO)
    ratio = frame_speed(out, COCO)[0][:, [7, 9]] / frame_speed(clip, COCO)[0][:, [7, 9]]
    assert np.allclose(np.median(ratio, axis=0), factor, rtol=1e-4)
    if factor < 1:                                        # no reflection: every frame exactly
        assert np.allclose(ratio, factor, rtol=1e-4)
    else:                                                 # a few turning frames are slower
        assert np.allclose(ratio.mean(axis=0), factor, rtol=0.03)
    still = np.setdiff1d(np.arange(COCO.num_joints), [7, 9])
    assert np.array_equal(out[:, :, still], clip[:, :, still])                    # shoulder and the rest never move


def test_joints_outside_the_warped_segment_never_move(sim):
    out = warp_velocity(sim, ["left_knee"], 0.4, COCO)
    moved = np.zeros(COCO.num_joints, bool)
    moved[[13, 15]] = True
    assert np.array_equal(out[:, :, ~moved], sim[:, :, ~moved], equal_nan=True)
    assert np.nanmax(np.abs(out[:, :, moved] - sim[:, :, moved])) > 0.02
    # the speed of the moved joints relative to the hip drops; the other leg's speeds are untouched
    s0, s1 = frame_speed(sim, COCO), frame_speed(out, COCO)
    assert np.nanmedian(s1[..., 15]) < 0.7 * np.nanmedian(s0[..., 15])
    assert np.array_equal(s1[..., 16], s0[..., 16], equal_nan=True)


def test_warp_errors(sim):
    with pytest.raises(ValueError, match="joint"):
        warp_velocity(sim, ["left_elbo"], 0.5, COCO)
    with pytest.raises(ValueError, match="bad joint"):
        warp_velocity(sim, [17], 0.5, COCO)
    with pytest.raises(ValueError, match="bad joint"):
        warp_velocity(sim, [True], 0.5, COCO)
    with pytest.raises(ValueError, match="empty"):
        warp_velocity(sim, [], 0.5, COCO)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="> 0"):
            warp_velocity(sim, [13], bad, COCO)
    with pytest.raises(ValueError, match="shape"):
        warp_velocity(sim, [13], np.ones(3), COCO)
    with pytest.raises(ValueError, match="equal for joints perturbed together"):
        f = np.ones((len(sim), COCO.num_joints))
        f[:, 13] = 0.5
        warp_velocity(sim, [13], f, COCO)
    with pytest.raises(ValueError, match="joints but layout"):
        warp_velocity(sim[:, :, :10], [3], 0.5, COCO)
    with pytest.raises(ValueError, match=r"\(N, T, V, C\)"):
        scale_angles(sim[0], [3], 0.5, COCO)


# ----------------------------------------------------------------------------- angle scaling

def test_angle_scaling_scales_each_selected_angle_change_and_carries_children():
    t = np.arange(80)
    theta = np.tile(np.linspace(0, 2 * np.pi, COCO.num_joints, endpoint=False), (80, 1))
    theta[:, 13] = -1.2 + 0.3 * np.sin(t / 7)                 # left thigh swings
    theta[:, 15] = -1.8 + 0.4 * np.sin(t / 5)                 # left shank swings on its own
    clip = fk_clip(COCO, theta, np.full(COCO.num_joints, 0.25))
    out = scale_angles(clip, ["left_knee"], 2.0, COCO)
    bone = lambda c, j: c[0, :, j, :2] - c[0, :, kinematic_tree(COCO).parents[j], :2]   # noqa: E731
    got = np.unwrap(np.arctan2(bone(out, 13)[:, 1], bone(out, 13)[:, 0]))
    assert np.allclose(got, theta[0, 13] + 2.0 * (theta[:, 13] - theta[0, 13]), atol=1e-9)
    assert np.allclose(bone(out, 15), bone(clip, 15), atol=1e-12)                  # the shank is carried, not turned
    changes = frame_angle_change(out, COCO)[0], frame_angle_change(clip, COCO)[0]
    assert np.allclose(changes[0][:, 13], 2.0 * changes[1][:, 13], atol=1e-9)
    assert np.allclose(changes[0][:, 15], changes[1][:, 15], atol=1e-9)
    still = np.setdiff1d(np.arange(COCO.num_joints), [13, 15])
    assert np.array_equal(out[:, :, still], clip[:, :, still])
    # selected too, the shank gets its own scaled angle whatever its parent does
    both = scale_angles(clip, ["left_knee", "left_ankle"], 0.25, COCO)
    assert np.allclose(frame_angle_change(both, COCO)[0][:, [13, 15]], 0.25 * changes[1][:, [13, 15]], atol=1e-9)


@pytest.mark.parametrize("layout, joint, pivot", [(COCO, "left_eye", "nose"), (BODY25, "right_ear", "neck")])
def test_head_turns_as_one_rigid_unit_about_its_attachment(layout, joint, pivot, rng):
    clip = smooth_clip(layout, rng)
    out = scale_angles(clip, [joint], 3.0, layout)
    unit = list(kinematic_tree(layout).head_unit) + [layout.index(pivot)]
    d = lambda c: np.linalg.norm(c[0, :, unit, None, :2] - c[0, :, None, unit, :2], axis=-1)   # noqa: E731
    assert np.allclose(d(out), d(clip), atol=1e-9)                                 # rigid
    assert np.abs(out - clip).max() > 0.05
    still = np.setdiff1d(np.arange(layout.num_joints), kinematic_tree(layout).head_unit)
    assert np.array_equal(out[:, :, still], clip[:, :, still])


# ----------------------------------------------------------------------------- references and factors

def test_references_ignore_missing_keypoints():
    rng = np.random.default_rng(3)
    turns = rng.uniform(-0.2, 0.2, 60)
    angle = np.concatenate([[0.0], np.cumsum(turns)])
    radius = rng.uniform(0.15, 0.25, 61)
    clip = np.zeros((1, 61, COCO.num_joints, 3))                        # everything at the origin ...
    clip[..., 2] = 1.0
    clip[0, :, 7, 0] = 0.3                                              # ... but the left elbow
    clip[0, :, 9, :2] = np.stack([0.3 + radius * np.cos(angle), radius * np.sin(angle)], axis=-1)  # and wrist
    speed = np.linalg.norm(np.diff(clip[0, :, 9, :2], axis=0), axis=-1)  # relative to the (still) shoulder
    bad = clip.copy()
    bad[0, 20, 9, :2] = [50.0, np.nan]                                  # missing (NaN) ...
    bad[0, 40, 9, :2], bad[0, 40, 9, 2] = 50.0, 0.0                     # ... and lost (confidence 0), far away
    keep = np.setdiff1d(np.arange(60), [19, 20, 39, 40])
    ref = velocity_reference(bad, COCO)
    assert np.allclose([ref.p5[9], ref.p95[9]], np.percentile(speed[keep], [5, 95]), rtol=1e-9)
    ang = angle_reference(bad, COCO)
    assert np.allclose([ang.p5[9], ang.p95[9]], np.percentile(np.abs(turns)[keep], [5, 95]), rtol=1e-9)
    assert np.isnan(ang.p5[kinematic_tree(COCO).root])                  # the root has no bone


def test_sample_factors_apply_the_segment_constraint():
    clip = swinging_arm(t=100, omega=0.02)                              # left arm: constant relative speeds
    theta = np.tile(np.linspace(-np.pi, np.pi, COCO.num_joints, endpoint=False), (100, 1))
    theta[:, [8, 10]] = (0.4 + 0.03 * np.arange(100))[:, None]         # right arm turning as well
    right = fk_clip(COCO, theta, np.full(COCO.num_joints, 0.2))
    clip[..., [8, 10], :] = right[..., [8, 10], :]
    s = frame_speed(clip, COCO)[0].mean(axis=0)                         # constant per joint
    p5, p95 = np.full(COCO.num_joints, 0.01), np.full(COCO.num_joints, 0.02)
    p5[[7, 9]], p95[[7, 9]] = [0.5 * s[7], 0.8 * s[9]], [1.5 * s[7], 3.0 * s[9]]
    p5[[8, 10]], p95[[8, 10]] = [2.0 * s[8], 3.0 * s[10]], [0.5 * s[8], 0.7 * s[10]]
    sf = sample_factors(clip, Reference("velocity", p5, p95), COCO, ["left_wrist", "right_elbow", "left_knee"])
    s_min, s_max = sf
    assert np.allclose(s_min[0, [7, 9]], 0.8) and np.allclose(s_max[0, [7, 9]], 1.5)
    assert np.allclose(s_min[0, [8, 10]], 1.0) and np.allclose(s_max[0, [8, 10]], 1.0)   # nothing qualifies
    assert np.allclose(s_min[0, [13, 15]], 1.0) and np.allclose(s_max[0, [13, 15]], 1.0)  # the leg never moves
    others = np.setdiff1d(np.arange(COCO.num_joints), [7, 9, 8, 10, 13, 15])
    assert (s_min[0, others] == 1).all() and (s_max[0, others] == 1).all()
    assert sf.n_guarded == 4                          # knee and ankle speeds are 0, for s_min and s_max
    assert sf.n_fallback == 4                         # right arm and left leg, for s_min and s_max
    # angle kind: each joint on its own
    sa = sample_factors(clip, Reference("angle", np.full(17, 0.01), np.full(17, 0.04)), COCO, ["left_elbow"])
    assert np.allclose(sa.s_min[0, 7], 0.5) and np.allclose(sa.s_max[0, 7], 2.0)
    assert (sa.s_min[0, np.arange(17) != 7] == 1).all()


def test_perturb_is_factor_times_multiplier(sim):
    train, test = sim[:12], sim[12:]
    refs = [velocity_reference(train, COCO), angle_reference(train, COCO)]
    joints = ["left_knee", "right_elbow"]
    sv, sa = sample_factors(test, refs[0], COCO, joints), sample_factors(test, refs[1], COCO, joints)
    got = perturb(test, joints, 0.5, mode="slowdown", kind="velocity", references=refs, layout=COCO)
    assert np.array_equal(got, warp_velocity(test, joints, 0.5 * sv.s_min, COCO), equal_nan=True)
    got = perturb(test, joints, 3.0, mode="speedup", kind="both", references={"a": refs[1], "v": refs[0]},
                  layout="coco17")
    want = scale_angles(warp_velocity(test, joints, 3 * sv.s_max, COCO), joints, 3 * sa.s_max, COCO)
    assert np.array_equal(got, want, equal_nan=True)
    with pytest.raises(ValueError, match="angle reference"):
        perturb(test, joints, 1.0, kind="angle", references=refs[0], layout=COCO)
    with pytest.raises(ValueError, match="mode"):
        perturb(test, joints, 1.0, mode="faster", references=refs, layout=COCO)
    with pytest.raises(ValueError, match="kind"):
        perturb(test, joints, 1.0, kind="speed", references=refs, layout=COCO)
    with pytest.raises(ValueError, match="multiplier"):
        perturb(test, joints, 0.0, references=refs, layout=COCO)
    with pytest.raises(ValueError, match="joints"):
        sample_factors(test, Reference("velocity", np.ones(5), np.ones(5)), COCO, joints)


# ----------------------------------------------------------------------------- response curves

def test_response_curves_follow_the_perturbed_leg_only(sim):
    train, test = sim[:12], sim[12:]
    refs = [velocity_reference(train, COCO), angle_reference(train, COCO)]
    calls = []

    def left_ankle_speed(x):
        calls.append(len(x))
        return np.nanmedian(frame_speed(x, COCO)[..., 15], axis=1)

    def right_ankle_speed(x):
        return np.nanmedian(frame_speed(x, COCO)[..., 16], axis=1)

    left_leg = ["left_hip", "left_knee", "left_ankle"]
    df = response_curves(left_ankle_speed, test, left_leg, refs, COCO, batch_size=5)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 2 * 3 * (len(SLOWDOWN_MULTIPLIERS) + len(SPEEDUP_MULTIPLIERS))
    assert max(calls) <= 5 and (df["n"] == len(test)).all()
    base = np.median(left_ankle_speed(test))
    assert np.allclose(df["baseline_median"], base)
    top = df[(df.joint_set == "top_k") & (df.kind == "velocity") & (df["mode"] == "slowdown")]
    assert top["median"].is_monotonic_increasing and top["median"].iloc[0] < 0.5 * base
    fast = df[(df.joint_set == "top_k") & (df["mode"] == "speedup")]
    assert (fast.groupby("kind")["median"].apply(lambda m: m.iloc[-1] > 1.5 * base)).all()
    rest = df[df.joint_set == "non_top_k"]
    assert np.allclose(rest["median"], base, rtol=0, atol=1e-6)         # the other joints do not move its speed
    other = response_curves(right_ankle_speed, test, left_leg, refs, COCO, kinds=("velocity",), modes=("speedup",))
    assert len(other) == 2 * len(SPEEDUP_MULTIPLIERS)
    assert np.allclose(other.loc[other.joint_set == "top_k", "median"], other["baseline_median"].iloc[0], atol=1e-6)
    assert (other.loc[other.joint_set == "non_top_k", "median"].iloc[1:] > other["baseline_median"].iloc[0]).all()
    # batches do not change the result
    whole = response_curves(left_ankle_speed, test, left_leg, refs, COCO, kinds=("angle",), batch_size=256)
    pd.testing.assert_frame_equal(whole.reset_index(drop=True),
                                  df[df.kind == "angle"].reset_index(drop=True))


def test_response_curves_errors(sim):
    ref = velocity_reference(sim, COCO)
    score = lambda x: np.zeros(len(x))                   # noqa: E731
    with pytest.raises(ValueError, match="every joint"):
        response_curves(score, sim, list(range(17)), ref, COCO, kinds=("velocity",))
    with pytest.raises(ValueError, match="angle reference"):
        response_curves(score, sim, [13], ref, COCO)
    with pytest.raises(ValueError, match="one score per clip"):
        response_curves(lambda x: np.zeros(2), sim, [13], ref, COCO, kinds=("velocity",))
    with pytest.raises(ValueError, match="mode"):
        response_curves(score, sim, [13], ref, COCO, kinds=("velocity",), modes=("up",))
