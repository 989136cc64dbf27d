"""The extended features (per-side step time and variability, heel-first contact, ankle angles).

Checked against hand-computed cases, the plain-NumPy reference (tests/naive.py) and the gait
simulator's truth: its exact heel-strike times (where each leg's phase wraps), footprint step
lengths, ankle angles (``frames["ankle_left"]``: dorsiflexion +, 0 = foot perpendicular to the shank,
as ours) and which foot part first carries the body (``frames["contact_part"]``, an index into
``gaitfeat.simulate.foot.PARTS``).

``python tests/test_features_extended.py`` prints the accuracy table of docs/features.md.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat import EXTENDED_FEATURES, FEATURE_INFO, FEATURE_SETS, FEATURES, GaitFeatureExtractor, extract_features
from gaitfeat.features import NAN_REASONS, REGION_SOURCE, REGIONS, resolve_feature_set, walk_features
from gaitfeat.features._kernels import JOINT_SLOTS, N_FOOT_ROWS
from gaitfeat.features._kernels.extended import _robust_cv, foot_signals
from gaitfeat.simulate import draw_child
from gaitfeat.testing import stick_walker

import naive

FOOT_FEATURES = [f for f in EXTENDED_FEATURES if f.startswith(("heel_strike", "ankle"))]
NO_FEET = NAN_REASONS[10]


# --- helpers ------------------------------------------------------------------------------------


def reasons_by_feature(text: str) -> dict[str, str]:
    """``nan_reason`` ("reason: a, b; reason: c") as {feature: reason}."""
    out = {}
    for part in filter(None, text.split("; ")):
        reason, names = part.rsplit(": ", 1)
        out.update({name: reason for name in names.split(", ")})
    return out


def walk_truth(walk) -> dict[str, float]:
    """The extended features of a simulated walk from the simulator's truth.

    Steps: consecutive heel strikes of opposite feet inside one walking
    stretch (the simulator gives them a step length), timed at the exact
    instant each leg's phase wraps. Heel first: the foot's first part to
    carry the body after its initial contact is the heel. Ankle: the
    simulated angle at the strike frames, and its largest value from each
    strike to the same foot's toe-off.
    """
    fr, ev = walk.frames, walk.events
    fps = 1.0 / (fr["time_s"].iloc[1] - fr["time_s"].iloc[0])
    hs = ev[ev["event"] == "heel_strike"].sort_values("frame")
    side_now, part_now = fr["contact_side"].to_numpy(), fr["contact_part"].to_numpy()

    def exact_time(row) -> float:
        phase = fr[f"phase_{row.side}"].to_numpy()
        p0, p1 = phase[row.frame - 1], phase[row.frame]
        return (row.frame - 1 + (1.0 - p0) / (p1 + 1.0 - p0)) / fps

    rows = list(hs.itertuples())
    out = {}
    for k, side in enumerate(("left", "right")):
        steps = [(exact_time(b) - exact_time(a), b.step_length_m) for a, b in zip(rows[:-1], rows[1:])
                 if b.side == side and a.side != side and np.isfinite(b.step_length_m)]
        times, lengths = np.array(steps).T
        out[f"step_time_{side}"] = times.mean()
        out[f"step_time_cv_{side}"] = times.std(ddof=1) / times.mean() * 100.0
        out[f"step_length_cv_{side}"] = lengths.std(ddof=1) / lengths.mean() * 100.0
        ic = hs.loc[hs["side"] == side, "frame"].to_numpy()
        first = []
        for f in ic:
            carried = np.flatnonzero(side_now[f:] == k)
            if carried.size:
                first.append(part_now[f + carried[0]] == 0)  # foot.PARTS[0] == "heel"
        out[f"heel_strike_fraction_{side}"] = float(np.mean(first))
        ankle = fr[f"ankle_{side}"].to_numpy()
        out[f"ankle_angle_ic_{side}"] = ankle[ic].mean()
        toe_offs = ev.loc[(ev["event"] == "toe_off") & (ev["side"] == side), "frame"].to_numpy()
        peaks = [ankle[a : toe_offs[(toe_offs > a) & (toe_offs < b)][0]].max() for a, b in zip(ic[:-1], ic[1:])
                 if ((toe_offs > a) & (toe_offs < b)).any()]
        out[f"ankle_dorsiflexion_max_stance_{side}"] = float(np.mean(peaks))
    return out


def measured(walk, layout: str) -> pd.Series:
    """Features of a whole simulated walk, measured as one clip."""
    seq = gaitfeat.preprocess(walk.sequence, layout=layout)
    return extract_features(seq.keypoints[None], seq.fps, layout).iloc[0]


BASE = draw_child(0, np.random.default_rng(1))  # a typically developing child


def sim(noise="none", seed=1, **changes):
    return gaitfeat.simulate_walk(params=dataclasses.replace(BASE, **changes), noise=noise, random_state=seed,
                                  duration=20.0, fps=30.0)


@pytest.fixture(scope="module")
def typical():
    return {noise: sim(noise) for noise in ("none", "default")}


def stick_clip(layout="body25", cadence=100.0, n_frames=240):
    return gaitfeat.preprocess(stick_walker(n_frames, fps=30.0, layout=layout, cadence=cadence)).keypoints[None]


# --- definitions, sets, tables -----------------------------------------------------------------------


def test_definitions_and_sets():
    assert len(FEATURES) == 32 and FEATURE_SETS["all"] == FEATURES
    assert FEATURE_SETS["extended"] == FEATURES + EXTENDED_FEATURES and len(EXTENDED_FEATURES) == 12
    assert set(REGION_SOURCE) == set(REGIONS)
    for name in EXTENDED_FEATURES:
        info = FEATURE_INFO[name]
        assert info.unit and info.definition and info.region in REGIONS
    assert resolve_feature_set("extended")[-12:] == list(EXTENDED_FEATURES)
    assert resolve_feature_set(["ankle_angle_ic_left", "cadence"]) == ["ankle_angle_ic_left", "cadence"]
    with pytest.raises(ValueError, match="single column"):
        resolve_feature_set("step_time_left")
    table = extract_features(stick_clip(), 30.0, "body25", leg_length_m=0.7)
    assert list(table.columns[:44]) == list(FEATURE_SETS["extended"]) and table.columns[44] == "step_length_m"


def test_extractor_and_walks_carry_the_extended_columns(typical):
    seq = gaitfeat.preprocess(typical["none"].sequence, layout="body25")
    walk = walk_features(seq).iloc[0]
    assert all(name in walk.index for name in EXTENDED_FEATURES)
    # Per-side step times of a whole walk are medians over its steps, like its step-timing symmetry.
    symmetry = naive.symmetry(walk["step_time_left"], walk["step_time_right"])
    assert symmetry == pytest.approx(walk["step_timing_symmetry"])
    out = GaitFeatureExtractor(fps=30.0, features="extended").fit_transform(stick_clip())
    assert out.shape == (1, 44)
    per_walk = GaitFeatureExtractor(features=["step_time_cv_left"], per_walk=True).fit_transform([seq])
    assert per_walk[0, 0] == walk["step_time_cv_left"]


# --- hand-computed cases -------------------------------------------------------------------------------


def test_robust_cv_by_hand():
    values = np.array([0.50, 0.52, 0.48, 0.50, 0.10])
    # Median 0.50, MAD 0.02: the limit is 3 x 1.4826 x 0.02 = 0.089 s, so 0.10 goes; SD of the rest 0.01633.
    assert _robust_cv(values, 5) == pytest.approx(0.0163299 / 0.50 * 100.0, rel=1e-5)
    assert _robust_cv(values, 4) == pytest.approx(0.0163299 / 0.50 * 100.0, rel=1e-5)
    assert np.isnan(_robust_cv(values, 2))
    # Within 10 % of the median nothing is left out even when the MAD is 0.
    expected = np.std([1.0, 1.0, 1.0, 1.05], ddof=1) / 1.0125 * 100.0
    assert _robust_cv(np.array([1.0, 1.0, 1.0, 1.05]), 4) == pytest.approx(expected)


@pytest.mark.parametrize("shank_deg, foot_deg, expected", [(0.0, 10.0, 10.0), (0.0, -20.0, -20.0), (20.0, 0.0, -20.0),
                                                           (-15.0, -15.0, 0.0), (0.0, 180.0, 180.0)])
def test_ankle_angle_by_hand(shank_deg, foot_deg, expected):
    """Shank from the downward vertical (+ = ankle ahead of the knee); foot pitch (+ = toe up)."""
    J = np.arange(len(JOINT_SLOTS), dtype=np.int64)
    kp = np.zeros((1, len(JOINT_SLOTS), 3))
    th, ph = np.radians(shank_deg), np.radians(foot_deg)
    for s in range(2):
        kp[0, JOINT_SLOTS.index("left_knee") + s, :2] = (-0.5 * np.sin(th), 0.5 * np.cos(th))  # ankle at the origin
        kp[0, JOINT_SLOTS.index("left_heel") + s, :2] = (-0.05, -0.05)
        kp[0, JOINT_SLOTS.index("left_big_toe") + s, :2] = (-0.05 + 0.2 * np.cos(ph), -0.05 + 0.2 * np.sin(ph))
    foot = np.empty((N_FOOT_ROWS, 1))
    foot_signals(kp, J, np.ones(1, dtype=bool), foot)
    np.testing.assert_allclose(foot[:2, 0], expected, atol=1e-9)
    np.testing.assert_allclose(foot[2:, 0], -0.05 - (-0.05 + 0.2 * np.sin(ph)), atol=1e-12)
    no_feet = J.copy()
    no_feet[[JOINT_SLOTS.index(n) for n in ("left_heel", "right_heel", "left_big_toe", "right_big_toe")]] = -1
    foot_signals(kp, no_feet, np.ones(1, dtype=bool), foot)
    assert np.isnan(foot).all()


def test_stick_walker_by_hand():
    """Cadence 100: every step takes 0.6 s. Its heels ride 0.02 leg lengths above the big toes: never heel first;
    lowered to 0.02 below them: always. Ankle: foot pitch (from the heel and toe offsets) less the shank angle."""
    lay = gaitfeat.BODY25
    clip = stick_clip("body25", cadence=100.0)
    t = extract_features(clip, 30.0, "body25").iloc[0]
    for side in ("left", "right"):
        assert t[f"step_time_{side}"] == pytest.approx(0.6, abs=0.005)
        assert t[f"step_time_cv_{side}"] < 1.0
        assert t[f"heel_strike_fraction_{side}"] == 0.0
    lowered = clip.copy()
    for side in ("left", "right"):
        lowered[0, :, lay.index(f"{side}_heel"), 1] -= 0.04
    t2 = extract_features(lowered, 30.0, "body25").iloc[0]
    events = gaitfeat.detect_events(lowered, 30.0, "body25")
    for side in ("left", "right"):
        assert t2[f"heel_strike_fraction_{side}"] == 1.0
        kp = lowered[0]
        shank = kp[:, lay.index(f"{side}_ankle"), :2] - kp[:, lay.index(f"{side}_knee"), :2]
        foot = kp[:, lay.index(f"{side}_big_toe"), :2] - kp[:, lay.index(f"{side}_heel"), :2]
        pitch = np.degrees(np.arctan2(foot[:, 1], foot[:, 0]))
        shank_deg = np.degrees(np.arctan2(shank[:, 0], -shank[:, 1]))
        frames = events.loc[(events["side"] == side) & (events["event"] == "heel_strike"), "frame"].to_numpy()
        expected = np.interp(frames, np.arange(len(pitch)), pitch - shank_deg).mean()
        assert t2[f"ankle_angle_ic_{side}"] == pytest.approx(expected, abs=1e-3)
    coco = extract_features(stick_clip("coco17", cadence=100.0), 30.0, "coco17").iloc[0]
    assert coco["step_time_left"] == pytest.approx(0.6, abs=0.005)
    reasons = reasons_by_feature(coco["nan_reason"])
    assert all(np.isnan(coco[f]) and reasons[f] == NO_FEET for f in FOOT_FEATURES)


def test_reasons_without_steps_or_strikes():
    frozen = np.repeat(stick_clip()[:, :1], 60, axis=1)
    t = extract_features(frozen, 30.0, "body25").iloc[0]
    reasons = reasons_by_feature(t["nan_reason"])
    assert np.isnan(t[list(EXTENDED_FEATURES)].astype(float)).all()
    assert reasons["step_time_left"] == NAN_REASONS[2] and reasons["step_time_cv_left"] == NAN_REASONS[9]
    assert reasons["heel_strike_fraction_left"] == NAN_REASONS[8]         # no heel strike of this foot
    assert reasons["ankle_dorsiflexion_max_stance_right"] == NAN_REASONS[4]  # no stride with a toe-off
    # The left big toe never detected: the layout has it, the frames do not (heel strikes, from the heel, remain).
    clip = stick_clip()
    clip[:, :, gaitfeat.BODY25.index("left_big_toe")] = np.nan
    t = extract_features(clip, 30.0, "body25").iloc[0]
    reasons = reasons_by_feature(t["nan_reason"])
    assert t["n_heel_strikes_left"] > 0
    assert reasons["heel_strike_fraction_left"] == NAN_REASONS[1] and reasons["ankle_angle_ic_left"] == NAN_REASONS[1]
    assert np.isfinite(t["ankle_angle_ic_right"]) and t["heel_strike_fraction_right"] == 0.0


# --- the NumPy reference ----------------------------------------------------------------------------------


def test_kernel_matches_reference_on_body25_edge_clips():
    rng = np.random.default_rng(3)
    base = gaitfeat.simulate_cohort(3, noise="default", random_state=21, n_jobs=1, layout="body25").clips[::9][:6]
    jittered = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
    bursts = base.copy()
    foot_joints = [gaitfeat.BODY25.index(n) for n in ("left_heel", "right_big_toe", "left_knee")]
    for c in range(len(bursts)):
        t0 = rng.integers(0, 100)
        bursts[c, t0 : t0 + rng.integers(3, 25), rng.choice(foot_joints)] = np.nan
    random = rng.normal(0, 0.5, (3, 124, 25, 3)).astype(np.float32)
    clips = np.concatenate([jittered, bursts, random])
    for method in ("coordinate", "velocity"):
        table = extract_features(clips, 30.0, "body25", method=method)
        ref = pd.DataFrame(naive.extract_features(clips, 30.0, "body25", method=method))
        for col in EXTENDED_FEATURES:
            np.testing.assert_allclose(table[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-6, atol=1e-6,
                                       equal_nan=True, err_msg=f"{method} {col}")
        for i in range(len(clips)):
            got = reasons_by_feature(table["nan_reason"].iloc[i])
            for name in EXTENDED_FEATURES:
                code = ref["_reasons"].iloc[i][name]
                assert got.get(name) == (NAN_REASONS[code] if code else None), (method, i, name)


# --- simulator truth ----------------------------------------------------------------------------------------


def test_step_time_per_side(typical):
    for noise, limit in (("none", 0.01), ("default", 0.05)):
        truth = walk_truth(typical[noise])
        for layout in ("body25", "coco17"):
            t = measured(typical[noise], layout)
            for side in ("left", "right"):
                assert abs(t[f"step_time_{side}"] - truth[f"step_time_{side}"]) <= limit, (noise, layout, side)


def test_asymmetric_walk_orders_left_and_right():
    """The right leg lags by 0.42 of a stride: steps onto the right foot take 0.58 of it, onto the left 0.42."""
    for noise in ("none", "default"):
        walk = sim(noise, phase_offset=0.42)
        truth = walk_truth(walk)
        assert truth["step_time_right"] > 1.3 * truth["step_time_left"]
        for layout in ("body25", "coco17"):
            t = measured(walk, layout)
            assert t["step_time_right"] > 1.25 * t["step_time_left"], (noise, layout)
            for side in ("left", "right"):
                assert t[f"step_time_{side}"] == pytest.approx(truth[f"step_time_{side}"], abs=0.03)
            # The same steps as the step-timing symmetry.
            assert t["step_timing_symmetry"] == pytest.approx(naive.symmetry(t["step_time_left"], t["step_time_right"]),
                                                              rel=1e-12)


def test_step_time_cv_tracks_the_true_variability():
    for noise in ("none", "default"):
        steady, variable = sim(noise, stride_cv=0.01), sim(noise, stride_cv=0.10)
        true_steady, true_variable = walk_truth(steady), walk_truth(variable)
        for layout in ("body25", "coco17"):
            a, b = measured(steady, layout), measured(variable, layout)
            for side in ("left", "right"):
                cv_a, cv_b = a[f"step_time_cv_{side}"], b[f"step_time_cv_{side}"]
                assert cv_b > 2.0 * cv_a, (noise, layout, side)
                assert abs(cv_a - true_steady[f"step_time_cv_{side}"]) <= 2.5, (noise, layout, side)
                # Leaving out outlying steps trims the tails of a highly variable walk (docs/features.md).
                assert 0.5 <= cv_b / true_variable[f"step_time_cv_{side}"] <= 1.3, (noise, layout, side)
                assert abs(a[f"step_length_cv_{side}"] - true_steady[f"step_length_cv_{side}"]) <= 5.0


def test_toe_walker_and_typical_walker(typical):
    for noise in ("none", "default"):
        toe = sim(noise, equinus=(25.0, 25.0))
        t_toe, t_typ = measured(toe, "body25"), measured(typical[noise], "body25")
        true_toe, true_typ = walk_truth(toe), walk_truth(typical[noise])
        for side in ("left", "right"):
            assert true_toe[f"heel_strike_fraction_{side}"] == 0.0 and true_typ[f"heel_strike_fraction_{side}"] == 1.0
            assert t_toe[f"heel_strike_fraction_{side}"] <= 0.1
            assert t_typ[f"heel_strike_fraction_{side}"] >= 0.85
            # At contact the big toe sits on extended toes, which lifts the foot line by a few degrees.
            for t, truth in ((t_toe, true_toe), (t_typ, true_typ)):
                assert 0.0 <= t[f"ankle_angle_ic_{side}"] - truth[f"ankle_angle_ic_{side}"] <= 6.5, (noise, side)
            assert t_toe[f"ankle_angle_ic_{side}"] <= -15.0
            name = f"ankle_dorsiflexion_max_stance_{side}"
            assert abs(t_typ[name] - true_typ[name]) <= 3.0
            # A toe walker's raised heel over flat toes reads less plantarflexed, but still far below typical.
            assert t_toe[name] <= 0.0 and t_typ[name] - t_toe[name] >= 12.0
        coco = measured(toe, "coco17")
        reasons = reasons_by_feature(coco["nan_reason"])
        assert all(np.isnan(coco[f]) and reasons[f] == NO_FEET for f in FOOT_FEATURES)


def test_heel_strike_fraction_against_contact_truth():
    """Children with cerebral palsy (all gait patterns) and typical children, default detector noise."""
    errors = []
    for i in range(16):
        walk = gaitfeat.simulate_walk(params=draw_child(i % 4, np.random.default_rng(100 + i)), noise="default",
                                      random_state=200 + i, duration=14.0)
        truth, t = walk_truth(walk), measured(walk, "body25")
        errors += [t[f"heel_strike_fraction_{s}"] - truth[f"heel_strike_fraction_{s}"] for s in ("left", "right")]
    errors = np.abs(errors)
    assert np.median(errors) <= 0.05 and (errors <= 0.25).mean() >= 0.8


# --- the accuracy table of docs/features.md --------------------------------------------------------------------


def accuracy(n_walks: int = 48, duration: float = 16.0) -> pd.DataFrame:
    """Measured minus true, per feature (both feet pooled), detector noise and layout, over typical children and
    children with CP (GMFCS I-III, every gait pattern of the simulator), each whole walk measured as one clip."""
    rows = []
    for i in range(n_walks):
        params = draw_child(i % 4, np.random.default_rng(100 + i))
        for noise in ("none", "default"):
            walk = gaitfeat.simulate_walk(params=params, noise=noise, random_state=200 + i, duration=duration)
            truth = walk_truth(walk)
            for layout in ("body25", "coco17"):
                t = measured(walk, layout)
                rows += [{"noise": noise, "layout": layout, "feature": f.rsplit("_", 1)[0], "error": t[f] - truth[f]}
                         for f in EXTENDED_FEATURES if np.isfinite(t[f])]
    df = pd.DataFrame(rows)
    g = df.groupby(["feature", "noise", "layout"], sort=False)["error"]
    return pd.DataFrame({"bias": g.mean(), "sd": g.std(), "median_abs": g.apply(lambda e: e.abs().median()),
                         "p90_abs": g.apply(lambda e: e.abs().quantile(0.9)), "n": g.count()})


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    print(accuracy().round(3).to_string())
