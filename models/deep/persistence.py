"""Saving and loading the deep estimators: a weights-only ``.pt`` file and a JSON sidecar, no pickle.

``<path>.pt`` holds tensors only — the network's state dict under
``module.*`` and an estimator's other fitted arrays (e.g. the feature
standardisation) under ``extra.*`` — and is read back with
``torch.load(weights_only=True)``. ``<path>.json`` holds the format number,
the estimator's class name and parameters, the classes (or the target's mean
and scale), the layout, the clip length and the training history.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from gaitfeat.jsonable import to_jsonable

__all__ = ["save_estimator", "load_as", "load_estimator", "FORMAT"]

#: Version of the file layout; :func:`load_as` refuses any other.
FORMAT = 1

#: Parameters that are objects rather than settings, so are not written: a fitted
#: backbone (its weights are inside the dual-stream network) and a shared cache.
_NOT_SAVED = ("backbone", "cache")


def sidecar(est) -> dict:
    """The JSON description of a fitted estimator (without its estimator-specific additions)."""
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in _NOT_SAVED}
    info = {"format": FORMAT, "estimator": type(est).__name__, "params": to_jsonable(params),
            "layout": est.layout_, "n_frames": est.n_frames_, "history": to_jsonable(est.history_),
            "torch": torch.__version__}
    if est._task == "classification":
        info["classes"] = to_jsonable(list(est.classes_))
    else:
        info["y_mean"], info["y_scale"] = est.y_mean_, est.y_scale_
    return info


def save_estimator(est, path: str | Path) -> tuple[Path, Path]:
    """Write ``<path>.pt`` and ``<path>.json`` for a fitted estimator; returns the two paths."""
    check_is_fitted(est, "module_")
    path = Path(path)
    pt, side = path.with_suffix(".pt"), path.with_suffix(".json")
    tensors = {f"module.{k}": v.detach().cpu() for k, v in est.module_.state_dict().items()}
    tensors.update({f"extra.{k}": torch.as_tensor(v) for k, v in est._extra_tensors().items()})
    torch.save(tensors, pt)
    side.write_text(json.dumps(est._sidecar(), indent=1, allow_nan=False))
    return pt, side


def load_as(cls, path: str | Path):
    """Rebuild a fitted ``cls`` estimator from files written by :func:`save_estimator`."""
    path = Path(path)
    pt, side = path.with_suffix(".pt"), path.with_suffix(".json")
    for p in (pt, side):
        if not p.is_file():
            raise FileNotFoundError(f"missing {p}")
    try:
        info = json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{side} is not valid JSON: {exc}") from exc
    if info.get("format") != FORMAT or info.get("estimator") != cls.__name__:
        raise ValueError(f"{side} describes a {info.get('estimator')!r} (format {info.get('format')}), "
                         f"not a {cls.__name__} (format {FORMAT})")
    tensors = torch.load(pt, map_location="cpu", weights_only=True)
    params = dict(info["params"])
    params.pop("cache_frozen", None)   # files written before the cache became a `cache=` argument
    est = cls(**params)
    est.layout_, est.n_frames_, est.history_ = info["layout"], info["n_frames"], info["history"]
    if cls._task == "classification":
        est.classes_ = np.asarray(info["classes"])
    else:
        est.y_mean_, est.y_scale_ = info["y_mean"], info["y_scale"]
    extra = {k[len("extra."):]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")}
    est._restore(info, extra)
    state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
    est.module_.load_state_dict(state)
    est.module_.eval()
    return est


def load_estimator(path: str | Path):
    """Load any deep estimator (ST-GCN or dual-stream, classifier or regressor) from its ``.json`` and ``.pt``."""
    from models.deep.dual_stream import DualStreamClassifier, DualStreamRegressor
    from models.deep.stgcn_estimators import STGCNClassifier, STGCNRegressor

    side = Path(path).with_suffix(".json")
    try:
        name = json.loads(side.read_text()).get("estimator")
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {side}: {exc}") from exc
    classes = {c.__name__: c for c in (STGCNClassifier, STGCNRegressor, DualStreamClassifier, DualStreamRegressor)}
    if name not in classes:
        raise ValueError(f"{side} names an unknown estimator {name!r}")
    return load_as(classes[name], path)
