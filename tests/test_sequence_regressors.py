"""Sequence regressors (temporal CNN, CNN-LSTM): heads, multi-output, linear correction, save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from gaitfeat.errors import LabelError
from gaitfeat.layouts import COCO17
from models.deep import (CNNLSTM, CNNLSTMRegressor, STGCNRegressor, TemporalCNN, TemporalCNNRegressor,
                         load_estimator, prepare_clips)
from models.deep.heads import BucketHead, bucket_edges
from models.deep.inputs import patient_validation_split
from models.deep.sequence_estimators import linear_correction
from models.deep.training import Phase, TensorSet, fit_network
from models.errors import ModelFileError

REGRESSORS = (TemporalCNNRegressor, CNNLSTMRegressor)
_WRIST, _NOSE = COCO17.index("left_wrist"), COCO17.index("nose")


def _clips(n: int, t: int = 40, seed: int = 0):
    """One fixed skeleton with noise; targets that are exact functions of each clip.

    Column 0: the amplitude (leg lengths) of the left wrist's vertical
    oscillation (period 10 frames, random phase). Column 1: the nose's
    horizontal offset.
    """
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(123).normal(0, 0.3, (1, 1, COCO17.num_joints, 2))   # the same body for every seed
    amp, off = rng.uniform(0.1, 0.6, n), rng.uniform(-0.3, 0.3, n)
    x = np.repeat(np.repeat(base, n, 0), t, 1) + rng.normal(0, 0.02, (n, t, COCO17.num_joints, 2))
    phase = rng.uniform(0, 2 * np.pi, n)
    x[:, :, _WRIST, 1] += amp[:, None] * np.sin(2 * np.pi * np.arange(t)[None] / 10 + phase[:, None])
    x[:, :, _NOSE, 0] += off[:, None]
    clips = np.concatenate([x, np.ones((n, t, COCO17.num_joints, 1))], -1).astype(np.float32)
    return clips, np.stack([amp, off], 1)


_FAST = dict(epochs=2, batch_size=16, early_stopping=False, device="cpu", random_state=0)


def _logits(est, X) -> torch.Tensor:
    clips, _ = prepare_clips(X, est.layout_)                  # zeroed as the estimator's batches are
    with torch.no_grad():
        return est.module_.eval()(torch.from_numpy(clips))


# ---------------------------------------------------------------- networks
@pytest.mark.parametrize("net_cls", [TemporalCNN, CNNLSTM])
@pytest.mark.parametrize("head, width", [("regression", 3), ("buckets", 3 * 7)])
def test_networks_have_the_interface_and_shapes(net_cls, head, width):
    net = net_cls("coco17", 3, head=head, n_bins=7).eval()
    x = torch.randn(4, 8, 17, 3)                                   # the shortest clip prepare_clips accepts
    assert net(x).shape == (4, width) and net.n_outputs == width
    h = net.trunk(x)
    assert h.ndim == 3 and h.shape[:2] == (4, net.embedding_dim)
    assert torch.allclose(net.embed(net.trunk(x, 1), start=1), net.embed(x), atol=1e-6)
    assert torch.allclose(net.output(net.embed(x)), net(x))
    assert net.last_block() is net.blocks[-1] and net.output_weights() is None and not net.takes_features
    assert net.frozen_modules(0) == [] and len(net.frozen_parameters(1)) > 0
    assert net.estimate(net(x)).shape == (4, 3)


def test_fit_network_trains_a_sequence_network_with_frozen_blocks():
    x, y = _clips(32, t=20)
    net = TemporalCNN("coco17", 2, head="buckets", n_bins=5)
    net.head.set_edges(bucket_edges(y, 5))
    frozen = {k: v.clone() for k, v in net.blocks[0].state_dict().items()}
    data = TensorSet(torch.from_numpy(x), torch.from_numpy(y.astype(np.float32)))
    hist = fit_network(net, data, data, [Phase(2, 1e-3, 1)], task="regression", batch_size=16, flip=False,
                       y_scale=np.array([2.0, 3.0]))
    assert {"val_rmse_z", "val_rmse_0", "val_rmse_1"} <= set(hist[0])
    for k, v in net.blocks[0].state_dict().items():                # frozen: weights and BN statistics kept
        assert torch.equal(v, frozen[k])


# ---------------------------------------------------------------- learning an exact function of the clip
@pytest.mark.parametrize("cls", REGRESSORS)
@pytest.mark.parametrize("head", ["regression", "buckets"])
def test_regressor_learns_the_oscillation_amplitude(cls, head):
    x, y = _clips(640)                     # the bucket head overfits 320 clips (train RMSE 0.02 SD, held-out 0.4)
    xt, yt = _clips(80, seed=1)
    est = cls(head=head, epochs=20, batch_size=32, flip=False, early_stopping=False, device="cpu",
              random_state=0).fit(x, y[:, 0])
    rmse = np.sqrt(np.mean((est.predict(xt) - yt[:, 0]) ** 2))
    assert rmse < 0.3 * yt[:, 0].std(), (rmse, yt[:, 0].std())


# ---------------------------------------------------------------- the bucket head
@pytest.mark.parametrize("cls", REGRESSORS)
def test_bucket_estimate_is_the_probability_weighted_mean_of_bin_centres(cls):
    x, y = _clips(48, t=20)
    y = y * [100.0, 10.0] + [60.0, 1.0]                           # target units far from standardised
    est = cls(head="buckets", n_bins=9, **_FAST).fit(x, y)
    k, b = 2, 9
    z = (y - est.y_mean_) / est.y_scale_
    edges = est.bin_edges_
    assert edges.shape == (k, b + 1) and (np.diff(edges, axis=1) > 0).all()
    assert (edges[:, 0] < z.min(0)).all() and (edges[:, -1] > z.max(0)).all()     # the range with a margin
    np.testing.assert_allclose(edges[:, -1] - edges[:, 0], 1.1 * np.ptp(z, axis=0), rtol=1e-5)
    p = torch.softmax(_logits(est, x).view(len(x), k, b), dim=2).numpy().astype(np.float64)
    centres = 0.5 * (edges[:, 1:] + edges[:, :-1])
    by_hand = (p * centres).sum(2)
    spread = np.sqrt((p * (centres - by_hand[..., None]) ** 2).sum(2))
    pred, sd = est.predict(x, return_std=True)
    np.testing.assert_allclose(pred, by_hand * est.y_scale_ + est.y_mean_, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sd, spread * est.y_scale_, rtol=1e-4, atol=1e-5)
    assert (sd >= 0).all() and np.array_equal(est.predict(x), pred)


def test_return_std_needs_the_bucket_head():
    x, y = _clips(16, t=16)
    est = TemporalCNNRegressor(**_FAST).fit(x, y[:, 0])
    with pytest.raises(ValueError, match="head='buckets'.*head='regression'"):
        est.predict(x, return_std=True)


def test_soft_labels_have_the_true_value_as_expected_centre():
    head = BucketHead(4, 2, 6, edges=bucket_edges(np.array([[-1.0, 0.0], [2.0, 5.0]]), 6))
    y = torch.tensor([[-0.7, 1.3], [0.4, 4.2], [1.9, 0.1]])
    labels = head.soft_labels(y)
    assert torch.allclose(labels.sum(2), torch.ones(3, 2)) and (labels >= 0).all()
    assert (labels > 0).sum(2).max() <= 2
    c = head.centres
    inside = (y >= c[:, 0]) & (y <= c[:, -1])
    assert torch.allclose((labels * c).sum(2)[inside], y[inside], atol=1e-6)


# ---------------------------------------------------------------- the linear correction
def _uncorrected(est, X) -> np.ndarray:
    """Predictions in target units before the correction, from the network by hand."""
    out = _logits(est, X)
    return est.module_.estimate(out).numpy().astype(np.float64) * est.y_scale_ + est.y_mean_


@pytest.mark.parametrize("head", ["regression", "buckets"])
def test_correction_is_least_squares_on_the_validation_predictions(head):
    x, y = _clips(40, t=20)
    xv, yv = _clips(24, t=20, seed=1)
    xt, _ = _clips(16, t=20, seed=2)
    y, yv = y * [10.0, 1.0] + [50.0, 0.0], yv * [10.0, 1.0] + [50.0, 0.0]
    est = TemporalCNNRegressor(head=head, correction="linear", **_FAST).fit(x, y, eval_set=(xv, yv))
    pv = _uncorrected(est, xv)
    by_hand = np.array([np.polyfit(pv[:, k], yv[:, k], 1)[::-1] for k in range(2)])
    np.testing.assert_allclose(est.correction_, by_hand, rtol=1e-6, atol=1e-8)
    fitted = est.correction_.copy()
    pred = est.predict(xt)                                         # other data: the correction is never refitted
    np.testing.assert_array_equal(est.correction_, fitted)
    np.testing.assert_allclose(pred, fitted[:, 0] + fitted[:, 1] * _uncorrected(est, xt), rtol=1e-6)
    if head == "buckets":
        _, sd = est.predict(xt, return_std=True)
        _, sd_raw = clone(est).set_params(correction="none").fit(x, y, eval_set=(xv, yv)).predict(xt, return_std=True)
        np.testing.assert_allclose(sd, sd_raw * np.abs(fitted[:, 1]), rtol=1e-5)   # same seed: same network


def test_correction_with_eval_videos_is_fitted_on_video_means():
    x, y = _clips(40, t=20)
    xv, yv = _clips(24, t=20, seed=1)
    videos = np.repeat([f"v{i}" for i in range(8)], 3)
    est = CNNLSTMRegressor(correction="linear", **_FAST).fit(x, y[:, 0], eval_set=(xv, yv[:, 0]), eval_videos=videos)
    frame = pd.DataFrame({"video": videos, "pred": _uncorrected(est, xv)[:, 0], "true": yv[:, 0]})
    means = frame.groupby("video")[["pred", "true"]].mean()
    by_hand = np.polyfit(means["pred"], means["true"], 1)[::-1]
    np.testing.assert_allclose(est.correction_[0], by_hand, rtol=1e-6, atol=1e-8)
    per_clip = np.polyfit(frame["pred"], frame["true"], 1)[::-1]
    assert not np.allclose(est.correction_[0], per_clip)          # the video means made a difference


def test_correction_on_the_internal_split_sees_only_its_validation_patients():
    x, y = _clips(40, t=20)
    groups = np.repeat(np.arange(10), 4)
    est = TemporalCNNRegressor(correction="linear", validation_fraction=0.25, **_FAST).fit(x, y[:, 1], groups=groups)
    tr, va = patient_validation_split(y[:, 1], groups, 0.25, 0, stratify=False)
    assert not set(groups[tr]) & set(groups[va])
    p = _uncorrected(est, x[va])[:, 0]
    np.testing.assert_allclose(est.correction_[0], np.polyfit(p, y[va, 1], 1)[::-1], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(linear_correction(p[:, None], y[va, 1:]), est.correction_)


def test_correction_without_validation_data_is_refused():
    x, y = _clips(16, t=16)
    with pytest.raises(ValueError, match="linear correction needs a validation set.*correction='none'"):
        TemporalCNNRegressor(correction="linear", **_FAST).fit(x, y[:, 0])
    with pytest.raises(ValueError, match="pass eval_set too"):
        TemporalCNNRegressor(**_FAST).fit(x, y[:, 0], eval_videos=np.arange(16))
    with pytest.raises(ValueError, match="one video ID per eval_set clip"):
        TemporalCNNRegressor(**_FAST).fit(x, y[:, 0], eval_set=(x[:4], y[:4, 0]), eval_videos=np.arange(3))


# ---------------------------------------------------------------- several targets
@pytest.mark.parametrize("cls", REGRESSORS)
def test_multi_output_has_the_structure_of_separate_fits(cls):
    x, y = _clips(48, t=20)
    xv, yv = _clips(16, t=20, seed=1)
    y, yv = y * [100.0, 1.0] + [70.0, 0.0], yv * [100.0, 1.0] + [70.0, 0.0]
    kw = dict(_FAST, early_stopping=True, patience=5)
    multi = cls(**kw).fit(x, y, eval_set=(xv, yv))
    single = [cls(**kw).fit(x, y[:, k], eval_set=(xv, yv[:, k])) for k in range(2)]
    pm = multi.predict(xv)
    assert pm.shape == (16, 2) and multi.n_targets_ == 2 and multi.y_mean_.shape == (2,)
    for k, est in enumerate(single):
        assert est.predict(xv).shape == (16,) and est.n_targets_ == 1 and isinstance(est.y_mean_, float)
        assert multi.y_mean_[k] == pytest.approx(est.y_mean_) and multi.y_scale_[k] == pytest.approx(est.y_scale_)
    rmse = np.sqrt(((pm - yv) ** 2).mean(0))                         # per target, in target units
    best = [r for r in multi.history_ if r.get("best")][-1]            # the restored epoch
    np.testing.assert_allclose([best["val_rmse_0"], best["val_rmse_1"]], rmse, rtol=1e-4)
    assert best["val_rmse_z"] == pytest.approx(np.mean(rmse / multi.y_scale_), rel=1e-4)   # mean standardised RMSE
    for est in single:
        assert "val_rmse_0" not in est.history_[0] and est.history_[0]["val_rmse"] > 0


def test_stgcn_regressor_multi_output_and_round_trip(tmp_path):
    x, y = _clips(24, t=16)
    est = STGCNRegressor(epochs=1, batch_size=8, early_stopping=False, device="cpu", random_state=0).fit(x, y)
    assert est.predict(x).shape == (24, 2) and est.module_.n_outputs == 2
    est.save(tmp_path / "s")
    info = json.loads((tmp_path / "s.json").read_text())
    assert isinstance(info["y_mean"], list) and len(info["y_scale"]) == 2
    np.testing.assert_array_equal(load_estimator(tmp_path / "s").predict(x), est.predict(x))


def test_missing_targets_are_refused_naming_the_column():
    x, y = _clips(16, t=16)
    y[3, 1] = np.nan
    with pytest.raises(LabelError, match=r"y\[:, 1\] has 1 missing targets"):
        TemporalCNNRegressor(**_FAST).fit(x, y)
    with pytest.raises(LabelError, match="1 missing targets"):
        CNNLSTMRegressor(**_FAST).fit(x, y[:, 1])
    est = TemporalCNNRegressor(**_FAST)
    with pytest.raises(ValueError, match="eval_set targets have shape"):
        est.fit(x, y[:, 0], eval_set=(x, np.zeros((16, 2))))


# ---------------------------------------------------------------- sklearn conventions and files
@pytest.mark.parametrize("cls", REGRESSORS)
def test_clone_and_params(cls):
    est = cls(head="buckets", n_bins=7, correction="linear", random_state=3)
    params = est.get_params()
    assert params["head"] == "buckets" and params["n_bins"] == 7 and params["random_state"] == 3
    twin = clone(est)
    assert twin.get_params() == params and not hasattr(twin, "module_")
    assert twin.set_params(n_bins=11).n_bins == 11 and est.n_bins == 7


@pytest.mark.parametrize("params, message", [
    (dict(head="softmax"), "head must be one of"), (dict(n_bins=1), "n_bins must be"),
    (dict(correction="isotonic"), "correction must be one of"), (dict(widths=()), "widths must be"),
    (dict(widths=(8, 0)), "widths must be"), (dict(lr=-1.0), "lr must be"), (dict(epochs=0), "epochs must be"),
])
def test_bad_params_are_refused_in_fit(params, message):
    x, y = _clips(8, t=16)
    with pytest.raises(ValueError, match=message):
        TemporalCNNRegressor(**{**_FAST, **params}).fit(x, y[:, 0])
    with pytest.raises(ValueError, match="kernel_size must be an odd"):
        TemporalCNNRegressor(**{**_FAST, "kernel_size": 4}).fit(x, y[:, 0])
    with pytest.raises(ValueError, match="frame_pool must be"):
        CNNLSTMRegressor(**{**_FAST, "frame_pool": 0}).fit(x, y[:, 0])


@pytest.mark.parametrize("cls, head, multi", [(TemporalCNNRegressor, "buckets", True),
                                              (CNNLSTMRegressor, "buckets", False),
                                              (CNNLSTMRegressor, "regression", True)])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, cls, head, multi):
    x, y = _clips(24, t=16)
    xv, yv = _clips(12, t=16, seed=1)
    y, yv = (y, yv) if multi else (y[:, 0], yv[:, 0])
    est = cls(head=head, correction="linear", **_FAST).fit(x, y, eval_set=(xv, yv))
    est.save(tmp_path / "m")
    back = load_estimator(tmp_path / "m")
    assert type(back) is cls and back.get_params() == {**est.get_params(), "widths": list(est.widths)}
    np.testing.assert_array_equal(back.predict(x), est.predict(x))
    np.testing.assert_array_equal(back.correction_, est.correction_)
    if head == "buckets":
        np.testing.assert_array_equal(back.predict(x, return_std=True)[1], est.predict(x, return_std=True)[1])
    assert cls.load(tmp_path / "m").n_targets_ == (2 if multi else 1)


def _resave_manifest(base):
    import hashlib

    files = {}
    for suffix in (".pt", ".json"):
        data = base.with_suffix(suffix).read_bytes()
        files[base.with_suffix(suffix).name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    base.with_suffix(".manifest.json").write_text(json.dumps({"format": 2, "files": files}))


def test_tampered_files_are_refused(tmp_path):
    x, y = _clips(16, t=16)
    est = TemporalCNNRegressor(head="buckets", n_bins=5, correction="linear", **_FAST).fit(
        x, y, eval_set=(x[:8], y[:8]))
    base = tmp_path / "m"
    est.save(base)
    side = base.with_suffix(".json")
    info = json.loads(side.read_text())
    side.write_text(json.dumps({**info, "y_mean": [0.0, 1.0]}))
    with pytest.raises(ModelFileError, match="does not match its manifest"):
        load_estimator(base)
    for edit, message in ((dict(y_mean=[0.0, 1.0, 2.0]), "both be numbers or both lists"),
                          (dict(y_mean=0.0, y_scale=1.0), "extra tensors|bin_edges"),
                          (dict(params={**info["params"], "n_bins": 6}), "bin_edges"),
                          (dict(params={**info["params"], "head": "regression"}), "extra tensors"),
                          (dict(params={**info["params"], "kernel_size": 4}), "kernel_size")):
        side.write_text(json.dumps({**info, **edit}))
        _resave_manifest(base)
        with pytest.raises(ModelFileError, match=message):
            load_estimator(base)
    side.write_text(json.dumps(info))                              # the sidecar as saved; the edges made decreasing
    tensors = torch.load(base.with_suffix(".pt"), weights_only=True)
    tensors["extra.bin_edges"] = tensors["extra.bin_edges"].flip(1)
    torch.save(tensors, base.with_suffix(".pt"))
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="strictly increasing"):
        load_estimator(base)
