"""Training a model bundle: cross-validated metrics, the K fold models and the models fitted on every patient.

:func:`train_bundle` runs, for each suite, the patient-level cross-validation of the chosen models (the same
harness, folds and metrics as ``python -m evaluation.run``), keeps the K fold models as an ensemble, and fits
each model once more on all patients (model selection and early stopping on a patient-disjoint inner
validation split, as inside every fold). It writes a bundle folder:

``manifest.json`` (written last)
    format, suites, models and their files, layout and preprocessing, training data (simulated or not),
    cross-validated patient-level metrics, primary model per suite, environment, SHA-256 of every file, and
    a checksum of the manifest's own content;
``models/<suite>/<model>/<role>.*``
    each model in a safe format (:mod:`evaluation.bundle.formats`); role ``final`` or ``fold<k>``;
``cv/<suite>/``
    the cross-validation record and report (``metrics.json``, ``index.html``, ...);
``training_predictions.csv``
    the final models' in-sample predictions per training video (mean over its clips), so an assessment of a
    training walk can be checked against them;
``feature_support.csv``
    each feature's range over the training clips (an assessed walk outside it is flagged as extrapolation);
``typical_ranges.csv``, ``typical_curves.csv``
    the typical feature ranges and gait-cycle angle bands the assessment report compares with.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.bundle.formats import model_format, save_model
from evaluation.bundle.manifest import FORMAT, MANIFEST, checksum, digest
from evaluation.data import Dataset, load_data
from evaluation.fitting import FoldState
from evaluation.provenance import environment
from evaluation.splits import Split, inner_split, stratification_labels
from evaluation.suites import SUITES
from evaluation.tasks import FitJob, RunSettings, run_fit
from evaluation.zoo import feature_columns, resolve_models

__all__ = ["train_bundle", "DEFAULT_MODELS", "TYPICAL_CURVES_FILE", "TYPICAL_RANGES_FILE"]

_MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "models"
#: The packaged typical references copied into every bundle.
TYPICAL_RANGES_FILE = _MODELS_DIR / "typical_ranges.csv"
TYPICAL_CURVES_FILE = _MODELS_DIR / "typical_curves.csv"
#: Models bundled when none are named: an interpretable feature model, a boosted one and (for GMFCS) the ST-GCN.
DEFAULT_MODELS = {"gmfcs": ("logreg_all", "xgb_all", "stgcn"), "gdi": ("ridge_all", "xgb_all"),
                  "taxonomy": ("logreg_extended", "xgb_extended")}
_BUNDLE_SUITES = ("gmfcs", "gdi", "taxonomy")


def _names_per_suite(models, suites) -> dict[str, list[str]]:
    from evaluation.zoo import MODELS

    if models is None:
        return {s: list(DEFAULT_MODELS[s]) for s in suites}
    if isinstance(models, dict):
        return {s: list(models.get(s, DEFAULT_MODELS[s])) for s in suites}
    names = [models] if isinstance(models, str) else list(models)
    unknown = [n for n in names if not any(n in MODELS[s] for s in suites)]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown} for suite(s) {list(suites)}; available: "
                         + "; ".join(f"{s}: {', '.join(MODELS[s])}" for s in suites))
    out = {s: [n for n in names if n in MODELS[s]] for s in suites}
    empty = [s for s, ns in out.items() if not ns]
    if empty:
        raise ValueError(f"none of the models {names} belongs to suite(s) {empty}")
    return out


def _check_savable(specs: dict) -> None:
    for name, spec in specs.items():
        if spec.network:
            continue
        try:
            est = spec.build(0)
            model_format(est)
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from None


def _cv_metrics(results) -> dict:
    table = results.summary_table("patient")
    out = {}
    for name, row in table.iterrows():
        metrics = {}
        for col in table.columns:
            if col.endswith("_ci"):
                continue
            v = row[col]
            lo, hi = row[f"{col}_ci"]
            finite = v is not None and np.isfinite(v)
            metrics[col] = float(v) if finite else None
            metrics[f"{col}_ci"] = [float(lo), float(hi)] if finite and np.isfinite(lo) and np.isfinite(hi) else None
        out[str(name)] = metrics
    if results.suite.task == "regression":
        # An assessment predicts one video: its interval uses the video-level error.
        video = results.summary_table("video")
        for name in out:
            v = video.loc[name, "rmse"]
            out[name]["rmse_video"] = float(v) if v is not None and np.isfinite(v) else None
    return out


def _primary(task: str, cv: dict, specs: dict) -> str:
    """The model a report leads with: the best patient-level balanced accuracy (or lowest RMSE), baselines last."""
    key, sign = ("balanced_accuracy", -1.0) if task == "classification" else ("rmse", 1.0)

    def rank(name):
        v = cv.get(name, {}).get(key)
        return (bool(specs[name].baseline), sign * v if v is not None else np.inf)

    return min(specs, key=rank)


def _in_sample(suite, name: str, ds: Dataset, out: np.ndarray, labels) -> pd.DataFrame:
    meta = ds.meta
    frame = pd.DataFrame({"video_id": meta["video_id"].to_numpy(), "patient_id": meta["patient_id"].to_numpy()})
    if labels is None:
        frame["value"] = out
    else:
        for j, level in enumerate(labels):
            frame[f"proba_{level}"] = out[:, j]
    agg = frame.groupby(["video_id", "patient_id"], sort=True)
    table = agg.mean().reset_index()
    table.insert(2, "n_clips", agg.size().to_numpy())
    table.insert(0, "model", name)
    table.insert(0, "suite", suite.name)
    return table


def _feature_support(features: pd.DataFrame) -> pd.DataFrame:
    """The range of every numeric feature over the training clips (min, 1st and 99th percentile, max): an
    assessed walk outside it is extrapolation for the models, and its report says so."""
    numeric = features.select_dtypes(include=[np.number])
    q = numeric.quantile([0.0, 0.01, 0.99, 1.0])
    return pd.DataFrame({"feature": numeric.columns, "min": q.loc[0.0].to_numpy(), "p01": q.loc[0.01].to_numpy(),
                         "p99": q.loc[0.99].to_numpy(), "max": q.loc[1.0].to_numpy(),
                         "n_clips": numeric.notna().sum().to_numpy()})


#: Training sources whose clips come from raw 2-D walks through ``preprocess`` + ``make_clips`` (the pipeline an
#: assessment repeats). Clips of unknown making (``npz``) and 3-D input projected onto the walking plane are not.
_REPRODUCIBLE_SOURCES = ("synthetic", "taxonomy", "kidzinski", "openpose", "mediapipe", "alphapose", "mmpose")


def _windowing(data: Dataset) -> dict:
    """How the training clips were windowed and filtered, from the data set's own report (never assumed)."""
    kind = str(data.source).partition(":")[0].strip().lower()
    if kind not in _REPRODUCIBLE_SOURCES:
        raise ValueError(f"training data {data.source!r}: an assessment preprocesses a raw 2-D walk and cuts it into "
                         "clips as the training clips were made, which it cannot repeat for this source; train on "
                         + ", ".join(_REPRODUCIBLE_SOURCES))
    info = (data.report or {}).get("clips")
    keys = ("window", "stride", "min_valid", "conf")
    if not isinstance(info, dict) or not all(k in info for k in keys):
        raise ValueError("the training Dataset does not record how its clips were windowed (report['clips'] with "
                         "window, stride, min_valid, conf: make_clips's ClipReport); an assessment must repeat it")
    if int(info["window"]) != data.clips.shape[1]:
        raise ValueError(f"the Dataset's report says {info['window']}-frame windows but its clips have "
                         f"{data.clips.shape[1]} frames")
    return {"window": int(info["window"]), "stride": int(info["stride"]), "min_valid": float(info["min_valid"]),
            "conf": float(info["conf"])}


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            if not overwrite:
                raise ValueError(f"{out} is not empty; choose a new folder or pass overwrite=True (--overwrite)")
            if not (out / MANIFEST).is_file():
                raise ValueError(f"{out} is not empty and is not a model bundle; refusing to overwrite it")
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def train_bundle(out, *, suites=("gmfcs",), models=None, data="synthetic", data_options: dict | None = None,
                 ensemble: bool = True, n_splits: int = 5, val_fraction: float = 0.2, deep_profile: str = "compact",
                 device: str = "cpu", class_weight: str | None = None, n_bootstrap: int = 200, random_state: int = 0,
                 threads: int = 2, progress: bool = False, overwrite: bool = False) -> Path:
    """Fit, cross-validate and save the chosen models of one or more suites as a bundle folder ``out``.

    Parameters
    ----------
    out : path
        The bundle folder (created; an existing non-empty one is refused unless ``overwrite`` and it holds a
        bundle).
    suites : sequence of {"gmfcs", "gdi", "taxonomy"}
        What the bundle predicts; every suite's models are trained on the same clips.
    models : None, list of str, or dict
        Model names of :data:`evaluation.zoo.MODELS`: ``None`` for :data:`DEFAULT_MODELS`; a list (each suite
        takes the names it has); or ``{suite: [names]}``. Ordinal models (no safe file format yet) are refused.
    data : str or Dataset
        Training data, as for :func:`evaluation.cross_validate` (default: the simulated cohort).
    data_options : dict, optional
        Passed to :func:`evaluation.load_data` (``layout``, ``n_patients``, ``window``, ...).
    ensemble : bool
        Keep the K fold models (for the assessment's uncertainty across the ensemble).
    n_splits, val_fraction, deep_profile, device, class_weight, n_bootstrap, random_state, threads, progress
        As :func:`evaluation.cross_validate`.
    overwrite : bool
        Replace an existing bundle at ``out``.

    Returns
    -------
    Path
        The bundle folder; load it with :func:`evaluation.load_bundle`.
    """
    from evaluation.harness import _labelled, cross_validate

    suites = (suites,) if isinstance(suites, str) else tuple(suites)
    bad = [s for s in suites if s not in _BUNDLE_SUITES]
    if not suites or bad:
        raise ValueError(f"a bundle holds models of the suites {_BUNDLE_SUITES}; got {list(suites)}")
    names = _names_per_suite(models, suites)
    specs = {s: resolve_models(names[s], SUITES[s], deep_profile=deep_profile, device=device) for s in suites}
    for s in suites:
        _check_savable(specs[s])
    out = Path(out)
    if isinstance(data, str) and data.partition(":")[0].strip().lower() not in _REPRODUCIBLE_SOURCES:
        raise ValueError(f"training data {data!r}: an assessment cannot repeat how its clips were made; train on "
                         + ", ".join(_REPRODUCIBLE_SOURCES))
    _prepare_out(out, overwrite)
    if isinstance(data, str):
        source = "taxonomy" if "taxonomy" in suites and data.strip().lower() == "synthetic" else data
        data = load_data(source, **{"random_state": random_state, **(data_options or {})})
    windowing = _windowing(data)
    _ = data.features           # once for every suite
    entries, cv, primary, tables = [], {}, {}, []
    settings_common = {"class_weight": class_weight, "random_state": random_state, "threads": threads}
    for s in suites:
        suite = SUITES[s]
        results = cross_validate(dict(specs[s]), data, s, n_splits=n_splits, val_fraction=val_fraction,
                                 class_weight=class_weight, n_bootstrap=n_bootstrap, random_state=random_state,
                                 threads=threads, progress=progress, keep_models=ensemble, rationales=False)
        results.write(out / "cv", name=s)
        cv[s] = _cv_metrics(results)
        primary[s] = _primary(suite.task, cv[s], specs[s])
        ds, y, _, _ = _labelled(data, suite)
        labels = np.asarray(suite.labels) if suite.task == "classification" else None
        y_fit = np.searchsorted(labels, y) if labels is not None else y
        rows = np.arange(len(ds))
        patients = ds.meta["patient_id"].to_numpy()
        fit_idx, val_idx = inner_split(stratification_labels(y, suite.task), patients, rows,
                                       val_fraction=val_fraction, random_state=random_state)
        settings = RunSettings(task=suite.task, n_classes=len(labels) if labels is not None else 0, **settings_common)
        final = FoldState()
        for name, spec in specs[s].items():
            outcome = run_fit(FitJob(name, Split(0, -1, rows, rows), fit_idx, val_idx), spec, ds, y_fit, settings,
                              fold=final)
            tables.append(_in_sample(suite, name, ds, outcome.out, labels))
        states = [("final", final)]
        if ensemble:
            states += [(f"fold{f}", st) for (r, f), st in sorted(results.fold_models.items()) if r == 0]
        for role, state in states:
            for name, spec in specs[s].items():
                est = state.models[name]
                fmt, paths = save_model(est, out / "models" / s / name, role)
                if spec.network:
                    classes = [int(c) for c in est.classes_] if suite.task == "classification" else None
                else:
                    cls = state.classes.get(name)
                    classes = None if cls is None else [int(c) for c in cls]
                entries.append({"suite": s, "name": name, "role": role, "format": fmt,
                                "files": [p.relative_to(out).as_posix() for p in paths],
                                "description": spec.description, "inputs": spec.inputs,
                                "features": feature_columns(spec) if spec.inputs == "features" else [],
                                "classes": classes, "network": bool(spec.network)})
    pd.concat(tables, ignore_index=True).to_csv(out / "training_predictions.csv", index=False, float_format="%.17g")
    _feature_support(data.features).to_csv(out / "feature_support.csv", index=False, float_format="%.6g")
    shutil.copyfile(TYPICAL_RANGES_FILE, out / "typical_ranges.csv")
    shutil.copyfile(TYPICAL_CURVES_FILE, out / "typical_curves.csv")
    fps = data.meta["fps"].to_numpy(float)
    manifest = {
        "format": FORMAT, "kind": "gaitfeat-model-bundle",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suites": list(suites), "layout": data.layout,
        "preprocessing": {**windowing, "fps_range": [float(fps.min()), float(fps.max())]},
        "data": {"source": data.source, "description": data.description, "simulated": bool(data.simulated),
                 "counts": data.counts(), "video_as_patient": bool(data.video_as_patient)},
        "models": entries, "primary": primary, "cv": cv, "ensemble_k": n_splits if ensemble else 0,
        "random_state": int(random_state), "environment": environment(),
        "typical_ranges": "typical_ranges.csv", "typical_curves": "typical_curves.csv",
    }
    files = sorted(p for p in out.rglob("*") if p.is_file())
    manifest["files"] = {p.relative_to(out).as_posix(): digest(p.read_bytes()) for p in files}
    manifest = json.loads(json.dumps(manifest, allow_nan=False))     # plain JSON types, as a reader will see them
    manifest["checksum"] = checksum(manifest)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, allow_nan=False), encoding="utf-8")
    return out
