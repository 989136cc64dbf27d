"""Run the explanation study end to end: folds, fits, explanations, perturbations, the record.

:func:`explain_study` is what ``python -m evaluation.run --suite explain``
calls; :mod:`evaluation.explain_study` explains one fold,
:mod:`evaluation.explain_summary` condenses the rows, and
:func:`evaluation.explain_record.write_explain_record` writes the record and
renders ``explain.html`` from it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from evaluation import explain_summary as summary
from evaluation.data import Dataset, load_data
from evaluation.explain_study import (
    EXPLAIN_PROFILES,
    HIGH_LEVELS,
    LOW_LEVELS,
    MODEL_METHODS,
    ExplainSettings,
    choose_clips,
    explain_fold,
    network_proba,
)
from evaluation.fitting import FoldState, fit_predict
from evaluation.splits import inner_split, patient_folds, stratification_labels
from evaluation.suites import SUITES
from evaluation.tasks import fit_threads
from evaluation.zoo import ModelSpec, deep_models
from gaitfeat.layouts import get_layout
from gaitfeat.parallel import tune_allocator

__all__ = ["explain_study", "MODEL_DESCRIPTIONS"]

MODEL_DESCRIPTIONS = {
    "stgcn": "ST-GCN skeleton baseline (as in the gmfcs suite)",
    "dual": "dual stream: ST-GCN + Grad-CAM-selected clinical features, concatenation fusion",
    "angle": "per-cycle joint-angle 1-D CNN (hip, knee, trunk, arm angles; 101 points per gait cycle)",
}


def _specs(settings: ExplainSettings, deep_profile: str, device: str, fps: float, layout: str) -> dict[str, ModelSpec]:
    deep = deep_models("classification", profile=deep_profile, device=device)
    specs = {}
    if "stgcn" in settings.models or "dual" in settings.models:
        specs["stgcn"] = deep["stgcn"]
    if "dual" in settings.models:
        specs["dual"] = deep["dual_gradcam_concat"]          # starts from the fold's ST-GCN (backbone_from)
    if "angle" in settings.models:
        from models.deep.angle_cnn import AngleCNNClassifier

        epochs = 8 if deep_profile == "quick" else 40
        specs["angle"] = ModelSpec(build=lambda rs: AngleCNNClassifier(fps=fps, layout=layout, epochs=epochs,
                                                                       random_state=rs),
                                   description=MODEL_DESCRIPTIONS["angle"], inputs="clips", network=True)
    return specs


def explain_study(data: Dataset | str = "synthetic", *, n_splits: int = 5, val_fraction: float = 0.2,
                  profile: str = "default", settings: ExplainSettings | None = None, n_bootstrap: int = 1000,
                  deep_profile: str | None = None, device: str = "auto", threads: int = 2, random_state: int = 0,
                  data_options: dict | None = None, progress: bool = False) -> dict:
    """The explanation study on the patient-level folds of the ``gmfcs`` suite.

    Parameters
    ----------
    data : Dataset or str
        As for :func:`evaluation.cross_validate`.
    n_splits, val_fraction, random_state
        The folds (the same as ``--suite gmfcs`` with the same seed) and inner validation split.
    profile : {"quick", "default", "paper"}
        :data:`evaluation.explain_study.EXPLAIN_PROFILES` (and the networks'
        training schedule unless ``deep_profile`` is given).
    settings : ExplainSettings, optional
        Overrides the profile's settings.
    n_bootstrap : int
        Patient resamples for the intervals.

    Returns
    -------
    dict
        ``{"record": the explain part of metrics.json, "dataset": the data, "timings": ...}``
        for :func:`evaluation.explain_record.write_explain_record`.
    """
    started = time.perf_counter()
    if profile not in EXPLAIN_PROFILES:
        raise ValueError(f"profile must be one of {sorted(EXPLAIN_PROFILES)}, got {profile!r}")
    settings = settings or EXPLAIN_PROFILES[profile]
    unknown = set(settings.models) - set(MODEL_METHODS)
    if unknown or not settings.models:
        raise ValueError(f"settings.models must be a non-empty subset of {sorted(MODEL_METHODS)}, got {settings.models}")
    deep_profile = deep_profile or {"quick": "quick", "default": "compact", "paper": "paper"}[profile]
    if isinstance(data, str):
        data = load_data(data, **{"random_state": random_state, **(data_options or {})})
    from evaluation.harness import _labelled

    suite = SUITES["gmfcs"]
    dataset, y, _, target_info = _labelled(data, suite)
    labels = np.asarray(suite.labels)
    y_pos = np.searchsorted(labels, y)
    patients = dataset.meta["patient_id"].to_numpy()
    strat = stratification_labels(y, suite.task)
    splits = patient_folds(strat, patients, n_splits=n_splits, random_state=random_state)
    fps = float(np.median(dataset.meta["fps"].to_numpy(float)))
    specs = _specs(settings, deep_profile, device, fps, dataset.layout)
    tune_allocator()
    bar = tqdm(total=len(splits) * (len(specs) + len(settings.models)), desc="explain", unit="step",
               disable=not progress, file=sys.stderr, leave=False)
    explanations, fold_models, accuracy, fit_s, explain_s = [], [], [], 0.0, 0.0
    rng = np.random.default_rng(random_state)
    for split in splits:
        fit_idx, val_idx = inner_split(strat, patients, split.train, val_fraction=val_fraction,
                                       random_state=random_state + split.fold)
        fold = FoldState()
        t0 = time.perf_counter()
        with fit_threads(threads):
            for name, spec in specs.items():
                bar.set_postfix_str(f"fold {split.fold} fit {name}")
                out, _, _ = fit_predict(spec, name, dataset, y_pos, split, fit_idx, val_idx, task="classification",
                                        n_classes=len(labels), fold=fold, class_weight=None,
                                        random_state=random_state)
                accuracy.append(pd.DataFrame({"model": name, "fold": split.fold, "row": split.test,
                                              "patient_id": patients[split.test], "y": y_pos[split.test],
                                              "pred": out.argmax(axis=1)}))
                bar.update(1)
        fit_s += time.perf_counter() - t0
        rows, pairs = choose_clips(dataset.meta, split.test, y, settings.n_explain, rng)
        from models.deep.attribution import mean_pose

        reference = mean_pose(dataset.clips[split.train])
        t0 = time.perf_counter()
        with fit_threads(threads):
            for name in settings.models:
                bar.set_postfix_str(f"fold {split.fold} explain {name}")
                explanations.append(explain_fold(name, fold.models[name], dataset, rows, pairs, split.fold,
                                                 labels=labels, reference=reference, settings=settings,
                                                 random_state=random_state + split.fold))
                bar.update(1)
        explain_s += time.perf_counter() - t0
        fold_models.append((split, {n: fold.models[n] for n in settings.models}))
    t0 = time.perf_counter()
    perturbation = []
    if settings.perturb and "stgcn" in settings.models:
        bar.set_postfix_str("kinematic perturbations")
        with fit_threads(threads):
            perturbation = _perturbations(explanations, fold_models, dataset, y, labels, settings, random_state)
    perturb_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    selection = None
    if settings.angle_selection and "angle" in settings.models:
        bar.set_postfix_str("angle channel selection")
        with fit_threads(threads):
            selection = _angle_selection(dataset, y_pos, splits[0], fps, settings, random_state)
    selection_s = time.perf_counter() - t0
    bar.close()
    record = _record(explanations, accuracy, perturbation, selection, dataset, settings, n_bootstrap, random_state)
    record["settings"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.__dict__.items()}
    timings = {"fit_s": fit_s, "explain_s": explain_s, "perturb_s": perturb_s, "selection_s": selection_s,
               "total_s": time.perf_counter() - started,
               "method_s": _method_seconds(explanations)}
    config = {"suite": "explain", "protocol_description": f"stratified patient-level {n_splits}-fold cross-validation "
              "(the folds of the gmfcs suite)", "n_splits": n_splits, "val_fraction": val_fraction,
              "n_bootstrap": n_bootstrap, "random_state": random_state, "profile": profile,
              "deep_profile": deep_profile, "device": device, "threads": int(threads)}
    return {"record": record, "dataset": dataset, "target_info": target_info, "timings": timings, "config": config}


def _method_seconds(explanations) -> dict:
    out: dict = {}
    for e in explanations:
        for m, s in e.seconds.items():
            out[f"{e.model}/{m}"] = out.get(f"{e.model}/{m}", 0.0) + s
    return out


def _comparison_sets(top: tuple, lay) -> dict[str, tuple]:
    """The joints perturbed as "non-top-k" for each kind, so that they never touch the top-k joints' segments.

    Angles: every other joint (each bone turns on its own). Velocity (and
    both): the joints of the body segments that hold no top-k joint — a
    velocity warp moves whole segments, so the plain complement would warp
    the top-k joints' own segments again (a superset of the top-k run).
    """
    used = {j for js in lay.segments.values() if set(js) & set(top) for j in js}
    other_segments = tuple(j for j in range(lay.num_joints) if j not in used)
    rest = tuple(j for j in range(lay.num_joints) if j not in top)
    return {"velocity": other_segments, "both": other_segments, "angle": rest}


def _perturbations(explanations, fold_models, dataset, y, labels, settings: ExplainSettings, seed: int) -> list[dict]:
    """Pellano et al.'s perturbations of the ST-GCN: top-k from one half of the patients, responses on the other."""
    from models.perturb import (
        SLOWDOWN_MULTIPLIERS,
        SPEEDUP_MULTIPLIERS,
        angle_reference,
        kind_factors,
        perturb,
        velocity_reference,
    )

    stg = [e for e in explanations if e.model == "stgcn"]
    patients = dataset.meta["patient_id"].to_numpy()
    select = {}
    for e in stg:
        pids = np.unique(patients[e.rows])
        chosen = set(np.random.default_rng(seed + 7919 * e.fold).permutation(pids)[: len(pids) // 2])
        select[e.fold] = np.array([p in chosen for p in patients[e.rows]])
    top_sets = summary.top_k_sets(explanations, "stgcn", select, patients=patients)
    levels = {"low": LOW_LEVELS, "high": HIGH_LEVELS}
    raw: dict = {}
    used_joints: dict = {}
    layout = dataset.layout
    lay = get_layout(layout)
    # The legs are the two leg segments (COCO-17's hips also belong to the trunk segment, which is not warped).
    legs = tuple(sorted({j for name in ("left_leg", "right_leg") for j in lay.segments.get(name, ())}))
    for split, models in fold_models:
        est = models["stgcn"]
        e = next(x for x in stg if x.fold == split.fold)
        levels_of = np.asarray(labels)[np.asarray(est.classes_, dtype=np.int64)]     # class position -> GMFCS level
        high_cols = np.flatnonzero(np.isin(levels_of, HIGH_LEVELS))

        def scores(c, est=est, cols=high_cols, w=levels_of.astype(float)):
            p = network_proba(est, c)
            return {"p_severe": p[:, cols].sum(axis=1), "expected_level": p @ w}

        train_y = y[split.train]
        rng = np.random.default_rng(seed + split.fold)
        for group, lv in levels.items():
            test_rows = e.rows[(~select[split.fold]) & (e.groups == group)]
            if len(test_rows) == 0:
                continue
            pool = split.train[np.isin(train_y, lv)]
            pool = rng.choice(pool, size=min(len(pool), settings.reference_clips), replace=False)
            if len(pool) < 2:
                continue
            refs = {"velocity": velocity_reference(dataset.clips[pool], layout),
                    "angle": angle_reference(dataset.clips[pool], layout)}
            clips = dataset.clips[test_rows]
            jobs = [("legs", "legs", {k: legs for k in ("velocity", "angle", "both")})]
            for method in MODEL_METHODS["stgcn"]:
                top = top_sets.get((method, group))
                if top:
                    jobs += [(method, "top_k", {k: top for k in ("velocity", "angle", "both")}),
                             (method, "non_top_k", _comparison_sets(top, lay))]
            for method, joint_set, per_kind in jobs:
                for kind, joints in per_kind.items():
                    if not joints:
                        continue
                    used_joints[(method, group, joint_set, kind)] = list(joints)
                    factors = kind_factors(clips, list(joints), kind=kind, references=refs, layout=layout)
                    for mode, mults in (("slowdown", SLOWDOWN_MULTIPLIERS), ("speedup", SPEEDUP_MULTIPLIERS)):
                        for mult in mults:
                            pert = perturb(clips, list(joints), mult, mode=mode, kind=kind, references=refs,
                                           layout=layout, factors=factors)
                            for score_name, values in scores(pert).items():
                                key = (method, group, joint_set, kind, mode, mult, score_name)
                                raw.setdefault(key, []).append(values)
            for score_name, values in scores(clips).items():
                raw.setdefault(("none", group, "unperturbed", "none", "none", 1.0, score_name), []).append(values)
    rows = []
    for (method, group, joint_set, kind, mode, mult, score_name), parts in raw.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        rows.append({"method": method, "group": group, "joint_set": joint_set, "kind": kind, "mode": mode,
                     "multiplier": float(mult), "score": score_name, "median": float(np.median(v)),
                     "q25": float(np.percentile(v, 25)), "q75": float(np.percentile(v, 75)), "n": int(v.size),
                     "joints": used_joints.get((method, group, joint_set, kind), [])})
    return rows


def _angle_selection(dataset, y_pos, split, fps: float, settings: ExplainSettings, seed: int):
    """Forward selection over the angle channels on the first fold's training patients (inner grouped CV).

    Returns the selection path and a held-out check: the best subset of the
    path (steps 1..) and all channels, each fitted on the same training
    windows and scored (balanced accuracy) on the fold's test patients.
    """
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score

    from models.angle_selection import select_angle_channels
    from models.deep.angle_cnn import AngleCNNClassifier

    # Every 8th training window: overlapping windows (stride 12 of 124 frames) repeat the same strides, and the
    # selection fits ~3 small networks per candidate subset.
    rows = split.train[::8]
    est = AngleCNNClassifier(fps=fps, layout=dataset.layout, epochs=8, early_stopping=False, random_state=seed)
    table = select_angle_channels(dataset.clips[rows], y_pos[rows], dataset.meta["patient_id"].to_numpy()[rows],
                                  estimator=est, max_channels=settings.angle_selection, cv=3, random_state=seed)
    path = table[table["step"] > 0]
    held = []
    if len(path):
        best = list(path.loc[path["score"].idxmax(), "channels"])
        for channels in (best, None):
            model = clone(est).set_params(channels=channels).fit(dataset.clips[rows], y_pos[rows])
            pred = model.predict(dataset.clips[split.test])
            held.append({"channels": list(model.channels_), "n_clips": int(len(split.test)),
                         "balanced_accuracy": float(balanced_accuracy_score(y_pos[split.test], pred))})
    return table, held


def _record(explanations, accuracy, perturbation, selection, dataset, settings, n_boot, seed) -> dict:
    rows = pd.concat([f for e in explanations for f in e.clip_rows], ignore_index=True)
    acc = pd.concat(accuracy, ignore_index=True)
    models = {}
    for name in settings.models:
        a = acc[acc["model"] == name]
        correct = (a["y"] == a["pred"]).to_numpy(float)
        models[name] = {"description": MODEL_DESCRIPTIONS[name], "methods": list(MODEL_METHODS[name]),
                        "clip_accuracy": summary.patient_mean(correct, a["patient_id"].to_numpy(), n_boot, seed),
                        "explained_clips": int((rows["model"] == name).sum() // max(len(MODEL_METHODS[name]), 1))}
    k_main = 3 if 3 in settings.ks else settings.ks[-1]
    faith = summary.faithfulness_table(rows, settings.ks, n_boot, seed)
    stab = summary.stability_table(rows, n_boot, seed)
    for entry in stab:
        part = rows[(rows["model"] == entry["model"]) & (rows["method"] == entry["method"])]
        entry["empty_maps"] = int(part["empty_map"].sum())
    out = {
        "models": models,
        "k_main": k_main,
        "faithfulness": faith,
        "stability": stab,
        "agreement": {m: summary.agreement(explanations, m) for m in settings.models},
        "significance": {m: summary.significance(explanations, m, dataset.meta["patient_id"].to_numpy())
                         for m in settings.models if m != "angle"},
        "baselines": summary.baseline_table(explanations, n_boot, seed),
        "perturbation": perturbation,
        "headline": summary.headline(faith, stab, k_main, rows, n_boot, seed),
        "deletion_curves": _curves(explanations),
        "groups": {m: {g: int(sum((e.groups == g).sum() for e in explanations if e.model == m))
                       for g in ("low", "high")} for m in settings.models},
    }
    dual = [e for e in explanations if e.model == "dual" and e.features]
    if dual:
        out["dual_features"] = _dual_features(dual)
    angle = [e for e in explanations if e.model == "angle"]
    if angle:
        est_channels = getattr(angle[0], "channels", None)
        out["angle"] = {"channels": list(est_channels) if est_channels else None,
                        "maps": {m: np.mean([e.maps_mean[m] for e in angle], axis=0).tolist()
                                 for m in angle[0].maps_mean}}
        if selection is not None:
            out["angle"]["selection"] = selection[0].to_dict(orient="records")
            out["angle"]["held_out"] = selection[1]
    return out


def _curves(explanations) -> dict:
    out: dict = {}
    for e in explanations:
        for m, (d, i, frac, rd, ri) in e.deletion.items():
            out.setdefault(e.model, {}).setdefault(m, []).append((d, i, frac, rd, ri))
    return {model: {m: {"fractions": parts[0][2].tolist(),
                        **{key: np.nanmean([p[j] for p in parts], axis=0).tolist()
                           for j, key in ((0, "deletion"), (1, "insertion"), (3, "deletion_random"),
                                          (4, "insertion_random"))}}
                    for m, parts in methods.items()} for model, methods in out.items()}


def _dual_features(dual) -> dict:
    out = {}
    for method in dual[0].features:
        values: dict[str, list[float]] = {}
        for e in dual:
            for n, v in zip(e.feature_names or [], e.features[method]):
                values.setdefault(n, []).append(float(v))
        out[method] = {"features": {n: float(np.mean(v)) for n, v in values.items()},
                       "folds_selected": {n: len(v) for n, v in values.items()}}
    return out
