"""ST-GCN, dual-stream fusion, training phases, Grad-CAM and the sklearn-style wrappers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from gaitfeat.errors import PoseDataError
from models.errors import ModelFileError
from gaitfeat.features import FEATURE_INFO, FEATURES
from gaitfeat.layouts import BODY25, COCO17
from models.deep import (DualStreamClassifier, STGCNClassifier, STGCNRegressor, TrunkCache, load_estimator,
                         prepare_clips)
from models.deep.explain import CAM, GradCAM, joint_contributions, region_scores, select_features
from models.deep.fusion import DualStream
from models.deep.stgcn import CONFIGS, STGCN, StgcnConfig, count_parameters, load_pretrained, spatial_partition
from models.deep.training import Phase, TensorSet, fit_network, flip_clips, seeded

CPU = torch.device("cpu")


def _toy(n=48, t=36, layout=COCO17, joint="left_shoulder", seed=0):
    """Static skeletons with noise; in class 1 one joint oscillates vertically."""
    rng = np.random.default_rng(seed)
    v = layout.num_joints
    base = rng.normal(0, 0.3, (1, 1, v, 2))
    x = np.repeat(np.repeat(base, n, 0), t, 1) + rng.normal(0, 0.02, (n, t, v, 2))
    y = np.arange(n) % 2
    j = layout.index(joint)
    phase = rng.uniform(0, 2 * np.pi, n)
    x[y == 1, :, j, 1] += 0.5 * np.sin(2 * np.pi * np.arange(t)[None, :] / 10 + phase[y == 1, None])
    return np.concatenate([x, np.ones((n, t, v, 1))], -1).astype(np.float32), y


# ---------------------------------------------------------------- graph and network
@pytest.mark.parametrize("layout", [COCO17, BODY25])
def test_spatial_partition_is_the_normalised_one_hop_neighbourhood(layout):
    a = spatial_partition(layout)
    v = layout.num_joints
    assert a.shape == (3, v, v)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0, rtol=1e-6)       # every joint averages its neighbourhood
    np.testing.assert_allclose(np.diag(a[0]) * (1 + layout.adjacency().sum(0)), 1.0, rtol=1e-6)
    assert np.count_nonzero(a[0] - np.diag(np.diag(a[0]))) == 0
    hop = layout.hop_distance()
    c = layout.center
    for i, j in layout.edges:
        far, near = (i, j) if hop[i, c] > hop[j, c] else (j, i)
        assert a[1, far, near] > 0 and a[1, near, far] == 0            # the farther joint feeds subset 1
        assert a[2, near, far] > 0 and a[2, far, near] == 0            # the closer joint feeds subset 2


@pytest.mark.parametrize("layout", [COCO17, BODY25])
@pytest.mark.parametrize("config", ["compact", "paper"])
def test_output_and_embedding_shapes(layout, config):
    net = STGCN(layout, 4, config=config).eval()
    x = torch.randn(2, 40, layout.num_joints, 3)
    assert net(x).shape == (2, 4)
    assert net.embed(x).shape == (2, CONFIGS[config].embedding_dim)
    assert STGCN(layout, 0, config=config)(x).shape == (2, CONFIGS[config].embedding_dim)
    dual = DualStream(net, 14, 4, fusion="xattn").eval()
    assert dual(x, torch.randn(2, 14)).shape == (2, 4)


def _original_stgcn_parameter_count(v: int, n_classes: int, c_in: int = 3, k: int = 3) -> int:
    """Yan et al. (2018): data BN over V*C, ten blocks, edge importance per block, 1x1 conv head."""
    blocks = [(c_in, 64, 1, False), (64, 64, 1, True), (64, 64, 1, True), (64, 64, 1, True), (64, 128, 2, True),
              (128, 128, 1, True), (128, 128, 1, True), (128, 256, 2, True), (256, 256, 1, True), (256, 256, 1, True)]
    total = 2 * c_in * v                                   # data_bn weight and bias
    for cin, cout, stride, residual in blocks:
        total += cin * cout * k + cout * k                 # gcn 1x1 conv to K subsets, with bias
        total += 2 * cout                                  # BN after the graph conv
        total += cout * cout * 9 + cout                    # temporal conv (9 x 1), with bias
        total += 2 * cout                                  # BN after the temporal conv
        if residual and (cin != cout or stride != 1):
            total += cin * cout + cout + 2 * cout          # 1x1 conv + BN on the residual path
        total += k * v * v                                 # edge-importance mask
    total += 256 * n_classes + n_classes                   # head
    return total


@pytest.mark.parametrize("layout", [COCO17, BODY25])
def test_paper_configuration_has_the_original_parameter_count(layout):
    net = STGCN(layout, 4, config="paper", edge_importance=True)
    assert count_parameters(net) == _original_stgcn_parameter_count(layout.num_joints, 4)


def test_compact_is_much_smaller():
    assert count_parameters(STGCN(COCO17, 4, config="compact")) * 20 < count_parameters(STGCN(COCO17, 4, config="paper"))


def test_gradients_reach_the_first_block():
    with seeded(0, CPU):
        net = STGCN(COCO17, 4, config="compact")
        x = torch.randn(4, 36, 17, 3)
    torch.nn.functional.cross_entropy(net(x), torch.tensor([0, 1, 2, 3])).backward()
    g = net.st_gcn_networks[0].gcn.conv.weight.grad
    assert g is not None and torch.count_nonzero(g) > 0
    assert net.data_bn.weight.grad.abs().sum() > 0
    assert net.edge_importance[0].grad.abs().sum() > 0


def test_tiny_model_overfits_tiny_data():
    x, y = _toy(n=16, t=24)
    y = np.arange(16) % 4                    # arbitrary labels: only memorisation can fit them
    est = STGCNClassifier(epochs=40, batch_size=8, lr=1e-2, flip=False, noise_std=0.0, dropout=0.0,
                          early_stopping=False, random_state=0).fit(x, y)
    assert est.score(x, y) == 1.0


def test_phase_one_leaves_the_frozen_backbone_unchanged():
    x, y = _toy(n=24, t=24)
    with seeded(0, CPU):
        backbone = STGCN(COCO17, 2, config="compact")
        net = DualStream(backbone, 3, 2, fusion="concat")
    before = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    head_before = net.head[0].weight.detach().clone()
    train = TensorSet(torch.from_numpy(x), torch.from_numpy(y), torch.randn(len(y), 3))
    n_blocks = len(backbone.st_gcn_networks)
    fit_network(net, train, None, [Phase(2, 1e-2, n_blocks)], batch_size=8, rng=np.random.default_rng(0))
    after = net.backbone.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k                  # weights and batch-norm statistics
    assert not torch.equal(head_before, net.head[0].weight)
    # Phase 2: the last two blocks change, the others do not.
    fit_network(net, train, None, [Phase(1, 1e-2, n_blocks - 2)], batch_size=8, rng=np.random.default_rng(0))
    after = net.backbone.state_dict()
    assert torch.equal(before["st_gcn_networks.0.gcn.conv.weight"], after["st_gcn_networks.0.gcn.conv.weight"])
    assert not torch.equal(before[f"st_gcn_networks.{n_blocks - 1}.gcn.conv.weight"],
                           after[f"st_gcn_networks.{n_blocks - 1}.gcn.conv.weight"])


@pytest.mark.parametrize("layout", [COCO17, BODY25])
def test_flip_swaps_left_and_right_joints(layout):
    v = layout.num_joints
    x = np.zeros((1, 2, v, 3), dtype=np.float32)
    x[..., 0] = np.arange(v) + 1.0                           # x coordinate = joint number
    out = flip_clips(x, layout)
    for name in layout.joints:
        other = name.replace("left_", "#").replace("right_", "left_").replace("#", "right_")
        assert out[0, 0, layout.index(name), 0] == layout.index(other) + 1.0
    mirrored = flip_clips(torch.from_numpy(x), layout, mirror=True)
    np.testing.assert_array_equal(mirrored[..., 0].numpy(), -out[..., 0])
    np.testing.assert_array_equal(flip_clips(out, layout), x)             # an involution


# ---------------------------------------------------------------- pretrained checkpoints
def _original_state(v: int, n_classes: int, seed: int = 1) -> dict:
    """A state dict with the original implementation's key names (its head is a 1x1 Conv2d)."""
    torch.manual_seed(seed)
    layout = COCO17 if v == 17 else BODY25
    net = STGCN(layout, n_classes, config="paper")
    state = {("module." + k): t.clone() for k, t in net.state_dict().items()}
    state["module.fcn.weight"] = state["module.fcn.weight"][:, :, None, None]
    return state


