"""Gait classes of the pathology taxonomy in the simulator: each class's defining signature in the true
walks (events, per-frame angles, the 3-D skeleton), ages, classes cohorts, and the GMFCS cohort unchanged."""

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from gaitfeat.errors import LabelError
from gaitfeat.labels import GAIT_CLASSES
from gaitfeat.layouts import BODY25
from gaitfeat.simulate import (
    TAXONOMY_PREVALENCE,
    Cohort,
    draw_class,
    draw_walker,
    gait_class_of,
    gdi_from_params,
    next_visit,
    simulate_cohort,
    simulate_taxonomy_cohort,
    simulate_walk,
)
from gaitfeat.simulate.cp import BILATERAL_PATTERNS, HEMIPLEGIC_PATTERNS
from gaitfeat.simulate.foot import PARTS
from gaitfeat.simulate.taxonomy_params import AGE_RANGES

ADULT = ("antalgic", "ataxic", "cervical_myelopathy", "parkinsonian")
N_WALKS = 8  # subjects per class with a simulated walk


def _walk(p, seed, fps=50.0, duration=16.0):
    return simulate_walk(params=p, noise="none", duration=duration, fps=fps, random_state=seed)


@pytest.fixture(scope="module")
def drawn():
    """40 walkers per class (parameters only)."""
    rng = np.random.default_rng(2024)
    return {name: [draw_class(name, rng) for _ in range(40)] for name in GAIT_CLASSES}


def _with_twin(name, rng, age):
    """A walker of the class and its healthy twin: the age- and sex-matched healthy walker that
    ``draw_class`` starts from (the same random stream), so that a comparison shows the class's own effect."""
    state = rng.bit_generator.state
    p = draw_class(name, rng, age=age)
    twin_rng = np.random.default_rng()
    twin_rng.bit_generator.state = state
    twin = draw_walker(min(age, 80.0), twin_rng, sex="male" if name == "myopathic" else None)
    if not name.startswith("cp_"):
        assert twin.sex == p.sex and (name == "myopathic" or twin.stature == p.stature), "not the twin"
    return p, twin


@pytest.fixture(scope="module")
def walks():
    """Noise-free walks of N_WALKS walkers per class, each with its healthy twin's walk (same seed)."""
    rng = np.random.default_rng(7)
    out = {}
    for name in GAIT_CLASSES:
        lo, hi = AGE_RANGES[name][:2]
        out[name] = []
        for i in range(N_WALKS):
            p, twin = _with_twin(name, rng, float(rng.uniform(lo, min(hi, 80.0))))
            out[name].append((_walk(p, 100 + i), _walk(twin, 100 + i)))
    return out


# --- truth measured from a walk -------------------------------------------------------------------

def _heel_strikes(w):
    return w.events[w.events["event"] == "heel_strike"].sort_values("frame")


def _stride_times(w):
    """Same-side heel strike to heel strike (s), within one walking stretch."""
    nominal = 120.0 / w.params.cadence
    out = []
    for side in ("left", "right"):
        d = np.diff(_heel_strikes(w).query("side == @side")["time_s"].to_numpy())
        out.append(d[d < 1.7 * nominal])  # not across the turn
    return np.concatenate(out)


def _cv(x):
    return float(np.std(x, ddof=1) / np.mean(x))


def _stance_times(w, side):
    """Heel strike to the same foot's next toe-off (s)."""
    ev = w.events[w.events["side"] == side].sort_values("frame").to_dict("records")
    return np.array([b["time_s"] - a["time_s"] for a, b in zip(ev, ev[1:])
                     if a["event"] == "heel_strike" and b["event"] == "toe_off"])


def _step_times(w):
    """Heel strike to the other foot's next heel strike (s), keyed by the foot that lands."""
    hs = _heel_strikes(w).to_dict("records")
    half = 0.8 * 120.0 / w.params.cadence
    out = {"left": [], "right": []}
    for a, b in zip(hs, hs[1:]):
        if a["side"] != b["side"] and b["time_s"] - a["time_s"] < half:
            out[b["side"]].append(b["time_s"] - a["time_s"])
    return {k: float(np.median(v)) for k, v in out.items()}


def _double_support(w):
    """Share of the gait cycle with both feet on the ground (from the true events)."""
    stance = np.mean([np.median(_stance_times(w, s)) for s in ("left", "right")])
    return 2.0 * (stance / np.median(_stride_times(w)) - 0.5)


def _walking(w, column):
    return w.frames.loc[w.frames["walking"], column].to_numpy()


def _step_per_stature(w):
    return w.labels["step_length_m"] / w.params.stature


