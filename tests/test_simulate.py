import numpy as np
import pandas as pd
import pytest
from scipy.signal import find_peaks

import gaitfeat
from gaitfeat import read_openpose, simulate_cohort, simulate_walk, write_openpose
from gaitfeat.layouts import BODY25
from gaitfeat.preprocessing import walking_direction
from gaitfeat.simulate import Cohort, draw_child, draw_walker
from gaitfeat.simulate.adults import adult_speed
from gaitfeat.simulate.foot import FOOT_RATIOS, PARTS, normative_mtp
from gaitfeat.simulate.gdi import gdi_from_params
from gaitfeat.simulate.kinematics import normative_curve


def _j(name):
    return BODY25.index(name)


@pytest.fixture(scope="module")
def clean_walk():
    return simulate_walk(2, noise="none", pan=0.0, duration=12.0, fps=30.0, random_state=7)


@pytest.fixture(scope="module")
def small_cohort():
    return simulate_cohort(24, random_state=5, n_jobs=1)


def test_normative_curves_hit_their_landmarks():
    # The Fourier fit reproduces the typical values it was built from.
    assert normative_curve("knee", np.array([0.0]))[0] == pytest.approx(5.0, abs=2.0)
    assert normative_curve("knee", np.linspace(0.6, 0.85, 100)).max() == pytest.approx(61.0, abs=2.0)
    hip = normative_curve("hip", np.linspace(0, 1, 200, endpoint=False))
    assert hip.max() == pytest.approx(37.0, abs=2.0) and hip.min() == pytest.approx(-10.0, abs=2.0)


def test_segment_lengths_are_constant_while_walking(clean_walk):
    kp = clean_walk.clean.keypoints
    walking = clean_walk.frames["walking"].to_numpy()
    for a, b in (("left_hip", "left_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow")):
        length = np.hypot(*(kp[walking, _j(a), :2] - kp[walking, _j(b), :2]).T)
        assert length.std() / length.mean() < 1e-4


def test_rigid_stance_foot_does_not_slide():
    """The rigid foot (``foot="rigid"``): the supporting heel or toe keypoint stays still on the ground."""
    clean_walk = simulate_walk(2, noise="none", pan=0.0, duration=12.0, fps=30.0, random_state=7, foot="rigid")
    kp = clean_walk.clean.keypoints
    f = clean_walk.frames
    px_per_m = clean_walk.labels["px_per_m"]
    ground = None
    slides = []
    for side in ("left", "right"):
        heel, toe = _j(f"{side}_heel"), _j(f"{side}_big_toe")
        stance = (f[f"phase_{side}"] < clean_walk.params.stance[0 if side == "left" else 1]).to_numpy()
        other = "right" if side == "left" else "left"
        single = stance & ~(f[f"phase_{other}"] < clean_walk.params.stance[1 if side == "left" else 0]).to_numpy()
        frames = np.flatnonzero(single & f["walking"].to_numpy())
        frames = frames[frames + 1 < len(f)]
        frames = frames[single[frames + 1]]
        low = np.where(kp[frames, heel, 1] > kp[frames, toe, 1], heel, toe)  # image y grows downwards
        slides.append(np.abs(kp[frames + 1, low, 0] - kp[frames, low, 0]) / px_per_m)
        ground = kp[frames, low, 1] if ground is None else np.concatenate([ground, kp[frames, low, 1]])
    # The support point moves less than 2 mm per frame (it only changes when the foot rolls over).
    assert np.median(np.concatenate(slides)) < 1e-6
    assert np.percentile(np.concatenate(slides), 95) < 0.002
    assert np.ptp(ground) / px_per_m < 1e-6  # always at ground level