def test_load_pretrained_maps_keys_and_reports_joint_mismatch(tmp_path):
    path = tmp_path / "st_gcn.ntu.pt"
    state = _original_state(25, 60)
    torch.save({"state_dict": state}, path)
    net = STGCN(COCO17, 4, config="paper")
    report = load_pretrained(net, path)
    assert torch.equal(net.st_gcn_networks[3].tcn[2].weight, state["module.st_gcn_networks.3.tcn.2.weight"])
    skipped = report.skipped
    assert "joint-count mismatch" in skipped["module.data_bn.weight"]
    assert "joint-count mismatch" in skipped["module.edge_importance.0"]
    assert "joint-count mismatch" in skipped["module.A"]
    assert "head" in skipped["module.fcn.weight"]
    assert "data_bn.weight" in report.missing and "fcn.weight" in report.missing
    assert "skipped" in report.summary()
    # Same joints and classes: everything loads, the 1x1-conv head included.
    path2 = tmp_path / "same.pt"
    torch.save(_original_state(17, 4), path2)
    net2 = STGCN(COCO17, 4, config="paper")
    rep2 = load_pretrained(net2, path2, load_head=True)
    assert not rep2.skipped and rep2.missing == []


def test_load_pretrained_refuses_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_pretrained(STGCN(COCO17, 4), tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights-only"):
        load_pretrained(STGCN(COCO17, 4), bad)


# ---------------------------------------------------------------- Grad-CAM
def test_gradcam_finds_the_joint_that_carries_the_label():
    x, y = _toy(n=96, t=48, joint="left_shoulder")
    est = STGCNClassifier(epochs=15, batch_size=16, lr=3e-3, flip=False, noise_std=0.0, dropout=0.0,
                          early_stopping=False, random_state=0).fit(x, y)
    assert est.score(x, y) == 1.0
    scores = est.joint_contributions(x[y == 1], y[y == 1])
    assert scores.shape == (17,) and scores.min() == 0.0 and scores.max() == 1.0
    assert int(np.argmax(scores)) == COCO17.index("left_shoulder")
    assert scores[COCO17.index("right_wrist")] < 0.2            # the other arm carries nothing
    maps = GradCAM(est.module_).attribute(prepare_clips(x[:4], "coco17")[0], target=1)
    assert maps.shape == (4, 48, 17) and (maps >= 0).all()
    cam = CAM(est.module_).attribute(prepare_clips(x[:4], "coco17")[0], target=1)
    assert cam.shape == (4, 48, 17)


def test_gradcam_evidence_for_a_leaf_joint_stays_within_one_bone():
    # Graph convolutions pass a leaf joint's signal to its neighbour, so the last block's map can peak one bone
    # inwards (documented in docs/models.md); the evidence must still sit on that limb.
    x, y = _toy(n=96, t=48, joint="left_wrist")
    est = STGCNClassifier(epochs=15, batch_size=16, lr=3e-3, flip=False, noise_std=0.0, dropout=0.0,
                          early_stopping=False, random_state=0).fit(x, y)
    scores = est.joint_contributions(x[y == 1], y[y == 1])
    peak = int(np.argmax(scores))
    assert COCO17.hop_distance()[peak, COCO17.index("left_wrist")] <= 1
    regions = region_scores(scores, "coco17")
    assert regions.idxmax() == "arm"


def test_joint_contributions_and_region_selection_by_hand():
    maps = np.zeros((2, 3, 17))
    maps[0, :, 0] = 2.0                       # clip 0: only the nose
    maps[1, :, 0], maps[1, :, 15] = 1.0, 1.0  # clip 1: nose and left ankle
    s = joint_contributions(maps)
    assert s[0] == 1.0 and s[15] == pytest.approx(0.5) and s[1] == 0.0
    assert np.all(joint_contributions(np.zeros((2, 3, 17))) == 0)
    with pytest.raises(ValueError):
        joint_contributions(np.full((1, 2, 17), np.nan))
    regions = region_scores(s, "coco17")
    assert regions["head"] == pytest.approx(0.2) and regions["foot"] == pytest.approx(0.25)
    chosen = select_features(pd.Series({"head": 0.9, "arm": 0.1, "trunk": 0.5, "hip": 0.2, "knee": 0.35, "foot": 0.0}),
                             threshold=0.3, always=())
    assert {FEATURE_INFO[f].region for f in chosen} == {"head", "trunk", "knee"}
    assert chosen == [f for f in FEATURES if f in chosen]
    kept = select_features(pd.Series({"head": 0.0, "arm": 0.0, "trunk": 0.0, "hip": 0.0, "knee": 0.0, "foot": 0.0}))
    assert {FEATURE_INFO[f].region for f in kept} == {"temporal", "spatial", "symmetry"}
    with pytest.raises(ValueError, match="no body region"):
        select_features(pd.Series({"head": 0.1}), threshold=0.5, always=())


# ---------------------------------------------------------------- wrappers
def _features(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=list(FEATURES))


def test_stgcn_classifier_clone_roundtrip_and_determinism(tmp_path):
    x, y = _toy(n=32, t=24)
    groups = np.repeat(np.arange(8), 4)
    est = STGCNClassifier(epochs=2, batch_size=8, random_state=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    est.fit(x, y, groups=groups)
    again = clone(est).fit(x, y, groups=groups)
    np.testing.assert_array_equal(est.predict_proba(x), again.predict_proba(x))
    assert set(est.classes_) == {0, 1} and est.predict(x).shape == (32,)
    pt, side, manifest = est.save(tmp_path / "stgcn")
    assert json.loads(manifest.read_text())["files"].keys() == {"stgcn.pt", "stgcn.json"}
    info = json.loads(side.read_text())
    assert info["estimator"] == "STGCNClassifier" and info["classes"] == [0, 1]
    loaded = load_estimator(tmp_path / "stgcn")
    np.testing.assert_allclose(loaded.predict_proba(x), est.predict_proba(x), rtol=1e-6)
    assert est.set_params(epochs=5).epochs == 5


def test_dual_stream_classifier_with_backbone_and_roundtrip(tmp_path):
    x, y = _toy(n=40, t=24)
    labels = np.where(y == 1, "II", "I")
    feats = _features(40)
    xv, yv = _toy(n=16, t=24, seed=1)
    backbone = STGCNClassifier(epochs=2, batch_size=8, random_state=0).fit(x, labels, eval_set=(xv, np.where(yv == 1, "II", "I")))
    before = {k: v.clone() for k, v in backbone.module_.state_dict().items()}
    cache = TrunkCache()
    est = DualStreamClassifier(features="gradcam", fusion="xattn", backbone=backbone, epochs=3, phase1_epochs=1,
                               batch_size=8, cam_clips=16, cache=cache, random_state=0)
    est.fit(x, labels, features=feats, eval_set=(xv, np.where(yv == 1, "II", "I"), _features(16, 1)))
    for k, v in backbone.module_.state_dict().items():
        assert torch.equal(v, before[k])                      # the shared backbone is copied, never changed
    assert list(est.classes_) == ["I", "II"]
    assert est.joint_contributions_.shape == (17,) and len(est.selected_features_) >= 1
    assert len(cache) > 0                                      # frozen validation outputs shared through the cache
    proba = est.predict_proba(x, features=feats)
    assert proba.shape == (40, 2) and np.allclose(proba.sum(1), 1)
    est.save(tmp_path / "dual")
    loaded = DualStreamClassifier.load(tmp_path / "dual")
    np.testing.assert_allclose(loaded.predict_proba(x, features=feats), proba, rtol=1e-5, atol=1e-7)
    assert loaded.selected_features_ == est.selected_features_
    # A file of format 1 (before manifests; its params may hold the retired `cache_frozen`) is refused with a
    # message saying how to re-save it; verify=False loads it with a warning, and saving it again writes a manifest.
    side = tmp_path / "dual.json"
    info = json.loads(side.read_text())
    info["format"] = 1
    info["params"]["cache_frozen"] = True
    del info["torch"]
    side.write_text(json.dumps(info))
    (tmp_path / "dual.manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"manifest.*verify=False.*save"):
        load_estimator(tmp_path / "dual")
    with pytest.warns(UserWarning, match="WITHOUT verification"):
        old = load_estimator(tmp_path / "dual", verify=False)
    np.testing.assert_allclose(old.predict_proba(x, features=feats), proba, rtol=1e-5, atol=1e-7)
    old.save(tmp_path / "dual")
    np.testing.assert_allclose(load_estimator(tmp_path / "dual").predict_proba(x, features=feats), proba,
                               rtol=1e-5, atol=1e-7)
    assert clone(est).get_params()["fusion"] == "xattn"
    # Feature names given as an array (not a list) are resolved like a list.
    assert DualStreamClassifier(features=np.array(["cadence", "walking_speed"]))._needed_columns() == \
        ["cadence", "walking_speed"]
    # Features by name: a DataFrame with the selected columns in another order works too.
    shuffled = feats[list(reversed(feats.columns))]
    np.testing.assert_allclose(est.predict_proba(x, features=shuffled), proba, rtol=1e-6)


def test_dual_stream_trains_its_own_backbone_and_computes_features():
    x, y = _toy(n=24, t=40)
    groups = np.repeat(np.arange(6), 4)
    est = DualStreamClassifier(features="paper14", fps=30.0, pretrain_epochs=1, epochs=2, phase1_epochs=1,
                               batch_size=8, random_state=0).fit(x, y, groups=groups)
    assert est.backbone_trained_here_ and len(est.feature_names_in_) == 14
    assert est.predict(x).shape == (24,)


def test_dual_stream_regressor_takes_several_targets_and_saves_them(tmp_path):
    from models.deep import DualStreamRegressor

    x, y = _toy(n=24, t=24)
    targets = np.column_stack([70.0 + 10.0 * y, 1.0 + 0.1 * np.arange(24)])
    est = DualStreamRegressor(features="paper14", pretrain_epochs=1, epochs=2, phase1_epochs=1, batch_size=8,
                              early_stopping=False, random_state=0, device="cpu").fit(x, targets,
                                                                                      features=_features(24))
    pred = est.predict(x, features=_features(24))
    assert pred.shape == (24, 2) and est.y_mean_.shape == (2,) and est.module_.n_outputs == 2
    est.save(tmp_path / "d")
    np.testing.assert_array_equal(load_estimator(tmp_path / "d").predict(x, features=_features(24)), pred)


def test_regressors_standardise_the_target():
    x, y = _toy(n=24, t=24)
    target = 70.0 + 10.0 * y
    est = STGCNRegressor(epochs=2, batch_size=8, early_stopping=False, random_state=0).fit(x, target)
    pred = est.predict(x)
    assert pred.shape == (24,) and np.all(np.isfinite(pred))
    assert est.y_mean_ == pytest.approx(75.0) and est.y_scale_ == pytest.approx(5.0)


def test_bad_input_is_refused_clearly():
    x, y = _toy(n=8, t=24)
    with pytest.raises(ValueError, match="patients"):
        STGCNClassifier(epochs=1).fit(x, y)                               # no groups, no eval_set: no leaky split
    with pytest.raises(PoseDataError, match="joints"):
        STGCNClassifier(epochs=1, early_stopping=False).fit(x[:, :, :16], y)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(PoseDataError, match="impossible coordinate"):
        STGCNClassifier(epochs=1, early_stopping=False).fit(bad, y)
    with pytest.raises(PoseDataError, match="too short"):
        STGCNClassifier(epochs=1, early_stopping=False).fit(x[:, :4], y)
    with pytest.raises(ValueError, match="single class"):
        STGCNClassifier(epochs=1, early_stopping=False).fit(x, np.zeros(8))
    with pytest.raises(ValueError, match="config"):
        STGCNClassifier(config="huge", early_stopping=False).fit(x, y)
    with pytest.raises(ValueError, match="features"):
        DualStreamClassifier(features="nonsense", early_stopping=False).fit(x, y)
    # Missing keypoints (NaN, or OpenPose's zero confidence) become zeros, counted.
    holes = x.copy()
    holes[0, :, 3, :2] = np.nan
    holes[1, :, 4, 2] = 0.0
    clips, n_missing = prepare_clips(holes, "coco17")
    assert n_missing == 2 * 24 and np.all(clips[0, :, 3] == 0) and np.isfinite(clips).all()
    empty = x.copy()
    empty[2, ..., 2] = 0.0
    with pytest.raises(PoseDataError, match="no observed keypoint"):
        prepare_clips(empty, "coco17")


def test_custom_config_object_is_accepted_by_the_module():
    cfg = StgcnConfig(blocks=((8, 1), (16, 2)), frame_pool=2)
    net = STGCN(COCO17, 3, config=cfg)
    assert net.embedding_dim == 16 and net(torch.randn(2, 20, 17, 3)).shape == (2, 3)


# ---------------------------------------------------------------- hardening: model files, inputs, labels
@pytest.fixture(scope="module")
def tiny_stgcn():
    x, y = _toy(n=16, t=16)
    return STGCNClassifier(epochs=1, batch_size=8, early_stopping=False, random_state=0).fit(x, y), x


def _resave_manifest(base):
    """What someone who edits a file and recomputes the manifest would write (the schema must still catch it)."""
    import hashlib

    files = {}
    for suffix in (".pt", ".json"):
        data = base.with_suffix(suffix).read_bytes()
        files[base.with_suffix(suffix).name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    base.with_suffix(".manifest.json").write_text(json.dumps({"format": 2, "files": files}))


def _edit_sidecar(base, change):
    side = base.with_suffix(".json")
    info = json.loads(side.read_text())
    change(info)
    side.write_text(json.dumps(info))


@pytest.mark.parametrize("edit, message", [
    (lambda i: i.update(classes=[1, 0]), "sorted"),
    (lambda i: i.update(classes=[0, 5]), None),                  # same types and size: only the manifest catches it
    (lambda i: i.update(classes=[0, "1"]), "all integers or all strings"),
    (lambda i: i.update(classes=[0, 0]), "unique"),
    (lambda i: i.update(classes=[0, 1, 2]), "3 classes but the network's head has 2 outputs"),
    (lambda i: i.update(classes="01"), "list"),
    (lambda i: i["params"].update(epochs="many"), r"params\['epochs'\] must be an integer"),
    (lambda i: i["params"].update(dropout=None), r"params\['dropout'\]"),
    (lambda i: i["params"].update(config="huge"), r"params\['config'\]"),
    (lambda i: i["params"].update(layout="body25"), "differs from params"),
    (lambda i: i["params"].update(surprise=1), "unknown keys"),
    (lambda i: i["params"].pop("lr"), "lacks"),
    (lambda i: i.pop("classes"), "lacks"),
    (lambda i: i.update(layout="body25", params={**i["params"], "layout": "body25"}), "does not fit|needs"),
    (lambda i: i.update(estimator="STGCNRegressor"), "lacks|describes"),
    (lambda i: i.update(format=7), "format 7, newer"),
    (lambda i: i.update(n_frames="16"), "n_frames"),
    (lambda i: i.update(params=[1, 2]), "'params' must be an object"),
    (lambda i: i.update(classes=[10**30, 10**31]), "integers within 64 bits"),
    (lambda i: i.update(n_frames=10**9), "n_frames"),
    (lambda i: i.update(n_frames=7), "n_frames"),
    (lambda i: i["params"].update(device="nonsense"), r"params\['device'\] must be one of 'auto'"),
    (lambda i: i["params"].update(device="meta"), r"params\['device'\]"),
    (lambda i: i["params"].update(lr=10**30), r"params\['lr'\]"),
    (lambda i: i["params"].update(lr=10**400), r"params\['lr'\]"),
])
def test_tampered_sidecar_is_refused_before_use(tiny_stgcn, tmp_path, edit, message):
    est, x = tiny_stgcn
    base = tmp_path / "m"
    est.save(base)
    _edit_sidecar(base, edit)
    with pytest.raises(ModelFileError, match="does not match its manifest") as info:
        load_estimator(base)
    assert "m.json" in str(info.value) and info.value.path.endswith("m.json")
    if message is not None:                                        # even with a recomputed manifest: the schema
        _resave_manifest(base)
        with pytest.raises(ModelFileError, match=message):
            STGCNClassifier.load(base)


def test_corrupt_missing_or_newer_model_files_are_refused(tiny_stgcn, tmp_path):
    est, x = tiny_stgcn
    base = tmp_path / "m"
    est.save(base)
    np.testing.assert_array_equal(STGCNClassifier.load(base).predict_proba(x), est.predict_proba(x))
    pt = base.with_suffix(".pt")
    good = pt.read_bytes()
    pt.write_bytes(good[: len(good) // 2])                          # truncated
    with pytest.raises(ModelFileError, match="m.pt does not match its manifest"):
        load_estimator(base)
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="not a weights-only tensor file"):
        load_estimator(base)
    pt.write_bytes(good)
    _resave_manifest(base)
    # Tensors of the wrong shape or with NaN weights, behind a recomputed manifest.
    state = torch.load(pt, weights_only=True)
    state["module.fcn.bias"] = torch.full_like(state["module.fcn.bias"], float("nan"))
    torch.save(state, pt)
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="non-finite"):
        load_estimator(base)
    state["module.fcn.bias"] = torch.zeros(5)
    torch.save(state, pt)
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="fcn.bias"):
        load_estimator(base)
    pt.write_bytes(good)
    _resave_manifest(base)
    man = base.with_suffix(".manifest.json")
    m = json.loads(man.read_text())
    man.write_text(json.dumps({**m, "format": 3}))
    with pytest.raises(ModelFileError, match="format 3, newer than this version reads"):
        load_estimator(base)
    man.write_text("{not json")
    with pytest.raises(ModelFileError, match="not a valid JSON manifest"):
        load_estimator(base)
    man.write_text(json.dumps({"format": 2, "files": {"other.pt": {}}}))
    with pytest.raises(ModelFileError, match="lists"):
        load_estimator(base)
    man.unlink()
    with pytest.raises(ModelFileError, match="manifest.json is missing.*verify=False"):
        load_estimator(base)
    with pytest.raises(ModelFileError, match="no saved estimator"):
        load_estimator(tmp_path / "nothing")
    est.save(base)
    pt.unlink()
    with pytest.raises(ModelFileError, match="missing model file"):
        load_estimator(base)
    est.save(base)
    base.with_suffix(".json").write_text("[1, 2")
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="not a valid JSON sidecar"):
        load_estimator(base)
    base.with_suffix(".json").write_text('{"format": NaN}')
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match="not standard JSON"):
        load_estimator(base)


@pytest.mark.parametrize("cls", [STGCNClassifier, STGCNRegressor, DualStreamClassifier])
def test_predict_before_fit_is_not_fitted_error(cls):
    from sklearn.exceptions import NotFittedError

    x, _ = _toy(n=4, t=16)
    for method in ("predict", "predict_proba", "joint_contributions"):
        if hasattr(cls, method):
            with pytest.raises(NotFittedError):
                getattr(cls(), method)(x)
    with pytest.raises(NotFittedError):
        cls().save("never-written")


def _bad_clip_variants(x):
    pixels = x.copy()
    pixels[..., :2] = pixels[..., :2] * 200 + 640                   # raw pixel coordinates
    huge = x.copy()
    huge[1, 3, 5, 0] = 1e30                                          # one impossible value
    nan_clip = x.copy()
    nan_clip[2, ..., :2] = np.nan                                    # clip 2 entirely missing
    zero_conf = x.copy()
    zero_conf[3, ..., 2] = 0.0                                       # clip 3: no confident keypoint
    conf = x.copy()
    conf[0, 0, 0, 2] = 7.0                                           # confidence outside [0, 1]
    return [(pixels, "pixel"), (huge, "impossible coordinate"), (nan_clip, "no observed keypoint.*indices 2"),
            (zero_conf, "no observed keypoint.*indices 3"), (conf, "confidence 7 outside"),
            (x.astype(complex), "real numbers"), (x.astype(object), "real numbers"), (x[:0], "no clips")]


def test_deep_estimators_refuse_clips_that_are_not_preprocessed(tiny_stgcn):
    est, x = tiny_stgcn
    for bad, message in _bad_clip_variants(x[:4]):
        for method in (est.predict, est.predict_proba, lambda X: STGCNClassifier(epochs=1, early_stopping=False)
                       .fit(X, np.arange(len(X)) % 2)):
            with pytest.raises(PoseDataError, match=message):
                method(bad)


def test_mixed_label_types_are_refused_clearly():
    from gaitfeat.errors import LabelError

    x, _ = _toy(n=9, t=16)
    for y in ([1, "2", 3] * 3, np.array([1, "2", 3] * 3, dtype=object), pd.Series([1, "2", 3] * 3)):
        for est in (STGCNClassifier(epochs=1, early_stopping=False), DualStreamClassifier(early_stopping=False)):
            with pytest.raises(LabelError, match="mixes kinds of labels"):
                est.fit(x, y)
    with pytest.raises(LabelError, match="real numbers"):
        STGCNRegressor(epochs=1, early_stopping=False).fit(x, ["a"] * 9)


# ---------------------------------------------------------------- hardening: numbers, devices, labels, evidence
@pytest.mark.parametrize("edit, message", [
    (lambda i: i.update(y_mean=10**300), "'y_mean' must be a finite number"),
    (lambda i: i.update(y_mean=10**400), "'y_mean'"),
    (lambda i: i.update(y_scale=1e-320), "'y_scale' must be a finite number"),
    (lambda i: i.update(y_scale=0.0), "'y_scale'"),
])
def test_tampered_regressor_sidecar_is_refused(tmp_path, edit, message):
    x, y = _toy(n=8, t=16)
    base = tmp_path / "r"
    STGCNRegressor(epochs=1, batch_size=8, early_stopping=False, random_state=0, device="cpu").fit(
        x, 70.0 + y).save(base)
    _edit_sidecar(base, edit)
    _resave_manifest(base)
    with pytest.raises(ModelFileError, match=message):
        load_estimator(base)


@pytest.mark.parametrize("params, message", [
    (dict(lr=10**30), "lr must be"), (dict(lr=10**400), "lr must be"), (dict(epochs=10**400), "epochs must be"),
    (dict(random_state=2**70), "random_state must be"), (dict(batch_size=10**18), "batch_size must be"),
    (dict(device="meta"), "device must be one of"), (dict(device="nonsense"), "device must be one of"),
    (dict(device="cuda:99999"), "device must be one of"),
])
def test_bad_numbers_and_devices_are_refused_in_fit(params, message):
    x, y = _toy(n=8, t=16)
    with pytest.raises(ValueError, match=message) as info:
        STGCNClassifier(early_stopping=False, **{"epochs": 1, "device": "cpu", **params}).fit(x, y)
    assert not isinstance(info.value, TypeError) and len(str(info.value)) < 300


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_says_how_to_fall_back(tiny_stgcn):
    est, x = tiny_stgcn
    with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
        STGCNClassifier(epochs=1, early_stopping=False, device="cuda").fit(x, np.arange(len(x)) % 2)
    with pytest.raises(ValueError, match="CUDA is not available"):
        clone(est).set_params(device="cuda:0")._check_common()


def test_labels_are_normalised_or_refused_so_fit_and_save_agree(tmp_path):
    from gaitfeat.errors import LabelError

    x, y = _toy(n=8, t=16)
    kw = dict(epochs=1, batch_size=8, early_stopping=False, device="cpu", random_state=0)
    for labels, classes in ((np.where(y == 1, 2.0, 1.0), [1, 2]), (list(np.where(y == 1, "b", "a")), ["a", "b"]),
                            (np.where(y == 1, 2**40, -3), [-3, 2**40])):
        est = STGCNClassifier(**kw).fit(x, labels)
        assert est.classes_.tolist() == classes
        est.save(tmp_path / "m")
        assert load_estimator(tmp_path / "m").classes_.tolist() == classes
    for labels, kind in ((y.astype(bool), "booleans"), (np.where(y == 1, b"b", b"a"), "bytes"),
                         (np.where(y == 1, 1.5, 1.0), "non-integer floats"),
                         (np.array([10**30, 10**31] * 4, dtype=object), "beyond 64 bits")):
        with pytest.raises(LabelError, match=kind):
            STGCNClassifier(**kw).fit(x, labels)


def test_deep_estimators_refuse_clips_without_enough_evidence(tiny_stgcn):
    est, x = tiny_stgcn
    sparse = x[:3].copy()
    sparse[1, 1:] = np.nan                                          # one observed frame
    one_joint = x[:3].copy()
    one_joint[2, :, 1:, 2] = 0.0                                    # one observed joint (confidence 0 elsewhere)
    flat = x[:3].copy()
    flat[0, ..., :2] = 0.0                                          # every joint at one point
    for bad, message in ((sparse, r"fewer than 20%.*clip indices 1"), (one_joint, r"fewer than 20%.*indices 2"),
                         (flat, r"degenerate.*clip indices 0")):
        for method in (est.predict, est.predict_proba, lambda X: STGCNClassifier(epochs=1, early_stopping=False)
                       .fit(np.concatenate([X, x[:5]]), np.arange(len(X) + 5) % 2)):
            with pytest.raises(PoseDataError, match=message):
                method(bad)
