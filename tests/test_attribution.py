"""The attribution API (models.deep.attribution) on networks whose answer we know."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaitfeat.layouts import get_layout
from models.deep import DualStream, STGCN, STGCNClassifier, attribute, mean_pose
from models.deep.attribution import METHODS

LAYOUT = get_layout("coco17")
LEG = [LAYOUT.index("right_knee"), LAYOUT.index("right_ankle")]


def _one_leg_task(n: int = 240, frames: int = 40, seed: int = 0):
    """Clips whose label is whether the right knee and ankle swing with a large amplitude.

    Every other joint is the same noisy standing pose in both classes, so only
    the right leg's motion carries the label.
    """
    rng = np.random.default_rng(seed)
    pose = np.stack([np.linspace(-0.2, 0.2, LAYOUT.num_joints), np.linspace(-1.0, 0.8, LAYOUT.num_joints)], axis=1)
    x = np.broadcast_to(pose, (n, frames, LAYOUT.num_joints, 2)).copy()
    x += rng.normal(0, 0.03, x.shape)
    y = rng.integers(0, 2, n)
    t = np.arange(frames) / 10.0
    phase = rng.uniform(0, 2 * np.pi, n)
    amp = np.where(y == 1, 0.25, 0.03)
    swing = amp[:, None] * np.sin(2 * np.pi * t[None, :] + phase[:, None])       # (N, T)
    for j in LEG:
        x[:, :, j, 0] += swing
    conf = np.ones((n, frames, LAYOUT.num_joints, 1))
    # Detectors lose keypoints now and then (~2 % in the simulated cohort); whole joints go missing for a
    # stretch of frames, so that a network trained here has seen missing joints, as real ones have.
    for i in range(n):
        j, start = rng.integers(0, LAYOUT.num_joints), rng.integers(0, frames)
        conf[i, start:start + frames // 4, j] = 0.0
    clips = np.concatenate([x, conf], axis=-1).astype(np.float32)
    clips[conf[..., 0] == 0, :2] = np.nan
    return clips, y


@pytest.fixture(scope="module")
def leg_model():
    X, y = _one_leg_task()
    est = STGCNClassifier(epochs=10, batch_size=32, early_stopping=False, flip=False, noise_std=0.0, dropout=0.0, lr=3e-3,
                          random_state=0, device="cpu").fit(X[:200], y[:200])
    assert est.score(X[200:], y[200:]) > 0.9          # the network has learned the leg's swing
    return est, X[200:], y[200:]


@pytest.mark.parametrize("method", ["ig", "deeplift", "occlusion"])
def test_the_leg_that_carries_the_label_ranks_highest(leg_model, method):
    est, X, y = leg_model
    swinging = X[y == 1][:12]
    a = attribute(est, swinging, method, target=1, output="logit", baseline=mean_pose(X))
    # Gradient methods: magnitude. Occlusion removes a joint (makes it missing), and a network trained with
    # missing keypoints also reacts to *where* one is missing: removing the left knee here raises the logit by
    # 0.69 (an artefact of the missing-joint pattern, not evidence for the class). The joints that carry the
    # label are those whose removal lowers the explained output most: the signed, positive evidence.
    maps = a.maps if method == "occlusion" else np.abs(a.maps)
    per_joint = maps.mean(axis=(0, 1))                              # (V,)
    order = np.argsort(per_joint)[::-1]
    assert order[0] in LEG and set(LEG) <= set(order[:3].tolist()), (method, np.round(per_joint, 3))
    if method != "occlusion":                   # the gradient methods put the two leg joints first
        assert set(order[:2].tolist()) == set(LEG)


def test_completeness(leg_model):
    """Attributions add up to f(x) - f(baseline): exactly for DeepLift on the logits of a ReLU network, to the
    integration error for IG; through the softmax DeepLift's rule is approximate."""
    est, X, _ = leg_model
    ref = mean_pose(X)
    for method, rel in (("deeplift", 1e-4), ("ig", 0.03)):
        a = attribute(est, X[:10], method, target=1, output="logit", baseline=ref, n_steps=64)
        gap = a.scores - a.baseline_scores
        assert np.abs(gap).max() > 1.0                       # a non-trivial difference to explain
        np.testing.assert_allclose(a.maps.sum(axis=(1, 2)), gap, atol=rel * np.abs(gap).max())
        np.testing.assert_allclose(a.channels.sum(axis=-1), a.maps, rtol=1e-5, atol=1e-6)
    p = attribute(est, X[:10], "ig", target=1, baseline=ref, n_steps=64)          # probabilities
    np.testing.assert_allclose(p.maps.sum(axis=(1, 2)), p.scores - p.baseline_scores, atol=0.03)


def test_ig_completeness_tightens_with_steps(leg_model):
    est, X, _ = leg_model
    err = []
    for steps in (4, 64):
        a = attribute(est, X[:6], "ig", target=1, output="logit", baseline="clip_mean", n_steps=steps)
        err.append(np.abs(a.maps.sum(axis=(1, 2)) - (a.scores - a.baseline_scores)).max())
    assert err[1] < err[0]


