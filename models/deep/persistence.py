"""Saving and loading the deep estimators: weights-only ``.pt``, a JSON sidecar and a manifest; no pickle.

Files written by :func:`save_estimator` for ``path`` (format :data:`FORMAT`):

``<path>.pt``
    Tensors only — the network's state dict under ``module.*`` and an
    estimator's other fitted arrays (e.g. the feature standardisation) under
    ``extra.*`` (the sequence regressors' bin edges and correction) — read back
    with ``torch.load(weights_only=True)``.
``<path>.json`` (the sidecar)
    The format number, the estimator's class name and parameters, the classes
    (or the target's mean and scale: numbers for one target, lists of ``K``
    for ``K`` targets), the layout, the clip length and the
    training history (and, for the dual-stream estimators, the clinical
    features and the number of blocks).
``<path>.manifest.json`` (written last)
    ``{"format": 2, "files": {"<name>.pt": {"sha256": ..., "bytes": ...},
    "<name>.json": {...}}}``: the format and the SHA-256 and size of every
    other file written.

Loading (:func:`load_as`, :func:`load_estimator`, ``Estimator.load``)
verifies before it uses anything, and refuses with a
:class:`~models.errors.ModelFileError` naming the file and the problem:

1. the manifest: present, well-formed, not of a newer format (the version is
   named), listing exactly the two files;
2. each file's size and SHA-256 against the manifest (a file changed,
   truncated or swapped after saving is refused; the bytes checked are the
   bytes then parsed);
3. the sidecar against an explicit schema (:mod:`models.deep.file_schema`: ``SCHEMA``
   and the per-estimator parameter table): every key present with its type and allowed values,
   classes a list of 2 or more unique 64-bit integers or unique strings,
   numbers finite and bounded (``n_frames`` in [8, 72000], ``|y_mean|`` <=
   1e15, ``y_scale`` in [1e-12, 1e15], learning rates <= 10, counts <= 1e9),
   ``device`` one of auto/cpu/cuda/cuda:<n>/mps, no unknown keys (``n_frames``
   is a record of the training clips' length; the network pools over time,
   so no tensor can confirm it);
4. the tensors against the network the sidecar describes: the same keys,
   shapes and dtypes (so ``classes`` must match the head's size), all finite.

The manifest guards against corruption and against edits that were not made
through :meth:`save` (e.g. a hand-edited ``"classes"``); it is a checksum,
not a signature — load model files only from sources you trust.

Files written before manifests existed (format 1) are refused with a message
saying how to re-save them: ``load_estimator(path, verify=False)`` loads such
a file with a warning (still checked against the schema and the network)
and ``est.save(path)`` then writes it with a manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from gaitfeat.jsonable import to_jsonable
from gaitfeat.layouts import get_layout
from models.deep.file_schema import check_sidecar
from models.errors import ModelFileError

__all__ = ["save_estimator", "load_as", "load_estimator", "model_paths", "FORMAT", "ModelFileError"]

#: Version of the file layout. 2: manifest with SHA-256 of every file. 1: ``.pt`` and sidecar only (read
#: only with ``verify=False``). Newer versions are refused with the version named.
FORMAT = 2
_LEGACY_FORMAT = 1

#: Parameters that are objects rather than settings, so are not written: a fitted
#: backbone (its weights are inside the dual-stream network) and a shared cache.
_NOT_SAVED = ("backbone", "cache")
#: Parameters of earlier versions that files may still hold; dropped on loading.
_RETIRED = ("cache_frozen",)

_ESTIMATORS = ("STGCNClassifier", "STGCNRegressor", "DualStreamClassifier", "DualStreamRegressor",
               "TemporalCNNRegressor", "CNNLSTMRegressor")


def model_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """``(<path>.pt, <path>.json, <path>.manifest.json)``: the three files of a saved estimator."""
    path = Path(path)
    return path.with_suffix(".pt"), path.with_suffix(".json"), path.with_suffix(".manifest.json")


# ---- saving ------------------------------------------------------------------------------------------
def sidecar(est) -> dict:
    """The JSON description of a fitted estimator (without its estimator-specific additions)."""
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in est.get_params(deep=False).items()
              if k not in _NOT_SAVED}
    info = {"format": FORMAT, "estimator": type(est).__name__, "params": to_jsonable(params),
            "layout": est.layout_, "n_frames": est.n_frames_, "history": to_jsonable(est.history_),
            "torch": torch.__version__}
    if est._task == "classification":
        info["classes"] = to_jsonable(list(est.classes_))
    else:
        # One target: numbers (the format before multi-output); K targets: lists of K.
        info["y_mean"], info["y_scale"] = to_jsonable(est.y_mean_), to_jsonable(est.y_scale_)
    return info


def _digest(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def save_estimator(est, path: str | Path) -> tuple[Path, Path, Path]:
    """Write ``<path>.pt``, ``<path>.json`` and ``<path>.manifest.json`` for a fitted estimator; returns the paths.

    The sidecar is checked against the schema before anything is written, so
    a file that :func:`load_estimator` would refuse is never saved.
    """
    check_is_fitted(est, "module_")
    pt, side, man = model_paths(path)
    tensors = {f"module.{k}": v.detach().cpu() for k, v in est.module_.state_dict().items()}
    tensors.update({f"extra.{k}": torch.as_tensor(v) for k, v in est._extra_tensors().items()})
    info = est._sidecar()
    try:
        text = json.dumps(info, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot save {type(est).__name__} to {side}: a setting is not plain JSON ({exc}); "
                             "use numbers, strings, lists and None for its parameters", side) from None
    check_sidecar(json.loads(text), type(est), side, legacy=False)
    buf = io.BytesIO()
    torch.save(tensors, buf)
    pt_bytes, side_bytes = buf.getvalue(), text.encode("utf-8")
    manifest = {"format": FORMAT, "files": {pt.name: _digest(pt_bytes), side.name: _digest(side_bytes)}}
    for p, data in ((pt, pt_bytes), (side, side_bytes), (man, json.dumps(manifest, indent=1).encode("utf-8"))):
        try:
            p.write_bytes(data)
        except OSError as exc:
            raise ModelFileError(f"cannot write model file {p}: {exc.strerror or exc}", p) from None
    return pt, side, man


# ---- reading and verifying -----------------------------------------------------------------------------
def _read(p: Path) -> bytes:
    if not p.is_file():
        raise ModelFileError(f"missing model file {p}", p)
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {p}: {exc}", p) from None


def _json(data: bytes, p: Path, what: str):
    try:
        return json.loads(data.decode("utf-8"), parse_constant=lambda c: _bad_constant(c, p))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{p} is not a valid JSON {what}: {exc}", p) from None


def _bad_constant(token: str, p: Path):
    raise ModelFileError(f"{p} holds {token}, which is not standard JSON", p)


def _upgrade_hint(side: Path) -> str:
    stem = side.with_suffix("")
    return (f"if you trust the file, load it with load_estimator({str(stem)!r}, verify=False) and save it again "
            f"with est.save({str(stem)!r}), which writes a manifest")


def _verified_bytes(path, verify: bool) -> tuple[bytes, bytes, Path, Path]:
    """The ``.pt`` and sidecar bytes, checked against the manifest (or, ``verify=False``, a legacy file's)."""
    pt, side, man = model_paths(path)
    if not man.is_file():
        if verify:
            if side.is_file() or pt.is_file():
                raise ModelFileError(f"{man} is missing, so {side.name} and {pt.name} cannot be verified: model "
                                     f"files written before format {FORMAT} have no manifest; "
                                     + _upgrade_hint(side), man)
            raise ModelFileError(f"no saved estimator at {Path(path)}: {man.name}, {side.name} and {pt.name} are "
                                 "missing", man)
        warnings.warn(f"loading {side} and {pt} WITHOUT verification (verify=False): they are not checked against a "
                      f"manifest; save the estimator again to write one", UserWarning, stacklevel=3)
        return _read(pt), _read(side), pt, side
    manifest = _json(_read(man), man, "manifest")
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{man} is not a model manifest (a JSON object with 'format' and 'files')", man)
    fmt = _format(manifest, man)
    if fmt != FORMAT:
        raise ModelFileError(f"{man}: unknown model format {fmt} (this version writes and reads format {FORMAT})", man)
    files = manifest.get("files")
    if set(manifest) != {"format", "files"} or not isinstance(files, dict):
        raise ModelFileError(f"{man} must hold exactly 'format' and 'files' (an object of file name -> "
                             f"{{'sha256', 'bytes'}}), got keys {sorted(manifest)}", man)
    if set(files) != {pt.name, side.name}:
        raise ModelFileError(f"{man} lists {sorted(files)}, expected exactly {[pt.name, side.name]} (files renamed "
                             "after saving? save the estimator again under the new name)", man)
    out = []
    for p in (pt, side):
        entry = files[p.name]
        ok = (isinstance(entry, dict) and set(entry) == {"sha256", "bytes"} and isinstance(entry["sha256"], str)
              and len(entry["sha256"]) == 64 and isinstance(entry["bytes"], int))
        if not ok:
            raise ModelFileError(f"{man}: the entry for {p.name} must be {{'sha256': <64 hex digits>, 'bytes': <int>}}, "
                                 f"got {entry!r}", man)
        data = _read(p)
        got = _digest(data)
        if got != entry:
            raise ModelFileError(f"{p} does not match its manifest {man.name} (expected SHA-256 {entry['sha256'][:16]}… "
                                 f"of {entry['bytes']} bytes, found {got['sha256'][:16]}… of {got['bytes']} bytes): "
                                 "it was changed or corrupted after saving; refusing to use it", p)
        out.append(data)
    return out[0], out[1], pt, side


def _format(content: dict, p: Path) -> int:
    """The ``format`` of a manifest or sidecar: an integer no newer than :data:`FORMAT` (else ModelFileError)."""
    fmt = content.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise ModelFileError(f"{p}: 'format' must be an integer, got {fmt!r}", p)
    if fmt > FORMAT:
        raise ModelFileError(f"{p} is model format {fmt}, newer than this version reads (format {FORMAT}); "
                             "update gaitfeat to load it", p)
    return fmt


def _read_sidecar(path, verify: bool) -> tuple[dict, bytes, Path, Path]:
    pt_bytes, side_bytes, pt, side = _verified_bytes(path, verify)
    info = _json(side_bytes, side, "sidecar")
    if not isinstance(info, dict):
        raise ModelFileError(f"{side} must hold a JSON object, got {type(info).__name__}", side)
    fmt = _format(info, side)
    if verify and fmt != FORMAT:
        raise ModelFileError(f"{side}: format {fmt} does not match its manifest (format {FORMAT})", side)
    if not verify and fmt not in (FORMAT, _LEGACY_FORMAT):
        raise ModelFileError(f"{side}: unknown model format {fmt}", side)
    return info, pt_bytes, pt, side


# ---- the sidecar schema ------------------------------------------------------------------------------------
def _load_tensors(data: bytes, pt: Path) -> dict:
    try:
        tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:    # torch raises UnpicklingError, RuntimeError, EOFError... for a bad file
        raise ModelFileError(f"{pt} is not a weights-only tensor file: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}", pt) from None
    if not (isinstance(tensors, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in tensors.items())):
        raise ModelFileError(f"{pt} must hold a dict of name -> tensor", pt)
    for k, v in tensors.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ModelFileError(f"{pt}: tensor {k!r} holds non-finite values", pt)
    return tensors


def _check_state(est, state: dict, pt: Path, side: Path) -> None:
    """The tensors must be exactly the network's: same keys, shapes and dtypes."""
    expected = est.module_.state_dict()
    missing = sorted(set(expected) - set(state))
    unknown = sorted(set(state) - set(expected))
    if missing or unknown:
        raise ModelFileError(f"{pt} does not fit the network {side.name} describes: missing tensors "
                             f"{missing[:5]}, unexpected tensors {unknown[:5]}", pt)
    for k, ref in expected.items():
        got = state[k]
        if got.shape != ref.shape or got.dtype != ref.dtype:
            hint = ""
            if est._task == "classification" and k in est._output_keys:
                hint = (f": the sidecar lists {len(est.classes_)} classes but the network's head has "
                        f"{got.shape[0]} outputs")
            raise ModelFileError(f"{pt}: tensor {k!r} is {tuple(got.shape)} {got.dtype}, the network {side.name} "
                                 f"describes needs {tuple(ref.shape)} {ref.dtype}{hint}", pt)


def _load(cls, info: dict, pt_bytes: bytes, pt: Path, side: Path, legacy: bool):
    params = check_sidecar(info, cls, side, legacy)
    tensors = _load_tensors(pt_bytes, pt)
    est = cls(**params)
    est.layout_, est.n_frames_, est.history_ = get_layout(info["layout"]).name, info["n_frames"], info["history"]
    if cls._task == "classification":
        est.classes_ = np.asarray(info["classes"])
    else:
        multi = isinstance(info["y_mean"], list)
        est.multi_output_, est.n_targets_ = multi, len(info["y_mean"]) if multi else 1
        if multi:
            est.y_mean_, est.y_scale_ = np.asarray(info["y_mean"], float), np.asarray(info["y_scale"], float)
        else:
            est.y_mean_, est.y_scale_ = float(info["y_mean"]), float(info["y_scale"])
    extra = {k[len("extra."):]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")}
    expected_extra = est._extra_shapes(info)
    if set(extra) != set(expected_extra):
        raise ModelFileError(f"{pt}: extra tensors {sorted(extra)}, expected {sorted(expected_extra)}", pt)
    for k, shape in expected_extra.items():
        if extra[k].shape != shape or extra[k].dtype.kind != "f":
            raise ModelFileError(f"{pt}: tensor 'extra.{k}' is {extra[k].shape} {extra[k].dtype}, expected {shape} "
                                 f"floats (as {side.name} describes)", pt)
    for k, v in extra.items():
        if k.endswith("scale") and not (v > 0).all():
            raise ModelFileError(f"{pt}: tensor 'extra.{k}' must be positive", pt)
    try:
        est._restore(info, extra)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{side}: cannot rebuild the network it describes: {exc}", side) from None
    if "n_blocks" in info and est.module_.n_blocks != info["n_blocks"]:
        raise ModelFileError(f"{side}: 'n_blocks' is {info['n_blocks']} but config {params.get('config')!r} has "
                             f"{est.module_.n_blocks} blocks", side)
    state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
    _check_state(est, state, pt, side)
    est.module_.load_state_dict(state)
    est.module_.eval()
    return est


def load_as(cls, path: str | Path, *, verify: bool = True):
    """Rebuild a fitted ``cls`` estimator from files written by :func:`save_estimator`.

    Parameters
    ----------
    cls : type
        The estimator class the files must describe.
    path : str or Path
        The path given to ``save`` (any suffix is replaced).
    verify : bool
        True (the default): refuse files without a manifest. False: also
        load a file of format 1 (written before manifests) with a warning,
        so that it can be saved again with one; the sidecar and tensors are
        still checked.

    Raises
    ------
    ModelFileError
        A file missing, unreadable, changed since saving (SHA-256), of a newer
        format, or not matching the schema or the network; the message names
        the file and the problem.
    """
    info, pt_bytes, pt, side = _read_sidecar(path, verify)
    return _load(cls, info, pt_bytes, pt, side, legacy=info["format"] == _LEGACY_FORMAT)


def load_estimator(path: str | Path, *, verify: bool = True):
    """Load any deep estimator (ST-GCN, dual-stream or sequence regressor) saved with ``save``.

    The files are verified before use (see the module docstring and
    :func:`load_as`, whose ``verify`` this takes).
    """
    from models.deep.dual_stream import DualStreamClassifier, DualStreamRegressor
    from models.deep.sequence_estimators import CNNLSTMRegressor, TemporalCNNRegressor
    from models.deep.stgcn_estimators import STGCNClassifier, STGCNRegressor

    info, pt_bytes, pt, side = _read_sidecar(path, verify)
    classes = {c.__name__: c for c in (STGCNClassifier, STGCNRegressor, DualStreamClassifier, DualStreamRegressor,
                                       TemporalCNNRegressor, CNNLSTMRegressor)}
    name = info.get("estimator")
    if not isinstance(name, str) or name not in classes:
        raise ModelFileError(f"{side} names an unknown estimator {name!r} (expected one of {sorted(classes)})", side)
    return _load(classes[name], info, pt_bytes, pt, side, legacy=info["format"] == _LEGACY_FORMAT)
