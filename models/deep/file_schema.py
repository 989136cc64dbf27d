"""The schema of a deep estimator's JSON sidecar: every key, its type and allowed values.

:func:`check_sidecar` is called by :mod:`models.deep.persistence` before a
loaded sidecar is used; it raises :class:`~models.errors.ModelFileError`
naming the file and the key.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gaitfeat.layouts import get_layout
from models.checks import as_finite, short_repr
from models.errors import ModelFileError

__all__ = ["check_sidecar", "check_device", "SCHEMA", "PARAMS", "NUMERIC_PARAMS", "MAX_FRAMES", "MAX_TARGET",
           "MIN_Y_SCALE", "MAX_LR", "MAX_COUNT", "MAX_WIDTH", "SEQUENCE_PARAMS"]

#: Longest clip (frames) a sidecar's ``n_frames`` may state (10 minutes at 120 fps); at least 8.
MAX_FRAMES = 72_000
#: Largest |target mean| and target scale a regressor is fitted on or loaded with.
MAX_TARGET = 1e15
#: Smallest target scale (standard deviation) a regressor keeps: a smaller spread counts as constant targets (scale 1).
MIN_Y_SCALE = 1e-12
#: Largest learning rate accepted (any of ``lr``, ``pretrain_lr``, ``finetune_lr``).
MAX_LR = 10.0
#: Largest count (epochs, batch size, patience, clips per epoch, ...) accepted; random_state must fit 32 bits (sklearn).
MAX_COUNT = 10**9
#: Largest layer width, bin count, kernel or frame pool of the sequence networks.
MAX_WIDTH = 4096
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,3})?")

#: Parameters retired from the estimators; old sidecars may still carry them (dropped on load).
_RETIRED = ("cache_frozen",)
#: The estimators a sidecar may describe.
_ESTIMATORS = ("STGCNClassifier", "STGCNRegressor", "DualStreamClassifier", "DualStreamRegressor",
               "TemporalCNNRegressor", "CNNLSTMRegressor")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v) -> bool:
    return as_finite(v) is not None           # never np.isfinite on an arbitrary object (10**300 is a TypeError)


def _int(lo=None, hi=None, none=False) -> Callable:
    def check(v):
        if v is None and none:
            return None
        if not _is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f" in [{lo}, {'∞)' if hi is None else str(hi) + ']'}" if lo is not None else ""
            return f"an integer{rng}{' or null' if none else ''}"
        return None
    return check


def _real(lo=None, hi=None, lo_open=False, hi_open=False) -> Callable:
    def check(v):
        bad = not _is_real(v)
        v = as_finite(v)
        if not bad and lo is not None:
            bad = v <= lo if lo_open else v < lo
        if not bad and hi is not None:
            bad = v >= hi if hi_open else v > hi
        if bad:
            low = "(-∞" if lo is None else f"{'(' if lo_open else '['}{lo}"
            high = "∞)" if hi is None else f"{hi}{')' if hi_open else ']'}"
            return f"a finite number in {low}, {high}"
        return None
    return check


def _one_of(*choices) -> Callable:
    def check(v):
        return None if any(v == c and type(v) is type(c) for c in choices) else f"one of {list(choices)}"
    return check


def _boolean(v):
    return None if isinstance(v, bool) else "true or false"


def _string(none=False) -> Callable:
    def check(v):
        return None if isinstance(v, str) or (none and v is None) else f"a string{' or null' if none else ''}"
    return check


def _layout(v):
    try:
        get_layout(v) if isinstance(v, str) else None
    except Exception:
        return "a known layout name (e.g. 'coco17', 'body25')"
    return None if isinstance(v, str) else "a layout name"


def _config(v):
    from models.deep.stgcn import CONFIGS

    return None if isinstance(v, str) and v in CONFIGS else f"one of {sorted(CONFIGS)}"


def _features_param(v):
    from gaitfeat.features import FEATURE_SETS

    if isinstance(v, str) and (v == "gradcam" or v in FEATURE_SETS):
        return None
    known = FEATURE_SETS["extended"]
    if isinstance(v, list) and v and all(isinstance(f, str) and f in known for f in v) and len(set(v)) == len(v):
        return None
    return "'gradcam', a feature-set name or a list of unique feature names"


def _str_list(v):
    return None if isinstance(v, list) and all(isinstance(s, str) for s in v) else "a list of strings"


def check_device(v):
    """None when ``v`` is a device name the estimators accept ("auto", "cpu", "cuda", "cuda:<n>", "mps"), else what was expected."""
    if isinstance(v, str) and _DEVICE.fullmatch(v):
        return None
    return "one of 'auto', 'cpu', 'cuda', 'cuda:<n>', 'mps'"


def _widths(v):
    if (isinstance(v, (list, tuple)) and 1 <= len(v) <= 64
            and all(_is_int(w) and 1 <= w <= MAX_WIDTH for w in v)):
        return None
    return f"a non-empty list of at most 64 integers in [1, {MAX_WIDTH}]"


def _odd_int(lo: int, hi: int) -> Callable:
    def check(v):
        return None if _is_int(v) and lo <= v <= hi and v % 2 == 1 else f"an odd integer in [{lo}, {hi}]"
    return check


def _verbose(v):
    return None if isinstance(v, bool) or _is_int(v) else "true, false or an integer"


#: Numeric settings checked in ``fit`` (the same rules as the sidecar schema; see ``DeepEstimator._check_common``).
NUMERIC_PARAMS = ("dropout", "epochs", "lr", "batch_size", "weight_decay", "patience", "validation_fraction",
                  "noise_std", "clips_per_epoch", "fps", "device", "pretrain_epochs", "pretrain_lr", "phase1_epochs",
                  "finetune_lr", "unfreeze_blocks", "cam_threshold", "cam_clips", "n_bins", "kernel_size",
                  "hidden_size", "frame_pool", "widths")

#: Parameters shared by all four estimators: name -> check (returns what was expected, or None when fine).
_COMMON = {
    "layout": _layout, "config": _config, "edge_importance": _boolean, "dropout": _real(0, 1, hi_open=True),
    "epochs": _int(1, MAX_COUNT), "lr": _real(0, MAX_LR, lo_open=True), "batch_size": _int(1, MAX_COUNT), "weight_decay": _real(0),
    "early_stopping": _boolean, "patience": _int(0, MAX_COUNT, none=True), "monitor": _one_of("accuracy", "loss"),
    "validation_fraction": _real(0, 1, lo_open=True, hi_open=True), "flip": _boolean, "noise_std": _real(0),
    "class_weight": _one_of(None, "balanced"), "clips_per_epoch": _int(1, MAX_COUNT, none=True), "device": check_device,
    "random_state": _int(0, 2**32 - 1, none=True), "verbose": _verbose,
}
#: Per-estimator parameter schema.
PARAMS = {
    "STGCN": {**_COMMON, "pretrained": _string(none=True)},
    "DualStream": {**_COMMON, "features": _features_param, "fusion": _one_of("concat", "xattn"),
                   "fps": _real(0, None, lo_open=True), "pretrain_epochs": _int(1, MAX_COUNT),
                   "pretrain_lr": _real(0, MAX_LR, lo_open=True), "phase1_epochs": _int(0, MAX_COUNT),
                   "finetune_lr": _real(0, MAX_LR, lo_open=True), "unfreeze_blocks": _int(0, MAX_COUNT),
                   "cam_threshold": _real(0, 1), "cam_always": _str_list, "cam_clips": _int(1, MAX_COUNT)},
}
#: Settings of both sequence regressors (:mod:`models.deep.sequence_estimators`).
SEQUENCE_PARAMS = {
    **{k: _COMMON[k] for k in ("layout", "dropout", "epochs", "lr", "batch_size", "weight_decay", "early_stopping",
                               "patience", "validation_fraction", "flip", "noise_std", "clips_per_epoch", "device",
                               "random_state", "verbose")},
    "head": _one_of("regression", "buckets"), "n_bins": _int(2, MAX_WIDTH), "correction": _one_of("none", "linear"),
    "widths": _widths,
}
PARAMS["TemporalCNN"] = {**SEQUENCE_PARAMS, "kernel_size": _odd_int(1, 255)}
PARAMS["CNNLSTM"] = {**SEQUENCE_PARAMS, "hidden_size": _int(1, MAX_WIDTH), "frame_pool": _int(1, 64)}


def _history(v):
    if not isinstance(v, list):
        return "a list of per-epoch records"
    for row in v:
        if not (isinstance(row, dict) and all(isinstance(x, (numbers.Real, type(None))) for x in row.values())):
            return "a list of objects of numbers (per-epoch records)"
    return None


def _classes(v):
    if not (isinstance(v, list) and len(v) >= 2):
        return "a list of at least 2 class labels"
    if not (all(_is_int(c) and -2**63 <= c < 2**63 for c in v) or all(isinstance(c, str) for c in v)):
        return "a list of labels that are all integers or all strings (integers within 64 bits)"
    if len(set(v)) != len(v):
        return "a list of unique labels"
    if v != sorted(v):
        return "a sorted list of labels (as fit writes it)"
    return None


def _feature_names(v):
    from gaitfeat.features import FEATURE_SETS

    known = FEATURE_SETS["extended"]
    if isinstance(v, list) and v and all(isinstance(f, str) and f in known for f in v) and len(set(v)) == len(v):
        return None
    return "a non-empty list of unique names from gaitfeat.FEATURES or gaitfeat.EXTENDED_FEATURES"


#: Top-level keys of the sidecar: name -> check. ``classes`` (classifiers), ``y_mean``/``y_scale``
#: (regressors) and ``features``/``n_blocks`` (dual-stream) are added by :func:`_schema`.
SCHEMA = {
    "format": _int(1), "estimator": _one_of(*_ESTIMATORS), "params": None, "layout": _layout,
    "n_frames": _int(8, MAX_FRAMES), "history": _history, "torch": _string(),
}


def _targets(check_one: Callable) -> Callable:
    """A target statistic: one number (a single-target fit) or a non-empty list of numbers (one per target)."""
    def check(v):
        if isinstance(v, list):
            if not v or len(v) > MAX_WIDTH:
                return f"a number or a list of 1 to {MAX_WIDTH} numbers"
            bad = [check_one(x) for x in v if check_one(x)]
            return f"a list of which every entry is {bad[0]}" if bad else None
        return check_one(v)
    return check


def _schema(cls) -> dict:
    keys = dict(SCHEMA)
    if cls._task == "classification":
        keys["classes"] = _classes
    else:
        # One number per statistic for a single target, a list of one per target for several.
        keys["y_mean"] = _targets(_real(-MAX_TARGET, MAX_TARGET))
        keys["y_scale"] = _targets(_real(MIN_Y_SCALE, MAX_TARGET))
    if cls.__name__.startswith("DualStream"):
        keys["features"], keys["n_blocks"] = _feature_names, _int(1)
    return keys


def check_sidecar(info: dict, cls, side: Path, legacy: bool) -> dict:
    """Validate ``info`` against the schema of ``cls``; returns the parameters to build the estimator with."""
    def fail(problem):
        raise ModelFileError(f"{side}: {problem}", side)

    if info.get("estimator") != cls.__name__:
        fail(f"describes a {info.get('estimator')!r}, not a {cls.__name__}")
    keys = _schema(cls)
    missing = sorted(set(keys) - set(info) - ({"torch"} if legacy else set()))
    unknown = sorted(set(info) - set(keys))
    if missing:
        fail(f"lacks {missing}")
    if unknown:
        fail(f"has unknown keys {unknown}")
    for key, check in keys.items():
        if check is not None and key in info:
            expected = check(info[key])
            if expected:
                fail(f"{key!r} must be {expected}, got {short_repr(info[key])}")
    params = info["params"]
    if not isinstance(params, dict):
        fail(f"'params' must be an object, got {params!r}")
    if isinstance(info.get("y_mean"), list) != isinstance(info.get("y_scale"), list) or (
            isinstance(info.get("y_mean"), list) and len(info["y_mean"]) != len(info["y_scale"])):
        fail("'y_mean' and 'y_scale' must both be numbers or both lists of one entry per target")
    spec = PARAMS[cls._schema_key]
    params = {k: v for k, v in params.items() if k not in _RETIRED}
    unknown = sorted(set(params) - set(spec))
    if unknown:
        fail(f"'params' has unknown keys {unknown}")
    missing = sorted(set(spec) - set(params))
    if missing and not legacy:
        fail(f"'params' lacks {missing}")
    for key, value in params.items():
        expected = spec[key](value)
        if expected:
            fail(f"params[{key!r}] must be {expected}, got {short_repr(value)}")
    if get_layout(params.get("layout", info["layout"])).name != get_layout(info["layout"]).name:
        fail(f"'layout' {info['layout']!r} differs from params['layout'] {params['layout']!r}")
    return params
