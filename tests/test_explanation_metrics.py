"""Faithfulness, stability and agreement metrics of joint attributions, on a model whose true attribution is known."""

import numpy as np
import pandas as pd
import pytest

from models.explanation_metrics import (
    agreement_matrix,
    curve_area,
    deletion_insertion,
    jitter,
    kendall_tau,
    prediction_gaps,
    random_scores,
    rank_stability,
    relative_input_stability,
    remove_joints,
    top_k_overlap,
)

N, T, V, C = 6, 5, 8, 3
A, B = 2, 5                     # the only joints the model looks at


def _clips(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, T, V, C)).astype(np.float32)
    x[..., 2] = 1.0
    x[:, :, [A, B], 0] = 0.5    # the model's score is then exactly 0.5 per clip
    return x


class TwoJointModel:
    """f(x) = mean over frames of (x_A + x_B) / 2, missing keypoints zeroed as the networks do; counts its calls."""

    def __init__(self):
        self.batches = []

    def __call__(self, clips):
        self.batches.append(len(clips))
        xs = np.nan_to_num(clips[..., 0], nan=0.0)
        return xs[:, :, [A, B]].mean(axis=(1, 2))


def _true_scores(n=N):
    s = np.tile(np.linspace(0.3, 0.1, V), (n, 1))
    s[:, [A, B]] = [1.0, 0.9]
    return s


# --- remove_joints -------------------------------------------------------------------------------

def test_remove_joints_missing_leaves_the_rest_and_the_input_alone():
    x = _clips()
    before = x.copy()
    mask = np.zeros((N, V), bool)
    mask[0, [1, 3]] = True
    mask[4, 7] = True
    out = remove_joints(x, mask)
    np.testing.assert_array_equal(x, before)                       # input untouched
    assert np.isnan(out[0, :, [1, 3], :2]).all() and (out[0, :, [1, 3], 2] == 0).all()
    assert np.isnan(out[4, :, 7, :2]).all()
    keep = ~np.broadcast_to(mask[:, None, :, None], out.shape)
    np.testing.assert_array_equal(out[keep], x[keep])             # every other value identical


def test_remove_joints_with_a_reference_pose():
    x = _clips()
    ref = np.arange(V * C, dtype=np.float32).reshape(V, C)
    mask = np.zeros(V, bool)
    mask[A] = True                                                 # (V,) mask: all clips
    out = remove_joints(x, mask, how=ref)
    np.testing.assert_array_equal(out[:, :, A], np.broadcast_to(ref[A], (N, T, C)))
    np.testing.assert_array_equal(np.delete(out, A, axis=2), np.delete(x, A, axis=2))
    ref_t = np.random.default_rng(1).random((T, V, C))
    np.testing.assert_allclose(remove_joints(x, mask, how=ref_t)[:, :, A], np.broadcast_to(ref_t[:, A], (N, T, C)),
                               rtol=1e-6)


@pytest.mark.parametrize("mask, how, match", [
    (np.zeros((N, V + 1), bool), "missing", "mask"),
    (np.zeros((N, V)), "missing", "boolean"),
    (np.zeros((N, V), bool), "zero", "how"),
    (np.zeros((N, V), bool), np.zeros((V, 2)), "reference pose"),
])
def test_remove_joints_rejects_bad_arguments(mask, how, match):
    with pytest.raises(ValueError, match=match):
        remove_joints(_clips(), mask, how=how)


# --- PGI / PGU -----------------------------------------------------------------------------------

def test_true_attribution_has_pgi_above_pgu():
    model = TwoJointModel()
    res = prediction_gaps(model, _clips(), _true_scores(), ks=(1, 2, 3))
    assert model.batches == [N] * 7                               # f(x), then one batch per k and gap
    by_k = res.groupby("k")[["pgi", "pgu"]].mean()
    # k = 1 removes A: f falls from 0.5 to 0.25; k >= 2 removes A and B: f = 0. The bottom joints are unused.
    np.testing.assert_allclose(by_k["pgi"], [0.25, 0.5, 0.5])
    np.testing.assert_allclose(by_k["pgu"], [0.0, 0.0, 0.0])
    assert list(res.columns) == ["clip", "k", "score", "pgi", "pgu", "gap"] and len(res) == 3 * N


