"""Bad-input cases of the model layer: saved model files, the pose-clip estimators, labels."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from robustness import Case


def _clips(n=8, t=16, seed=0):
    """Tiny preprocessed-looking COCO-17 clips (leg lengths, confidence 1) and two classes."""
    rng = np.random.default_rng(seed)
    xy = rng.normal(0, 0.3, (1, 1, 17, 2)) + rng.normal(0, 0.02, (n, t, 17, 2))
    return np.concatenate([xy, np.ones((n, t, 17, 1))], -1).astype(np.float32), np.arange(n) % 2


def _tiny_stgcn():
    from models.deep import STGCNClassifier

    x, y = _clips()
    return STGCNClassifier(epochs=1, batch_size=8, early_stopping=False, random_state=0).fit(x, y), x


def _check_tampered_sidecar(tmp_path):
    from models.deep import load_estimator
    from models.errors import ModelFileError

    est, _ = _tiny_stgcn()
    base = tmp_path / "model"
    est.save(base)
    side = base.with_suffix(".json")
    info = json.loads(side.read_text())
    info["classes"] = [1, 0]
    side.write_text(json.dumps(info))
    with pytest.raises(ModelFileError, match="model.json does not match its manifest"):
        load_estimator(base)
    # Even with the manifest recomputed, the schema refuses it before use.
    info["classes"] = [0, 1, 2]
    side.write_text(json.dumps(info))
    man = base.with_suffix(".manifest.json")
    m = json.loads(man.read_text())
    m["files"]["model.json"] = {"sha256": hashlib.sha256(side.read_bytes()).hexdigest(), "bytes": len(side.read_bytes())}
    man.write_text(json.dumps(m))
    with pytest.raises(ModelFileError, match="3 classes but the network's head has 2 outputs"):
        load_estimator(base)


def _check_no_manifest(tmp_path):
    from models.deep import load_estimator
    from models.errors import ModelFileError

    est, _ = _tiny_stgcn()
    est.save(tmp_path / "model")
    (tmp_path / "model.manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"manifest.json is missing.*verify=False.*save"):
        load_estimator(tmp_path / "model")


def _check_newer_format(tmp_path):
    from models.deep import load_estimator
    from models.errors import ModelFileError

    est, _ = _tiny_stgcn()
    est.save(tmp_path / "model")
    man = tmp_path / "model.manifest.json"
    man.write_text(json.dumps({**json.loads(man.read_text()), "format": 9}))
    with pytest.raises(ModelFileError, match="format 9, newer than this version reads"):
        load_estimator(tmp_path / "model")


def _check_stgcn_pixels(tmp_path):
    from gaitfeat.errors import PoseDataError

    est, x = _tiny_stgcn()
    with pytest.raises(PoseDataError, match="raw pixel coordinates"):
        est.predict(x * 200 + 640)
    huge = x.copy()
    huge[0, 3, 5, 0] = 1e30
    with pytest.raises(PoseDataError, match="impossible coordinate"):
        est.predict_proba(huge)


def _check_deep_all_missing(tmp_path):
    from gaitfeat.errors import PoseDataError

    est, x = _tiny_stgcn()
    x = x.copy()
    x[2, ..., :2] = np.nan
    x[5, ..., 2] = 0.0
    with pytest.raises(PoseDataError, match="no observed keypoint.*clip indices 2, 5"):
        est.predict_proba(x)


def _check_feature_classifier_all_missing(tmp_path):
    from gaitfeat import simulate_cohort
    from gaitfeat.errors import PoseDataError
    from models import GaitFeatureClassifier

    cohort = simulate_cohort(4, random_state=0, n_jobs=1)
    clips, y = cohort.clips[:30], cohort.meta["gmfcs"].to_numpy()[:30]
    if len(np.unique(y)) < 2:
        y = np.arange(30) % 2
    est = GaitFeatureClassifier(fps=30.0, estimator="logreg").fit(clips, y)
    x = clips[:4].copy()
    x[1] = np.nan
    x[3, ..., 2] = 0.0
    with pytest.raises(PoseDataError, match="no observed keypoint.*clip indices 1, 3"):
        est.predict_proba(x)


def _check_not_fitted(tmp_path):
    from sklearn.exceptions import NotFittedError

    from models.deep import DualStreamClassifier, STGCNClassifier, STGCNRegressor

    x, _ = _clips(n=2)
    for cls in (STGCNClassifier, STGCNRegressor, DualStreamClassifier):
        with pytest.raises(NotFittedError):
            cls().predict(x)


def _check_mixed_labels(tmp_path):
    from gaitfeat.errors import LabelError
    from models import FeatureTableClassifier, GaitFeatureClassifier
    from models.deep import STGCNClassifier

    x, _ = _clips(n=6)
    y = [1, "2", 3] * 2
    for est, X in ((FeatureTableClassifier(estimator="logreg"), np.ones((6, 2))),
                   (GaitFeatureClassifier(estimator="logreg"), x),
                   (STGCNClassifier(epochs=1, early_stopping=False), x)):
        with pytest.raises(LabelError, match=r"mixes kinds of labels \(number 1, text '2'\)"):
            est.fit(X, y)


def _check_bad_settings(tmp_path):
    from models.deep import STGCNClassifier

    x, y = _clips()
    for bad, message in (({"batch_size": None}, "batch_size must be an integer"),
                         ({"validation_fraction": "a"}, "validation_fraction must be"),
                         ({"device": "tpu"}, "device must be")):
        with pytest.raises(ValueError, match=message):
            STGCNClassifier(early_stopping=False, **bad).fit(x, y)


def _resave(base):
    files = {}
    for suffix in (".pt", ".json"):
        data = base.with_suffix(suffix).read_bytes()
        files[base.with_suffix(suffix).name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    base.with_suffix(".manifest.json").write_text(json.dumps({"format": 2, "files": files}))


def _check_sidecar_numbers(tmp_path):
    from models.deep import STGCNRegressor, load_estimator
    from models.errors import ModelFileError

    x, y = _clips()
    est, _ = _tiny_stgcn()
    est.save(tmp_path / "c")
    STGCNRegressor(epochs=1, batch_size=8, early_stopping=False, random_state=0).fit(x, 70.0 + y).save(tmp_path / "r")
    for base, key, value, message in (("r", "y_mean", 10**300, "'y_mean' must be a finite number in"),
                                      ("r", "y_scale", 1e-320, "'y_scale' must be a finite number in"),
                                      ("c", "n_frames", 10**9, "'n_frames' must be an integer in"),
                                      ("c", "classes", [10**30, 10**31], "integers within 64 bits"),
                                      ("c", "device", "nonsense", r"params\['device'\] must be one of"),
                                      ("c", "device", "meta", r"params\['device'\] must be one of")):
        side = (tmp_path / base).with_suffix(".json")
        info = json.loads(side.read_text())
        original = side.read_text()
        (info["params"] if key == "device" else info)[key] = value
        side.write_text(json.dumps(info))
        _resave(tmp_path / base)
        with pytest.raises(ModelFileError, match=message):
            load_estimator(tmp_path / base)
        side.write_text(original)
        _resave(tmp_path / base)


def _check_huge_numbers_in_settings(tmp_path):
    from gaitfeat import simulate_cohort
    from models import GaitFeatureClassifier
    from models.deep import STGCNClassifier

    x, y = _clips()
    for bad, message in (({"lr": 10**30}, "lr must be a finite number in"), ({"epochs": 10**400}, "epochs must be"),
                         ({"device": "meta"}, "device must be one of"), ({"random_state": 2**70}, "random_state")):
        with pytest.raises(ValueError, match=message):
            STGCNClassifier(early_stopping=False, **{"epochs": 1, **bad}).fit(x, y)
    clips = simulate_cohort(2, random_state=0, n_jobs=1).clips[:6]
    for fps in ("30", 10**400, True):
        with pytest.raises(ValueError, match="fps must be a positive finite number"):
            GaitFeatureClassifier(fps=fps, estimator="logreg").fit(clips, np.arange(6) % 2)


def _check_deep_label_kinds(tmp_path):
    from gaitfeat.errors import LabelError
    from models.deep import STGCNClassifier, load_estimator

    x, y = _clips()
    est = STGCNClassifier(epochs=1, batch_size=8, early_stopping=False, random_state=0).fit(x, y + 1.0)
    est.save(tmp_path / "m")
    assert load_estimator(tmp_path / "m").classes_.tolist() == [1, 2]
    for labels, kind in ((y.astype(bool), "booleans"), (np.where(y == 1, b"b", b"a"), "bytes"),
                         (y + 0.5, "non-integer floats")):
        with pytest.raises(LabelError, match=kind):
            STGCNClassifier(epochs=1, early_stopping=False).fit(x, labels)


def _check_little_evidence(tmp_path):
    from gaitfeat import simulate_cohort
    from gaitfeat.errors import PoseDataError
    from models import GaitFeatureClassifier

    est, xs = _tiny_stgcn()
    cohort = simulate_cohort(4, random_state=0, n_jobs=1)
    clips, y = cohort.clips[:30], cohort.meta["gmfcs"].to_numpy()[:30]
    if len(np.unique(y)) < 2:
        y = np.arange(30) % 2
    clf = GaitFeatureClassifier(fps=30.0, estimator="logreg").fit(clips, y)
    sparse, flat, legless = clips[:3].copy(), clips[:3].copy(), clips[:3].copy()
    sparse[1, 1:] = np.nan                                     # one observed frame
    flat[2, ..., :2] = 0.0                                     # every joint at (0, 0) with confidence
    legless[0, :, 11:] = np.nan                                # no leg joints: every feature NaN
    deep_sparse = xs[:3].copy()
    deep_sparse[1, 1:] = np.nan
    for call, bad in ((clf.predict_proba, sparse), (est.predict_proba, deep_sparse)):
        with pytest.raises(PoseDataError, match=r"fewer than 20% of their keypoints observed.*clip indices 1"):
            call(bad)
    with pytest.raises(PoseDataError, match=r"degenerate poses.*clip indices 2"):
        clf.predict_proba(flat)
    with pytest.raises(PoseDataError, match=r"no measurable feature.*clip indices 0"):
        clf.predict_proba(legless)


CASES = [
    Case("model files", "A deep estimator's JSON sidecar edited after saving (e.g. `\"classes\"` reordered)",
         "`ModelFileError` (a `ReaderError`): the file does not match its manifest's SHA-256; with the manifest "
         "recomputed, the schema check names the bad key (e.g. classes not matching the head size) before use",
         _check_tampered_sidecar),
    Case("model files", "Model files without a manifest (written before format 2)",
         "`ModelFileError`: cannot be verified; says to load with `verify=False` (a warning) and save again",
         _check_no_manifest),
    Case("model files", "A model manifest of a newer format version",
         "`ModelFileError` naming the file's format and the one this version reads", _check_newer_format),
    Case("ST-GCN / dual-stream estimators", "Pixel coordinates or an impossible value (1e30) in the clips",
         "`PoseDataError`: raw pixel coordinates / impossible coordinate (clip, frame, joint); run "
         "`gaitfeat.preprocess` first", _check_stgcn_pixels),
    Case("ST-GCN / dual-stream estimators", "Clips with no observed keypoint (all NaN or confidence all 0)",
         "`PoseDataError` naming the clip indices", _check_deep_all_missing),
    Case("GaitFeatureClassifier", "Clips with no observed keypoint (all NaN or confidence all 0)",
         "`PoseDataError` naming the clip indices, never a probability", _check_feature_classifier_all_missing),
    Case("ST-GCN / dual-stream estimators", "`predict` before `fit`", "scikit-learn's `NotFittedError`",
         _check_not_fitted),
    Case("estimators' fit", "Class labels mixing numbers and text, e.g. `[1, \"2\", 3]`",
         "`LabelError`: y mixes kinds of labels (with an example of each)", _check_mixed_labels),
    Case("ST-GCN / dual-stream estimators", "Settings of the wrong type or range (`batch_size=None`, "
         "`validation_fraction=\"a\"`, an unknown device)", "`ValueError` naming the setting and what it must be",
         _check_bad_settings),
    Case("model files", "A sidecar (manifest recomputed) with a number beyond float64's sane range "
         "(`\"y_mean\": 10**300`), a denormal `\"y_scale\"` (1e-320), `\"n_frames\"` outside [8, 72000], "
         "classes beyond 64-bit integers or an unknown device (`\"nonsense\"`, `\"meta\"`)",
         "`ModelFileError` naming the key and the allowed range or names (`auto`, `cpu`, `cuda`, `cuda:<n>`, `mps`)",
         _check_sidecar_numbers),
    Case("estimators' fit", "Settings with huge integers or text: `lr=10**30`, `epochs=10**400`, "
         "`random_state=2**70`, `device=\"meta\"`, `GaitFeatureClassifier(fps=\"30\")`",
         "`ValueError` naming the setting and what it must be (never numpy's `TypeError`)",
         _check_huge_numbers_in_settings),
    Case("ST-GCN / dual-stream estimators", "Class labels a model file cannot hold: bools, bytes, "
         "non-integer floats, integers beyond 64 bits",
         "`LabelError` in `fit` naming the kind; whole-number floats (`1.0, 2.0`) become int64 classes, so "
         "every fitted classifier saves", _check_deep_label_kinds),
    Case("GaitFeatureClassifier", "Clips with little evidence: fewer than 20 % of keypoints observed, every joint "
         "at one point, or (predict) every feature the model uses NaN",
         "`PoseDataError` naming the clip indices, never a probability (the ST-GCN / dual-stream estimators apply "
         "the same keypoint and spread rules)", _check_little_evidence),
]
