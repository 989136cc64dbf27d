"""The patient-level cross-validation harness: every model on the same folds.

:func:`cross_validate` loads (or takes) a :class:`~evaluation.data.Dataset`,
validates the target, makes patient-level splits and, for each split and
model, fits on the training patients and predicts the test patients
(:func:`evaluation.fitting.fit_predict`: inner validation split for model
selection and early stopping, refit on the training fold). Each (repeat,
fold, model) fit is a task (:func:`evaluation.tasks.run_fit`), run here one
after another or on a Dask cluster (:mod:`evaluation.distributed`). Every split,
including user-supplied ones, passes the leakage guard
(:func:`evaluation.splits.check_disjoint`). The out-of-fold predictions go
into a :class:`~evaluation.results.CVResults`, which scores and writes them.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from evaluation.data import Dataset, load_data
from evaluation.fitting import FoldState
from evaluation.metrics import POOLING
from evaluation.results import CVResults
from evaluation.splits import Split, holdout_split, inner_split, patient_folds, stratification_labels, user_splits
from evaluation.suites import STUDY_MODES, SUITES, Suite
from evaluation.tasks import FitJob, RunSettings, run_fit
from evaluation.zoo import ModelSpec, feature_columns, resolve_models
from gaitfeat.errors import LabelError
from gaitfeat.labels import validate_gait_class, validate_gmfcs
from gaitfeat.parallel import dask_client, parse_scheduler, tune_allocator

__all__ = ["cross_validate"]


def _target(dataset: Dataset, suite: Suite) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validated target values, the mask of clips without a label, and their counts."""
    meta = dataset.meta
    if suite.target not in meta.columns:
        raise LabelError(f"the data have no {suite.target!r} label column (columns: {', '.join(map(str, meta.columns))})")
    if suite.class_names:
        # Nominal classes: names in the data, their positions in the suite's class order in the harness.
        names = validate_gait_class(meta[suite.target], where=f"{suite.target} labels", ids=meta["video_id"])
        missing = names.isna().to_numpy()
        index = {c: i for i, c in enumerate(suite.class_names)}
        unknown = sorted({c for c in names if c is not None and c not in index})
        if unknown:
            raise LabelError(f"{suite.target} labels {unknown} are not classes of suite {suite.name!r}")
        values = np.array([index[c] if c is not None else 0 for c in names], dtype=np.int64)
    elif suite.task == "classification":
        y = validate_gmfcs(meta[suite.target], where=f"{suite.target} labels", ids=meta["video_id"])
        missing = y.isna().to_numpy()
        values = np.where(missing, 0, y.fillna(0).to_numpy(dtype=np.int64))
    else:
        raw = pd.to_numeric(meta[suite.target], errors="coerce").to_numpy(dtype=float)
        missing = ~np.isfinite(raw)
        values = raw
    info = {"clips_without_label": int(missing.sum()),
            "videos_without_label": int(meta.loc[missing, "video_id"].nunique())}
    return values, missing, info


def _reference_of(name: str, spec: ModelSpec, specs: dict, reference: str | None) -> str | None:
    """The model ``name`` is compared with: the explicit run-wide reference, its own, or the suite baseline."""
    if reference is not None:
        return reference if reference != name else None
    if spec.reference is not None and spec.reference in specs and spec.reference != name:
        return spec.reference
    base = next((n for n, sp in specs.items() if sp.baseline), None)
    return base if base != name else None


