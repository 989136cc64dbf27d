"""Pellano et al.'s joint significance: per-clip scores, confident groups, colour coding, top-k vote."""

import numpy as np
import pytest

from models.significance import (
    CATEGORIES,
    TopK,
    category_frequency,
    colour_code,
    confident_groups,
    joint_scores,
    significance_threshold,
    significant_joints,
    top_k_joints,
)


# --- joint_scores -------------------------------------------------------------------------------

def test_joint_scores_hand_computed():
    maps = np.zeros((2, 2, 3))
    maps[0] = [[1, -2, 0], [3, 0, 0]]          # |.| mean over frames: [2, 1, 0]; signed mean: [2, -1, 0]
    scores, empty = joint_scores(maps, return_empty=True)
    np.testing.assert_allclose(scores, [[1, 0.5, 0], [0, 0, 0]])
    assert empty.tolist() == [False, True]
    signed, _ = joint_scores(maps, absolute=False, return_empty=True)
    np.testing.assert_allclose(signed, [[1, -0.5, 0], [0, 0, 0]])


def test_joint_scores_flags_empty_clips_instead_of_nan():
    maps = np.zeros((3, 4, 5))
    maps[1, 0, 2] = 0.5
    with pytest.warns(RuntimeWarning, match="2 of 3 clips"):
        scores = joint_scores(maps)
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(scores[1], [0, 0, 1, 0, 0])


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.full((1, 2, 3), np.nan)])
def test_joint_scores_rejects_bad_maps(bad):
    with pytest.raises(ValueError, match="maps"):
        joint_scores(bad)


# --- confident_groups ---------------------------------------------------------------------------

def test_confident_groups_single_model():
    proba = np.array([[0.80, 0.10, 0.05, 0.05],     # P(low) = 0.8            -> low
                      [0.05, 0.10, 0.45, 0.40],     # P(high) = 0.85          -> high
                      [0.40, 0.30, 0.20, 0.10],     # neither reaches 0.7     -> ""
                      [0.70, 0.30, 0.00, 0.00],     # P(low) exactly 0.7      -> low
                      [0.20, 0.50, 0.20, 0.10]])    # level II                -> ""
    groups = confident_groups(proba, [1, 2, 3, 4], low=(1,), high=(3, 4), threshold=0.7)
    assert groups.tolist() == ["low", "high", "", "low", ""]


def test_confident_groups_ensemble_uses_the_whole_iqr():
    # P(high) per member: clip 0 [0.6, 0.8, 0.85, 0.9] -> P25 = 0.6 + 0.75 * 0.2 = 0.75 >= 0.7: high;
    # clip 1 [0.4, 0.5, 0.9, 0.9] -> P25 = 0.4 + 0.75 * 0.1 = 0.475: excluded although the median is 0.7
    p_high = np.array([[0.6, 0.4], [0.8, 0.5], [0.85, 0.9], [0.9, 0.9]])      # (R=4, N=2)
    proba = np.stack([1 - p_high, p_high], axis=-1)                            # classes (1, 3)
    assert confident_groups(proba, [1, 3], low=(1,), high=(3,)).tolist() == ["high", ""]
    # a single member reproduces the single-model rule
    assert confident_groups(proba[2], [1, 3], low=(1,), high=(3,)).tolist() == ["high", "high"]


@pytest.mark.parametrize("kwargs, match", [
    ({"threshold": 0.5}, "threshold"),
    ({"low": (1, 3)}, "share"),
    ({"high": (5,)}, "not found"),
])
def test_confident_groups_rejects_bad_settings(kwargs, match):
    proba = np.full((2, 4), 0.25)
    with pytest.raises(ValueError, match=match):
        confident_groups(proba, [1, 2, 3, 4], **kwargs)


def test_confident_groups_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        confident_groups(np.array([[0.9, 0.9]]), [1, 3], low=(1,), high=(3,))


# --- colour coding and threshold ----------------------------------------------------------------

def test_colour_code_gives_each_category():
    theta = 0.3
    scores = np.array([
        # j0: all 0.1 -> P75 < θ: very_low
        # j1: [0.1, 0.2, 0.35, 0.4]: P25 0.175, median 0.275 < θ, P75 0.3625 > θ: low
        # j2: [0.1, 0.32, 0.35, 0.5]: P25 0.265 < θ, median 0.335 > θ: high
        # j3: all 0.9 -> P25 > θ: very_high
        [0.1, 0.1, 0.1, 0.9],
        [0.1, 0.2, 0.32, 0.9],
        [0.1, 0.35, 0.35, 0.9],
        [0.1, 0.4, 0.5, 0.9],
    ])
    assert colour_code(scores, theta).tolist() == list(CATEGORIES)


def test_colour_code_per_clip_from_ensemble_and_single_model():
    rng = np.random.default_rng(0)
    members = rng.random((5, 3, 4))                  # (R, N, V)
    assert colour_code(members, 0.5).shape == (3, 4)
    single = np.array([[0.2, 0.3, 0.4]])             # one model: the IQR is a point
    assert colour_code(single, 0.3).tolist() == ["very_low", "high", "very_high"]


