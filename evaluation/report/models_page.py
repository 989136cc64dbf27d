"""The model page (``index.html``): data, protocol, metrics with CIs, comparisons, figures, networks, patients.

A pure function of the written record: :func:`render_models_page` reads the
``metrics.json`` dictionary and the ``figures.npz`` arrays and computes no
statistic of its own (every number on the page is in the record).
"""

from __future__ import annotations

import json

import numpy as np

from evaluation.metrics import LEVELS
from evaluation.report.html import (
    banners,
    class_labeller,
    defined_or,
    esc,
    fmt_num,
    fmt_p,
    page,
    table,
    with_ci,
)
from evaluation.report.plots import bland_altman_figure, confusion_figure, roc_figure, scatter_figure, skeleton_figure
from evaluation.report.taxonomy_page import confusion_structure_section, rationale_section

__all__ = ["render_models_page"]


def _data_section(record: dict) -> str:
    data = record["data"]
    counts = data["counts"]
    out = ["<h2>Data</h2>", f"<p><b>Source:</b> {esc(data['source'])} — {esc(data['description'])}</p>"]
    out.append(f"<p>{esc(counts['clips'])} clips of {esc(data['clip_frames'])} frames ({esc(data['layout'])} layout) "
               f"from {esc(counts['videos'])} videos of {esc(counts['patients'])} patients.</p>")
    if "per_class" in counts:
        class_name, _ = class_labeller(record)
        rows = [[esc(class_name(int(k))), esc(v["clips"]), f"{100 * v['clips'] / counts['clips']:.1f}%", esc(v["videos"]),
                 esc(v["patients"])] for k, v in counts["per_class"].items()]
        out.append(table(["class" if record.get("class_names") else "level", "clips", "share", "videos", "patients"], rows))
    target = data["target"]
    if target.get("clips_without_label"):
        out.append(f"<p>{esc(target['clips_without_label'])} clips ({esc(target['videos_without_label'])} videos) had no "
                   f"{esc(target['column'])} label and were left out.</p>")
    if "mean" in target:
        out.append(f"<p>{esc(target['column'])}: mean {fmt_num(target['mean'], 1)}, SD {fmt_num(target['sd'], 1)}, "
                   f"range {fmt_num(target['min'], 1)}–{fmt_num(target['max'], 1)}.</p>")
    report = data.get("report", {})
    items = []
    if report.get("clips_summary"):
        items.append(f"Windows: {esc(report['clips_summary'])}.")
    clips = report.get("clips") or {}
    if clips.get("dropped"):
        drops = ", ".join(f"{int(n)} {esc(k.replace('_', ' '))}" for k, n in clips["dropped"].items())
        items.append(f"Windows dropped by reason: {drops}.")
    for key, label in (("videos_not_preprocessed", "videos that could not be preprocessed"),
                       ("video_folders_without_labels", "video folders without a label row (skipped)"),
                       ("labels_without_video_folder", "label rows without a video folder (skipped)"),
                       ("videos_unreadable", "unreadable videos (skipped)"),
                       ("videos_mislabelled", "videos with an invalid label row (skipped)")):
        value = report.get(key)
        if value:
            names = list(value.items())[:10] if isinstance(value, dict) else [(v, "") for v in list(value)[:10]]
            listed = "; ".join(esc(k) + (f": {esc(r)}" if r else "") for k, r in names)
            items.append(f"{len(value)} {label}: {listed}{' …' if len(value) > 10 else ''}")
    if clips.get("sequences_too_short"):
        items.append(f"{len(clips['sequences_too_short'])} videos shorter than one window (skipped).")
    reader = report.get("reader") or {}
    for key, value in reader.items():
        if isinstance(value, list | dict) and value:
            items.append(f"reader, {esc(key.replace('_', ' '))}: {len(value)}")
    if items:
        out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
    feats = data.get("features")
    if feats:
        reasons = ", ".join(f"{esc(k)} ({v})" for k, v in list(feats["missing_reasons"].items())[:8]) or "none"
        out.append(f"<p>Clinical features: {esc(feats['n_features'])} per clip; {esc(feats['clips_all_features_measured'])} clips "
                   f"with every feature measured. Unmeasurable feature values by reason: {reasons}. "
                   "Missing values are imputed inside each training fold (median) or handled natively (XGBoost).</p>")
    return "\n".join(out)


