"""The manifest of a model bundle: what the folder holds, checked before any model file is deserialised.

``manifest.json`` is written last by :func:`evaluation.bundle.train_bundle`. It names the bundle's format
(:data:`FORMAT`), the suites and models, the preprocessing the models expect, the training data (with the
simulated flag), the cross-validated metrics, the package versions, and the SHA-256 and size of every
other file in the folder. :func:`verify` checks all of that against an explicit schema and the files on
disk; only then does :mod:`evaluation.bundle.formats` open a model file.

The SHA-256 list guards against corruption and edits made outside :func:`train_bundle`; it is a checksum,
not a signature: load bundles only from sources you trust.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

from models.errors import ModelFileError

__all__ = ["FORMAT", "MANIFEST", "MODEL_FORMATS", "BundleError", "digest", "verify", "read_json", "checksum"]

#: Version of the bundle layout this code writes and reads; a newer bundle is refused with its version named.
FORMAT = 1
#: Name of the manifest file inside a bundle folder.
MANIFEST = "manifest.json"
#: How a model file is stored: scikit-learn objects with skops (explicitly trusted types only), XGBoost's own
#: JSON model with a JSON parameter file, and the deep estimators' weights-only ``.pt`` with its sidecar.
MODEL_FORMATS = ("skops", "xgboost-json", "torch-state-dict")
#: The roles of a model file: the model fitted on all training patients, or one of the K fold models.
_ROLE = re.compile(r"final|fold[0-9]{1,2}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}")
_SAFE_PATH = re.compile(r"[A-Za-z0-9_.-]{1,120}(/[A-Za-z0-9_.-]{1,120}){0,6}")
_HEX64 = re.compile(r"[0-9a-f]{64}")

_TOP_KEYS = {"format": int, "kind": str, "created": str, "suites": list, "layout": str, "preprocessing": dict,
             "data": dict, "models": list, "primary": dict, "cv": dict, "ensemble_k": int, "random_state": int,
             "environment": dict, "files": dict, "typical_ranges": str, "typical_curves": str, "checksum": str}
_MODEL_KEYS = {"suite": str, "name": str, "role": str, "format": str, "files": list, "description": str,
               "inputs": str, "features": list, "classes": (list, type(None)), "network": bool}
_PREPROCESSING_KEYS = {"window": int, "stride": int, "min_valid": float, "conf": float, "fps_range": list}


class BundleError(ModelFileError):
    """A model bundle that is missing, damaged, altered, of a newer format, or not of this schema."""


def digest(data: bytes) -> dict:
    """``{"sha256": hex, "bytes": n}`` of a file's content."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def checksum(manifest: dict) -> str:
    """SHA-256 of the manifest's content without its ``checksum`` key (canonical JSON: sorted keys, no spaces)."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_json(data: bytes, path: Path, what: str):
    """Parse JSON bytes; NaN/Infinity and malformed text raise :class:`BundleError` naming ``path``."""
    def bad(token):
        raise BundleError(f"{path} holds {token}, which is not standard JSON", path)

    try:
        return json.loads(data.decode("utf-8"), parse_constant=bad)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"{path} is not a valid JSON {what}: {exc}", path) from None


def _check_types(obj: dict, keys: dict, where: str, path: Path) -> None:
    if not isinstance(obj, dict):
        raise BundleError(f"{path}: {where} must be a JSON object", path)
    missing, unknown = sorted(set(keys) - set(obj)), sorted(set(obj) - set(keys))
    if missing or unknown:
        raise BundleError(f"{path}: {where} is missing {missing} / has unknown keys {unknown}", path)
    for key, kind in keys.items():
        value = obj[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise BundleError(f"{path}: {where}[{key!r}] has the wrong type ({type(value).__name__})", path)


def _check_schema(man: dict, path: Path) -> None:
    fmt = man.get("format") if isinstance(man, dict) else None
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise BundleError(f"{path} is not a gaitfeat model bundle manifest ('format' must be an integer)", path)
    if fmt > FORMAT:
        raise BundleError(f"{path} is bundle format {fmt}, newer than this version of gaitfeat reads (format "
                          f"{FORMAT}); update gaitfeat to use it", path)
    if fmt < 1:
        raise BundleError(f"{path}: unknown bundle format {fmt}", path)
    _check_types(man, _TOP_KEYS, "the manifest", path)
    if man["checksum"] != checksum(man):
        raise BundleError(f"{path} was edited after the bundle was written (its checksum does not match its "
                          "content); refusing to use it — train the bundle again, or restore the original manifest",
                          path)
    if man["kind"] != "gaitfeat-model-bundle":
        raise BundleError(f"{path}: 'kind' must be 'gaitfeat-model-bundle', got {man['kind']!r}", path)
    pre = man["preprocessing"]
    _check_types(pre, _PREPROCESSING_KEYS, "'preprocessing'", path)
    lo_hi = pre["fps_range"]
    if len(lo_hi) != 2 or not all(_is_number(v) for v in lo_hi) or not 0 < lo_hi[0] <= lo_hi[1]:
        raise BundleError(f"{path}: 'fps_range' must be [low, high] frames per second", path)
    if not (8 <= pre["window"] <= 72_000 and 1 <= pre["stride"] <= 72_000 and 0 <= pre["min_valid"] <= 1
            and 0 <= pre["conf"] <= 1):
        raise BundleError(f"{path}: 'preprocessing' out of range (window >= 8, stride >= 1, min_valid and conf in "
                          f"[0, 1]): {pre}", path)
    _check_suites(man, path)
    if not isinstance(man["data"].get("simulated"), bool) or not isinstance(man["data"].get("description"), str):
        raise BundleError(f"{path}: 'data' must say whether the training data were simulated ('simulated': "
                          "true/false) and describe them ('description')", path)
    if not man["models"]:
        raise BundleError(f"{path} lists no model", path)
    for i, m in enumerate(man["models"]):
        _check_types(m, _MODEL_KEYS, f"models[{i}]", path)
        if m["format"] not in MODEL_FORMATS:
            raise BundleError(f"{path}: models[{i}] has format {m['format']!r}; only {MODEL_FORMATS} are accepted "
                              "(no pickle)", path)
        if not _ROLE.fullmatch(m["role"]) or not _SAFE_NAME.fullmatch(m["name"]) or m["suite"] not in man["suites"]:
            raise BundleError(f"{path}: models[{i}] has a bad role, name or suite "
                              f"({m['role']!r}, {m['name']!r}, {m['suite']!r})", path)
        _check_model_io(m, i, path)
        for f in m["files"]:
            if not isinstance(f, str) or f not in man["files"]:
                raise BundleError(f"{path}: models[{i}] names file {f!r}, which the manifest's file list lacks", path)
    if set(man["primary"]) != set(man["suites"]):
        raise BundleError(f"{path}: 'primary' must name one model for each suite {man['suites']}, got "
                          f"{sorted(map(str, man['primary']))}", path)
    for suite, name in man["primary"].items():
        if not isinstance(name, str) or not any(m["suite"] == suite and m["name"] == name and m["role"] == "final"
                                                for m in man["models"]):
            raise BundleError(f"{path}: the primary model {name!r} of {suite!r} is not in the bundle", path)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_suites(man: dict, path: Path) -> None:
    from evaluation.suites import SUITES

    suites = man["suites"]
    if not suites or not all(isinstance(s, str) and s in SUITES and not SUITES[s].targets for s in suites) \
            or len(set(suites)) != len(suites):
        raise BundleError(f"{path}: 'suites' must be distinct names of single-target suites, got {suites!r}", path)
    cv = man["cv"]
    ok = all(isinstance(per, dict) and all(isinstance(ms, dict) and all(
        v is None or _is_number(v) or (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v))
        for v in ms.values()) for ms in per.values()) for per in cv.values())
    if not ok:
        raise BundleError(f"{path}: 'cv' must map suite -> model -> metric -> number, [low, high] or null", path)
    env = man["environment"]
    if not isinstance(env.get("git", {}), dict) or not isinstance(env.get("packages", {}), dict):
        raise BundleError(f"{path}: 'environment' must hold 'git' and 'packages' objects", path)


def _check_model_io(m: dict, i: int, path: Path) -> None:
    """A model entry's inputs, features and class positions fit its suite."""
    from evaluation.suites import SUITES

    suite = SUITES[m["suite"]]
    if m["inputs"] not in ("features", "clips", "clips+features"):
        raise BundleError(f"{path}: models[{i}] has inputs {m['inputs']!r} (features, clips or clips+features)", path)
    feats = m["features"]
    if not all(isinstance(f, str) for f in feats) or bool(feats) != (m["inputs"] == "features"):
        raise BundleError(f"{path}: models[{i}] must list its feature columns (text) exactly when it reads features",
                          path)
    classes = m["classes"]
    if suite.task == "classification":
        n = len(suite.labels)
        if not (isinstance(classes, list) and len(classes) >= 2 and len(set(classes)) == len(classes)
                and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < n for c in classes)):
            raise BundleError(f"{path}: models[{i}] 'classes' must be 2 or more distinct class positions in "
                              f"0..{n - 1}, got {classes!r}", path)
    elif classes is not None:
        raise BundleError(f"{path}: models[{i}] is a regressor; its 'classes' must be null", path)


