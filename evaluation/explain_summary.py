"""From the per-clip rows of the explanation study to the numbers of its record (``metrics.json["explain"]``).

Every mean comes with a 95 % percentile interval over patients (the
patients are resampled, their clips go with them:
:func:`evaluation.stats.patient_resamples`), so a method is called more
faithful or more stable than another only when the intervals say so.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from evaluation.stats import patient_resamples, percentile_ci
from models import explanation_metrics as xm
from models.significance import colour_code, significance_threshold, significant_joints

__all__ = ["patient_mean", "faithfulness_table", "stability_table", "agreement", "significance", "baseline_table",
           "headline"]


def patient_mean(values: np.ndarray, patients: np.ndarray, n_boot: int, random_state: int) -> dict:
    """Mean of per-clip values and its patient-bootstrap 95 % interval (NaN values left out)."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    if not keep.any():
        return {"mean": None, "ci": [None, None], "n": 0}
    codes, pid = np.unique(np.asarray(patients)[keep], return_inverse=True)
    sums = np.bincount(pid, weights=values[keep], minlength=len(codes))
    counts = np.bincount(pid, minlength=len(codes)).astype(float)
    w = patient_resamples(len(codes), n_boot, random_state)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (w @ sums) / (w @ counts)
    return {"mean": float(sums.sum() / counts.sum()), "ci": percentile_ci(reps[np.isfinite(reps)]),
            "n": int(keep.sum()), "n_patients": int(len(codes))}


def _metric_rows(rows: pd.DataFrame, columns: dict[str, str], n_boot: int, seed: int) -> list[dict]:
    out = []
    for (model, method), part in rows.groupby(["model", "method"], sort=False):
        entry = {"model": model, "method": method, "n_clips": int(len(part)),
                 "n_patients": int(part["patient_id"].nunique())}
        for key, column in columns.items():
            if column in part.columns:
                entry[key] = patient_mean(part[column].to_numpy(), part["patient_id"].to_numpy(), n_boot, seed)
        out.append(entry)
    return out


def faithfulness_table(rows: pd.DataFrame, ks, n_boot: int, seed: int) -> list[dict]:
    """Per model and method: PGI, PGU and PGI − PGU at each k, deletion and insertion areas, each with its random-order value."""
    rows = rows.copy()
    columns = {}
    for k in ks:
        if f"pgi_{k}" not in rows.columns:
            continue
        rows[f"gap_{k}"] = rows[f"pgi_{k}"] - rows[f"pgu_{k}"]
        rows[f"gap_{k}_random"] = rows[f"pgi_{k}_random"] - rows[f"pgu_{k}_random"]
        columns.update({f"pgi_{k}": f"pgi_{k}", f"pgu_{k}": f"pgu_{k}", f"gap_{k}": f"gap_{k}",
                        f"gap_{k}_random": f"gap_{k}_random"})
    columns.update({c: c for c in ("deletion_auc", "insertion_auc", "deletion_auc_random", "insertion_auc_random")})
    return _metric_rows(rows, columns, n_boot, seed)


def stability_table(rows: pd.DataFrame, n_boot: int, seed: int) -> list[dict]:
    """Per model and method: rank stability under coordinate noise and between overlapping windows; median RIS."""
    out = _metric_rows(rows, {"noise_rank_stability": "noise_rank_stability",
                              "window_rank_stability": "window_rank_stability"}, n_boot, seed)
    for entry in out:
        part = rows[(rows["model"] == entry["model"]) & (rows["method"] == entry["method"])]
        ris = part["noise_ris"].to_numpy(dtype=float)
        ris = ris[np.isfinite(ris)]
        entry["noise_ris_median"] = float(np.median(ris)) if ris.size else None
    return out


