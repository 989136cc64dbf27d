"""Model bundles: written in safe formats, verified before anything is deserialised, refused when tampered."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from evaluation.bundle import BundleError, load_bundle, train_bundle
from evaluation.bundle.manifest import FORMAT, MANIFEST, checksum, digest


def _copy(src, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def _manifest(root):
    return json.loads((root / MANIFEST).read_text())


def _rewrite(root, man, *, refresh: bool = True):
    """Write a manifest back; ``refresh`` recomputes file hashes and the checksum (a careful forger)."""
    if refresh:
        man["files"] = {rel: digest((root / rel).read_bytes()) for rel in man["files"]}
        man["checksum"] = checksum(man)
    (root / MANIFEST).write_text(json.dumps(man, indent=1))


@pytest.fixture
def no_deserialising(monkeypatch):
    """Fail loudly if any model file is deserialised: every refusal must come before that."""
    import skops.io
    import torch
    import xgboost

    def boom(*_a, **_k):
        raise AssertionError("a model file was deserialised before the bundle was verified")

    for mod, name in ((skops.io, "loads"), (skops.io, "get_untrusted_types"), (torch, "load")):
        monkeypatch.setattr(mod, name, boom)
    monkeypatch.setattr(xgboost.XGBClassifier, "load_model", boom)
    monkeypatch.setattr(xgboost.XGBRegressor, "load_model", boom)


def test_bundle_holds_safe_formats_and_loads(quick_bundle):
    root, _ = quick_bundle
    man = _manifest(root)
    assert man["format"] == FORMAT and man["data"]["simulated"] is True
    assert {m["format"] for m in man["models"]} == {"skops", "xgboost-json", "torch-state-dict"}
    assert not [p for p in root.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    listed = set(man["files"])
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {MANIFEST}
    assert listed == on_disk                                   # every file is hashed
    b = load_bundle(root)
    assert b.simulated and b.layout == "coco17" and set(b.suites) == {"gmfcs", "gdi"}
    assert len(b.fold_roles("gmfcs", "logreg_all")) == 3
    assert b.primary["gmfcs"] in b.model_names("gmfcs") and b.primary["gmfcs"] != "majority"
    cv = man["cv"]["gmfcs"]["logreg_all"]
    assert 0 <= cv["balanced_accuracy"] <= 1 and len(cv["balanced_accuracy_ci"]) == 2
    assert (root / "cv" / "gmfcs" / "index.html").is_file()


def test_changed_byte_is_refused(quick_bundle, tmp_path, no_deserialising):
    root = _copy(quick_bundle[0], tmp_path)
    target = root / "models" / "gmfcs" / "logreg_all" / "final.skops"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="final.skops does not match the bundle manifest"):
        load_bundle(root)


def test_edited_manifest_is_refused(quick_bundle, tmp_path, no_deserialising):
    root = _copy(quick_bundle[0], tmp_path)
    man = _manifest(root)
    man["data"]["simulated"] = False          # someone hides that the models were trained on simulated data
    _rewrite(root, man, refresh=False)
    with pytest.raises(BundleError, match="edited after the bundle was written"):
        load_bundle(root)


def test_swapped_model_file_is_refused(quick_bundle, tmp_path, no_deserialising):
    root = _copy(quick_bundle[0], tmp_path)
    folder = root / "models" / "gmfcs" / "xgb_all"
    a, b = folder / "final.xgb.json", folder / "fold0.xgb.json"
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    with pytest.raises(BundleError, match="changed, swapped or corrupted"):
        load_bundle(root)


class _Payload:
    """A pickle that runs code when unpickled (writes a marker file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_in_place_of_state_dict_is_refused(quick_bundle, tmp_path, no_deserialising):
    root = _copy(quick_bundle[0], tmp_path)
    marker = tmp_path / "pwned"
    pt = root / "models" / "gmfcs" / "stgcn" / "final.pt"
    pt.write_bytes(pickle.dumps({"module.x": _Payload(marker)}))
    with pytest.raises(BundleError, match="final.pt does not match"):
        load_bundle(root)
    assert not marker.exists()


def test_pickle_with_forged_hashes_is_refused_by_weights_only(quick_bundle, tmp_path):
    """A forger who also rewrites every hash still gets nothing run: tensors are read with weights_only=True."""
    from models.errors import ModelFileError

    root = _copy(quick_bundle[0], tmp_path)
    marker = tmp_path / "pwned"
    pt = root / "models" / "gmfcs" / "stgcn" / "final.pt"
    pt.write_bytes(pickle.dumps({"module.x": _Payload(marker)}))
    inner = root / "models" / "gmfcs" / "stgcn" / "final.manifest.json"
    inner_man = json.loads(inner.read_text())
    inner_man["files"]["final.pt"] = digest(pt.read_bytes())
    inner.write_text(json.dumps(inner_man))
    _rewrite(root, _manifest(root))
    with pytest.raises(ModelFileError, match="not a weights-only tensor file"):
        load_bundle(root)
    assert not marker.exists()


def test_untrusted_skops_type_is_refused(quick_bundle, tmp_path):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    root = _copy(quick_bundle[0], tmp_path)
    target = root / "models" / "gdi" / "ridge_all" / "final.skops"
    target.write_bytes(sio.dumps(make_pipeline(FunctionTransformer(os.system))))
    _rewrite(root, _manifest(root))
    with pytest.raises(BundleError, match="does not trust.*system"):
        load_bundle(root)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format=FORMAT + 1), f"bundle format {FORMAT + 1}, newer than"),
    (lambda m: m["models"][0].update(format="pickle"), "only .* are accepted"),
    (lambda m: m["files"].update({"../outside.txt": m["files"]["typical_ranges.csv"]}), "not a plain relative path"),
    (lambda m: m.pop("data"), "missing \\['data'\\]"),
    (lambda m: m["primary"].update(gmfcs="nope"), "primary model 'nope'"),
    (lambda m: m["primary"].pop("gdi"), "one model for each suite"),
    (lambda m: m["suites"].append({}), "distinct names of single-target suites"),
    (lambda m: next(e for e in m["models"] if e["name"] == "logreg_all").update(classes=[-1, 0, 1, 2]),
     "distinct class positions"),
    (lambda m: next(e for e in m["models"] if e["name"] == "logreg_all").update(classes=[False, True, 2, 3]),
     "distinct class positions"),
    (lambda m: next(e for e in m["models"] if e["name"] == "ridge_all").update(classes=[0, 1]), "must be null"),
    (lambda m: m["models"][0].update(inputs="weird"), "has inputs 'weird'"),
    (lambda m: next(e for e in m["models"] if e["name"] == "stgcn").update(features=["cadence"]),
     "feature columns .* exactly when"),
    (lambda m: m["preprocessing"].update(window=0), "out of range"),
    (lambda m: m["cv"]["gdi"].update(ridge_all=[]), "'cv' must map"),
    (lambda m: m["environment"].update(git="x"), "'environment' must hold"),
])
def test_malformed_manifests_are_refused(quick_bundle, tmp_path, no_deserialising, edit, message):
    root = _copy(quick_bundle[0], tmp_path)
    man = _manifest(root)
    edit(man)
    man["checksum"] = checksum(man)
    (root / MANIFEST).write_text(json.dumps(man))
    with pytest.raises(BundleError, match=message):
        load_bundle(root)