def cross_validate(
    models=None,
    data: Dataset | str = "synthetic",
    suite: str = "gmfcs",
    *,
    protocol: str = "cv",
    n_splits: int = 5,
    n_repeats: int = 1,
    val_fraction: float = 0.2,
    test_fraction: float = 0.3,
    class_weight: str | None = None,
    n_bootstrap: int = 1000,
    reference: str | None = None,
    cv=None,
    data_options: dict | None = None,
    random_state: int = 0,
    progress: bool = False,
    importance: bool | str = False,
    importance_options: dict | None = None,
    deep_profile: str = "compact",
    device: str = "auto",
    scheduler="serial",
    threads: int = 2,
    pooling: str = "mean",
    rationales: bool = True,
    keep_models: bool = False,
) -> CVResults:
    """Evaluate models with patient-level splits on one data set.

    Parameters
    ----------
    models : None, str, list of str, estimator, or dict
        ``None``: every model of the suite (:data:`evaluation.zoo.MODELS`);
        names from it; or ``{name: ModelSpec or estimator}`` (an estimator
        receives the full feature table).
    data : Dataset or str
        A loaded :class:`~evaluation.data.Dataset` or a source string for
        :func:`~evaluation.data.load_data` (``"synthetic"``, ``"kidzinski:PATH"``, ...).
    suite : {"gmfcs", "gdi", "params", "taxonomy"}
        ``params`` (several targets) returns a
        :class:`~evaluation.multitarget.MultiTargetResults`
        (:func:`~evaluation.multitarget.cross_validate_targets`).
    protocol : {"cv", "holdout"}
        ``cv``: stratified patient-level K-fold (``n_splits``, ``n_repeats``);
        ``holdout``: Yang, Chen & He's single stratified patient split
        (``test_fraction`` of the patients for testing).
    val_fraction : float
        Share of each training fold's patients held out for model selection
        and early stopping (``1 / round(1 / val_fraction)`` of them).
    class_weight : {None, "balanced"}
        Weight training clips inversely to their class frequency (helps the
        rare GMFCS IV; classification only).
    n_bootstrap : int
        Patient resamples for confidence intervals and paired comparisons.
    reference : str, optional
        Model every other is compared with (default: each model's own
        ``ModelSpec.reference``, else the suite's baseline — the dual-stream
        models are compared with the ST-GCN baseline, the others with the
        majority/mean baseline).
    cv : splitter or iterable of (train, test), optional
        Your own splits (e.g. ``GroupKFold``); they must be patient-disjoint
        or :class:`~evaluation.splits.LeakageError` is raised.
    data_options : dict, optional
        Passed to :func:`load_data` when ``data`` is a string.
    random_state : int
        Seed of the folds, the models, the bootstrap (and a simulated cohort).
    progress : bool
        Show a progress bar (stderr).
    importance : bool or {"off", "on", "only"}
        The feature-importance study (:func:`evaluation.feature_study.feature_study`)
        on the same folds: ``False``/``"off"`` no, ``True``/``"on"`` as well
        as the models, ``"only"`` the study alone (no model is fitted; the
        command line's ``--suite features`` is this for GMFCS).
    importance_options : dict, optional
        Passed to ``feature_study`` (``backward``, ``sfs_thin``, ``sfs_max_features``, ...).
    deep_profile : {"compact", "quick", "paper"}
        Size and training schedule of the suite's ST-GCN and dual-stream
        models (:data:`evaluation.zoo.DEEP_PROFILES`).
    device : str
        Where the deep models train: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.
    scheduler : str or dask.distributed.Client
        Where the fits run (:mod:`gaitfeat.parallel`): ``"serial"`` (this
        process), ``"local:N"`` (a local Dask cluster of N worker processes),
        ``"tcp://HOST:PORT"`` (a running Dask scheduler), or a connected
        ``Client``. Every (repeat, fold, model) fit is one task
        (:mod:`evaluation.distributed`); the numbers do not depend on where
        the tasks ran. The feature-importance study runs in this process.
    threads : int
        Threads each fit uses (torch and BLAS; XGBoost has its own
        ``n_jobs``). Part of what makes a run reproducible: the same seed and
        ``threads`` give the same numbers on any scheduler (CPU training, same machine type and libraries), while
        torch's CPU training differs between thread counts.
    pooling : {"mean", "median"}
        How a regression model's clip predictions are pooled into its video
        and patient predictions (classification always averages probabilities).
    rationales : bool
        For a suite of named classes (``taxonomy``): per-subject tokens and rationales from a
        rationale model fitted in the same folds (:func:`evaluation.rationale_run.build_rationales`),
        written as ``rationales.json``.
    keep_models : bool
        Keep every fold's fitted models in ``results.fold_models`` (``{(repeat, fold): FoldState}``; serial
        runs only), e.g. to save them as the fold ensemble of a model bundle (:mod:`evaluation.bundle`).

    Returns
    -------
    CVResults
        Out-of-fold predictions, scores with CIs, comparisons; ``.write(out)``
        writes ``metrics.json``, ``figures.npz``, ``predictions.csv`` and, from them, ``index.html``.
    """
    started = time.perf_counter()
    if suite in SUITES and SUITES[suite].targets:
        from evaluation.multitarget import cross_validate_targets

        if importance not in (False, "off") or class_weight not in (None, "none") or reference is not None:
            raise ValueError(f"suite {suite!r} (several targets) takes no importance study, class_weight or reference")
        return cross_validate_targets(
            models, data, suite, protocol=protocol, n_splits=n_splits, n_repeats=n_repeats, val_fraction=val_fraction,
            test_fraction=test_fraction, n_bootstrap=n_bootstrap, cv=cv, data_options=data_options,
            random_state=random_state, progress=progress, deep_profile=deep_profile, device=device,
            scheduler=scheduler, threads=threads, pooling=pooling)
    if suite not in SUITES:
        hint = " (the feature-importance study alone is importance='only')" if suite == "features" else ""
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}{hint}")
    if protocol not in ("cv", "holdout"):
        raise ValueError(f"protocol must be 'cv' or 'holdout', got {protocol!r}")
    if class_weight not in (None, "none", "balanced"):
        raise ValueError(f"class_weight must be None or 'balanced', got {class_weight!r}")
    class_weight = None if class_weight == "none" else class_weight
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}, got {pooling!r}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= 256:
        raise ValueError(f"threads must be an integer from 1 to 256, got {threads!r}")
    if not _is_client(scheduler):
        parse_scheduler(scheduler)        # a bad scheduler string fails before any work
    if keep_models and (_is_client(scheduler) or parse_scheduler(scheduler).distributed):
        raise ValueError("keep_models=True keeps the fitted fold models in this process: use scheduler='serial'")
    study_mode = importance if isinstance(importance, str) else ("on" if importance else "off")
    if study_mode not in STUDY_MODES:
        raise ValueError(f"importance must be True, False or one of {STUDY_MODES}, got {importance!r}")
    s = SUITES[suite]
    if s.class_names and study_mode != "off":
        raise ValueError(f"the feature-importance study is written for ordinal GMFCS levels and regression targets; "
                         f"suite {suite!r} explains its predictions with per-subject rationales instead "
                         "(importance=False)")
    if study_mode == "only" and models is not None:
        raise ValueError("importance='only' runs the feature-importance study alone; give no models")
    specs = {} if study_mode == "only" else resolve_models(models, s, deep_profile=deep_profile, device=device)
    if not specs and study_mode == "off":
        raise ValueError("no models to evaluate")
    _check_specs(specs)
    explicit_reference = reference
    if reference is None:
        reference = next((n for n, sp in specs.items() if sp.baseline), None)
    elif reference not in specs:
        raise ValueError(f"reference model {reference!r} is not among the evaluated models {list(specs)}")

    t0 = time.perf_counter()
    if isinstance(data, str):
        if s.class_names and data.strip().lower() == "synthetic":
            data = "taxonomy"   # the simulated cohort of the suite's classes
        data = load_data(data, **{"random_state": random_state, **(data_options or {})})
    elif not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset or a source string, got {type(data).__name__}")
    load_s = time.perf_counter() - t0
    n_given = len(data)
    dataset, y, kept_rows, target_info = _labelled(data, s)
    patients = dataset.meta["patient_id"].to_numpy()
    y_strat = stratification_labels(y, s.task)

    t0 = time.perf_counter()
    if study_mode != "off" or any(spec.inputs != "clips" for spec in specs.values()):
        _ = dataset.features
    features_s = time.perf_counter() - t0

    splits, protocol_desc = make_splits(cv, protocol, patients, y_strat, kept_rows, n_given, n_splits=n_splits,
                                        n_repeats=n_repeats, test_fraction=test_fraction, random_state=random_state)

    labels = np.asarray(s.labels) if s.task == "classification" else None
    y_fit_space = np.searchsorted(labels, y) if labels is not None else y   # class positions 0..K-1
    n_classes = len(labels) if labels is not None else 0
    rows, selection, fold_rows, notes, deep_rows = [], [], [], [], []
    jobs = []
    for split in splits:
        fit_idx, val_idx = inner_split(y_strat, patients, split.train, val_fraction=val_fraction,
                                       random_state=random_state + 1000 * split.repeat + split.fold)
        fold_rows.append(_fold_row(split, fit_idx, val_idx, patients, y, s))
        notes += _absent_levels(split, y, labels)
        jobs += [FitJob(name, split, fit_idx, val_idx) for name in specs]
    settings = RunSettings(task=s.task, n_classes=n_classes, class_weight=class_weight, random_state=random_state,
                           threads=threads)
    sched = scheduler if _is_client(scheduler) else parse_scheduler(scheduler)
    bar = tqdm(total=len(jobs), desc=f"{suite}", unit="fit", disable=not progress, file=sys.stderr, leave=False)
    show = bar.set_postfix_str if progress else None
    t0 = time.perf_counter()
    if _is_client(sched) or sched.distributed:
        outcomes = _run_distributed(sched, jobs, specs, dataset, y_fit_space, settings, bar, show)
    else:
        kept = {} if keep_models else None
        outcomes = _run_serial(jobs, specs, dataset, y_fit_space, settings, bar, show, kept)
    fits_wall_s = time.perf_counter() - t0
    for job in jobs:                       # the serial order, wherever and whenever each fit ran
        outcome = outcomes[job.key]
        where = {"model": job.name, "repeat": job.split.repeat, "fold": job.split.fold}
        selection.append({**where, **outcome.selection})
        training = dict(outcome.training) if outcome.training is not None else None
        std = training.pop("y_std", None) if training is not None else None
        if training is not None:
            deep_rows.append({**where, **training})
        frame = _prediction_frame(job.name, job.split, dataset, y, outcome.out, labels)
        if std is not None:
            frame["y_std"] = np.asarray(std, dtype=float)
        rows.append(frame)
    study, shap_sample = None, None
    if study_mode != "off":
        from evaluation.feature_study import feature_study

        bar.set_postfix_str("feature-importance study")
        study, shap_sample = feature_study(dataset, s, splits, random_state=random_state, **(importance_options or {}))
    bar.close()
    predictions = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["model", "repeat", "fold", "row", "patient_id", "video_id", "clip_start", "y_true", "y_pred"])
    config = {
        "suite": suite, "task": s.task, "target": s.target, "protocol": protocol, "protocol_description": protocol_desc,
        "n_splits": n_splits if protocol == "cv" and cv is None else len({sp.fold for sp in splits}),
        "n_repeats": n_repeats if protocol == "cv" and cv is None else 1, "val_fraction": val_fraction,
        "test_fraction": test_fraction if protocol == "holdout" else None, "class_weight": class_weight or "none",
        "n_bootstrap": n_bootstrap, "random_state": random_state, "reference": reference,
        "models": {n: {"description": sp.description, "inputs": sp.inputs,
                       "features": (sp.features if isinstance(sp.features, str) else list(sp.features)),
                       "grid": list(sp.grid), "early_stopping": sp.early_stopping,
                       "reference": _reference_of(n, sp, specs, explicit_reference)} for n, sp in specs.items()},
        "deep_profile": deep_profile if any(sp.network for sp in specs.values()) else None,
        "device": device,
        "threads": int(threads),
        "scheduler": "dask client" if _is_client(scheduler) else str(parse_scheduler(scheduler)),
        "user_splits": cv is not None,
        "importance": study_mode != "off",
        "study": study_mode,
        "pooling": pooling,
    }
    timings = {"load_s": load_s, "features_s": features_s, "fit_s": float(sum(r["fit_seconds"] for r in selection)),
               "fits_wall_s": fits_wall_s,
               "importance_s": study["seconds"] if study else 0.0}
    results = CVResults(suite=s, dataset=dataset, predictions=predictions, folds=pd.DataFrame(fold_rows),
                        selection=selection, config=config, target_info=target_info, notes=notes, timings=timings,
                        started=started, importance=study, importance_shap=shap_sample, deep=deep_rows)
    results.fold_models = kept if keep_models else None
    if s.class_names and specs and rationales:
        from evaluation.rationale_run import build_rationales
        from evaluation.zoo import TAXONOMY_FEATURES

        bar_t0 = time.perf_counter()
        results.rationales = build_rationales(results, features=TAXONOMY_FEATURES, random_state=random_state,
                                              threads=threads)
        results.timings["rationales_s"] = time.perf_counter() - bar_t0
    if s.task == "regression" and explicit_reference is None and specs:
        from evaluation.multitarget import set_sequence_references

        set_sequence_references(results, specs)
    return results


