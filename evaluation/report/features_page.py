"""The feature-importance page (``features.html``): SHAP, permutation, gain and sequential selection compared.

A pure function of the written record: :func:`render_features_page` reads
the study in ``metrics.json["importance"]`` (rankings, agreement, stability,
regions, selection curves, evidence statements) and the SHAP samples in
``figures.npz``, and computes no statistic of its own.
"""

from __future__ import annotations

import numpy as np

from evaluation.report.html import banners, class_name, esc, fmt_num, page, table
from evaluation.report.plots import (
    beeswarm_figure,
    class_importance_figure,
    region_figure,
    selection_curve_figure,
)

__all__ = ["render_features_page", "METHOD_NAMES"]

METHOD_NAMES = {"shap_xgb": "SHAP (XGBoost)", "shap_linear": "SHAP (linear)", "permutation_xgb": "permutation (XGBoost)",
                 "permutation_linear": "permutation (linear)", "gain_xgb": "gain (XGBoost)",
                 "sfs_forward": "forward selection", "sfs_backward": "backward elimination"}


def render_features_page(record: dict, arrays) -> str:
    """The feature-importance page (``features.html``, or ``index.html`` of a study-only run) as one string,
    from the record (``metrics.json``) and its figure arrays (``figures.npz``: the SHAP beeswarm samples)."""
    study = record["importance"]
    data = record["data"]
    task = record["task"]
    title = f"{record['title']} — feature importance"
    imp = {m: study["importance"][m] for m in study["importance"]}
    methods = list(imp)
    features = list(next(iter(imp.values())))
    ranks, mean_rank = study["ranks"], study["mean_rank"]
    link = '<a href="index.html">Model results</a>.' if record["models"] else ""
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="note">Written {esc(record["created_utc"])}; {study["folds"]} patient-level folds of the first repeat; '
            f"study time {study['seconds']:.0f} s. {link}</p>",
            *banners(data),
            f"<p><b>Data:</b> {esc(data['source'])} — {esc(data['description'])}</p>",
            "<h2>Methods</h2><p>In every fold an XGBoost model and a linear model ("
            + ("logistic regression" if task == "classification" else "ridge regression")
            + ") are fitted on the training patients; importance is measured on the held-out patients. "
              "Every method's importance is normalised to sum to 1 within a fold, then averaged over folds. "
              "Sequential selection runs on the training patients only (grouped inner 3-fold CV of a ridge "
              "least-squares model on standardised features); the subsets it picks are then scored on the held-out "
              "patients with " + ("logistic regression" if task == "classification" else "ridge regression") + ".</p>",
            "<ul>" + "".join(f"<li><b>{esc(METHOD_NAMES.get(m, m))}</b>: {esc(d)}</li>" for m, d in study["methods"].items())
            + "</ul>"]

    # forward-selection curve
    curves = {}
    for d, v in study["sfs"].items():
        k = np.arange(1, len(v["heldout_mean"]) + 1)
        curves[f"{d}, held-out patients"] = (k, np.asarray(v["heldout_mean"]), np.asarray(v["heldout_sd"]))
    ylabel = "accuracy (clips)" if task == "classification" else "RMSE (clips)"
    body.append("<h2>Score against number of features</h2>")
    body.append(f'<img alt="selection curve" src="{selection_curve_figure(curves, ylabel, "subsets chosen on training patients, scored on held-out patients (mean ± SD over folds)")}">')
    fwd = study["sfs"]["forward"]["heldout_mean"]
    bwd = study["sfs"].get("backward", {}).get("heldout_mean")
    rows = [[str(k + 1), fmt_num(fwd[k])] + ([fmt_num(bwd[k])] if bwd else []) for k in range(len(fwd))]
    body.append("<details><summary>Curve values</summary>" + table(
        ["k", "forward"] + (["backward"] if bwd else []), rows) + "</details>")
    stab = study["sfs"]["forward"]["order_stability"]
    order_rows = sorted(features, key=lambda f: stab["mean_position"][f])
    body.append(f"<h3>Forward selection order and its stability across folds</h3><p>Mean pairwise Kendall τ between the "
                f"folds' orders: {fmt_num(stab['kendall_tau'], 2)}.</p>")
    fold_orders = study["sfs"]["forward"]["orders"]
    header = ["feature", "mean position", "SD"] + [f"fold {i}" for i in range(len(fold_orders))]
    rows = [[esc(f), fmt_num(stab["mean_position"][f], 1), fmt_num(stab["sd_position"][f], 1)]
            + [str(o.index(f) + 1) for o in fold_orders] for f in order_rows]
    body.append("<details><summary>Entry position of every feature in each fold</summary>" + table(header, rows) + "</details>")

    # rankings side by side
    body.append("<h2>Rankings side by side</h2>")
    header = ["feature", "region", "mean rank"] + [esc(METHOD_NAMES.get(m, m)) for m in methods]
    rows = [[esc(f), esc(study["feature_regions"][f]), fmt_num(mean_rank[f], 1)]
            + [f'{esc(ranks[m][f])} <span class="ci">({100 * imp[m][f]:.1f}%)</span>' for m in methods]
            for f in sorted(features, key=lambda f: mean_rank[f])]
    body.append('<p class="note">Rank (1 = most important) and share of the method&#x27;s total importance.</p>'
                + table(header, rows))
    body.append("<h3>Agreement between methods</h3>")
    rows = [[esc(METHOD_NAMES.get(a["method_a"], a["method_a"])), esc(METHOD_NAMES.get(a["method_b"], a["method_b"])),
             fmt_num(a["kendall_tau"], 2), fmt_num(a["top_k_overlap"], 2)] for a in study["agreement"]]
    body.append(table(["method", "method", "Kendall τ", f"top-{esc(study['top_k'])} overlap"], rows, 2))
    body.append("<h3>Stability across folds</h3>")
    rows = [[esc(METHOD_NAMES.get(m, m)), fmt_num(study["stability"][m], 2),
             esc(", ".join(f"{f} ({n})" for f, n in sorted(study["top_k_frequency"][m].items(), key=lambda t: -t[1])[:6] if n))]
            for m in methods]
    body.append(table(["method", "mean pairwise Kendall τ between folds",
                        f"most frequent top-{esc(study['top_k'])} features (number of folds)"], rows, 1))

    # regions
    body.append("<h2>Importance by body region</h2>")
    shares = {r: {METHOD_NAMES.get(m, m): v for m, v in row.items()} for r, row in study["regions"].items()}
    region_uri = region_figure(shares, "share of each method's importance")
    body.append(f'<img alt="importance by region" src="{region_uri}">')

    # SHAP figures
    body.append("<h2>SHAP (XGBoost)</h2>")
    if study.get("per_class_shap"):
        classes = [class_name(int(c)) for c in record["labels"]]
        per_class = {f: {class_name(int(c)): v for c, v in row.items()} for f, row in study["per_class_shap"].items()}
        body.append(f'<img alt="mean absolute SHAP per level" src="{class_importance_figure(per_class, classes, "global importance per level (mean |SHAP|, mean over folds)")}">')
    X, V = arrays["shap_X"], arrays["shap_values"]
    orders = record["figures"]["shap_order"]
    if V.ndim == 3:
        for j, c in enumerate(record["labels"]):
            if V.shape[2] > j:
                title = f"SHAP summary, {class_name(int(c))} (held-out clips)"
                body.append(f'<img alt="SHAP summary for {esc(class_name(int(c)))}" '
                            f'src="{beeswarm_figure(V[:, :, j], X, features, orders[j], title)}">')
    else:
        body.append(f'<img alt="SHAP summary" src="{beeswarm_figure(V, X, features, orders[0], "SHAP summary (held-out clips)")}">')

    # evidence
    ev = study["evidence"]
    body.append(f"<h2>Evidence statements per patient ({len(ev)} held-out patients)</h2>")
    body.append('<p class="note">For each patient: the features that pushed the XGBoost model most towards its '
                "prediction (mean SHAP over the patient's held-out clips), stated with the patient's mean measured "
                "value and the typical range of typically developing children (5th–95th percentile of the "
                "simulator's normative children; models/typical_ranges.csv). Symmetry indices are means of the "
                "per-clip indices, so they can exceed the index of the mean left and right values.</p>")
    rows = []
    for e in ev:
        true = class_name(e["true"]) if task == "classification" else fmt_num(e["true"], 1)
        pred = class_name(e["predicted"]) if task == "classification" else fmt_num(e["predicted"], 1)
        items = "".join(f"<li>{esc(st['text'])}</li>" for st in e["statements"])
        rows.append([esc(e["patient_id"]), esc(true), esc(pred), esc(e["n_clips"]), f'<ul style="margin:0">{items}</ul>'])
    body.append("<details><summary>Show all patients</summary>"
                + table(["patient", "true", "predicted", "clips", "evidence (strongest first)"], rows, 5) + "</details>")
    return page(title, body)