def test_random_attribution_is_no_better_than_chance():
    # With random ranks the top-k and bottom-k sets are exchangeable, so E[PGI - PGU] = 0 exactly. 400 draws
    # on each of 6 clips: the mean gap is tested against 4 standard errors of the draws' mean (a wrong
    # verdict once in ~16,000 runs if the metric is right; the draws are fixed, so the test is deterministic).
    # The true attribution's gap (0.25 at k = 1) is far outside that band, so the test can fail.
    draws = 400
    clips = np.repeat(_clips(), draws, axis=0)                     # all draws in one batch per step
    rng = np.random.default_rng(7)
    res = prediction_gaps(TwoJointModel(), clips, random_scores(rng, len(clips), V), ks=(1, 3))
    for k, grp in res.groupby("k"):
        gap = grp["gap"].to_numpy()
        se = gap.std(ddof=1) / np.sqrt(len(gap))
        assert abs(gap.mean()) < 4 * se, (k, gap.mean(), se)
        assert 4 * se < 0.05                                       # the band is narrow next to the true gaps
    true_gap = prediction_gaps(TwoJointModel(), _clips(), _true_scores(), ks=(1,))["gap"]
    assert (true_gap == 0.25).all()


def test_prediction_gaps_rejects_bad_input():
    with pytest.raises(ValueError, match="ks"):
        prediction_gaps(TwoJointModel(), _clips(), _true_scores(), ks=(0,))
    with pytest.raises(ValueError, match="scores"):
        prediction_gaps(TwoJointModel(), _clips(), _true_scores()[:, :3])
    with pytest.raises(ValueError, match="one score per clip"):
        prediction_gaps(lambda c: np.zeros(2), _clips(), _true_scores())
    with pytest.raises(ValueError, match="NaN"):
        prediction_gaps(lambda c: np.nanmean(c[..., 0], axis=(1, 2)) * np.nan, _clips(), _true_scores())


# --- deletion / insertion ------------------------------------------------------------------------

def test_deletion_insertion_true_order_beats_random():
    model = TwoJointModel()
    dele, ins, frac = deletion_insertion(model, _clips(), _true_scores())
    assert model.batches == [N] * (1 + 2 * (V + 1))
    np.testing.assert_allclose(frac, np.arange(V + 1) / V)
    # hand-computed: deletion [1, .5, 0, ..., 0] -> area (1/8)(1/2 + 1/2) = 0.125;
    # insertion [0, .5, 1, ..., 1] -> area (1/8)(1/2 + 6 + 1/2) = 0.875
    np.testing.assert_allclose(dele[0], [1, 0.5] + [0] * (V - 1))
    np.testing.assert_allclose(curve_area(dele, frac), 0.125)
    np.testing.assert_allclose(curve_area(ins, frac), 0.875)
    # random orders: each used joint is removed after c steps with probability c / V, so E[curve] is linear
    # and both expected areas are 0.5; 300 draws x 6 clips put the mean within ~0.01 of it
    draws = np.repeat(_clips(), 300, axis=0)
    rd, ri, _ = deletion_insertion(TwoJointModel(), draws, random_scores(np.random.default_rng(3), len(draws), V))
    rand_del, rand_ins = curve_area(rd, frac), curve_area(ri, frac)
    assert abs(rand_del.mean() - 0.5) < 4 * rand_del.std() / np.sqrt(len(rand_del))
    assert abs(rand_ins.mean() - 0.5) < 4 * rand_ins.std() / np.sqrt(len(rand_ins))
    assert 0.125 < rand_del.mean() - 0.3 and 0.875 > rand_ins.mean() + 0.3


def test_deletion_insertion_steps_and_zero_scores():
    x = _clips()
    x[1, :, [A, B], 0] = 0.0                                       # f(x) = 0: nothing to normalise by
    dele, ins, frac = deletion_insertion(TwoJointModel(), x, _true_scores(), steps=3)
    np.testing.assert_allclose(frac, [0, 0.5, 1])
    assert np.isnan(dele[1]).all() and np.isnan(ins[1]).all()
    np.testing.assert_allclose(dele[0], [1, 0, 0])
    assert np.isnan(curve_area(dele, frac)[1])
    with pytest.raises(ValueError, match="steps"):
        deletion_insertion(TwoJointModel(), x, _true_scores(), steps=1)


# --- stability -----------------------------------------------------------------------------------

def test_relative_input_stability_hand_computed():
    x_a = np.zeros((1, 1, 2, 3))
    x_a[0, 0, :, :2] = [[3.0, 0.0], [0.0, 4.0]]                    # ||x_a|| = 5, zeros allowed
    x_b = x_a * 1.01                                               # relative input change 0.01
    e_a = np.array([[3.0, 4.0]])                                   # ||e_a|| = 5
    assert relative_input_stability(e_a, e_a.copy(), x_a, x_b) == pytest.approx([0.0])
    # ||e_a - e_b|| = 1 -> relative change 0.2 -> RIS = 0.2 / 0.01 = 20; twice the change, twice the RIS
    assert relative_input_stability(e_a, e_a + [[0, 1]], x_a, x_b) == pytest.approx([20.0])
    assert relative_input_stability(e_a, e_a + [[0, 2]], x_a, x_b) == pytest.approx([40.0])
    # identical inputs: divided by eps
    assert relative_input_stability(e_a, e_a + [[0, 1]], x_a, x_a, eps=1e-3) == pytest.approx([200.0])
    assert relative_input_stability(np.zeros((1, 2)), e_a, x_a, x_b) == [np.inf]