def _arm_excursion(w):
    """Range (deg) of the left upper arm's sagittal angle to the trunk (hip-shoulder line), 3-D truth."""
    f = w.frames["walking"].to_numpy()
    at = {j: w.world[f][:, BODY25.index(j), :2] for j in ("left_shoulder", "left_elbow", "left_hip")}  # x along, y up
    arm, down = at["left_elbow"] - at["left_shoulder"], at["left_hip"] - at["left_shoulder"]
    signed = np.arctan2(down[:, 0] * arm[:, 1] - down[:, 1] * arm[:, 0], np.sum(arm * down, axis=1))
    forward = w.frames.loc[f, "direction"].to_numpy()  # +1 / -1: flexion has the sign of the walking direction
    return float(np.ptp(np.degrees(signed) * forward))


def _swing_knee_peak(w):
    return float(min(np.percentile(_walking(w, f"knee_{s}"), 98) for s in ("left", "right")))


def _initial_contacts(w):
    """(ankle angle at the heel-strike event, the first foot part of that foot to carry the body) per contact."""
    f = w.frames
    out = []
    for e in _heel_strikes(w).itertuples():
        k = 0 if e.side == "left" else 1
        carried = f.iloc[e.frame: e.frame + 12]
        carried = carried[carried["contact_side"] == k]
        if len(carried):  # (none for a strike in the last frames of the video)
            out.append((float(f[f"ankle_{e.side}"].iloc[e.frame]), int(carried["contact_part"].iloc[0])))
    return out


# --- parameters ------------------------------------------------------------------------------------

def test_every_class_draws_valid_walkers_of_its_age_range(drawn):
    rng = np.random.default_rng(3)
    for name, people in drawn.items():
        lo, hi = AGE_RANGES[name][:2]
        for p in people:
            assert lo <= p.age <= hi, (name, p.age)
            assert gait_class_of(p) == name and p.extra["gait_class"] == name
            assert (p.gmfcs > 0) == name.startswith("cp_")
            assert all(np.isfinite(gdi_from_params(p)))
            assert all(0.52 <= s <= 0.78 for s in p.stance) and 55 <= p.cadence <= 175
            later = next_visit(p, rng)
            assert gait_class_of(later) == name and later.gmfcs == p.gmfcs and later.age > p.age
        w = simulate_walk(params=people[0], noise="none", duration=3.0, fps=25.0, random_state=1)
        assert w.labels["gait_class"] == name and w.labels["gmfcs"] == people[0].gmfcs
    ages = np.array([p.age for p in drawn["typical"]])
    assert (ages < 18).any() and (ages >= 18).any()  # children and adults
    assert {p.sex for p in drawn["myopathic"]} == {"male"}  # Duchenne muscular dystrophy: boys


def test_cp_classes_come_from_the_cp_model(drawn):
    hemi, di = drawn["cp_hemiplegic"], drawn["cp_diplegic"]
    assert all(p.hemiplegic_side in ("left", "right") and p.gait_pattern in HEMIPLEGIC_PATTERNS for p in hemi)
    assert all(p.hemiplegic_side == "none" and p.gait_pattern in BILATERAL_PATTERNS for p in di)
    assert {p.gmfcs for p in hemi} == {1, 2} and {p.gmfcs for p in di} == {1, 2, 3}
    assert all(np.isfinite(p.gait_severity) for p in hemi + di)
    # Non-CP classes carry no CP level, topography or pattern.
    others = [p for name in GAIT_CLASSES if not name.startswith("cp_") for p in drawn[name]]
    assert all(p.gmfcs == 0 and p.hemiplegic_side == "none" and p.gait_pattern == "typical" for p in others)


def test_bad_class_or_age_is_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(LabelError, match="not a gait class"):
        draw_class("hemiballismus", rng)
    with pytest.raises(ValueError, match="55-85"):
        draw_class("parkinsonian", rng, age=30)
    with pytest.raises(ValueError, match="5-17"):
        draw_class("cp_diplegic", rng, age=40)
    with pytest.raises(TypeError):
        draw_class(3, rng)
    assert draw_class("Cervical myelopathy", rng, age=66).age == 66
    assert draw_class("typical", rng, age=9.5).age == 9.5


# --- signatures in the true walks ------------------------------------------------------------------