def test_heel_strikes_in_the_keypoints_give_the_set_cadence(clean_walk):
    """Recover cadence from the keypoints alone: heel furthest ahead of the pelvis = heel strike (Zeni et al. 2008)."""
    kp = clean_walk.clean.keypoints
    f = clean_walk.frames
    direction = f["direction"].to_numpy()
    pelvis = 0.5 * (kp[:, _j("left_hip"), 0] + kp[:, _j("right_hip"), 0])
    intervals = []
    for side in ("left", "right"):
        ahead = direction * (kp[:, _j(f"{side}_heel"), 0] - pelvis)
        ahead[direction == 0] = np.nan
        peaks, _ = find_peaks(np.nan_to_num(ahead, nan=-1e9), distance=int(0.4 * 30 * 120 / clean_walk.params.cadence))
        peaks = peaks[direction[peaks] != 0]
        intervals += list(np.diff(peaks)[np.diff(peaks) < 2.0 * 120 / clean_walk.params.cadence * 30])
    cadence_from_keypoints = 120.0 / (np.mean(intervals) / 30.0)
    assert cadence_from_keypoints == pytest.approx(clean_walk.labels["cadence"], rel=0.02)
    assert clean_walk.labels["cadence"] == pytest.approx(clean_walk.params.cadence, rel=0.05)
    # The simulator's own heel strikes agree with the keypoint-based ones to within 2 frames.
    hs = clean_walk.events[(clean_walk.events["event"] == "heel_strike") & (clean_walk.events["side"] == "left")]["frame"]
    ahead = direction * (kp[:, _j("left_heel"), 0] - pelvis)
    for frame in hs:
        lo, hi = max(0, frame - 6), min(len(ahead), frame + 7)
        assert abs(lo + int(np.argmax(ahead[lo:hi])) - frame) <= 3


def test_speed_cadence_step_length_are_consistent(small_cohort):
    v = small_cohort.videos
    np.testing.assert_allclose(v["speed"], v["cadence"] / 60.0 * v["step_length_m"], rtol=0.04)
    np.testing.assert_allclose(v["stride_length_m"], 2 * v["step_length_m"], rtol=0.05)


def test_walker_turns_and_walks_back(clean_walk):
    d = clean_walk.frames["direction"].to_numpy()
    nonzero = d[d != 0]
    assert set(np.unique(nonzero)) == {-1, 1} and np.sum(np.diff(nonzero) != 0) == 1
    turn = np.flatnonzero(d == 0)
    assert 1.0 * 30 <= turn.size <= 1.6 * 30 + 1 and np.all(np.diff(turn) == 1)
    # The preprocessing's direction detector finds the same on the noisy video.
    noisy = simulate_walk(2, noise="default", duration=12.0, fps=30.0, random_state=7)
    found = walking_direction(noisy.sequence)
    truth = noisy.frames["direction"].to_numpy()
    walking = truth != 0
    assert (found[walking] == truth[walking]).mean() > 0.9


def test_determinism():
    a = simulate_walk(3, random_state=11)
    b = simulate_walk(3, random_state=11)
    c = simulate_walk(3, random_state=12)
    np.testing.assert_array_equal(a.sequence.keypoints, b.sequence.keypoints)
    assert a.labels == b.labels
    assert a.sequence.n_frames != c.sequence.n_frames or not np.array_equal(a.sequence.keypoints, c.sequence.keypoints, equal_nan=True)
    x = simulate_cohort(6, random_state=3, n_jobs=1)
    y = simulate_cohort(6, random_state=3, n_jobs=1)
    np.testing.assert_array_equal(x.clips, y.clips)
    pd.testing.assert_frame_equal(x.truth, y.truth)
    pd.testing.assert_frame_equal(x.meta, y.meta)


def test_label_distributions_match_the_configuration():
    c = simulate_cohort(50, random_state=1, visits=(1, 2), duration=(6.0, 7.0), n_jobs=1)
    per_patient = c.videos.groupby("patient_id")["gmfcs"].first().value_counts().sort_index()
    assert per_patient.to_dict() == {1: 18, 2: 19, 3: 12, 4: 1}  # 35/38/25/2 % of 50, largest remainder
    assert c.videos.groupby("patient_id").size().between(1, 2).all()
    even = simulate_cohort(8, prevalence=(1, 1, 1, 1), visits=(2, 2), duration=(6.0, 7.0), random_state=2, n_jobs=1)
    assert even.videos.groupby("patient_id")["gmfcs"].first().value_counts().to_dict() == {1: 2, 2: 2, 3: 2, 4: 2}
    assert (even.videos.groupby("patient_id").size() == 2).all()
    # Patients keep their level across visits and grow older.
    for _, g in even.videos.groupby("patient_id"):
        assert g["gmfcs"].nunique() == 1 and g["age"].is_monotonic_increasing