def _protocol_section(record: dict) -> str:
    cfg = record["configuration"]
    folds = record["folds"]
    out = ["<h2>Protocol</h2>",
           f"<p>{esc(cfg['protocol_description'])}; every split is by patient (checked: no patient on both sides of any "
           f"split). Inside each training fold, about {100 * float(cfg['val_fraction']):.0f} % of the patients form a patient-disjoint "
           "validation split that chooses hyperparameters and boosting rounds; the chosen setting is then refitted on "
           f"the whole training fold. Class weighting: {esc(cfg['class_weight'])}. Confidence intervals: 95 % "
           f"percentile intervals from {esc(cfg['n_bootstrap'])} resamples of the test patients (all of a resampled "
           "patient's clips). Video and patient predictions average the clip probabilities (or values).</p>"]
    if folds:
        keys = list(folds[0].keys())
        rows = [[esc(f[k]) for k in keys] for f in folds]
        out.append("<details><summary>Patients and clips per split</summary>" + table([esc(k) for k in keys], rows, 0)
                   + "</details>")
    return "\n".join(out)


def _classification_tables(record: dict) -> str:
    models = record["models"]
    labels = record["labels"]
    ordinal = record.get("ordinal", True)
    class_name, _ = class_labeller(record)
    out = ["<h2>Results</h2>",
           '<p class="note">Accuracy and per-class recall in %, other metrics as fractions; 95 % patient-bootstrap '
           "intervals in brackets. "
           + ("κ<sub>l</sub>/κ<sub>q</sub>: linearly/quadratically weighted Cohen's kappa; "
              "within one: share predicted at most one level off; " if ordinal else
              "F1<sub>macro</sub>: mean F1 over the classes (each class counts the same); the classes are not "
              "ordered, so no weighted kappa or within-one; ")
           + "AUC: mean of the one-vs-rest AUCs of the classes "
           "present. Clip level is the unit of Table 3 of Yang, Chen &amp; He (dual-stream fusion).</p>"]
    key = "kappa_linear" if ordinal else "f1_macro"
    for level in LEVELS:
        best = max(models, key=lambda m: defined_or(models[m]["levels"][level]["metrics"][key], -9.0))
        rows = []
        for name, m in models.items():
            s = m["levels"][level]
            met, ci = s["metrics"], s["ci95"]
            name_cell = f'<span class="best">{esc(name)}</span>' if name == best else esc(name)
            cells = ([with_ci(met["accuracy"], ci.get("accuracy"), 4, pct=True),
                      with_ci(met["f1_weighted"], ci.get("f1_weighted")),
                      with_ci(met["kappa_linear"], ci.get("kappa_linear")),
                      with_ci(met["balanced_accuracy"], ci.get("balanced_accuracy")),
                      with_ci(met["kappa_quadratic"], ci.get("kappa_quadratic")),
                      with_ci(met["within_one"], ci.get("within_one"))] if ordinal else
                     [with_ci(met["f1_macro"], ci.get("f1_macro")),
                      with_ci(met["balanced_accuracy"], ci.get("balanced_accuracy")),
                      with_ci(met["accuracy"], ci.get("accuracy"), 4, pct=True),
                      with_ci(met["f1_weighted"], ci.get("f1_weighted"))])
            rows.append([name_cell, esc(m["description"]), *cells,
                         with_ci(met["auc_macro"], ci.get("auc_macro")),
                         with_ci(met["log_loss"], ci.get("log_loss"))])
        n = models[best]["levels"][level]["metrics"]["n"]
        out.append(f"<h3>{esc(level.capitalize())} level (N = {n} {esc(level)}s)</h3>")
        head = (["Acc", "F1<sub>w</sub>", "κ<sub>l</sub>", "balanced acc", "κ<sub>q</sub>", "within one"] if ordinal
                else ["F1<sub>macro</sub>", "balanced acc", "Acc", "F1<sub>w</sub>"])
        out.append(table(["model", "features / description", *head, "AUC", "log loss"], rows, 2))

    for metric, title in (("per_class_recall", "recall"), *(() if ordinal else (("per_class_precision", "precision"),))):
        out.append(f"<h3>Per-class {title} (%)</h3>")
        for level in ("clip", "patient"):
            first = next(iter(models.values()))["levels"][level]["metrics"]
            header = ["model"] + [f"{esc(class_name(c))}<br>N = {esc(first['support'][str(c)])}" for c in labels]
            rows = []
            for name, m in models.items():
                met, ci = m["levels"][level]["metrics"], m["levels"][level]["ci95"]
                rows.append([esc(name)] + [with_ci(met[metric][str(c)], (ci.get(metric) or {}).get(str(c)), 4, True)
                                           for c in labels])
            out.append(f"<p>{esc(level.capitalize())} level:</p>" + table(header, rows))
    patients = next(iter(models.values()))["levels"]["patient"]["metrics"]["support"]
    small = [c for c in labels if 0 < patients[str(c)] < 30]
    if small:
        out.append(f'<p class="note">{"Levels" if ordinal else "Classes"} with fewer than 30 test patients '
                   f'({", ".join(esc(class_name(c)) for c in small)}): per-class values there are not reliable.</p>')
    return "\n".join(out)


