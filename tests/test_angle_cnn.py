"""The joint-angle-curve CNN: network interface, classifier, attribution inputs, forward channel selection."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import gaitfeat
from gaitfeat.features.angle_curves import AngleCurves, angle_channels
from gaitfeat.testing import stick_walker
from models.angle_selection import compare_with_all, select_angle_channels
from models.deep.angle_cnn import AngleCNN, AngleCNNClassifier

CHANNELS = angle_channels("coco17")


def made_curves(n: int, seed: int, informative: str = "left_knee", n_per_patient: int = 5):
    """Hand-made curves: every channel a sine of random amplitude (10-30 deg), phase and offset.

    The label is an exact function of one channel's curve: its peak-to-peak range above 40 deg.
    """
    rng = np.random.default_rng(seed)
    q = np.linspace(0.0, 1.0, 101)
    amp = rng.uniform(10, 30, size=(n, 9))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 9))
    offset = rng.normal(0, 5, size=(n, 9))
    curves = (offset[..., None] + amp[..., None] * np.sin(2 * np.pi * q + phase[..., None])).astype(np.float32)
    y = np.where(np.ptp(curves[:, CHANNELS.index(informative)], axis=1) > 40, "high", "low")
    ac = AngleCurves(curves, CHANNELS, np.full((n, 2), 3), np.full((n, 9), 3), "coco17")
    return ac, y, np.arange(n) // n_per_patient


@pytest.fixture(scope="module")
def fitted():
    X, y, groups = made_curves(300, 0)
    return AngleCNNClassifier(random_state=0, epochs=25).fit(X, y, groups=groups), X, y


def test_network_interface():
    torch.manual_seed(0)
    net = AngleCNN(9, 3).eval()
    x = torch.randn(4, 9, 101)
    logits = net(x)
    assert logits.shape == (4, 3) and net.n_blocks == 3 and net.n_outputs == 3
    assert net.takes_features is False and net.layout is None         # curves, not clips of a skeleton layout
    assert net.trunk(x).shape == (4, 32, 25)                          # 101 -> 50 -> 25 (the last block keeps it)
    torch.testing.assert_close(net.output(net.embed(x)), logits)
    for k in range(net.n_blocks + 1):                                 # resuming after k blocks changes nothing
        torch.testing.assert_close(net.output(net.embed(net.trunk(x, k), start=k)), logits)
    # CAM: the logits are the head's weights on the mean of the last map, plus the bias.
    w, b = net.output_weights(), net.head[-1].bias
    torch.testing.assert_close(net.trunk(x).mean(dim=2) @ w.T + b, logits)
    relus = [m for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == net.n_blocks and len({id(m) for m in relus}) == net.n_blocks
    assert net.frozen_modules(0) == [] and net.frozen_parameters(1) == list(net.blocks[0].parameters())
    with pytest.raises(ValueError, match="clinical features"):
        net.output(net.embed(x), torch.zeros(4, 2))


def test_deeplift_completeness(fitted):
    """captum's DeepLift on module_: attributions sum to the logit change from an all-zero (mean) input."""
    from captum.attr import DeepLift

    est, X, _ = fitted
    (x,) = est.attribution_inputs(X.take(np.arange(6)))
    base = torch.zeros_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        attr = DeepLift(est.module_).attribute(x, baselines=base, target=0)
    with torch.no_grad():
        change = est.module_(x)[:, 0] - est.module_(base)[:, 0]
    torch.testing.assert_close(attr.sum(dim=(1, 2)), change, atol=1e-3, rtol=1e-3)