def test_significance_threshold_is_the_30th_percentile_of_mean_scores():
    means = np.linspace(0.1, 1.0, 10)
    scores = np.stack([means - 0.05, means + 0.05], axis=1)     # joint mean = means
    # np.quantile(means, 0.3): position 0.3 * 9 = 2.7 -> 0.3 + 0.7 * 0.1 = 0.37
    assert significance_threshold(scores, 0.7) == pytest.approx(0.37)
    # per subject: pairs of clips -> subject means 0.15, 0.35, ..., 0.95; 30th pct: 0.15 + 1.2 * 0.2 = 0.39
    assert significance_threshold(scores, 0.7, groups=np.repeat(np.arange(5), 2)) == pytest.approx(0.39)
    with pytest.raises(ValueError, match="share"):
        significance_threshold(scores, 1.0)


def test_category_frequency():
    cats = np.array([["very_low", "very_high", "low"],
                     ["very_low", "high", "very_high"],
                     ["low", "very_high", "very_high"],
                     ["very_low", "very_low", "very_high"]])
    np.testing.assert_allclose(category_frequency(cats, "low"), [0.75, 0.25, 0.0])
    np.testing.assert_allclose(category_frequency(cats, "high"), [0.0, 0.5, 0.75])
    with pytest.raises(ValueError, match="unknown"):
        category_frequency(np.array([["red"]]), "high")


# --- top-k --------------------------------------------------------------------------------------

def test_top_k_picks_the_leading_group():
    imp = np.array([0.95, 0.9, 0.88, 0.2, 0.15, 0.1, 0.1, 0.05])
    res = top_k_joints(imp)
    # kneed's first knee candidate is the plateau's start (rank 0); the strongest is rank 3 (0.2, the
    # first of the flat part), so the three joints before it are selected, as by 2-means.
    assert res == TopK(top=(0, 1, 2), kneedle=(0, 1, 2), kmeans=(0, 1, 2), k_knee=3)
    # the same values in shuffled joint order map back to the right joints
    perm = np.array([5, 0, 7, 2, 4, 1, 6, 3])
    shuffled = np.empty_like(imp)
    shuffled[perm] = imp
    assert set(top_k_joints(shuffled).top) == {5, 0, 7}


def test_top_k_keeps_only_the_intersection_when_methods_disagree():
    # Halving importances. Kneedle: normalised y [1, .485, .227, .098, .031, 0], flipped [0, .515, .773,
    # .902, .969, 1] minus x [0, .2, .4, .6, .8, 1] -> difference peaks at rank 2: joints {0, 1}.
    # 2-means: {1.0} | rest has within-SS 0.146, {1.0, 0.5} | rest 0.154: cluster {0}.
    res = top_k_joints(np.array([1, 0.5, 0.25, 0.125, 0.06, 0.03]))
    assert (res.kneedle, res.kmeans, res.top) == ((0, 1), (0,), (0,))
    # the other way round: one outlier then a shelf; the knee is at rank 1, 2-means takes the shelf too
    res = top_k_joints(np.array([0.9, 0.5, 0.45, 0.4, 0.1, 0.05]))
    assert (res.kneedle, res.kmeans, res.top) == ((0,), (0, 1, 2, 3), (0,))


def test_top_k_no_knee_and_constant():
    res = top_k_joints(np.linspace(1, 0.1, 10))            # a straight line has no knee
    assert res.top == () and res.kneedle == () and res.k_knee == 0 and "no knee" in res.note
    assert len(res.kmeans) == 5
    for flat in (np.full(17, 0.4), np.zeros(5)):
        res = top_k_joints(flat)
        assert res.top == res.kneedle == res.kmeans == () and "constant" in res.note
    assert top_k_joints(np.array([1.0, 0.0])).top == ()    # too few joints: reported, no crash


def test_top_k_keeps_tied_joints_together():
    # tied joints are all in or all out, whatever their position in the vector
    res = top_k_joints(np.array([0.1, 1, 1, 0.1, 1, 0.1, 0.1, 0.1]))
    assert res.top == (1, 2, 4) and res.k_knee == 3
    res = top_k_joints(np.array([1.0, 0.3, 0.3, 0.3, 0.05, 0.04, 0.03, 0.02]))
    assert res.top == (0,) and res.k_knee == 1


def test_significant_joints_end_to_end():
    # 6 "high" clips where joints 0 and 1 score 0.9 (red) and the rest 0.1; 4 "low" clips where joint 4 is
    # green (0.05) and the others 0.6; 2 excluded clips that would contradict both
    high = np.tile([0.9, 0.9, 0.1, 0.1, 0.1, 0.1], (6, 1))
    low = np.tile([0.6, 0.6, 0.6, 0.6, 0.05, 0.6], (4, 1))
    other = np.tile([0.0, 0.0, 0.9, 0.9, 0.9, 0.9], (2, 1))
    scores = np.vstack([high, low, other])
    groups = np.array(["high"] * 6 + ["low"] * 4 + [""] * 2)
    out = significant_joints(scores, groups, threshold=0.3)
    np.testing.assert_allclose(out["high"][0], [1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(out["low"][0], [0, 0, 0, 0, 1, 0])
    assert out["high"][1].top == (0, 1)
    assert out["low"][1].top == (4,)