def agreement(explanations, model: str, k: int = 3) -> dict:
    """Agreement of the methods' joint importances (top-k overlap, Kendall's τ) and of each method across folds."""
    mine = [e for e in explanations if e.model == model]
    if not mine:
        return {}
    methods = list(mine[0].scores)
    pooled = {m: np.concatenate([e.scores[m] for e in mine]).mean(axis=0) for m in methods}
    per_fold = {}
    for m in methods:
        vecs = [e.scores[m].mean(axis=0) for e in mine]
        taus = [xm.kendall_tau(a, b) for a, b in itertools.combinations(vecs, 2)]
        taus = [t for t in taus if np.isfinite(t)]
        per_fold[m] = float(np.mean(taus)) if taus else None
    return {"methods": methods, "k": k,
            "top_k_overlap": xm.agreement_matrix(pooled, k, measure="overlap").to_numpy().tolist(),
            "kendall_tau": xm.agreement_matrix(pooled, k, measure="kendall").to_numpy().tolist(),
            "across_folds_kendall_tau": per_fold,
            "importance": {m: v.tolist() for m, v in pooled.items()}}


def significance(explanations, model: str, patients: np.ndarray | None = None) -> dict:
    """Pellano et al.'s joint significance per method and confident group, pooled over folds.

    θ per method is :func:`models.significance.significance_threshold` of the
    "high" group's scores (the analogue of their threshold from the infants
    predicted to have CP); colours are the IQR-vs-θ categories of each joint
    over the group's clips; importance and top-k are from
    :func:`models.significance.significant_joints` counting *red* joints in
    both groups: the maps explain each clip's predicted level, so a mild
    clip's evidence for its level is in its high-scoring joints (Pellano et
    al. explain one risk output and count green joints in the low group).
    """
    mine = [e for e in explanations if e.model == model]
    if not mine:
        return {}
    groups = np.concatenate([e.groups for e in mine])
    pids = np.concatenate([patients[e.rows] for e in mine]) if patients is not None else None
    out = {}
    for method in mine[0].scores:
        scores = np.concatenate([e.scores[method] for e in mine])
        scores, g_method, theta, basis_name, found = _significant(scores, groups, pids)
        if theta is None:
            out[method] = {"threshold": None, "threshold_from": None, "groups": {}}
            continue
        entry = {"threshold": theta, "threshold_from": basis_name, "groups": {}}
        for name, (importance, top) in found.items():
            sel = scores[g_method == name]
            entry["groups"][name] = {"n_clips": int(len(sel)), "importance": importance.tolist(),
                                     "mean_score": sel.mean(axis=0).tolist(),
                                     "colours": colour_code(sel, theta).tolist(),
                                     "top_k": list(top.top), "kneedle": list(top.kneedle), "kmeans": list(top.kmeans),
                                     "note": top.note}
        out[method] = entry
    return out


def _significant(scores: np.ndarray, groups: np.ndarray, pids):
    """Informative clips (an all-zero map ranks nothing), θ and the red-counting top-k per group.

    θ comes from the high group's clips (per patient when IDs are given:
    Pellano et al.'s unit was the child), or from all clips when fewer than
    3 are high. Returns ``(scores, groups, θ, basis, found)``; θ is ``None``
    when no clip is informative.
    """
    keep = scores.max(axis=1) > 0
    scores, groups = scores[keep], groups[keep]
    pids = pids[keep] if pids is not None else None
    if not len(scores):
        return scores, groups, None, None, {}
    high = groups == "high"
    sel = high if high.sum() >= 3 else np.ones(len(scores), bool)
    theta = significance_threshold(scores[sel], groups=None if pids is None else pids[sel])
    found = significant_joints(scores, groups, theta, count="red")
    return scores, groups, theta, "high" if sel is high else "all", found


def top_k_sets(explanations, model: str, halves: dict, patients: np.ndarray | None = None) -> dict:
    """Top-k joints per method and group from the *selection* half of each fold's explained patients."""
    sets = {}
    mine = [e for e in explanations if e.model == model]
    for method in (mine[0].scores if mine else {}):
        scores = np.concatenate([e.scores[method][halves[e.fold]] for e in mine])
        groups = np.concatenate([e.groups[halves[e.fold]] for e in mine])
        pids = np.concatenate([patients[e.rows][halves[e.fold]] for e in mine]) if patients is not None else None
        for name, (_, top) in _significant(scores, groups, pids)[4].items():
            sets[(method, name)] = tuple(int(j) for j in top.top)
    return sets