def _check_files(man: dict, root: Path, path: Path) -> dict[str, bytes]:
    """Every listed file: a safe relative path inside the bundle, with the listed size and SHA-256."""
    contents = {}
    for rel, entry in man["files"].items():
        if not isinstance(rel, str) or not _SAFE_PATH.fullmatch(rel) or ".." in rel.split("/"):
            raise BundleError(f"{path} lists a file path that is not a plain relative path: {rel!r}", path)
        ok = (isinstance(entry, dict) and set(entry) == {"sha256", "bytes"} and isinstance(entry["sha256"], str)
              and _HEX64.fullmatch(entry["sha256"]) and isinstance(entry["bytes"], int))
        if not ok:
            raise BundleError(f"{path}: the entry of {rel} must be {{'sha256': <64 hex digits>, 'bytes': <int>}}",
                              path)
        p = root / rel
        # Every component from the bundle folder down must be a real folder or file inside it (no symlink).
        parts = [root.joinpath(*rel.split("/")[:k]) for k in range(1, len(rel.split("/")) + 1)]
        if any(q.is_symlink() for q in parts) or not p.is_file():
            raise BundleError(f"{p}: missing from the bundle, or not a plain file inside it (symlinks are refused)", p)
        if p.stat().st_size != entry["bytes"]:
            raise BundleError(f"{p} does not match the bundle manifest ({p.stat().st_size} bytes, the manifest says "
                              f"{entry['bytes']}): it was changed, swapped or corrupted after the bundle was "
                              "written; refusing to use it", p)
        data = p.read_bytes()
        got = digest(data)
        if got != entry:
            raise BundleError(f"{p} does not match the bundle manifest (expected SHA-256 {entry['sha256'][:16]}… of "
                              f"{entry['bytes']} bytes, found {got['sha256'][:16]}… of {got['bytes']} bytes): it was "
                              "changed, swapped or corrupted after the bundle was written; refusing to use it", p)
        contents[rel] = data
    return contents


def verify(root: str | Path) -> tuple[dict, dict[str, bytes]]:
    """Read and check a bundle folder's manifest and every file it lists; nothing is deserialised.

    Returns
    -------
    manifest : dict
    contents : dict
        ``{relative path: bytes}`` of every listed file and of the manifest itself, as verified (later steps
        parse these bytes, not the files again, so nothing can change between the check and the use).

    Raises
    ------
    BundleError
        No manifest, malformed or unknown keys, a newer format (named), a model format other than
        :data:`MODEL_FORMATS`, a listed file missing or different from its SHA-256.
    """
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root}: no such model bundle folder", root)
    if not path.is_file():
        raise BundleError(f"{root} is not a model bundle: {MANIFEST} is missing", path)
    raw = path.read_bytes()
    man = read_json(raw, path, "manifest")
    if not isinstance(man, dict):
        raise BundleError(f"{path} must hold a JSON object", path)
    _check_schema(man, path)
    contents = _check_files(man, root, path)
    contents[MANIFEST] = raw
    return man, contents