def test_idiopathic_toe_walkers_land_on_the_forefoot_with_a_plantarflexed_ankle(walks):
    heel = PARTS.index("heel")
    for w, _ in walks["idiopathic_toe_walking"]:
        contacts = _initial_contacts(w)
        assert len(contacts) > 15
        assert all(ankle < -10.0 for ankle, _ in contacts)  # plantarflexed at every initial contact
        assert all(part != heel for _, part in contacts)  # the forefoot touches down first
        assert abs(w.labels["cadence"] - w.params.cadence) < 6  # typical cadence for the age
    # Typically developing children strike with the heel (the few with a typical equinus of 5 deg or more
    # touch down flat or on the forefoot in the simulator).
    children = [w for w, _ in walks["typical"] if w.params.age < 18] + [h for _, h in walks["idiopathic_toe_walking"]]
    parts = [part for w in children for _, part in _initial_contacts(w)]
    assert np.mean(np.array(parts) == heel) > 0.7


def test_ataxic_stride_time_variability_is_above_the_healthy_range(drawn, walks):
    cv = np.array([p.stride_cv for p in drawn["ataxic"]])
    # Bulk at 4-7 %, the mildest reaching down to the top of the healthy range (3.5 %), none below it.
    assert cv.min() >= 0.035 and cv.min() < 0.045 and 0.05 < np.median(cv) < 0.07 and cv.max() < 0.11
    rng = np.random.default_rng(11)
    pairs = [_with_twin("ataxic", rng, float(rng.uniform(20, 75))) for _ in range(6)]
    ataxic, healthy = [a for a, _ in pairs], [h for _, h in pairs]
    cv_a = [_cv(_stride_times(_walk(p, i, fps=50.0, duration=40.0))) for i, p in enumerate(ataxic)]
    cv_h = [_cv(_stride_times(_walk(p, i, fps=50.0, duration=40.0))) for i, p in enumerate(healthy)]
    assert np.median(cv_a) > 1.8 * np.median(cv_h) and min(cv_a) > 0.03 and max(cv_h) < 0.04, (cv_a, cv_h)
    # Step length varies from stride to stride too.
    step_cv = [_cv(_heel_strikes(w)["step_length_m"].dropna()) for w, _ in walks["ataxic"]]
    step_cv_h = [_cv(_heel_strikes(h)["step_length_m"].dropna()) for _, h in walks["ataxic"]]
    assert np.mean(step_cv) > 1.5 * np.mean(step_cv_h)
    # Slower, with longer double support than healthy walkers of the same age.
    assert np.mean([w.labels["speed"] for w, _ in walks["ataxic"]]) < np.mean([h.labels["speed"] for _, h in walks["ataxic"]]) - 0.15
    assert np.mean([_double_support(w) - _double_support(h) for w, h in walks["ataxic"]]) > 0.04


def test_antalgic_painful_leg_has_short_stance_and_a_quick_sound_step():
    rng = np.random.default_rng(5)
    stance_gap, knee_gap = [], []
    for i in range(6):
        p = draw_class("antalgic", rng)
        painful = p.extra["affected_side"]
        sound = "right" if painful == "left" else "left"
        assert p.hemiplegic_side == "none" and painful in ("left", "right")
        w = _walk(p, i, fps=100.0, duration=14.0)
        assert w.labels["affected_side"] == painful
        stance_gap.append(np.median(_stance_times(w, sound)) - np.median(_stance_times(w, painful)))
        assert stance_gap[-1] > 0.0  # pain always shows in the stance times, in the mildest only just
        # The step onto the sound leg (taken while standing on the painful one) is the short step.
        steps = _step_times(w)
        assert steps[sound] < steps[painful] - 0.005
        # The painful knee flexes less.
        rom = {s: np.ptp(_walking(w, f"knee_{s}")) for s in (painful, sound)}
        knee_gap.append(rom[sound] - rom[painful])
        assert knee_gap[-1] > 0.0
    assert np.mean(stance_gap) > 0.03 and np.mean(knee_gap) > 5.0, (stance_gap, knee_gap)


def test_parkinsonian_short_stooped_steps_with_little_arm_swing(walks):
    pd_walks = walks["parkinsonian"]
    step = np.mean([_step_per_stature(w) for w, _ in pd_walks])
    step_h = np.mean([_step_per_stature(h) for _, h in pd_walks])
    assert step < 0.85 * step_h
    trunk = [np.mean(_walking(w, "trunk_pitch")) for w, _ in pd_walks]
    trunk_h = [np.mean(_walking(h, "trunk_pitch")) for _, h in pd_walks]
    assert np.mean(trunk) > np.mean(trunk_h) + 4.0 and min(trunk) > 0.0
    arms = [(_arm_excursion(w), _arm_excursion(h)) for w, h in pd_walks]
    assert all(a < a_h for a, a_h in arms) and np.mean([a / a_h for a, a_h in arms]) < 0.8
    assert np.mean([_double_support(w) - _double_support(h) for w, h in pd_walks]) > 0.03
    # Cadence kept or raised (compensating for the short steps), against the walker's own healthy cadence.
    assert np.mean([w.labels["cadence"] - h.labels["cadence"] for w, h in pd_walks]) > 0.0
    assert np.mean([_swing_knee_peak(w) for w, _ in pd_walks]) < np.mean([_swing_knee_peak(h) for _, h in pd_walks]) - 5