def _regression_tables(record: dict) -> str:
    models = record["models"]
    pooling = record["configuration"].get("pooling", "mean")
    out = ["<h2>Results</h2>",
           f'<p class="note">RMSE, MAE and bias in {esc(record.get("unit") or "target units")}; bias and limits of '
           "agreement (LoA) from Bland–Altman analysis of predicted − measured; 95 % patient-bootstrap intervals in "
           f"brackets. Video and patient predictions are the {esc(pooling)} of their clips' predictions.</p>"]
    for level in LEVELS:
        best = min(models, key=lambda m: defined_or(models[m]["levels"][level]["metrics"]["rmse"], 1e9))
        rows = []
        for name, m in models.items():
            met, ci = m["levels"][level]["metrics"], m["levels"][level]["ci95"]
            name_cell = f'<span class="best">{esc(name)}</span>' if name == best else esc(name)
            rows.append([name_cell, esc(m["description"])] + [with_ci(met[k], ci.get(k), 2 if k not in ("pearson_r", "r2") else 3)
                                                              for k in ("rmse", "mae", "pearson_r", "r2", "bias", "loa_lower", "loa_upper")])
        n = models[best]["levels"][level]["metrics"]["n"]
        out.append(f"<h3>{esc(level.capitalize())} level (N = {n} {esc(level)}s)</h3>")
        out.append(table(["model", "features / description", "RMSE", "MAE", "r", "R²", "bias", "LoA low", "LoA high"], rows, 2))
    return "\n".join(out)


def _uncertainty_section(record: dict) -> str:
    """The bucket heads' predicted spread against their errors (regression)."""
    unc = record.get("uncertainty")
    if not unc:
        return ""
    rows = [[esc(m), str(u["clips"]), fmt_num(u["mean_std"], 2), fmt_num(u["rmse"], 2),
             fmt_num(u["coverage_95"], 3, pct=True) + (" %" if u["coverage_95"] is not None else ""),
             fmt_num(u["spearman_abs_error"], 3)] for m, u in unc.items()]
    return ("<h2>Uncertainty of the bucket heads</h2>"
            '<p class="note">The bucket head predicts a distribution over target bins; its spread (SD) is an '
            "uncertainty per clip. Coverage: share of test clips within ±1.96 SD of the estimate (95 % if the spread "
            "were a calibrated normal SD); Spearman ρ: rank correlation of spread and absolute error (clip level, "
            "out of fold).</p>"
            + table(["model", "clips", f"mean SD ({esc(record.get('unit') or '')})", "RMSE", "coverage ±1.96 SD",
                     "Spearman ρ(SD, |error|)"], rows, 1))