def baseline_table(explanations, n_boot: int, seed: int) -> list[dict]:
    """IG's baselines compared: faithfulness, the size of f(x) − f(baseline), and overlap with the reference pose's top-k."""
    main = pd.concat([f for e in explanations if e.model == "stgcn" for f in e.clip_rows], ignore_index=True)
    main = main[main["method"] == "ig"]
    others = [r for e in explanations for r in e.baselines]
    if main.empty or not others:
        return []
    k = int(others[0]["k"].iloc[0])
    frames = [pd.DataFrame({"baseline": "training mean pose", "patient_id": main["patient_id"], "k": k,
                            "pgi": main[f"pgi_{k}"], "pgu": main[f"pgu_{k}"], "deletion_auc": main["deletion_auc"],
                            "insertion_auc": main["insertion_auc"], "output_gap": main["output_gap"],
                            "top_overlap": 1.0})] + others
    rows = pd.concat(frames, ignore_index=True)
    rows["gap"] = rows["pgi"] - rows["pgu"]
    rows["abs_output_gap"] = rows["output_gap"].abs()
    out = []
    for name, part in rows.groupby("baseline", sort=False):
        p = part["patient_id"].to_numpy()
        out.append({"baseline": name, "k": k,
                    **{c: patient_mean(part[c].to_numpy(), p, n_boot, seed)
                       for c in ("gap", "deletion_auc", "insertion_auc", "abs_output_gap", "top_overlap")}})
    return out


def headline(faith: list[dict], stab: list[dict], k: int, rows: pd.DataFrame | None = None, n_boot: int = 1000,
             seed: int = 0) -> dict:
    """Per model: the most faithful method (largest PGI − PGU at k) and the most stable ones.

    With the per-clip ``rows``, "clearly" is decided by a paired patient
    bootstrap of the difference best − runner-up on the clips both scored
    (its interval above 0), and "above random" by that of best − its random
    ranking on the same clips.
    """
    out = {}
    for model in dict.fromkeys(r["model"] for r in faith):
        ranked = sorted((r for r in faith if r["model"] == model and r.get(f"gap_{k}", {}).get("mean") is not None),
                        key=lambda r: r[f"gap_{k}"]["mean"], reverse=True)
        if not ranked:
            continue
        best, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        entry = {"most_faithful": best["method"], "gap": best[f"gap_{k}"],
                 "runner_up": runner["method"] if runner else None, "faithful_clear": False}
        if rows is not None:
            part = rows[rows["model"] == model]
            b = part[part["method"] == best["method"]].set_index(["fold", "row"])
            gap_b = b[f"pgi_{k}"] - b[f"pgu_{k}"]
            above = gap_b - (b[f"pgi_{k}_random"] - b[f"pgu_{k}_random"])
            entry["above_random"] = patient_mean(above.to_numpy(), b["patient_id"].to_numpy(), n_boot, seed)
            if runner is not None:
                r = part[part["method"] == runner["method"]].set_index(["fold", "row"])
                diff = (gap_b - (r[f"pgi_{k}"] - r[f"pgu_{k}"])).dropna()
                pids = b.loc[diff.index, "patient_id"].to_numpy()
                entry["difference_to_runner_up"] = patient_mean(diff.to_numpy(), pids, n_boot, seed)
                lo = entry["difference_to_runner_up"]["ci"][0]
                entry["faithful_clear"] = bool(lo is not None and lo > 0)
        srows = [r for r in stab if r["model"] == model and r["noise_rank_stability"]["mean"] is not None]
        if srows:
            s = max(srows, key=lambda r: r["noise_rank_stability"]["mean"])
            entry.update(most_stable=s["method"], stability=s["noise_rank_stability"])
        wrows = [r for r in stab if r["model"] == model and r["window_rank_stability"]["mean"] is not None]
        if wrows:
            w = max(wrows, key=lambda r: r["window_rank_stability"]["mean"])
            entry.update(most_stable_windows=w["method"], window_stability=w["window_rank_stability"])
        out[model] = entry
    return out