def test_festination_quickens_and_shortens_the_steps_of_a_straight_pass():
    rng = np.random.default_rng(8)
    drawn = [draw_class("parkinsonian", rng) for _ in range(200)]
    share = np.mean([q.extra.get("festination", 0) > 0 for q in drawn])
    assert 0.15 < share < 0.45  # festination in some walkers (0.1 + 0.4 x severity)
    p = next(q for q in drawn if q.extra.get("festination", 0) > 0)
    # A marked festination on steady strides (little stride-to-stride noise), to see the ramp itself.
    p = replace(p, stride_cv=0.01, extra={**p.extra, "festination": 0.25, "festination_s": 5.0})
    plain = replace(p, extra={k: v for k, v in p.extra.items() if not k.startswith("festination")})
    for params, rises in ((p, True), (plain, False)):
        w = _walk(params, 3, fps=50.0, duration=20.0)
        turn = w.sequence.info["simulator"]["turn_start"]
        ramp_frames = int(params.extra.get("festination_s", 4.0) * 50)
        cadence = w.frames["cadence"].to_numpy()[:turn]
        early, late = cadence[:50].mean(), cadence[min(ramp_frames, turn - 50):turn].mean()
        stride = int(round(50 * 120.0 / params.cadence))
        hip = w.frames["hip_left"].to_numpy()
        first, last = np.ptp(hip[:stride]), np.ptp(hip[turn - 2 * stride:turn])  # hip excursion: step size
        if rises:
            assert late > early * (1.0 + 0.5 * p.extra["festination"])
            assert last < 0.93 * first
        else:
            assert abs(late - early) < 0.04 * early and abs(last - first) < 0.04 * first


def test_myopathic_trunk_leans_back_over_a_tilted_pelvis(walks, drawn):
    lean = [np.mean(_walking(w, "trunk_pitch")) for w, _ in walks["myopathic"]]
    lean_h = [np.mean(_walking(h, "trunk_pitch")) for _, h in walks["myopathic"]]
    assert np.median(lean) < -4.0 and np.mean(np.array(lean) < 0.0) >= 0.75  # shoulders behind the hips
    assert np.mean(lean) < np.mean(lean_h) - 6.0
    # Mild boys come close to upright (typical children lean about 3 deg forward); most lean back by 3 deg or more.
    drawn_lean = np.array([p.trunk_lean for p in drawn["myopathic"]])
    assert np.median(drawn_lean) < -5.0 and 0.6 < np.mean(drawn_lean < -3.0) < 1.0
    tilt = np.mean([p.pelvic_tilt for p in drawn["myopathic"]])
    tilt_td = np.mean([p.pelvic_tilt for p in drawn["typical"] if p.age < 18])
    assert tilt > tilt_td + 5.0
    ankle_ic = np.mean([a for w, _ in walks["myopathic"] for a, _ in _initial_contacts(w)])
    ankle_ic_td = np.mean([a for _, h in walks["myopathic"] for a, _ in _initial_contacts(h)])
    assert ankle_ic < ankle_ic_td - 4.0  # towards toe walking
    assert np.mean([w.labels["speed"] for w, _ in walks["myopathic"]]) < np.mean([h.labels["speed"] for _, h in walks["myopathic"]])
    assert np.mean([_swing_knee_peak(w) for w, _ in walks["myopathic"]]) < np.mean([_swing_knee_peak(h) for _, h in walks["myopathic"]]) - 5


def test_cervical_myelopathy_stiff_knee_swing_and_long_double_support(walks, drawn):
    stiff = np.array([np.mean(p.stiff_knee) for p in drawn["cervical_myelopathy"]])
    assert stiff.min() < 0.02 and np.median(stiff) > 0.05  # none in the mildest, clear in the median walker
    dcm = walks["cervical_myelopathy"]
    assert np.mean([_swing_knee_peak(w) - _swing_knee_peak(h) for w, h in dcm]) < -4.0
    assert np.mean([_double_support(w) - _double_support(h) for w, h in dcm]) > 0.04
    assert np.mean([w.labels["cadence"] - h.labels["cadence"] for w, h in dcm]) < -5.0
    assert np.mean([w.labels["speed"] for w, _ in dcm]) < np.mean([h.labels["speed"] for _, h in dcm]) - 0.2
    assert np.mean([_cv(_stride_times(w)) for w, _ in dcm]) > np.mean([_cv(_stride_times(h)) for _, h in dcm])


