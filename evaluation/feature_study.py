"""The feature-importance study: which gait features drive the models, by several methods, inside the patient folds.

For every outer fold (first repeat) the study fits an XGBoost and a linear
model (logistic regression / ridge) on the training patients and, on the
held-out patients, computes SHAP values (mean |SHAP|), permutation
importance and XGBoost gain; it runs sequential feature selection on the
training patients (grouped inner CV) and scores the selected subsets of
every size on the held-out patients. It then compares the rankings (Kendall
τ, top-k overlap), measures their stability across folds, sums importance by
body region, and writes evidence statements for each held-out patient.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.linear_model import LogisticRegression, Ridge

from gaitfeat.features import FEATURE_INFO, FEATURES, REGIONS
from models.evidence import evidence_statements
from models.feature_importance import by_region, gain_ranking, mean_abs_shap, permutation_ranking, rank_agreement, shap_values
from models.selection import sequential_selection
from models.tabular import FeatureTableClassifier, FeatureTableRegressor

__all__ = ["feature_study"]


def _normalise(s: pd.Series) -> pd.Series:
    s = s.clip(lower=0)
    total = s.sum()
    return s / total if total > 0 else s


def _order_score(order: list[str], names: list[str]) -> pd.Series:
    """An importance-like score from a selection order: first entered = highest."""
    n = len(names)
    score = pd.Series(0.0, index=names)
    for pos, name in enumerate(order):
        score[name] = (n - pos) / n
    return score


def _thin(rows: np.ndarray, meta: pd.DataFrame, every: int) -> np.ndarray:
    """Every ``every``-th clip of each video (neighbouring clips overlap by ~90 % and add little for selection)."""
    if every <= 1:
        return rows
    rank = meta.iloc[rows].groupby("video_id").cumcount().to_numpy()
    return rows[rank % every == 0]


def _heldout_curve(task, X_tr, y_tr, X_te, y_te, order: list[str]) -> list[float]:
    """Held-out score of the first k selected features, k = 1..len(order) (accuracy or RMSE)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    imp, sc = SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
    Z_tr = sc.fit_transform(imp.fit_transform(X_tr[order].to_numpy(float)))
    Z_te = sc.transform(imp.transform(X_te[order].to_numpy(float)))
    out = []
    for k in range(1, len(order) + 1):
        if task == "classification":
            m = LogisticRegression(max_iter=2000).fit(Z_tr[:, :k], y_tr)
            out.append(float(np.mean(m.predict(Z_te[:, :k]) == y_te)))
        else:
            m = Ridge(alpha=1.0).fit(Z_tr[:, :k], y_tr)
            out.append(float(np.sqrt(np.mean((m.predict(Z_te[:, :k]) - y_te) ** 2))))
    return out


def _stability(per_fold: list[pd.Series]) -> float:
    """Mean pairwise Kendall τ between the folds' importance vectors."""
    taus = [sps.kendalltau(a.to_numpy(), b.reindex(a.index).to_numpy()).statistic for a, b in itertools.combinations(per_fold, 2)]
    taus = [t for t in taus if np.isfinite(t)]
    return float(np.mean(taus)) if taus else float("nan")