def test_every_method_returns_maps_of_the_clips_shape(leg_model):
    est, X, _ = leg_model
    for method in METHODS:
        a = attribute(est, X[:3], method, n_samples=40)
        assert a.maps.shape == X[:3].shape[:3] and np.isfinite(a.maps).all(), method
        assert np.asarray(a).shape == a.maps.shape
        assert list(a.target) == list(est.predict(X[:3])), method      # default target: the predicted class


def test_targets_labels_and_expected_level(leg_model):
    est, X, _ = leg_model
    p = est.predict_proba(X[:4])
    a = attribute(est, X[:4], "gradcam", target=0)
    np.testing.assert_allclose(a.scores, p[:, 0], rtol=1e-5)
    e = attribute(est, X[:4], "ig", target="expected", baseline="zeros")
    np.testing.assert_allclose(e.scores, p @ est.classes_.astype(float), rtol=1e-5)
    assert e.output == "expected"
    with pytest.raises(ValueError, match="not one of the model's classes"):
        attribute(est, X[:4], "ig", target=7)
    with pytest.raises(ValueError, match="logit"):
        attribute(est, X[:4], "cam", target="expected")
    with pytest.raises(ValueError, match="method must be"):
        attribute(est, X[:4], "shap")
    with pytest.raises(ValueError, match="baseline"):
        attribute(est, X[:4], "ig", baseline=np.zeros((3, 3)))


def test_lime_is_reproducible_for_a_seed(leg_model):
    est, X, _ = leg_model
    a = attribute(est, X[:2], "lime", n_samples=60, random_state=3).maps
    b = attribute(est, X[:2], "lime", n_samples=60, random_state=3).maps
    np.testing.assert_array_equal(a, b)
    state = torch.random.get_rng_state()
    attribute(est, X[:2], "lime", n_samples=60, random_state=4)
    assert torch.equal(state, torch.random.get_rng_state())      # the caller's generator is untouched


def test_bare_networks_and_dual_stream_features():
    torch.manual_seed(0)
    X, _ = _one_leg_task(n=6, frames=24)
    net = STGCN("coco17", 3).eval()
    a = attribute(net, X, "ig", target=2, baseline="zeros")
    np.testing.assert_allclose(a.maps.sum(axis=(1, 2)), a.scores - a.baseline_scores, atol=2e-3)
    dual = DualStream(STGCN("coco17", 0), n_features=5, n_outputs=3).eval()
    feats = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    d = attribute(dual, X, "ig", target=1, features=feats, baseline="zeros", n_steps=64)
    assert d.features.shape == (6, 5)
    np.testing.assert_allclose(d.maps.sum(axis=(1, 2)) + d.features.sum(axis=1), d.scores - d.baseline_scores,
                               atol=2e-3)
    occ = attribute(dual, X, "occlusion", target=1, features=feats)
    assert occ.features.shape == (6, 5) and np.isfinite(occ.features).all()
    with pytest.raises(ValueError, match="clinical features"):
        attribute(dual, X, "ig")
    with pytest.raises(TypeError, match="CAM needs"):
        attribute(dual, X, "cam", features=feats)


def test_mean_pose_ignores_missing_keypoints():
    clips = np.zeros((2, 3, 17, 3), dtype=np.float32)
    clips[..., 2] = 1.0
    clips[0, :, 5, :2] = 2.0
    clips[1, :, 5, :2] = np.nan
    clips[1, :, 6, 2] = 0.0
    clips[:, :, 6, :2] = 9.0                      # never observed with confidence
    m = mean_pose(clips)
    assert m.shape == (17, 3)
    np.testing.assert_allclose(m[5], [2.0, 2.0, 1.0])
    np.testing.assert_allclose(m[6, :2], [9.0, 9.0])  # observed in clip 0
    clips[0, :, 6, 2] = 0.0
    np.testing.assert_allclose(mean_pose(clips)[6], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("method", ["deeplift", "ig"])
def test_a_clips_map_does_not_depend_on_its_batch(leg_model, method):
    est, X, _ = leg_model
    ref = mean_pose(X)
    one = np.concatenate([attribute(est, X[i:i + 1], method, target=1, baseline=ref).maps for i in range(4)])
    batch = attribute(est, X[:4], method, target=1, baseline=ref, batch_size=4).maps
    np.testing.assert_allclose(one, batch, rtol=1e-4, atol=1e-6)


def test_missing_keypoints_get_no_attribution(leg_model):
    est, X, _ = leg_model
    clips = X[:3].copy()
    clips[:, 5:15, 3, :2] = np.nan
    clips[:, 5:15, 3, 2] = 0.0
    for method in ("ig", "deeplift"):
        a = attribute(est, clips, method, target=1, baseline=mean_pose(X))
        assert np.all(a.channels[:, 5:15, 3] == 0), method