# --- cohorts ---------------------------------------------------------------------------------------

def test_a_classes_cohort_has_exact_counts_unique_subjects_and_survives_save_load(tmp_path):
    c = simulate_taxonomy_cohort(18, visits=(1, 2), duration=(6.0, 7.0), random_state=1, n_jobs=1)
    per_subject = c.videos.groupby("patient_id")["gait_class"].agg(["nunique", "first"])
    assert len(per_subject) == 18 and (per_subject["nunique"] == 1).all()
    assert per_subject["first"].value_counts().to_dict() == {name: 2 for name in GAIT_CLASSES}
    assert c.config["classes"] == TAXONOMY_PREVALENCE and c.config["prevalence"] is None
    by_video = c.videos.set_index("video_id")["gait_class"]
    assert (c.meta["gait_class"].to_numpy() == by_video.loc[c.meta["video_id"]].to_numpy()).all()
    cp = c.meta["gait_class"].str.startswith("cp_")
    assert c.meta.loc[~cp, "gmfcs"].isna().all() and c.meta.loc[cp, "gmfcs"].between(1, 3).all()
    assert (c.videos.loc[~c.videos["gait_class"].str.startswith("cp_"), "gmfcs"] == 0).all()
    back = Cohort.load(c.save(tmp_path / "tax"))
    pd.testing.assert_series_equal(back.meta["gait_class"], c.meta["gait_class"], check_dtype=False)
    assert back.meta["gmfcs"].isna().sum() == c.meta["gmfcs"].isna().sum()
    assert (back.videos["gait_class"] == c.videos["gait_class"]).all()
    assert back.config["classes"] == c.config["classes"]


def test_classes_shares_and_bad_classes():
    c = simulate_cohort(7, classes={"Parkinsonian": 2, "typical": 1, "ataxic": 0}, visits=(1, 1),
                        duration=(6.0, 6.5), random_state=2, n_jobs=1)
    counts = c.videos["gait_class"].value_counts().to_dict()
    assert counts == {"parkinsonian": 5, "typical": 2}  # 4.67 and 2.33 by largest remainder
    assert list(c.config["classes"]) == ["typical", "ataxic", "parkinsonian"]  # GAIT_CLASSES order
    with pytest.raises(LabelError):
        simulate_cohort(3, classes={"gout": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        simulate_cohort(3, classes={"typical": -1.0})
    with pytest.raises(ValueError, match="taxonomy"):
        simulate_cohort(3, classes="gmfcs")


def _checksum(a):
    return hashlib.sha256(np.ascontiguousarray(np.round(np.asarray(a, dtype=np.float64), 2)).tobytes()).hexdigest()[:16]


def test_default_gmfcs_cohort_is_unchanged():
    """Checksums of a small GMFCS cohort computed with the simulator before the gait classes existed:
    the clips, per-clip truth and labels are as they were; only the new columns are added."""
    c = simulate_cohort(6, random_state=3, duration=(6.0, 7.0), visits=(1, 2), n_jobs=1)
    assert _checksum(np.nan_to_num(c.clips, nan=-1)) == "105d8af493d3aeb2"
    assert _checksum(np.nan_to_num(c.truth.to_numpy(dtype=float), nan=-1)) == "7b239f3880a457cd"
    cols = ["clip_start", "clip_stop", "fps", "valid_fraction", "gmfcs", "gdi", "speed", "cadence", "age", "height"]
    assert _checksum(c.meta[cols].to_numpy(dtype=float)) == "42bb1215b1150583"
    ids = "|".join(c.meta["video_id"]) + "|".join(c.meta["gait_pattern"])
    assert hashlib.sha256(ids.encode()).hexdigest()[:16] == "07fa2e41b269cfe6"
    expected = np.where(c.meta["hemiplegic_side"] != "none", "cp_hemiplegic", "cp_diplegic")
    assert (c.meta["gait_class"].to_numpy() == expected).all()
    assert (c.meta["affected_side"] == c.meta["hemiplegic_side"]).all()
    assert c.config["classes"] is None and c.config["prevalence"] == [0.35, 0.38, 0.25, 0.02]