def make_splits(cv, protocol: str, patients, y_strat, kept_rows, n_given: int, *, n_splits: int, n_repeats: int,
                test_fraction: float, random_state: int) -> tuple[list[Split], str]:
    """The outer splits of a run (user-supplied, holdout or K-fold, all leakage-checked) and their description."""
    if cv is not None:
        splits = user_splits(cv, patients, y_strat, kept_rows, n_given)
        return splits, f"user-supplied splits ({len(splits)})"
    if protocol == "holdout":
        splits = holdout_split(y_strat, patients, test_fraction=test_fraction, random_state=random_state)
        return splits, (f"single stratified patient-level holdout (~{1 / round(1 / test_fraction):.0%} of patients "
                        "for testing)")
    splits = patient_folds(y_strat, patients, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return splits, (f"stratified patient-level {n_splits}-fold cross-validation"
                    + (f", {n_repeats} repeats" if n_repeats > 1 else ""))


def _is_client(scheduler) -> bool:
    return type(scheduler).__name__ == "Client" and hasattr(scheduler, "submit")


def _run_serial(jobs, specs, dataset, y, settings: RunSettings, bar, show, kept: dict | None = None) -> dict:
    """Every fit in this process, split by split; the networks of a split share one :class:`FoldState`
    (``kept``, when given, receives each split's by ``(repeat, fold)``)."""
    tune_allocator()
    outcomes, fold, current = {}, None, None
    for job in jobs:
        if (job.split.repeat, job.split.fold) != current:
            current, fold = (job.split.repeat, job.split.fold), FoldState()   # nothing crosses folds
            if kept is not None:
                kept[current] = fold
        if show is not None:
            show(job.label())
        outcomes[job.key] = run_fit(job, specs[job.name], dataset, y, settings, fold=fold, show=show)
        bar.update(1)
    return outcomes


def _run_distributed(scheduler, jobs, specs, dataset, y, settings: RunSettings, bar, show) -> dict:
    from evaluation.distributed import run_on_dask

    def done(outcome):
        bar.update(1)

    if _is_client(scheduler):
        return run_on_dask(scheduler, jobs, specs, dataset, y, settings, on_result=done, show=show)
    with dask_client(scheduler) as client:
        return run_on_dask(client, jobs, specs, dataset, y, settings, on_result=done, show=show)


def _check_specs(specs: dict[str, ModelSpec]) -> None:
    for spec in specs.values():
        if spec.inputs == "features":
            feature_columns(spec)
        elif spec.inputs not in ("clips", "clips+features"):
            raise ValueError(f"model inputs must be 'features', 'clips' or 'clips+features', got {spec.inputs!r}")


def _labelled(data: Dataset, suite: Suite) -> tuple[Dataset, np.ndarray, np.ndarray, dict]:
    """The clips that have a valid label, the labels, which rows of ``data`` they are, and what was left out."""
    y_all, missing, target_info = _target(data, suite)
    kept_rows = np.flatnonzero(~missing)
    dataset = data.subset(kept_rows) if missing.any() else data
    y = y_all[~missing]
    # The validated labels (e.g. "II" -> 2) replace the raw ones in the evaluated copy of the metadata.
    meta = dataset.meta.copy()
    meta[suite.target] = y
    dataset = dataset.with_meta(meta)
    if len(dataset) == 0:
        raise LabelError(f"no clip has a {suite.target} label")
    if suite.task == "regression" and np.ptp(y) == 0:
        raise LabelError(f"every clip has the same {suite.target}; nothing to learn")
    if suite.task == "classification" and len(np.unique(y)) < 2:
        raise LabelError(f"every clip has the same {suite.target}; nothing to classify")
    return dataset, y, kept_rows, target_info


def _absent_levels(split: Split, y: np.ndarray, labels) -> list[str]:
    if labels is None:
        return []
    absent = sorted(set(labels.tolist()) - set(y[split.train].tolist()))
    return [f"repeat {split.repeat} fold {split.fold}: class(es) {absent} absent from the training patients "
            "(their probability is 0 in that fold)"] if absent else []


def _fold_row(split: Split, fit_idx, val_idx, patients, y, suite: Suite) -> dict:
    row = {"repeat": split.repeat, "fold": split.fold,
           "train_patients": int(len(np.unique(patients[split.train]))), "train_clips": int(len(split.train)),
           "fit_patients": int(len(np.unique(patients[fit_idx]))), "val_patients": int(len(np.unique(patients[val_idx]))),
           "test_patients": int(len(np.unique(patients[split.test]))), "test_clips": int(len(split.test))}
    if suite.task == "classification":
        for level in suite.labels:
            row[f"test_clips_{level}"] = int(np.sum(y[split.test] == level))
    return row


def _prediction_frame(name: str, split: Split, dataset: Dataset, y: np.ndarray, out: np.ndarray, labels) -> pd.DataFrame:
    meta = dataset.meta.iloc[split.test]
    frame = pd.DataFrame({
        "model": name, "repeat": split.repeat, "fold": split.fold, "row": split.test,
        "patient_id": meta["patient_id"].to_numpy(), "video_id": meta["video_id"].to_numpy(),
        "clip_start": meta["clip_start"].to_numpy() if "clip_start" in meta.columns else -1,
        "y_true": y[split.test],
    })
    if labels is None:
        frame["y_pred"] = out
        return frame
    frame["y_pred"] = labels[np.argmax(out, axis=1)]
    for j, level in enumerate(labels):
        frame[f"proba_{level}"] = out[:, j]
    return frame