def test_levels_differ_in_the_expected_direction():
    rng = np.random.default_rng(0)
    stats = {}
    for level in (0, 1, 2, 3, 4):
        walks = [simulate_walk(level, noise="none", duration=8.0, random_state=rng) for _ in range(12)]
        stats[level] = {k: np.mean([w.labels[k] for w in walks]) for k in ("speed", "gdi")}
        stats[level]["crouch"] = np.mean([min(w.labels["knee_flex_max_extension_left"], w.labels["knee_flex_max_extension_right"]) for w in walks])
    speeds = [stats[k]["speed"] for k in range(5)]
    gdis = [stats[k]["gdi"] for k in range(5)]
    crouch = [stats[k]["crouch"] for k in range(5)]
    assert speeds == sorted(speeds, reverse=True) and gdis == sorted(gdis, reverse=True) and crouch == sorted(crouch)
    assert 90 < stats[0]["gdi"] < 110
    assert 1.0 < stats[1]["speed"] < 1.4 and 0.3 < stats[4]["speed"] < 0.6


def test_gdi_of_typical_children_is_about_100():
    rng = np.random.default_rng(99)
    values = np.array([gdi_from_params(draw_child(0, rng)) for _ in range(200)]).ravel()
    assert values.mean() == pytest.approx(100.0, abs=3.0)
    assert values.std() == pytest.approx(10.0, abs=2.5)


def test_noise_levels():
    missing = {}
    for noise in ("none", "default", "heavy"):
        w = simulate_walk(2, noise=noise, duration=10.0, random_state=4)
        missing[noise] = w.sequence.missing_mask().mean()
        if noise == "none":
            np.testing.assert_allclose(w.sequence.xy, w.clean.xy)
    assert missing["none"] == 0 and 0.02 < missing["default"] < missing["heavy"] < 0.5
    with pytest.raises(ValueError, match="noise"):
        simulate_walk(2, noise="loud")
    with pytest.raises(ValueError, match="GMFCS level"):
        simulate_walk(7)
    with pytest.raises(ValueError, match="prevalence"):
        simulate_cohort(5, prevalence=(1, 1, 1))


def test_openpose_json_round_trip(tmp_path):
    w = simulate_walk(1, noise="default", duration=8.0, random_state=21)
    write_openpose(w.sequence, tmp_path / "sim")
    back = read_openpose(tmp_path / "sim", fps=w.sequence.fps)
    assert back.n_frames == w.sequence.n_frames
    np.testing.assert_allclose(back.keypoints, w.sequence.keypoints, atol=1e-3, equal_nan=True)


def test_cohort_clips_truth_and_save_load(small_cohort, tmp_path):
    c = small_cohort
    assert c.clips.shape[1:] == (124, 17, 3) and len(c.meta) == len(c.truth) == c.clips.shape[0]
    assert c.meta["gmfcs"].isin([1, 2, 3, 4]).all() and c.meta["patient_id"].notna().all()
    assert "simulated" in c.config["data"] and "simulated" in repr(c)
    # Per-clip truth agrees with the video's labels.
    merged = c.truth.assign(video_id=c.meta["video_id"]).merge(c.videos[["video_id", "cadence", "speed"]], on="video_id", suffixes=("", "_video"))
    rel = np.abs(merged["cadence"] / merged["cadence_video"] - 1)
    assert rel.median() < 0.03 and rel.max() < 0.25  # clips vary with stride-to-stride variability
    assert (c.truth["hip_rom_left"] > 5).all() and (c.truth["knee_rom_left"] > 5).all()
    ev = c.clip_events(0)
    assert ((ev["frame"] >= 0) & (ev["frame"] < 124)).all()
    c.save(tmp_path / "cohort")
    back = Cohort.load(tmp_path / "cohort")
    np.testing.assert_array_equal(back.clips, c.clips)
    assert c.root is not None and c.root.shape == (*c.clips.shape[:2], 2)
    np.testing.assert_array_equal(back.root, c.root)
    pd.testing.assert_frame_equal(back.truth, c.truth, check_dtype=False)
    pd.testing.assert_frame_equal(back.meta, c.meta, check_dtype=False)
    assert back.config == c.config and len(back.sequences) == len(c.sequences)
    assert list(back.frames.columns) == list(c.frames.columns)
    with pytest.raises(gaitfeat.ReaderError, match="not a saved cohort"):
        Cohort.load(tmp_path)