def feature_study(dataset, suite, splits, *, random_state: int = 0, backward: bool = True, sfs_thin: int = 1,
                  sfs_max_features: int | None = None,
                  shap_rows: int = 1500, n_permutation: int = 5, n_evidence: int = 5, top_k: int = 5,
                  progress=None) -> tuple[dict, dict]:
    """Run the study on the first repeat's outer splits.

    Parameters
    ----------
    dataset : evaluation.data.Dataset
        With validated labels in ``meta[suite.target]``.
    suite : evaluation.suites.Suite
    splits : list of evaluation.splits.Split
    backward : bool
        Also run backward elimination (slower).
    sfs_thin : int
        Selection uses every ``sfs_thin``-th clip of each training video.
    sfs_max_features : int, optional
        Stop forward selection after this many features (default: all);
        the remaining features follow in their original order.
    shap_rows : int
        At most this many held-out clips per fold (sampled) are kept for the
        SHAP summary plots; importance and evidence use all of them.

    Returns
    -------
    study : dict
        JSON-ready: ``methods``, ``importance`` (mean normalised importance
        per method and feature), ``ranks`` (1 = most important, per method)
        and ``mean_rank``, ``per_class_shap``, ``agreement``, ``stability``,
        ``regions`` and ``feature_regions``, ``sfs`` (orders per fold, inner
        and held-out curves), ``evidence`` (per held-out patient), ``seconds``.
    shap_sample : dict
        ``{"values": [...], "X": [...]}``: per fold, the SHAP values and
        feature values of the sampled held-out clips (for the beeswarm plots).
    """
    started = time.perf_counter()
    task = suite.task
    names = list(FEATURES)
    X = dataset.features[names].reset_index(drop=True)
    meta = dataset.meta
    y = meta[suite.target].to_numpy()
    patients = meta["patient_id"].to_numpy()
    rng = np.random.default_rng(random_state)
    first = [s for s in splits if s.repeat == splits[0].repeat]
    fold_imp: dict[str, list[pd.Series]] = {}
    class_shap: list[pd.DataFrame] = []
    sfs: dict = {"forward": {"orders": [], "inner": [], "heldout": []}}
    if backward:
        sfs["backward"] = {"orders": [], "inner": [], "heldout": []}
    evidence = []
    shap_store = {"values": [], "X": []}
    for split in first:
        if progress is not None:
            progress(f"importance fold {split.fold}")
        tr, te = split.train, split.test
        X_tr, X_te, y_tr, y_te = X.iloc[tr], X.iloc[te], y[tr], y[te]
        if task == "classification":
            xgb = FeatureTableClassifier(estimator="xgb", n_estimators=200, max_depth=4, n_jobs=2,
                                         random_state=random_state).fit(X_tr, y_tr)
            lin = FeatureTableClassifier(estimator="logreg").fit(X_tr, y_tr)
        else:
            xgb = FeatureTableRegressor(estimator="xgb", n_estimators=200, max_depth=4, n_jobs=2,
                                        random_state=random_state).fit(X_tr, y_tr)
            lin = FeatureTableRegressor(estimator="ridge").fit(X_tr, y_tr)
        sample = np.sort(rng.choice(len(te), size=min(shap_rows, len(te)), replace=False))
        imp = {}
        for label, model in (("xgb", xgb), ("linear", lin)):
            # Every held-out clip: the evidence statements need them all, and both explainers are fast.
            sv = shap_values(model, X_te, random_state=random_state)
            table = mean_abs_shap(sv)
            imp[f"shap_{label}"] = table["overall"]
            if label == "xgb":
                xgb_shap = sv
                if task == "classification":
                    class_shap.append(table.drop(columns="overall"))
                vals = sv.values[sample]
                if task == "classification" and vals.ndim == 3:
                    # a level missing from this fold's training patients has no SHAP column: NaN, not a shifted column
                    full = np.full(vals.shape[:2] + (len(suite.labels),), np.nan)
                    full[:, :, np.searchsorted(np.asarray(suite.labels), sv.classes)] = vals
                    vals = full
                shap_store["values"].append(vals)
                shap_store["X"].append(X_te.iloc[sample].to_numpy(float))
            imp[f"permutation_{label}"] = permutation_ranking(model, X_te, y_te, n_repeats=n_permutation,
                                                              random_state=random_state)
        imp["gain_xgb"] = gain_ranking(xgb)
        # Selection on the training patients only; its subsets are then scored on the held-out patients.
        thin = _thin(tr, meta, sfs_thin)
        for direction in sfs:
            path = sequential_selection(X.iloc[thin], y[thin], patients[thin], task=task, direction=direction,
                                        max_features=sfs_max_features if direction == "forward" else None)
            if direction == "forward":
                order = list(path["feature"])
                order += [f for f in names if f not in order]
            else:   # removed last = most important
                removed = [f for f in path["feature"] if f]
                order = [f for f in names if f not in removed] + removed[::-1]
            sfs[direction]["orders"].append(order)
            sfs[direction]["inner"].append(path["score"].tolist())
            sfs[direction]["heldout"].append(_heldout_curve(task, X_tr, y_tr, X_te, y_te, order))
            imp[f"sfs_{direction}"] = _order_score(order, names)
        for key, value in imp.items():
            fold_imp.setdefault(key, []).append(_normalise(value.reindex(names).fillna(0.0)))
        evidence += _fold_evidence(xgb, xgb_shap, X_te, y_te, patients[te], task, n_evidence)

    mean_imp = pd.DataFrame({k: pd.concat(v, axis=1).mean(axis=1) for k, v in fold_imp.items()})
    agreement = rank_agreement({k: mean_imp[k] for k in mean_imp.columns}, top_k=top_k)
    stability = {k: _stability(v) for k, v in fold_imp.items()}
    top_freq = {k: pd.concat([s.sort_values(ascending=False).index[:top_k].to_series() for s in v]).value_counts()
                .reindex(names, fill_value=0).astype(int).to_dict() for k, v in fold_imp.items()}
    regions = pd.DataFrame({k: by_region(mean_imp[k]) for k in mean_imp.columns}).reindex(list(REGIONS))
    ranks = {m: {f: r + 1 for r, f in enumerate(sorted(names, key=lambda f: -mean_imp[m][f]))} for m in mean_imp.columns}
    out = {
        "methods": {
            "shap_xgb": "mean |SHAP| of XGBoost on held-out clips (TreeExplainer, log-odds)",
            "shap_linear": "mean |SHAP| of the linear model on held-out clips (LinearExplainer)",
            "permutation_xgb": "permutation importance of XGBoost on held-out clips (drop in "
                               + ("log-likelihood)" if task == "classification" else "negative RMSE)"),
            "permutation_linear": "permutation importance of the linear model on held-out clips",
            "gain_xgb": "XGBoost total gain (training fit)",
            "sfs_forward": "forward selection order on the training patients (first in = 1)",
            **({"sfs_backward": "backward elimination order (removed last = 1)"} if backward else {}),
        },
        "folds": len(first),
        "importance": {k: mean_imp[k].to_dict() for k in mean_imp.columns},
        "ranks": ranks,
        "mean_rank": {f: float(np.mean([ranks[m][f] for m in ranks])) for f in names},
        "feature_regions": {f: FEATURE_INFO[f].region for f in names},
        "per_class_shap": (pd.concat(class_shap).groupby(level=0).mean().reindex(names).to_dict(orient="index")
                           if class_shap else {}),
        "agreement": agreement.to_dict(orient="records"),
        "stability": stability,
        "top_k": top_k,
        "top_k_frequency": top_freq,
        "regions": regions.to_dict(orient="index"),
        "sfs": {d: {**v, "score": "accuracy" if task == "classification" else "RMSE (held-out) / -RMSE (inner)",
                    "heldout_mean": np.mean(v["heldout"], axis=0).tolist(),
                    "heldout_sd": np.std(v["heldout"], axis=0).tolist(),
                    "order_stability": _order_stability(v["orders"], names)} for d, v in sfs.items()},
        "evidence": evidence,
        "seconds": time.perf_counter() - started,
    }
    return out, shap_store