def test_learns_a_one_channel_label_and_is_deterministic(fitted):
    est, X, y = fitted
    X_test, y_test, _ = made_curves(200, 1)
    assert np.mean(est.predict(X_test) == y_test) > 0.8                  # chance: about 0.5
    assert est.channels_ == CHANNELS and list(est.classes_) == ["high", "low"]
    assert est.n_without_strides_ == 0 and (est.n_filled_ == 0).all()
    again = AngleCNNClassifier(random_state=0, epochs=25).fit(X, y, groups=np.arange(300) // 5)
    np.testing.assert_array_equal(again.predict_proba(X_test), est.predict_proba(X_test))
    other = AngleCNNClassifier(random_state=1, epochs=25).fit(X, y, groups=np.arange(300) // 5)
    assert not np.array_equal(other.predict_proba(X_test), est.predict_proba(X_test))
    assert torch.get_num_threads() >= 1                                   # restored after fit/predict


def stick_clips(n: int, seed: int):
    """Stick walkers (COCO-17, 30 fps, 124 frames) whose label is their knee excursion above 45 deg."""
    rng = np.random.default_rng(seed)
    knee = rng.uniform(30, 60, n)
    clips = [gaitfeat.preprocess(stick_walker(124, fps=30.0, layout="coco17", cadence=rng.uniform(90, 130),
                                              knee_amp_deg=k, hip_amp_deg=rng.uniform(15, 25),
                                              arm_amp_deg=rng.uniform(5, 20))).keypoints for k in knee]
    return np.stack(clips), np.where(knee > 45, 1, 0)


def test_learns_from_pose_clips():
    X, y = stick_clips(80, 0)
    still = np.repeat(X[:1, :1], X.shape[1], axis=1)                     # one clip standing still: no stride
    est = AngleCNNClassifier(fps=30.0, random_state=0, epochs=30).fit(np.concatenate([X, still]), np.append(y, 0),
                                                                      groups=np.arange(81))
    assert est.n_without_strides_ == 1 and (est.n_filled_ == 1).all()
    X_test, y_test = stick_clips(40, 1)
    assert np.mean(est.predict(X_test) == y_test) > 0.8


def test_early_stopping_needs_other_patients():
    X, y, groups = made_curves(60, 2)
    with pytest.raises(ValueError, match="early stopping needs"):
        AngleCNNClassifier(random_state=0).fit(X, y)
    est = AngleCNNClassifier(random_state=0, epochs=3, early_stopping=False).fit(X, y)
    assert len(est.history_) == 3 and "val_loss" not in est.history_[0]
    X_val, y_val, _ = made_curves(30, 3)
    est = AngleCNNClassifier(random_state=0, epochs=3).fit(X, y, eval_set=(X_val, y_val))
    assert "val_loss" in est.history_[0] and sum(row.get("best", False) for row in est.history_) >= 1


def test_attribution_inputs_and_groups():
    X, y, groups = made_curves(60, 4)
    curves = X.curves.copy()
    curves[0, CHANNELS.index("right_knee")] = np.nan                   # a clip without a right stride
    X = AngleCurves(curves, CHANNELS, X.n_strides, X.n_used, X.layout)
    est = AngleCNNClassifier(random_state=0, epochs=2, early_stopping=False,
                             channels=["right_knee", "trunk"]).fit(X, y, groups=groups)
    assert est.channels_ == ("trunk", "right_knee")                      # the curves' order, whatever was given
    assert est.n_filled_.tolist() == [0, 1] and est.n_without_strides_ == 0
    inputs = est.attribution_inputs(X)
    assert isinstance(inputs, tuple) and len(inputs) == 1
    x = inputs[0]
    assert x.dtype == torch.float32 and x.shape == (60, 2, 101) and torch.isfinite(x).all()
    raw = curves[:, [0, CHANNELS.index("right_knee")]]
    expect = np.nan_to_num((raw - est.mean_[None, :, None]) / est.scale_[None, :, None], nan=0.0)
    np.testing.assert_allclose(x.numpy(), expect, rtol=1e-5, atol=1e-5)
    assert (x[0, 1] == 0).all()
    with torch.no_grad():
        proba = torch.softmax(est.module_(x), dim=1).numpy()
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-6)
    groups_ = est.attribution_groups()
    assert groups_.shape == (2, 101) and groups_.dtype.kind == "i"
    assert groups_[0, 0] == 0 and groups_[0, 9] == 0 and groups_[0, 10] == 1 and groups_[0, 100] == 9
    assert groups_[1, 0] == 10 and groups_[1, 100] == 19
    assert np.bincount(groups_[0]).tolist() == [10] * 9 + [11]           # 10 % bins, the last with 100 %
    assert est.attribution_groups(n_bins=4).max() == 7


def test_sklearn_api_and_bad_input():
    est = AngleCNNClassifier(fps=29.97, channels=("trunk",), random_state=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert twin.set_params(epochs=5).epochs == 5
    X, y, groups = made_curves(40, 5)
    with pytest.raises(NotFittedError):
        est.predict(X)
    for bad in ({"kernel_size": 4}, {"widths": ()}, {"dropout": 1.0}, {"monitor": "auc"}, {"lr": 0},
                {"points": 51}, {"channels": ["left_ankle"]}, {"fps": 0}, {"random_state": -1}):
        with pytest.raises(ValueError):
            AngleCNNClassifier(**bad).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="single class"):
        AngleCNNClassifier().fit(X, np.zeros(40), groups=groups)
    with pytest.raises(ValueError, match="labels"):
        AngleCNNClassifier().fit(X, y[:-1], groups=groups)


def test_forward_selection_finds_the_informative_channel():
    X, y, groups = made_curves(150, 6, informative="right_elbow")
    est = AngleCNNClassifier(random_state=0, epochs=15, patience=5)
    path = select_angle_channels(X, y, groups, estimator=est, max_channels=2, cv=3)
    assert path["step"].tolist() == [0, 1, 2]
    assert path.loc[0, "channels"] == CHANNELS and path.loc[0, "n_channels"] == 9
    assert path.loc[1, "added"] == "right_elbow" and path.loc[1, "channels"] == ("right_elbow",)
    assert path.loc[1, "score"] > 0.65 and len(path.loc[1, "fold_scores"]) == 3
    summary = compare_with_all(path, max_channels=1)
    assert summary["channels"] == ("right_elbow",) and summary["score"] == path.loc[1, "score"]
    assert summary["difference"] == pytest.approx(path.loc[1, "score"] - path.loc[0, "score"])
    with pytest.raises(ValueError, match="patients"):
        select_angle_channels(X.take(np.arange(10)), y[:10], groups[:10], estimator=est, cv=3)
    with pytest.raises(TypeError):
        select_angle_channels(X, y, groups, estimator=object())