def test_public_names():
    assert gaitfeat.simulate_walk is simulate_walk and gaitfeat.simulate_cohort is simulate_cohort
    assert gaitfeat.Cohort is Cohort


def test_swap_repair_on_simulated_detector_output():
    """The simulator plants short leg label swaps; preprocessing's repair undoes most of them."""
    from gaitfeat.preprocessing import fix_leg_swaps, threshold_confidence

    la, ra = _j("left_ankle"), _j("right_ankle")
    before = after = 0
    for seed in (31, 32, 33, 34):
        walk = simulate_walk(1, noise="heavy", duration=15.0, random_state=seed)
        clean = walk.clean.keypoints
        apart = np.hypot(*(clean[:, la, :2] - clean[:, ra, :2]).T) > 0.15 * walk.labels["px_per_m"]

        def swapped_frames(kp):
            wrong = np.hypot(*(kp[:, la, :2] - clean[:, ra, :2]).T) < np.hypot(*(kp[:, la, :2] - clean[:, la, :2]).T)
            return int((wrong & apart & ~np.isnan(kp[:, la, 0])).sum())

        raw = threshold_confidence(walk.sequence)
        before += swapped_frames(raw.keypoints)
        after += swapped_frames(fix_leg_swaps(raw).keypoints)
    assert before >= 10 and after <= 0.35 * before


# --- the honest (two-segment) foot ------------------------------------------------


@pytest.fixture(scope="module")
def td_walk():
    """A typically developing child at 100 fps, fixed camera, no noise: fine time steps for the foot tests."""
    return simulate_walk(0, noise="none", pan=0.0, duration=12.0, fps=100.0, random_state=7)


def _stances(walk, side):
    """(heel-strike frame, contralateral heel-strike frame, toe-off frame) of every complete stance."""
    ev = walk.events
    other = "right" if side == "left" else "left"
    hs = ev[(ev.side == side) & (ev.event == "heel_strike")]["frame"].to_numpy()
    to = ev[(ev.side == side) & (ev.event == "toe_off")]["frame"].to_numpy()
    ohs = ev[(ev.side == other) & (ev.event == "heel_strike")]["frame"].to_numpy()
    out = []
    for a in hs:
        b, c = to[to > a], ohs[ohs > a]
        if len(b) and len(c) and c[0] < b[0] and walk.frames["walking"].to_numpy()[a : b[0] + 1].all():
            out.append((a, c[0], b[0]))
    return out


def test_normative_mtp_curve():
    q = np.linspace(0, 1, 200, endpoint=False)
    mtp = normative_mtp(q)
    assert mtp[(q > 0.1) & (q < 0.3)].max() < 6  # about flat through loading and mid-stance
    assert 40 <= mtp.max() <= 55 and 0.55 <= q[np.argmax(mtp)] <= 0.66  # peak around pre-swing / toe-off
    assert 10 <= normative_mtp(np.array([0.85]))[0] <= 20  # swing