def _comparison_section(record: dict) -> str:
    comp = record["comparisons"]
    if not comp or not comp.get("models"):
        return ""
    task = record["task"]
    nb = record["configuration"]["n_bootstrap"]
    out = ["<h2>Paired comparisons</h2>",
           '<p class="note">Differences model − reference on the same test patients, with paired patient-bootstrap '
           "95 % intervals and bootstrap p-values (same resamples for both models). Each model is compared with "
           "its own reference: the dual-stream models with the ST-GCN skeleton baseline (does fusion help?), the "
           "others with the majority / mean baseline. "]
    if task == "classification":
        out[-1] += ("McNemar's test compares patient-level correctness (exact binomial when fewer than 25 patients "
                    "are discordant).</p>")
        header = ["model", "reference", "level", "Δ accuracy", "p",
                  "Δ κ<sub>l</sub>" if record.get("ordinal", True) else "Δ F1<sub>macro</sub>", "p",
                  "McNemar (model only / reference only)", "p"]
    else:
        out[-1] += "Wilcoxon signed-rank test on patient-level absolute errors (negative Δ = better than the reference).</p>"
        header = ["model", "reference", "level", "Δ RMSE", "p", "Δ MAE", "p", "Wilcoxon median Δ|error|", "p"]
    rows = []
    for name, c in comp["models"].items():
        ref = c.get("reference", comp.get("reference"))
        for level in ("clip", "patient"):
            if task == "classification":
                # Nominal classes (taxonomy): macro-F1 instead of the ordinal kappa (records before macro-F1
                # was compared have only kappa).
                second = "kappa_linear" if record.get("ordinal", True) or "f1_macro" not in c[level] else "f1_macro"
                a, k = c[level]["accuracy"], c[level][second]
                test = c["mcnemar_patient"] if level == "patient" else None
                tail = [f"{test['a_only']} / {test['b_only']}", fmt_p(test["p_value"])] if test else ["", ""]
                rows.append([esc(name), esc(ref), level, with_ci(a["difference"], a["ci"], 4, True), fmt_p(a["p_value"], nb),
                             with_ci(k["difference"], k["ci"]), fmt_p(k["p_value"], nb)] + tail)
            else:
                a, k = c[level]["rmse"], c[level]["mae"]
                test = c["wilcoxon_patient"] if level == "patient" else None
                tail = [fmt_num(test["median_difference"], 2), fmt_p(test["p_value"])] if test else ["", ""]
                rows.append([esc(name), esc(ref), level, with_ci(a["difference"], a["ci"], 2), fmt_p(a["p_value"], nb),
                             with_ci(k["difference"], k["ci"], 2), fmt_p(k["p_value"], nb)] + tail)
    out.append(table(header, rows, 3))
    return "\n".join(out)