def test_tables_without_their_columns_are_refused(quick_bundle, tmp_path):
    root = _copy(quick_bundle[0], tmp_path)
    man = _manifest(root)
    man["typical_ranges"] = "typical_curves.csv"
    _rewrite(root, man)
    with pytest.raises(BundleError, match="lacks the columns"):
        load_bundle(root)


def test_symlinked_folder_is_refused(quick_bundle, tmp_path, no_deserialising):
    root = _copy(quick_bundle[0], tmp_path)
    outside = tmp_path / "elsewhere"
    shutil.move(str(root / "models"), str(outside))
    (root / "models").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BundleError, match="symlinks are refused"):
        load_bundle(root)


def test_missing_manifest_and_folder(tmp_path):
    with pytest.raises(BundleError, match="no such model bundle"):
        load_bundle(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_bundle(tmp_path / "empty")


def test_train_refuses_unsafe_models_and_occupied_folders(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        train_bundle(tmp_path / "busy", suites=["gmfcs"], models=["logreg_all"])
    with pytest.raises(ValueError, match="is not a model bundle; refusing"):
        train_bundle(tmp_path / "busy", suites=["gmfcs"], models=["logreg_all"], overwrite=True)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="cannot be saved in a safe bundle format"):
        train_bundle(tmp_path / "b", suites=["gmfcs"], models=["logreg_ordinal_all"])
    with pytest.raises(ValueError, match="unknown model"):
        train_bundle(tmp_path / "b", suites=["gmfcs"], models=["nope"])
    with pytest.raises(ValueError, match="a bundle holds models of the suites"):
        train_bundle(tmp_path / "b", suites=["params"])
    with pytest.raises(ValueError, match="cannot repeat how its clips were made"):
        train_bundle(tmp_path / "b", suites=["gmfcs"], models=["logreg_all"], data="npz:clips.npz")


def test_train_needs_to_know_how_the_clips_were_made(tmp_path):
    from evaluation.data import Dataset

    data = Dataset(np.zeros((4, 124, 17, 3), np.float32), pd.DataFrame({"patient_id": list("abcd"),
                   "video_id": list("abcd"), "fps": 30.0, "gmfcs": [1, 2, 1, 2]}), "synthetic", "made by hand")
    with pytest.raises(ValueError, match="does not record how its clips were windowed"):
        train_bundle(tmp_path / "b", suites=["gmfcs"], models=["logreg_all"], data=data)


def test_class_positions_of_a_fold_without_a_level(tmp_path):
    """A fold model that never saw level IV predicts probability 0 for it; its columns map to levels I-III."""
    from sklearn.linear_model import LogisticRegression

    from evaluation.bundle import Bundle

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"cadence": rng.normal(size=60), "knee_rom_left": rng.normal(size=60)})
    y = np.repeat([0, 1, 2], 20)
    X.loc[y == 2, "cadence"] += 4
    est = LogisticRegression().fit(X, y)
    entry = {"suite": "gmfcs", "name": "m", "role": "final", "inputs": "features", "features": list(X.columns),
             "classes": [0, 1, 2]}
    b = Bundle(tmp_path, {"models": [entry]}, {("gmfcs", "m", "final"): est}, pd.DataFrame(), pd.DataFrame(),
               pd.DataFrame(), pd.DataFrame())
    proba = b.predict("gmfcs", "m", None, X)
    assert proba.shape == (60, 4) and np.all(proba[:, 3] == 0)
    np.testing.assert_allclose(proba[:, :3], est.predict_proba(X))
    assert proba[y == 2].argmax(axis=1).tolist().count(2) >= 18


def test_fold_models_match_the_cross_validation(quick_bundle):
    """The bundled fold models are the ones the cross-validated metrics come from: they reproduce its
    out-of-fold predictions."""
    import pandas as pd

    root, cohort = quick_bundle
    b = load_bundle(root)
    oof = pd.read_csv(root / "cv" / "gmfcs" / "predictions.csv")
    oof = oof[oof["model"] == "logreg_all"]
    feats = None
    from gaitfeat.features import extract_features

    feats = extract_features(cohort.clips, cohort.meta["fps"].to_numpy(float), "coco17")
    for fold, rows in oof.groupby("fold"):
        idx = rows["row"].to_numpy()
        got = b.predict("gmfcs", "logreg_all", cohort.clips[idx], feats.iloc[idx], role=f"fold{fold}")
        want = rows[[f"proba_{k}" for k in (1, 2, 3, 4)]].to_numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)   # predictions.csv keeps 6 decimals