def _order_stability(orders: list[list[str]], names: list[str]) -> dict:
    """Mean entry position (1 = first) and its SD per feature, and the mean pairwise Kendall τ of the orders."""
    pos = pd.DataFrame([{f: i + 1 for i, f in enumerate(o)} for o in orders]).reindex(columns=names)
    taus = [sps.kendalltau(pos.iloc[i].to_numpy(), pos.iloc[j].to_numpy()).statistic
            for i, j in itertools.combinations(range(len(pos)), 2)]
    return {"mean_position": pos.mean().to_dict(), "sd_position": pos.std(ddof=0).to_dict(),
            "kendall_tau": float(np.nanmean(taus)) if taus else float("nan")}


def _fold_evidence(model, sv, X_te: pd.DataFrame, y_te: np.ndarray, patients: np.ndarray, task: str,
                   n: int) -> list[dict]:
    """Statements for each held-out patient: mean features over the patient's clips, mean SHAP towards the prediction."""
    out = []
    frame = X_te.reset_index(drop=True)
    if task == "classification":
        proba = model.predict_proba(X_te)
    else:
        pred = model.predict(X_te)
    for pid in pd.unique(patients):
        rows = np.flatnonzero(patients == pid)
        feats = frame.iloc[rows].mean(axis=0)
        if task == "classification":
            k = int(np.argmax(proba[rows].mean(axis=0)))
            contrib = pd.Series(sv.for_class(k)[rows].mean(axis=0), index=sv.feature_names)
            predicted = model.classes_[k].item()
            truth = pd.Series(y_te[rows]).mode().iloc[0].item()
        else:
            p = float(pred[rows].mean())
            direction = np.sign(p - float(sv.expected[0])) or 1.0
            contrib = pd.Series(direction * sv.values[rows].mean(axis=0), index=sv.feature_names)
            predicted, truth = round(p, 1), round(float(np.mean(y_te[rows])), 1)
        out.append({"patient_id": str(pid), "true": truth, "predicted": predicted, "n_clips": int(len(rows)),
                     "statements": evidence_statements(feats, contrib, n=n)})
    return out
