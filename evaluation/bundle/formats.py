"""Writing and reading one fitted model in a safe format (:data:`~evaluation.bundle.manifest.MODEL_FORMATS`).

* ``skops`` — scikit-learn pipelines and estimators (logistic regression, ridge, the baselines) written with
  :func:`skops.io.dumps`. Reading lists the file's types first (:func:`skops.io.get_untrusted_types`) and
  refuses any type outside :data:`TRUSTED_TYPES` beyond skops' own default-trusted scikit-learn and NumPy
  types, so no unknown object is ever built.
* ``xgboost-json`` — XGBoost's own JSON model (``Booster.save_raw("json")``) and a JSON file of the
  wrapper's parameters (plain numbers and strings).
* ``torch-state-dict`` — the deep estimators' files (:mod:`models.deep.persistence`): tensors read with
  ``torch.load(weights_only=True)``, a schema-checked JSON sidecar and their own manifest.

Readers receive the bytes the bundle manifest has just verified, never the path, so what was checked is
what is parsed.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np

from evaluation.bundle.manifest import BundleError, read_json

__all__ = ["TRUSTED_TYPES", "save_model", "load_model", "model_format"]

#: Types a ``skops`` file may hold beyond those skops trusts by default: NumPy's dtype objects (scikit-learn
#: keeps the fitted dtype of its inputs). Everything else untrusted is refused.
TRUSTED_TYPES = ("numpy.dtype",)
_XGB_PARAMS = ("objective", "n_estimators", "max_depth", "learning_rate", "subsample", "colsample_bytree",
               "min_child_weight", "tree_method", "n_jobs", "random_state", "eval_metric")


def model_format(est) -> str:
    """The format an estimator is saved in; a model with no safe format raises :class:`ValueError`."""
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    name = type(est).__name__
    if name in ("XGBClassifier", "XGBRegressor"):
        return "xgboost-json"
    if hasattr(est, "module_") and hasattr(est, "save"):
        return "torch-state-dict"
    if isinstance(est, Pipeline) or (isinstance(est, BaseEstimator) and type(est).__module__.startswith("sklearn.")):
        return "skops"
    raise ValueError(f"{name} cannot be saved in a safe bundle format (scikit-learn estimators and pipelines, "
                     "XGBoost and the deep estimators can); leave it out of --models")


def save_model(est, folder: Path, stem: str) -> tuple[str, list[Path]]:
    """Write ``est`` under ``folder`` as ``stem.*``; returns its format and the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    fmt = model_format(est)
    if fmt == "skops":
        import skops.io as sio

        path = folder / f"{stem}.skops"
        path.write_bytes(sio.dumps(est))
        return fmt, [path]
    if fmt == "xgboost-json":
        model, params = folder / f"{stem}.xgb.json", folder / f"{stem}.params.json"
        model.write_bytes(bytes(est.get_booster().save_raw("json")))
        kept = {k: v for k, v in est.get_params().items() if k in _XGB_PARAMS and v is not None
                and isinstance(v, (int, float, str)) and not (isinstance(v, float) and not math.isfinite(v))}
        params.write_text(json.dumps({"estimator": type(est).__name__, "params": kept}, indent=1, allow_nan=False))
        return fmt, [model, params]
    return fmt, [Path(p) for p in est.save(folder / stem)]


def _load_skops(data: bytes, rel: str):
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:   # skops raises zipfile/JSON/KeyError... for a file that is not its format
        raise BundleError(f"{rel} is not a skops file: {type(exc).__name__}: {exc}", Path(rel)) from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise BundleError(f"{rel} holds types this bundle format does not trust: {refused}; refusing to load it",
                          Path(rel))
    return sio.loads(data, trusted=sorted(untrusted))


def _load_xgboost(model: bytes, params: bytes, rels: list[str]):
    import xgboost

    info = read_json(params, Path(rels[1]), "parameter file")
    if not (isinstance(info, dict) and info.get("estimator") in ("XGBClassifier", "XGBRegressor")
            and isinstance(info.get("params"), dict) and set(info["params"]) <= set(_XGB_PARAMS)
            and all(isinstance(v, (int, float, str)) for v in info["params"].values())):
        raise BundleError(f"{rels[1]} is not an XGBoost parameter file of this bundle format", Path(rels[1]))
    est = getattr(xgboost, info["estimator"])(**info["params"])
    try:
        est.load_model(bytearray(model))
    except Exception as exc:   # XGBoostError for anything that is not one of its model files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(f"{rels[0]} is not an XGBoost JSON model: {first}", Path(rels[0])) from None
    return est


def _load_torch(files: dict[str, bytes]):
    from models.deep import load_estimator

    # The deep estimators read their files by path: the verified bytes are written to a private folder and
    # read from there, so the files parsed are exactly those the bundle manifest checked.
    with tempfile.TemporaryDirectory(prefix="gaitfeat-bundle-") as tmp:
        stem = None
        for rel, data in files.items():
            name = Path(rel).name
            (Path(tmp) / name).write_bytes(data)
            if name.endswith(".manifest.json"):
                stem = name[: -len(".manifest.json")]
        if stem is None:
            raise BundleError(f"the deep model files {sorted(files)} have no .manifest.json", Path(next(iter(files))))
        return load_estimator(Path(tmp) / stem)


def load_model(entry: dict, contents: dict[str, bytes]):
    """Rebuild the model a manifest entry describes from its verified bytes."""
    rels = entry["files"]
    fmt = entry["format"]
    if fmt == "skops":
        if len(rels) != 1 or not rels[0].endswith(".skops"):
            raise BundleError(f"a skops model is one .skops file, got {rels}", Path(rels[0] if rels else "."))
        est = _load_skops(contents[rels[0]], rels[0])
    elif fmt == "xgboost-json":
        if len(rels) != 2 or not rels[0].endswith(".xgb.json") or not rels[1].endswith(".params.json"):
            raise BundleError(f"an xgboost-json model is a .xgb.json and a .params.json file, got {rels}",
                              Path(rels[0] if rels else "."))
        est = _load_xgboost(contents[rels[0]], contents[rels[1]], rels)
    else:
        suffixes = sorted(Path(r).name.split(".", 1)[-1] for r in rels)
        if suffixes != ["json", "manifest.json", "pt"]:
            raise BundleError(f"a torch-state-dict model is a .pt, a .json sidecar and a .manifest.json, got {rels}",
                              Path(rels[0] if rels else "."))
        est = _load_torch({r: contents[r] for r in rels})
    classes = entry["classes"]
    if classes is not None and not (all(isinstance(c, int) for c in classes) and len(set(classes)) == len(classes)):
        raise BundleError(f"model {entry['name']!r}: 'classes' must be distinct class positions", Path(rels[0]))
    n_out = len(getattr(est, "classes_", [])) if classes is not None else None
    if classes is not None and n_out != len(classes):
        raise BundleError(f"model {entry['name']!r} ({entry['role']}) has {n_out} outputs but the manifest lists "
                          f"{len(classes)} classes", Path(rels[0]))
    return est


def as_positions(classes) -> np.ndarray | None:
    """The class positions of a manifest entry as an index array (None for a regressor)."""
    return None if classes is None else np.asarray(classes, dtype=np.int64)