def test_ankle_moves_forward_in_stance(td_walk):
    """Heel rocker: a few cm; heel rise to toe-off: clearly more (the rigid foot's ankle barely moved)."""
    f = td_walk.frames
    H = td_walk.params.stature
    foot = FOOT_RATIOS["foot_length"] * H
    for side in ("left", "right"):
        stances = _stances(td_walk, side)
        assert len(stances) >= 2
        ankle = f[f"ankle_{side}_m"].to_numpy() * f["direction"].to_numpy()
        pitch = f[f"foot_pitch_{side}"].to_numpy()
        for hs, _, to in stances:
            flat = hs + int(np.argmax(pitch[hs:to] < 2.0))  # end of the heel rocker
            rocker = ankle[flat] - ankle[hs]
            total = ankle[to] - ankle[hs]
            assert 0.005 * H < rocker < 0.03 * H  # ~1-4 cm for children and adults
            assert 0.4 * foot < total < 1.0 * foot
            assert total > 3 * rocker


def test_big_toe_is_still_during_heel_rise(td_walk):
    """In single-support heel rise the foot pivots on the toe tip: the big toe keypoint does not move."""
    f, kp, ppm = td_walk.frames, td_walk.clean.keypoints, td_walk.labels["px_per_m"]
    n_checked = 0
    for k, side in enumerate(("left", "right")):
        toe = _j(f"{side}_big_toe")
        pitch = f[f"foot_pitch_{side}"].to_numpy()
        for hs, ohs, _ in _stances(td_walk, side):
            rise = np.arange(hs, ohs)
            rise = rise[(pitch[rise] < -3.0) & (pitch[rise + 1] < -3.0)]
            assert rise.size > 5
            assert (f["contact_side"].to_numpy()[rise] == k).all()
            assert (f["contact_part"].to_numpy()[rise] == PARTS.index("toe")).all()
            assert np.abs(np.diff(kp[rise, toe, :2], axis=0)).max() / ppm < 1e-6
            heel_y = kp[rise, _j(f"{side}_heel"), 1]
            assert heel_y[-1] < heel_y[0] - 0.01 * ppm  # image y grows down: the heel rises
            n_checked += rise.size
    assert n_checked > 20


def test_heel_is_still_in_foot_flat(td_walk):
    f, kp, ppm = td_walk.frames, td_walk.clean.keypoints, td_walk.labels["px_per_m"]
    for side in ("left", "right"):
        pitch = f[f"foot_pitch_{side}"].to_numpy()
        heel = _j(f"{side}_heel")
        for hs, ohs, _ in _stances(td_walk, side):
            flat = np.arange(hs, ohs)
            flat = flat[np.abs(pitch[flat]) < 1.0]
            assert flat.size > 5
            # Less than 1 mm in all of foot flat (the foot rocks by < 1 deg between heel and forefoot).
            assert np.ptp(kp[flat, heel, 0]) / ppm < 0.001


def test_contact_rolls_without_slipping(td_walk):
    """While a shape is the contact, its ground point moves exactly by the arc length it rolls (0 on the toe tip)."""
    f = td_walk.frames
    side, part = f["contact_side"].to_numpy(), f["contact_part"].to_numpy()
    walking = f["walking"].to_numpy()
    d = f["direction"].to_numpy()
    H = td_walk.params.stature
    radius = {0: FOOT_RATIOS["heel_radius"] * H, 1: FOOT_RATIOS["mtp_radius"] * H, 2: 0.0}
    same = (side[1:] == side[:-1]) & (part[1:] == part[:-1]) & walking[1:] & walking[:-1]
    assert same.sum() > 0.9 * (walking[1:] & walking[:-1]).sum()  # contact changes are rare events
    moved = d[1:] * np.diff(f["contact_m"].to_numpy())
    for t in np.flatnonzero(same):
        s = ("left", "right")[side[t]]
        pitch = np.radians(f[f"foot_pitch_{s}"].to_numpy()[t : t + 2])
        if part[t] == 2:
            assert abs(moved[t]) < 1e-9
        else:  # toe-down rolling (pitch decreasing) moves the ground point forward
            assert moved[t] == pytest.approx(-radius[part[t]] * (pitch[1] - pitch[0]), abs=1e-9)
    assert (part == 2).any() and (part == 0).any()