def test_relative_input_stability_ignores_missing_keypoints_and_grows_with_change():
    rng = np.random.default_rng(0)
    x = _clips()
    x[0, 2, 3, :2] = np.nan
    x_b = jitter(x, 0.005, rng)
    maps = rng.random((N, T, V))
    small = relative_input_stability(maps, maps + 0.01 * rng.standard_normal(maps.shape), x, x_b)
    large = relative_input_stability(maps, maps + 0.1 * rng.standard_normal(maps.shape), x, x_b)
    assert np.isfinite(small).all() and (large > small).all()
    assert (relative_input_stability(maps, maps, x, x_b) == 0).all()


def test_rank_stability():
    a = np.array([[0.1, 0.5, 0.3, 0.9], [0.2, 0.2, 0.2, 0.2], [1.0, 2.0, 3.0, 4.0]])
    b = np.array([[0.2, 0.6, 0.4, 1.0], [0.2, 0.2, 0.2, 0.2], [4.0, 3.0, 2.0, 1.0]])
    for method in ("spearman", "kendall"):
        np.testing.assert_allclose(rank_stability(a, a, method=method), [1, 1, 1])
        np.testing.assert_allclose(rank_stability(a, b, method=method), [1, 1, -1])   # monotone change: 1
    # one swap among 4: spearman 1 - 6 * 2 / (4 * 15) = 0.8; kendall (5 - 1) / 6
    assert rank_stability([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert rank_stability([1, 2, 3, 4], [1, 3, 2, 4], method="kendall") == pytest.approx(4 / 6)
    assert np.isnan(rank_stability(a[1:2], a[0:1])[0])                                # constant vs varying


def test_jitter_touches_only_detected_xy():
    rng = np.random.default_rng(0)
    x = np.repeat(_clips(), 50, axis=0)
    x[0, 1, 2, :2] = np.nan
    x[1, 0, 4, 2] = 0.0                                            # undetected (confidence 0)
    before = x.copy()
    out = jitter(x, 0.005, rng)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out[..., 2], x[..., 2])
    assert np.isnan(out[0, 1, 2, :2]).all() and (out[1, 0, 4] == x[1, 0, 4]).all()
    d = (out[..., :2] - x[..., :2])[np.isfinite(x[..., :2])]
    assert d.std() == pytest.approx(0.005, rel=0.02)               # 24,000 draws: s.e. of the s.d. ~0.5 %
    with pytest.raises(ValueError, match="sigma"):
        jitter(x, -1.0, rng)


# --- agreement -----------------------------------------------------------------------------------

def test_top_k_overlap_and_kendall():
    a, b = np.array([0.9, 0.8, 0.1, 0.2]), np.array([0.1, 0.8, 0.9, 0.2])
    assert top_k_overlap(a, b, 2) == 0.5                           # {0, 1} vs {2, 1}
    assert top_k_overlap(a, b, 4) == 1.0
    np.testing.assert_allclose(top_k_overlap(np.stack([a, a]), np.stack([a, b]), 1), [1.0, 0.0])
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)   # 2 concordant, 1 discordant pair
    assert np.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="k must"):
        top_k_overlap(a, b, 5)


def test_agreement_matrix():
    imp = {"cam": np.array([0.9, 0.8, 0.1, 0.2]), "gradcam": np.array([0.1, 0.8, 0.9, 0.2]),
           "ig": np.array([0.9, 0.8, 0.1, 0.2])}
    ov = agreement_matrix(imp, 2)
    assert isinstance(ov, pd.DataFrame) and list(ov.index) == list(ov.columns) == ["cam", "gradcam", "ig"]
    np.testing.assert_allclose(ov.to_numpy(), [[1, 0.5, 1], [0.5, 1, 0.5], [1, 0.5, 1]])
    kt = agreement_matrix(imp, 2, measure="kendall")
    # cam vs gradcam: ranks (4, 3, 1, 2) vs (1, 3, 4, 2): 1 concordant, 5 discordant pairs -> -2/3
    assert kt.loc["cam", "gradcam"] == pytest.approx(-2 / 3) and kt.loc["cam", "ig"] == 1.0
    with pytest.raises(ValueError, match="one length"):
        agreement_matrix({"a": np.ones(3), "b": np.ones(4)}, 1)
