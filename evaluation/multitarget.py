"""Several regression targets on the same patient-level folds: the ``params`` suite.

:func:`cross_validate_targets` evaluates every model of a multi-target
suite (:attr:`evaluation.suites.Suite.targets`: GDI per side and mean,
walking speed, cadence, knee flexion at maximum extension) on one set of
splits. A feature-table model is fitted once per target (its own
hyperparameter choice per target); a neural network is fitted **once per
fold for all targets** (multi-output, each target standardised on its own)
and its columns are split out afterwards. Each target then becomes an
ordinary single-target :class:`~evaluation.results.CVResults`, scored and
written exactly like the ``gdi`` suite (metrics with patient-bootstrap CIs,
paired comparisons, scatter and Bland–Altman plots) into
``OUT/params/<target>/``; :class:`MultiTargetResults` writes the overview
page ``OUT/params/index.html`` from those records.

Every sequence model is compared with the best feature-table model of its
target (:func:`best_feature_model`), the question the suite asks: do pose
sequences beat clinical features?
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from evaluation.data import Dataset, load_data
from evaluation.metrics import POOLING
from evaluation.results import CVResults
from evaluation.schema import SCHEMA, SCHEMA_VERSION
from evaluation.splits import inner_split, stratification_labels
from evaluation.suites import PUBLISHED_CORRELATIONS, SUITES, Suite
from evaluation.tasks import FitJob, RunSettings
from evaluation.zoo import ModelSpec, resolve_models
from gaitfeat.errors import LabelError
from gaitfeat.jsonable import to_jsonable

__all__ = ["MultiTargetResults", "cross_validate_targets", "best_feature_model"]


def best_feature_model(predictions: pd.DataFrame, specs: dict[str, ModelSpec]) -> str | None:
    """The feature-table model (not a network, not the baseline) with the lowest clip-level RMSE, mean over repeats.

    The reference of the sequence models' paired comparisons. Choosing it on
    the same out-of-fold predictions favours it slightly (the winner's curse),
    so a sequence model that beats it has beaten a slightly flattered rival.
    """
    candidates = [n for n, sp in specs.items() if not sp.network and not sp.baseline and sp.inputs == "features"]
    if not candidates:
        return None

    def rmse(name: str) -> float:
        p = predictions[predictions["model"] == name]
        return float(np.mean([np.sqrt(np.mean((g["y_pred"] - g["y_true"]) ** 2)) for _, g in p.groupby("repeat")]))

    return min(candidates, key=rmse)


def set_sequence_references(results: CVResults, specs: dict[str, ModelSpec]) -> None:
    """Compare each network without its own reference with the best feature-table model (in ``results.config``)."""
    best = best_feature_model(results.predictions, specs)
    results.config["best_feature_model"] = best
    if best is None:
        return
    for name, spec in specs.items():
        if spec.network and spec.reference is None:
            results.config["models"][name]["reference"] = best
    results._scores = None          # scored afresh with the new references


def _targets(data: Dataset, suite: Suite) -> tuple[list[str], list[str]]:
    """The suite's targets the data label (a column with at least two distinct values), and notes on the others."""
    kept, notes = [], []
    for t in suite.targets:
        if t not in data.meta.columns:
            notes.append(f"target {t}: the data have no {t!r} column; left out")
            continue
        v = pd.to_numeric(data.meta[t], errors="coerce").to_numpy(float)
        if np.isfinite(v).sum() == 0 or np.ptp(v[np.isfinite(v)]) == 0:
            notes.append(f"target {t}: no clip has a usable value (missing or constant); left out")
            continue
        kept.append(t)
    if not kept:
        raise LabelError(f"the data label none of the {suite.name} targets ({', '.join(suite.targets)})")
    return kept, notes


@dataclass
class MultiTargetResults:
    """One :class:`CVResults` per target, from the same folds, and what the run was.

    Attributes
    ----------
    suite : Suite
        The multi-target suite (``params``).
    targets : dict
        ``{target column: CVResults}`` in the suite's order.
    config : dict
        The run's settings (shared by every target; ``profile`` and
        ``command`` set here reach each target's record).
    notes : list of str
        Targets left out, clips dropped for a missing target.
    timings : dict
    """

    suite: Suite
    targets: dict[str, CVResults]
    config: dict
    notes: list
    timings: dict
    started: float = field(default_factory=time.perf_counter)

    @property
    def name(self) -> str:
        return self.suite.name

    def overview(self) -> dict:
        """The overview record (``OUT/params/metrics.json``): per target and model, the headline metrics with CIs."""
        rows = {}
        for target, res in self.targets.items():
            scores = res.scores()
            comp = scores["comparisons"]["models"]
            rows[target] = {
                "unit": res.suite.unit, "title": res.suite.title,
                "best_feature_model": res.config.get("best_feature_model"),
                "published_r": PUBLISHED_CORRELATIONS.get(target.removesuffix("_left").removesuffix("_right")),
                "models": {m: {level: {"metrics": {k: scores["models"][m][level]["metrics"][k]
                                                   for k in ("rmse", "mae", "pearson_r", "r2", "bias", "loa_lower",
                                                             "loa_upper")},
                                       "ci95": scores["models"][m][level]["ci95"]}
                               for level in ("clip", "video", "patient")}
                           for m in res.models},
                "comparisons": {m: {"reference": c["reference"], "patient": c["patient"], "video": c["video"]}
                                for m, c in comp.items()},
            }
        first = next(iter(self.targets.values()))
        return to_jsonable({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "suite": self.name, "title": self.suite.title,
            "task": "regression", "kind": "multi-target",
            "data": {k: v for k, v in first.data_summary().items() if k not in ("target", "features")},
            "targets": rows, "models": {m: first.config["models"][m]["description"] for m in first.models},
            "network_models": [m for m in first.models if first.config["models"][m]["inputs"] != "features"],
            "configuration": {k: v for k, v in self.config.items() if k != "models"},
            "notes": self.notes, "timings": self.timings, "runtime_s": time.perf_counter() - self.started,
        })

    def format_summary(self) -> str:
        """Per target, every model's video-level RMSE and r (the console summary)."""
        lines = []
        for target, res in self.targets.items():
            scores = res.scores()["models"]
            lines.append(f"{target} ({res.suite.unit}), video level:")
            for m in res.models:
                v = scores[m]["video"]["metrics"]
                lines.append(f"  {m:<22} RMSE {v['rmse']:8.3f}   r {v['pearson_r']:6.3f}")
        first = next(iter(self.targets.values()))
        if first.dataset.simulated:
            lines.append("Data: SIMULATED cohort - these numbers test the software; they are not clinical accuracy.")
        return "\n".join(lines)

    def write(self, out: str | Path = "reports", *, html: bool = True, name: str | None = None) -> Path:
        """Write ``<out>/<name>/<target>/`` for every target and the overview ``metrics.json`` / ``index.html``."""
        folder = Path(out) / (name or self.name)
        folder.mkdir(parents=True, exist_ok=True)
        for target, res in self.targets.items():
            for key in ("profile", "command"):
                if key in self.config:
                    res.config[key] = self.config[key]
            res.write(folder, html=html, name=target)
        record = self.overview()
        (folder / "metrics.json").write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        if html:
            from evaluation.report.params_page import render_params_folder

            render_params_folder(folder)
        return folder


def cross_validate_targets(models=None, data: Dataset | str = "synthetic", suite: str = "params", *,
                           protocol: str = "cv", n_splits: int = 5, n_repeats: int = 1, val_fraction: float = 0.2,
                           test_fraction: float = 0.3, n_bootstrap: int = 1000, cv=None, data_options: dict | None = None,
                           random_state: int = 0, progress: bool = False, deep_profile: str = "compact",
                           device: str = "auto", scheduler="serial", threads: int = 2,
                           pooling: str = "mean") -> MultiTargetResults:
    """Evaluate a multi-target regression suite (``params``); arguments as :func:`evaluation.cross_validate`.

    Clips lacking any of the evaluated targets are dropped (counted in the
    notes); the folds are stratified on the first target (GDI) and shared
    by every target and model.
    """
    from evaluation.harness import (_check_specs, _fold_row, _is_client, _prediction_frame, _run_distributed,
                                    _run_serial, make_splits)
    from gaitfeat.parallel import parse_scheduler

    started = time.perf_counter()
    s = SUITES[suite]
    if not s.targets:
        raise ValueError(f"suite {suite!r} has a single target; use evaluation.cross_validate")
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}, got {pooling!r}")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    if not _is_client(scheduler):
        parse_scheduler(scheduler)
    specs = resolve_models(models, s, deep_profile=deep_profile, device=device)
    if not specs:
        raise ValueError("no models to evaluate")
    _check_specs(specs)
    t0 = time.perf_counter()
    if isinstance(data, str):
        data = load_data(data, **{"random_state": random_state, **(data_options or {})})
    elif not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset or a source string, got {type(data).__name__}")
    load_s = time.perf_counter() - t0
    targets, notes = _targets(data, s)
    Y_all = np.column_stack([pd.to_numeric(data.meta[t], errors="coerce").to_numpy(float) for t in targets])
    complete = np.isfinite(Y_all).all(axis=1)
    if not complete.any():
        raise LabelError(f"no clip has every one of the targets {', '.join(targets)}")
    if not complete.all():
        gone = data.meta.loc[~complete, "video_id"].nunique()
        notes.append(f"{int((~complete).sum())} clips of {gone} videos lack one of the targets and were left out "
                     "(the networks learn every target at once)")
    kept_rows = np.flatnonzero(complete)
    dataset = data.subset(kept_rows) if not complete.all() else data
    Y = Y_all[complete]
    patients = dataset.meta["patient_id"].to_numpy()
    y_strat = stratification_labels(Y[:, 0], "regression")
    t0 = time.perf_counter()
    if any(sp.inputs != "clips" for sp in specs.values()):
        _ = dataset.features
    features_s = time.perf_counter() - t0
    splits, protocol_desc = make_splits(cv, protocol, patients, y_strat, kept_rows, len(data), n_splits=n_splits,
                                        n_repeats=n_repeats, test_fraction=test_fraction, random_state=random_state)
    inner = {}
    for split in splits:
        inner[(split.repeat, split.fold)] = inner_split(y_strat, patients, split.train, val_fraction=val_fraction,
                                                        random_state=random_state + 1000 * split.repeat + split.fold)
    settings = RunSettings(task="regression", n_classes=0, class_weight=None, random_state=random_state,
                           threads=threads)
    networks = {n: sp for n, sp in specs.items() if sp.network}
    tables = {n: sp for n, sp in specs.items() if not sp.network}
    runs = [(targets[k], tables, Y[:, k]) for k in range(len(targets)) if tables]
    if networks:
        runs.append((None, networks, Y))
    n_fits = len(splits) * (len(tables) * len(targets) + len(networks))
    bar = tqdm(total=n_fits, desc=suite, unit="fit", disable=not progress, file=sys.stderr, leave=False)
    show = bar.set_postfix_str if progress else None
    sched = scheduler if _is_client(scheduler) else parse_scheduler(scheduler)
    per_target = {t: {"rows": [], "selection": [], "deep": []} for t in targets}
    t0, total_fit_s = time.perf_counter(), 0.0
    for target, group, y in runs:
        jobs = [FitJob(name, split, *inner[(split.repeat, split.fold)]) for split in splits for name in group]
        if _is_client(sched) or sched.distributed:
            outcomes = _run_distributed(sched, jobs, group, dataset, y, settings, bar, show)
        else:
            outcomes = _run_serial(jobs, group, dataset, y, settings, bar, show)
        for job in jobs:
            outcome = outcomes[job.key]
            where = {"model": job.name, "repeat": job.split.repeat, "fold": job.split.fold}
            out = np.asarray(outcome.out, dtype=float)
            training = dict(outcome.training) if outcome.training is not None else None
            std = training.pop("y_std", None) if training is not None else None
            for k, t in enumerate(targets):
                if target is not None and t != target:
                    continue
                col = out if target is not None else (out[:, k] if out.ndim == 2 else out)
                frame = _prediction_frame(job.name, job.split, dataset, Y[:, k], col, None)
                if std is not None:
                    std = np.asarray(std, dtype=float)
                    frame["y_std"] = std if std.ndim == 1 else std[:, k]
                per_target[t]["rows"].append(frame)
                per_target[t]["selection"].append({**where, **outcome.selection})
                if training is not None:
                    per_target[t]["deep"].append({**where, **training})
            total_fit_s += float(outcome.selection["fit_seconds"])
    fits_wall_s = time.perf_counter() - t0
    bar.close()
    folds = pd.DataFrame([_fold_row(sp, *inner[(sp.repeat, sp.fold)], patients, Y[:, 0], s.for_target(targets[0]))
                          for sp in splits])
    config = {
        "suite": suite, "task": "regression", "targets": targets, "protocol": protocol,
        "protocol_description": protocol_desc,
        "n_splits": n_splits if protocol == "cv" and cv is None else len({sp.fold for sp in splits}),
        "n_repeats": n_repeats if protocol == "cv" and cv is None else 1, "val_fraction": val_fraction,
        "test_fraction": test_fraction if protocol == "holdout" else None, "class_weight": "none",
        "n_bootstrap": n_bootstrap, "random_state": random_state,
        "deep_profile": deep_profile if networks else None, "device": device, "threads": int(threads),
        "scheduler": "dask client" if _is_client(scheduler) else str(parse_scheduler(scheduler)),
        "user_splits": cv is not None, "importance": False, "study": "off", "pooling": pooling,
        "multi_output_networks": sorted(networks),
    }
    fit_s = {t: float(sum(r["fit_seconds"] for r in v["selection"])) for t, v in per_target.items()}
    results = {}
    baseline = next((n for n, sp in specs.items() if sp.baseline), None)
    for k, t in enumerate(targets):
        meta = dataset.meta.copy()
        meta[t] = Y[:, k]
        sub = s.for_target(t)
        cfg = {**config, "suite": t, "target": t, "reference": baseline,
               "models": {n: {"description": sp.description, "inputs": sp.inputs,
                              "features": (sp.features if isinstance(sp.features, str) else list(sp.features)),
                              "grid": list(sp.grid), "early_stopping": sp.early_stopping,
                              "reference": sp.reference if sp.reference in specs else (
                                  baseline if n != baseline else None),
                              "multi_output": sp.network} for n, sp in specs.items()}}
        res = CVResults(suite=sub, dataset=dataset.with_meta(meta),
                        predictions=pd.concat(per_target[t]["rows"], ignore_index=True), folds=folds,
                        selection=per_target[t]["selection"], config=cfg,
                        target_info={"clips_without_label": int((~np.isfinite(Y_all[:, k])).sum()),
                                     "videos_without_label": int(data.meta.loc[~np.isfinite(Y_all[:, k]),
                                                                               "video_id"].nunique()),
                                     "clips_dropped_for_other_targets": int((~complete).sum())},
                        notes=list(notes), started=started, deep=per_target[t]["deep"],
                        timings={"load_s": load_s, "features_s": features_s, "fit_s": fit_s[t],
                                 "fits_wall_s": fits_wall_s, "importance_s": 0.0})
        set_sequence_references(res, specs)
        results[t] = res
    timings = {"load_s": load_s, "features_s": features_s, "fit_s": total_fit_s,
               "fits_wall_s": fits_wall_s}
    return MultiTargetResults(suite=s, targets=results, config=config, notes=notes, timings=timings, started=started)