def _deep_section(record: dict) -> str:
    """Neural networks: training summary per fold, Grad-CAM joint scores and the features they selected."""
    deep = record.get("deep") or []
    if not deep:
        return ""
    cfg = record["configuration"]
    out = ["<h2>Skeleton models: training and Grad-CAM</h2>",
           f'<p class="note">Deep-model profile <b>{esc(cfg.get("deep_profile"))}</b> on device {esc(cfg.get("device"))} '
           "(see docs/models.md: the compact ST-GCN is a CPU-sized variant, not the original network; "
           "<code>--profile paper</code> trains the original). Every network trains on the fold's fitting patients and "
           "stops early on its validation patients; the dual-stream models start from the same fold's ST-GCN "
           "baseline (phase 1 frozen, phase 2 last blocks fine-tuned).</p>"]
    rows = []
    for d in deep:
        val = d.get("best_validation") or {}
        score = ", ".join(f"{esc(k.replace('val_', ''))} {v:.3f}" for k, v in val.items())
        rows.append([esc(d["model"]), str(d["fold"] + 1), esc(d["epochs_run"]), esc(d["best_epoch"]), score,
                     f"{d['fit_seconds']:.1f}", "yes" if d.get("backbone_reused") else "",
                     str(len(d.get("selected_features") or [])) or ""])
    out.append("<details><summary>Training per fold</summary>" + table(
        ["model", "fold", "epochs run", "best epoch", "best validation", "fit s", "fold's ST-GCN reused", "features"],
        rows, 1) + "</details>")
    cam = record.get("gradcam")
    if not cam:
        return "\n".join(out)
    layout = record["data"].get("layout") or "coco17"
    out.append('<div class="figs">' + f'<img alt="Grad-CAM joint contributions" '
               f'src="{skeleton_figure(np.asarray(cam["joint_scores"]), layout)}">' + "</div>")
    reg_rows = [[esc(r), fmt_num(v["mean"], 2), fmt_num(v["min"], 2), fmt_num(v["max"], 2)]
                for r, v in cam["regions"].items()]
    out.append("<p>Grad-CAM of each fold's ST-GCN baseline on its training clips (true level as target), "
               "joint scores min-max scaled to [0, 1] and averaged over the folds. Region score = mean of its joints; "
               f"regions scoring at least the threshold give the <i>selected</i> feature set of {esc(cam['model'])} and "
               "the other Grad-CAM variants (gait-cycle features are always kept, as Yang, Chen &amp; He do).</p>")
    out.append(table(["region", "mean score", "min over folds", "max over folds"], reg_rows, 1))
    sel = [[esc(f), f"{int(c)} / {cam['folds']}"] for f, c in cam["selected_features"]]
    out.append("<details><summary>Selected features: in how many folds</summary>"
               + table(["feature", "folds"], sel, 1) + "</details>")
    return "\n".join(out)


def _figures(record: dict, arrays) -> str:
    out = ["<h2>Figures</h2>"]
    names = record["figures"]["models"]
    if record["task"] == "classification":
        labels = [int(c) for c in record["labels"]]
        class_name, short_class_name = class_labeller(record)
        class_names = [class_name(c) for c in labels]
        short = [short_class_name(c) for c in labels]
        for level in ("clip", "patient"):
            mats = {n: np.asarray(record["models"][n]["levels"][level]["metrics"]["confusion"]) for n in names}
            out.append(f"<h3>Confusion matrices, {esc(level)} level</h3>")
            reps = record["configuration"]["n_repeats"]
            what = "class, clinically similar classes adjacent" if record.get("class_names") else "GMFCS level"
            title = f"{level} level: counts and row % ({what}, true in rows)" + (f", summed over {reps} repeats" if reps > 1 else "")
            out.append(f'<img alt="confusion matrices at {esc(level)} level" src="{confusion_figure(mats, short, title)}">')
        curves: dict = {}
        for i, n in enumerate(names):
            curves[n] = {}
            for j, (c, cname) in enumerate(zip(labels, class_names)):
                if f"roc_fpr_{i}_{j}" in arrays:
                    auc = record["models"][n]["levels"]["clip"]["metrics"]["auc_ovr"][str(c)]
                    curves[n][cname] = (arrays[f"roc_fpr_{i}_{j}"], arrays[f"roc_tpr_{i}_{j}"],
                                        auc if auc is not None else float("nan"))
        out.append("<h3>One-vs-rest ROC curves, clip level</h3>")
        out.append('<p class="note">Out-of-fold probabilities pooled over folds (AUC in the legend). A constant '
                   "predictor's pooled AUC can differ from 0.5 because its class shares differ between folds.</p>")
        out.append(f'<img alt="ROC curves" src="{roc_figure(curves, class_names, "clip level, one-vs-rest")}">')
    else:
        pairs = {n: (arrays[f"video_true_{i}"], arrays[f"video_pred_{i}"]) for i, n in enumerate(names)}
        agreement = record["figures"]["video_agreement"]
        unit = record.get("unit") or ""
        which = "video level" + (", first repeat" if record["configuration"]["n_repeats"] > 1 else "")
        out.append("<h3>Predicted against measured, video level</h3>")
        out.append(f'<img alt="scatter plots" src="{scatter_figure(pairs, agreement, unit, which)}">')
        out.append("<h3>Bland–Altman, video level</h3>")
        out.append(f'<img alt="Bland-Altman plots" src="{bland_altman_figure(pairs, agreement, unit, which)}">')
    return "\n".join(out)