def test_footprints_and_strides_are_exact(td_walk):
    """heel_m is where the heel touches down; the heel contact then rolls forward by the arc length."""
    f, ev = td_walk.frames, td_walk.events
    H = td_walk.params.stature
    rh = FOOT_RATIOS["heel_radius"] * H
    hs = ev[ev.event == "heel_strike"]
    n = 0
    for _, row in hs.iterrows():
        side = ("left", "right").index(row.side)
        a = int(row.frame)
        pitch = np.radians(f[f"foot_pitch_{row.side}"].to_numpy())
        later = np.arange(a, min(a + 40, len(f)))
        later = later[(f["contact_side"].to_numpy()[later] == side) & (f["contact_part"].to_numpy()[later] == 0)]
        first = later[0]  # the heel's touch-down: the footprint
        later = later[: np.argmax(np.diff(np.append(later, -1)) != 1) + 1]  # while it stays the contact
        for t in later:
            expected = row.heel_m + f["direction"].iloc[a] * (-rh * (pitch[t] - pitch[first]))
            assert f["contact_m"].iloc[t] == pytest.approx(expected, abs=1e-9)
            n += 1
    assert n > 50
    # Stride and step lengths are differences of those footprints.
    for side in ("left", "right"):
        s = hs[hs.side == side]
        d = s["stride_length_m"].to_numpy()[1:]
        expect = np.abs(np.diff(s["heel_m"].to_numpy()))
        ok = ~np.isnan(d)
        np.testing.assert_allclose(d[ok], expect[ok], atol=1e-12)


def test_rigid_and_honest_feet_differ_only_in_the_foot():
    a = simulate_walk(1, noise="none", duration=8.0, random_state=3)
    b = simulate_walk(1, noise="none", duration=8.0, random_state=3, foot="rigid")
    np.testing.assert_array_equal(a.frames["knee_left"], b.frames["knee_left"])
    assert a.sequence.n_frames == b.sequence.n_frames
    assert not np.allclose(a.clean.xy[:, _j("left_big_toe")], b.clean.xy[:, _j("left_big_toe")])
    assert (b.frames["contact_part"] == -1).all() and a.frames["contact_part"].between(0, 2).all()
    with pytest.raises(ValueError, match="foot"):
        simulate_walk(1, foot="flat")


# --- adults -----------------------------------------------------------------------


@pytest.mark.parametrize("age", [25.0, 45.0, 75.0])
def test_adult_speed_and_cadence_follow_the_norms(age):
    """Comfortable speed by age and sex (Bohannon & Andrews 2011) and a plausible adult cadence."""
    rng = np.random.default_rng(int(age))
    speeds, cadences, norms = [], [], []
    for i in range(10):
        sex = ("male", "female")[i % 2]
        p = draw_walker(age, rng, sex=sex)
        assert p.gmfcs == 0 and p.sex == sex and 1.4 < p.stature < 2.0
        w = simulate_walk(params=p, noise="none", duration=7.0, fps=30.0, random_state=rng)
        speeds.append(w.labels["speed"])
        cadences.append(w.labels["cadence"])
        norms.append(float(adult_speed(age, sex)))
    assert np.mean(speeds) == pytest.approx(np.mean(norms), abs=0.12)
    lo, hi = (100, 130) if age < 60 else (90, 125)
    assert lo < np.mean(cadences) < hi


def test_walker_children_are_unchanged_and_ages_checked():
    # With the sex given, draw_walker spends no random number on it: the same stream as draw_child.
    a = draw_walker(9.0, np.random.default_rng(5), sex="female")
    b = draw_child(0, np.random.default_rng(5), age=9.0)
    assert a.stature == b.stature and a.cadence == b.cadence and a.sex == "female"
    with pytest.raises(ValueError, match="age"):
        draw_walker(90.0, np.random.default_rng(0))


def test_walker_determinism():
    p1 = draw_walker(60.0, np.random.default_rng(8))
    p2 = draw_walker(60.0, np.random.default_rng(8))
    assert p1 == p2
    a = simulate_walk(params=p1, noise="default", duration=6.0, random_state=4)
    b = simulate_walk(params=p2, noise="default", duration=6.0, random_state=4)
    np.testing.assert_array_equal(a.sequence.keypoints, b.sequence.keypoints)
    pd.testing.assert_frame_equal(a.frames, b.frames)
