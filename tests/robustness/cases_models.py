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
]