def _patient_table(record: dict) -> str:
    """Patient-level predictions of the best model (by patient-level kappa or RMSE), for review."""
    table_data = record.get("patient_predictions")
    if not table_data:
        return ""
    best, cols = table_data["model"], table_data["columns"]
    rows = []
    for values in table_data["rows"]:
        d = dict(zip(cols, values))
        if record["task"] == "classification":
            class_name, short_class_name = class_labeller(record)
            probs = " ".join(f"{short_class_name(c.split('_')[1])}: {d[c]:.2f}" for c in cols if c.startswith("proba_"))
            ok = "" if d["y_true"] == d["y_pred"] else "✗"
            rows.append([esc(d["patient_id"]), esc(d["n_clips"]), esc(class_name(d["y_true"])), esc(class_name(d["y_pred"])),
                         ok, esc(probs)])
        else:
            rows.append([esc(d["patient_id"]), esc(d["n_clips"]), fmt_num(d["y_true"], 1), fmt_num(d["y_pred"], 1),
                         fmt_num(d["y_pred"] - d["y_true"], 1)])
    header = (["patient", "clips", "true", "predicted", "error", "mean probabilities"] if record["task"] == "classification"
              else ["patient", "clips", "measured", "predicted", "difference"])
    return (f"<h2>Per-patient predictions ({esc(best)})</h2><details><summary>{len(rows)} test patients"
            f"{' (first repeat)' if record['configuration']['n_repeats'] > 1 else ''}</summary>"
            + table(header, rows, 1) + "</details>")


def render_models_page(record: dict, arrays) -> str:
    """The model page as one string, from the record (``metrics.json``) and its figure arrays (``figures.npz``)."""
    data = record["data"]
    title = f"{record['title']} — patient-level evaluation"
    notes = record.get("notes") or []
    notes_html = ("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">Written {esc(record["created_utc"])} by gaitfeat {esc(record["environment"]["packages"].get("gaitfeat"))}'
        f' (commit {esc((record["environment"]["git"] or {}).get("commit") or "unknown")}); seed {esc(record["seed"])}; '
        f'run time {record["runtime_s"]:.0f} s.</p>',
        *banners(data),
        _data_section(record),
        _protocol_section(record),
        _classification_tables(record) if record["task"] == "classification" else _regression_tables(record),
        _comparison_section(record),
        _uncertainty_section(record) if record["task"] == "regression" else "",
        _figures(record, arrays),
        confusion_structure_section(record),
        rationale_section(record),
        _deep_section(record),
        ('<h2>Feature importance</h2><p>Which gait features drive the models — SHAP, permutation importance, '
         'XGBoost gain and sequential selection compared, by body region, with evidence statements per patient: '
         '<a href="features.html">features.html</a>.</p>') if record.get("importance") else "",
        _patient_table(record),
        notes_html,
        "<h2>Configuration and environment</h2>",
        "<details><summary>metrics.json: configuration, models, environment</summary><pre>"
        + esc(json.dumps({"configuration": record["configuration"],
                          "models": {k: {kk: vv for kk, vv in v.items() if kk != "levels"} for k, v in record["models"].items()},
                          "environment": record["environment"], "timings": record["timings"]}, indent=1))
        + "</pre></details>",
    ]
    return page(title, body)
