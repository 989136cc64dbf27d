"""The self-contained HTML report (``reports/<suite>/index.html``).

One file, no external resources: figures are embedded PNG data URIs, the
style sheet is inline, there is no JavaScript. Every string that comes from
data or configuration (patient and video IDs, model names, file paths,
notes) goes through :func:`esc`, so a patient ID such as
``<script>alert(1)</script>`` is shown as text and never run.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from evaluation.metrics import LEVELS
from evaluation.plots import (
    beeswarm_figure,
    bland_altman_figure,
    class_importance_figure,
    confusion_figure,
    region_figure,
    roc_figure,
    scatter_figure,
    selection_curve_figure,
)

__all__ = ["render_html", "render_importance_html", "esc"]

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;
     padding:1.2em 2em 3em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.55em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1.02em;margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em}
th,td{border:1px solid #d6d6d6;padding:.28em .6em;text-align:right;vertical-align:top}
th{background:#f3f4f6} td.l,th.l{text-align:left}
.ci{color:#666;font-size:.86em;white-space:nowrap}
.banner{padding:.8em 1.1em;border-radius:6px;margin:1em 0;font-weight:600}
.sim{background:#fff4ce;border:2px solid #c99a00;color:#5c4500}
.leak{background:#fde2e1;border:2px solid #c0262d;color:#8a1015}
.note{color:#555;font-size:.9em}
.best{font-weight:700}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.8em}
details{margin:.6em 0}
"""


def esc(value: object) -> str:
    """HTML-escape anything (quotes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def _or(value, default: float) -> float:
    """``value`` unless it is undefined (None/NaN in metrics.json); 0 stays 0."""
    return default if value is None or (isinstance(value, float) and not np.isfinite(value)) else value


def _num(v, digits: int = 3, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return f"{100 * v:.{max(digits - 2, 1)}f}" if pct else f"{v:.{digits}f}"


def _with_ci(v, ci, digits: int = 3, pct: bool = False) -> str:
    text = _num(v, digits, pct)
    if ci and ci[0] is not None and ci[1] is not None and text != "n/a":
        text += f' <span class="ci">[{_num(ci[0], digits, pct)}, {_num(ci[1], digits, pct)}]</span>'
    return text


def _p(value, n_boot: int | None = None) -> str:
    """A p-value; a bootstrap p of 0 is reported as below the resolution 1/B."""
    if value is None:
        return "n/a"
    if n_boot and value == 0:
        return f"< {1 / n_boot:.2g}"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def _class_name(c) -> str:
    return f"GMFCS {_ROMAN.get(int(c), c)}" if isinstance(c, int | np.integer) else str(c)


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Cells must already be escaped (or built from escaped parts)."""
    th = "".join(f'<th class="{"l" if i < left else ""}">{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _data_section(record: dict) -> str:
    data = record["data"]
    counts = data["counts"]
    out = ["<h2>Data</h2>", f"<p><b>Source:</b> {esc(data['source'])} — {esc(data['description'])}</p>"]
    out.append(f"<p>{counts['clips']} clips of {data['clip_frames']} frames ({esc(data['layout'])} layout) "
               f"from {counts['videos']} videos of {counts['patients']} patients.</p>")
    if "per_class" in counts:
        rows = [[esc(_class_name(int(k))), str(v["clips"]), f"{100 * v['clips'] / counts['clips']:.1f}%", str(v["videos"]),
                 str(v["patients"])] for k, v in counts["per_class"].items()]
        out.append(_table(["level", "clips", "share", "videos", "patients"], rows))
    target = data["target"]
    if target.get("clips_without_label"):
        out.append(f"<p>{target['clips_without_label']} clips ({target['videos_without_label']} videos) had no "
                   f"{esc(target['column'])} label and were left out.</p>")
    if "mean" in target:
        out.append(f"<p>{esc(target['column'])}: mean {_num(target['mean'], 1)}, SD {_num(target['sd'], 1)}, "
                   f"range {_num(target['min'], 1)}–{_num(target['max'], 1)}.</p>")
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
                       ("videos_unreadable", "unreadable videos (skipped)")):
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
        out.append(f"<p>Clinical features: {feats['n_features']} per clip; {feats['clips_all_features_measured']} clips "
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
           f"percentile intervals from {cfg['n_bootstrap']} resamples of the test patients (all of a resampled "
           "patient's clips). Video and patient predictions average the clip probabilities (or values).</p>"]
    if folds:
        keys = list(folds[0].keys())
        rows = [[esc(f[k]) for k in keys] for f in folds]
        out.append("<details><summary>Patients and clips per split</summary>" + _table([esc(k) for k in keys], rows, 0)
                   + "</details>")
    return "\n".join(out)


def _classification_tables(record: dict) -> str:
    models = record["models"]
    labels = record["labels"]
    out = ["<h2>Results</h2>",
           '<p class="note">Accuracy and per-class recall in %, other metrics as fractions; 95 % patient-bootstrap '
           "intervals in brackets. κ<sub>l</sub>/κ<sub>q</sub>: linearly/quadratically weighted Cohen's kappa; "
           "within one: share predicted at most one level off; AUC: mean of the one-vs-rest AUCs of the levels "
           "present. Clip level is the unit of the seed paper's Table 3.</p>"]
    for level in LEVELS:
        best = max(models, key=lambda m: _or(models[m]["levels"][level]["metrics"]["kappa_linear"], -9.0))
        rows = []
        for name, m in models.items():
            s = m["levels"][level]
            met, ci = s["metrics"], s["ci95"]
            name_cell = f'<span class="best">{esc(name)}</span>' if name == best else esc(name)
            rows.append([name_cell, esc(m["description"]),
                         _with_ci(met["accuracy"], ci.get("accuracy"), 4, pct=True),
                         _with_ci(met["f1_weighted"], ci.get("f1_weighted")),
                         _with_ci(met["kappa_linear"], ci.get("kappa_linear")),
                         _with_ci(met["balanced_accuracy"], ci.get("balanced_accuracy")),
                         _with_ci(met["kappa_quadratic"], ci.get("kappa_quadratic")),
                         _with_ci(met["within_one"], ci.get("within_one")),
                         _with_ci(met["auc_macro"], ci.get("auc_macro")),
                         _with_ci(met["log_loss"], ci.get("log_loss"))])
        n = models[best]["levels"][level]["metrics"]["n"]
        out.append(f"<h3>{esc(level.capitalize())} level (N = {n} {esc(level)}s)</h3>")
        out.append(_table(["model", "features / description", "Acc", "F1<sub>w</sub>", "κ<sub>l</sub>", "balanced acc",
                           "κ<sub>q</sub>", "within one", "AUC", "log loss"], rows, 2))

    out.append("<h3>Per-class recall (%)</h3>")
    for level in ("clip", "patient"):
        first = next(iter(models.values()))["levels"][level]["metrics"]
        header = ["model"] + [f"{esc(_class_name(c))}<br>N = {first['support'][str(c)]}" for c in labels]
        rows = []
        for name, m in models.items():
            met, ci = m["levels"][level]["metrics"], m["levels"][level]["ci95"]
            rows.append([esc(name)] + [_with_ci(met["per_class_recall"][str(c)], (ci.get("per_class_recall") or {}).get(str(c)), 4, True)
                                       for c in labels])
        out.append(f"<p>{esc(level.capitalize())} level:</p>" + _table(header, rows))
    patients = next(iter(models.values()))["levels"]["patient"]["metrics"]["support"]
    small = [c for c in labels if 0 < patients[str(c)] < 30]
    if small:
        out.append(f'<p class="note">Levels with fewer than 30 test patients ({", ".join(esc(_class_name(c)) for c in small)}): '
                   "per-class values there are not reliable.</p>")
    return "\n".join(out)


def _regression_tables(record: dict) -> str:
    models = record["models"]
    out = ["<h2>Results</h2>",
           '<p class="note">RMSE, MAE and bias in GDI points; bias and limits of agreement (LoA) from Bland–Altman '
           "analysis of predicted − measured; 95 % patient-bootstrap intervals in brackets.</p>"]
    for level in LEVELS:
        best = min(models, key=lambda m: _or(models[m]["levels"][level]["metrics"]["rmse"], 1e9))
        rows = []
        for name, m in models.items():
            met, ci = m["levels"][level]["metrics"], m["levels"][level]["ci95"]
            name_cell = f'<span class="best">{esc(name)}</span>' if name == best else esc(name)
            rows.append([name_cell, esc(m["description"])] + [_with_ci(met[k], ci.get(k), 2 if k not in ("pearson_r", "r2") else 3)
                                                              for k in ("rmse", "mae", "pearson_r", "r2", "bias", "loa_lower", "loa_upper")])
        n = models[best]["levels"][level]["metrics"]["n"]
        out.append(f"<h3>{esc(level.capitalize())} level (N = {n} {esc(level)}s)</h3>")
        out.append(_table(["model", "features / description", "RMSE", "MAE", "r", "R²", "bias", "LoA low", "LoA high"], rows, 2))
    return "\n".join(out)


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
        header = ["model", "reference", "level", "Δ accuracy", "p", "Δ κ<sub>l</sub>", "p",
                  "McNemar (model only / reference only)", "p"]
    else:
        out[-1] += "Wilcoxon signed-rank test on patient-level absolute errors (negative Δ = better than the reference).</p>"
        header = ["model", "reference", "level", "Δ RMSE", "p", "Δ MAE", "p", "Wilcoxon median Δ|error|", "p"]
    rows = []
    for name, c in comp["models"].items():
        ref = c.get("reference", comp.get("reference"))
        for level in ("clip", "patient"):
            if task == "classification":
                a, k = c[level]["accuracy"], c[level]["kappa_linear"]
                test = c["mcnemar_patient"] if level == "patient" else None
                tail = [f"{test['a_only']} / {test['b_only']}", _p(test["p_value"])] if test else ["", ""]
                rows.append([esc(name), esc(ref), level, _with_ci(a["difference"], a["ci"], 4, True), _p(a["p_value"], nb),
                             _with_ci(k["difference"], k["ci"]), _p(k["p_value"], nb)] + tail)
            else:
                a, k = c[level]["rmse"], c[level]["mae"]
                test = c["wilcoxon_patient"] if level == "patient" else None
                tail = [_num(test["median_difference"], 2), _p(test["p_value"])] if test else ["", ""]
                rows.append([esc(name), esc(ref), level, _with_ci(a["difference"], a["ci"], 2), _p(a["p_value"], nb),
                             _with_ci(k["difference"], k["ci"], 2), _p(k["p_value"], nb)] + tail)
    out.append(_table(header, rows, 3))
    return "\n".join(out)


def _deep_section(record: dict) -> str:
    """Neural networks: training summary per fold, Grad-CAM joint scores and the features they selected."""
    deep = record.get("deep") or []
    if not deep:
        return ""
    from evaluation.plots import skeleton_figure

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
        rows.append([esc(d["model"]), str(d["fold"] + 1), str(d["epochs_run"]), esc(d["best_epoch"]), score,
                     f"{d['fit_seconds']:.1f}", "yes" if d.get("backbone_reused") else "",
                     str(len(d.get("selected_features") or [])) or ""])
    out.append("<details><summary>Training per fold</summary>" + _table(
        ["model", "fold", "epochs run", "best epoch", "best validation", "fit s", "fold's ST-GCN reused", "features"],
        rows, 1) + "</details>")
    cams = [d for d in deep if d.get("joint_contributions")]
    if not cams:
        return "\n".join(out)
    first = cams[0]["model"]
    cams = [d for d in cams if d["model"] == first]     # one Grad-CAM per fold (all variants share the backbone)
    joints = np.mean([d["joint_contributions"] for d in cams], axis=0)
    layout = record["data"].get("layout") or "coco17"
    out.append('<div class="figs">' + f'<img alt="Grad-CAM joint contributions" src="{skeleton_figure(joints, layout)}">'
               + "</div>")
    regions = pd.DataFrame([d["region_scores"] for d in cams])
    reg_rows = [[esc(r), _num(regions[r].mean(), 2), _num(regions[r].min(), 2), _num(regions[r].max(), 2)]
                for r in regions.columns]
    out.append("<p>Grad-CAM of each fold's ST-GCN baseline on its training clips (true level as target), "
               "joint scores min-max scaled to [0, 1] and averaged over the folds. Region score = mean of its joints; "
               f"regions scoring at least the threshold give the <i>selected</i> feature set of {esc(first)} and the "
               "other Grad-CAM variants (gait-cycle features are always kept, as in seed 000).</p>")
    out.append(_table(["region", "mean score", "min over folds", "max over folds"], reg_rows, 1))
    counts = pd.Series([f for d in cams for f in d["selected_features"]]).value_counts()
    n = len(cams)
    sel = [[esc(f), f"{int(c)} / {n}"] for f, c in counts.items()]
    out.append("<details><summary>Selected features: in how many folds</summary>"
               + _table(["feature", "folds"], sel, 1) + "</details>")
    return "\n".join(out)


def _figures(results, record: dict) -> str:
    out = ["<h2>Figures</h2>"]
    names = results.models
    if record["task"] == "classification":
        labels = [int(c) for c in record["labels"]]
        class_names = [_class_name(c) for c in labels]
        short = [_ROMAN.get(c, str(c)) for c in labels]
        for level in ("clip", "patient"):
            mats = {n: np.asarray(record["models"][n]["levels"][level]["metrics"]["confusion"]) for n in names}
            out.append(f"<h3>Confusion matrices, {esc(level)} level</h3>")
            reps = record["configuration"]["n_repeats"]
            title = f"{level} level: counts and row % (GMFCS level, true in rows)" + (f", summed over {reps} repeats" if reps > 1 else "")
            out.append(f'<img alt="confusion matrices at {esc(level)} level" src="{confusion_figure(mats, short, title)}">')
        curves: dict = {}
        for n in names:
            u = results.units(n, "clip", 0)
            curves[n] = {}
            for c, cname in zip(labels, class_names):
                pos = (u["y_true"] == c).to_numpy()
                if pos.any() and not pos.all():
                    fpr, tpr, _ = roc_curve(pos, u[f"proba_{c}"].to_numpy())
                    auc = record["models"][n]["levels"]["clip"]["metrics"]["auc_ovr"][str(c)]
                    curves[n][cname] = (fpr, tpr, auc if auc is not None else float("nan"))
        out.append("<h3>One-vs-rest ROC curves, clip level</h3>")
        out.append('<p class="note">Out-of-fold probabilities pooled over folds (AUC in the legend). A constant '
                   "predictor's pooled AUC can differ from 0.5 because its class shares differ between folds.</p>")
        out.append(f'<img alt="ROC curves" src="{roc_figure(curves, class_names, "clip level, one-vs-rest")}">')
    else:
        pairs = {}
        for n in names:
            u = results.units(n, "video", 0)
            pairs[n] = (u["y_true"].to_numpy(float), u["y_pred"].to_numpy(float))
        unit = results.suite.unit
        out.append("<h3>Predicted against measured, video level</h3>")
        out.append(f'<img alt="scatter plots" src="{scatter_figure(pairs, unit, "video level")}">')
        out.append("<h3>Bland–Altman, video level</h3>")
        out.append(f'<img alt="Bland-Altman plots" src="{bland_altman_figure(pairs, unit, "video level")}">')
    return "\n".join(out)


def _patient_table(results, record: dict) -> str:
    """Patient-level predictions of the best model (by patient-level kappa or RMSE), for review."""
    models = record["models"]
    if record["task"] == "classification":
        best = max(models, key=lambda m: _or(models[m]["levels"]["patient"]["metrics"]["kappa_linear"], -9.0))
    else:
        best = min(models, key=lambda m: _or(models[m]["levels"]["patient"]["metrics"]["rmse"], 1e9))
    u = results.units(best, "patient", 0)
    cols = results.proba_columns
    rows = []
    for r in u.itertuples(index=False):
        d = r._asdict()
        if record["task"] == "classification":
            probs = " ".join(f"{_ROMAN.get(int(c.split('_')[1]), c)}: {d[c]:.2f}" for c in cols)
            ok = "" if d["y_true"] == d["y_pred"] else "✗"
            rows.append([esc(d["patient_id"]), str(d["n_clips"]), esc(_class_name(d["y_true"])), esc(_class_name(d["y_pred"])), ok, esc(probs)])
        else:
            rows.append([esc(d["patient_id"]), str(d["n_clips"]), _num(d["y_true"], 1), _num(d["y_pred"], 1),
                         _num(d["y_pred"] - d["y_true"], 1)])
    header = (["patient", "clips", "true", "predicted", "error", "mean probabilities"] if record["task"] == "classification"
              else ["patient", "clips", "measured", "predicted", "difference"])
    return (f"<h2>Per-patient predictions ({esc(best)})</h2><details><summary>{len(rows)} test patients"
            f"{' (first repeat)' if record['configuration']['n_repeats'] > 1 else ''}</summary>"
            + _table(header, rows, 1) + "</details>")


def _banners(data: dict) -> list[str]:
    banners = []
    if data["simulated"]:
        banners.append('<div class="banner sim">SIMULATED DATA. These results come from a cohort generated by the gaitfeat '
                       "gait simulator. They test the software and compare models on a known problem; they are not "
                       "evidence of clinical accuracy and must not be quoted as such.</div>")
    if data["video_as_patient"]:
        banners.append('<div class="banner leak">NO PATIENT IDs: each video was treated as its own patient. Videos of the '
                       "same child from different visits may sit on both sides of a split, so these results may be "
                       "optimistic (patient leakage).</div>")
    return banners


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(b for b in body if b) + "\n</body></html>\n")


def render_html(results, record: dict) -> str:
    """The whole report page as one string."""
    data = record["data"]
    title = f"{record['title']} — patient-level evaluation"
    banners = _banners(data)
    notes = record.get("notes") or []
    notes_html = ("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">Written {esc(record["created_utc"])} by gaitfeat {esc(record["environment"]["packages"].get("gaitfeat"))}'
        f' (commit {esc((record["environment"]["git"] or {}).get("commit") or "unknown")}); seed {esc(record["seed"])}; '
        f'run time {record["runtime_s"]:.0f} s.</p>',
        *banners,
        _data_section(record),
        _protocol_section(record),
        _classification_tables(record) if record["task"] == "classification" else _regression_tables(record),
        _comparison_section(record),
        _figures(results, record),
        _deep_section(record),
        ('<h2>Feature importance</h2><p>Which gait features drive the models — SHAP, permutation importance, '
         'XGBoost gain and sequential selection compared, by body region, with evidence statements per patient: '
         '<a href="features.html">features.html</a>.</p>') if record.get("importance") else "",
        _patient_table(results, record),
        notes_html,
        "<h2>Configuration and environment</h2>",
        "<details><summary>metrics.json: configuration, models, environment</summary><pre>"
        + esc(json.dumps({"configuration": record["configuration"],
                          "models": {k: {kk: vv for kk, vv in v.items() if kk != "levels"} for k, v in record["models"].items()},
                          "environment": record["environment"], "timings": record["timings"]}, indent=1))
        + "</pre></details>",
    ]
    return _page(title, body)


_METHOD_NAMES = {"shap_xgb": "SHAP (XGBoost)", "shap_linear": "SHAP (linear)", "permutation_xgb": "permutation (XGBoost)",
                 "permutation_linear": "permutation (linear)", "gain_xgb": "gain (XGBoost)",
                 "sfs_forward": "forward selection", "sfs_backward": "backward elimination"}


def render_importance_html(results, record: dict) -> str:
    """The feature-importance comparison page (``features.html``, or ``index.html`` of the ``features`` suite)."""
    from gaitfeat.features import FEATURE_INFO

    study = results.importance
    data = record["data"]
    task = record["task"]
    title = f"{record['title']} — feature importance"
    imp = {m: study["importance"][m] for m in study["importance"]}
    methods = list(imp)
    features = list(next(iter(imp.values())))
    ranks = {m: {f: r + 1 for r, f in enumerate(sorted(features, key=lambda f: -imp[m][f]))} for m in methods}
    mean_rank = {f: float(np.mean([ranks[m][f] for m in methods])) for f in features}
    link = '<a href="index.html">Model results</a>.' if results.models else ""
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="note">Written {esc(record["created_utc"])}; {study["folds"]} patient-level folds of the first repeat; '
            f"study time {study['seconds']:.0f} s. {link}</p>",
            *_banners(data),
            f"<p><b>Data:</b> {esc(data['source'])} — {esc(data['description'])}</p>",
            "<h2>Methods</h2><p>In every fold an XGBoost model and a linear model ("
            + ("logistic regression" if task == "classification" else "ridge regression")
            + ") are fitted on the training patients; importance is measured on the held-out patients. "
              "Every method's importance is normalised to sum to 1 within a fold, then averaged over folds. "
              "Sequential selection runs on the training patients only (grouped inner 3-fold CV of a ridge "
              "least-squares model on standardised features); the subsets it picks are then scored on the held-out "
              "patients with " + ("logistic regression" if task == "classification" else "ridge regression") + ".</p>",
            "<ul>" + "".join(f"<li><b>{esc(_METHOD_NAMES.get(m, m))}</b>: {esc(d)}</li>" for m, d in study["methods"].items())
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
    rows = [[str(k + 1), _num(fwd[k])] + ([_num(bwd[k])] if bwd else []) for k in range(len(fwd))]
    body.append("<details><summary>Curve values</summary>" + _table(
        ["k", "forward"] + (["backward"] if bwd else []), rows) + "</details>")
    stab = study["sfs"]["forward"]["order_stability"]
    order_rows = sorted(features, key=lambda f: stab["mean_position"][f])
    body.append(f"<h3>Forward selection order and its stability across folds</h3><p>Mean pairwise Kendall τ between the "
                f"folds' orders: {_num(stab['kendall_tau'], 2)}.</p>")
    fold_orders = study["sfs"]["forward"]["orders"]
    header = ["feature", "mean position", "SD"] + [f"fold {i}" for i in range(len(fold_orders))]
    rows = [[esc(f), _num(stab["mean_position"][f], 1), _num(stab["sd_position"][f], 1)]
            + [str(o.index(f) + 1) for o in fold_orders] for f in order_rows]
    body.append("<details><summary>Entry position of every feature in each fold</summary>" + _table(header, rows) + "</details>")

    # rankings side by side
    body.append("<h2>Rankings side by side</h2>")
    header = ["feature", "region", "mean rank"] + [esc(_METHOD_NAMES.get(m, m)) for m in methods]
    rows = [[esc(f), esc(FEATURE_INFO[f].region), _num(mean_rank[f], 1)]
            + [f'{ranks[m][f]} <span class="ci">({100 * imp[m][f]:.1f}%)</span>' for m in methods]
            for f in sorted(features, key=lambda f: mean_rank[f])]
    body.append('<p class="note">Rank (1 = most important) and share of the method&#x27;s total importance.</p>'
                + _table(header, rows))
    body.append("<h3>Agreement between methods</h3>")
    rows = [[esc(_METHOD_NAMES.get(a["method_a"], a["method_a"])), esc(_METHOD_NAMES.get(a["method_b"], a["method_b"])),
             _num(a["kendall_tau"], 2), _num(a["top_k_overlap"], 2)] for a in study["agreement"]]
    body.append(_table(["method", "method", "Kendall τ", f"top-{study['top_k']} overlap"], rows, 2))
    body.append("<h3>Stability across folds</h3>")
    rows = [[esc(_METHOD_NAMES.get(m, m)), _num(study["stability"][m], 2),
             esc(", ".join(f"{f} ({n})" for f, n in sorted(study["top_k_frequency"][m].items(), key=lambda t: -t[1])[:6] if n))]
            for m in methods]
    body.append(_table(["method", "mean pairwise Kendall τ between folds",
                        f"most frequent top-{study['top_k']} features (number of folds)"], rows, 1))

    # regions
    body.append("<h2>Importance by body region</h2>")
    shares = {r: {_METHOD_NAMES.get(m, m): v for m, v in row.items()} for r, row in study["regions"].items()}
    region_uri = region_figure(shares, "share of each method's importance")
    body.append(f'<img alt="importance by region" src="{region_uri}">')

    # SHAP figures
    body.append("<h2>SHAP (XGBoost)</h2>")
    if study.get("per_class_shap"):
        classes = [_class_name(int(c)) for c in record["labels"]]
        per_class = {f: {_class_name(int(c)): v for c, v in row.items()} for f, row in study["per_class_shap"].items()}
        body.append(f'<img alt="mean absolute SHAP per level" src="{class_importance_figure(per_class, classes, "global importance per level (mean |SHAP|, mean over folds)")}">')
    values = study["_shap"]["values"]
    X = np.concatenate(study["_shap"]["X"])
    V = np.concatenate(values)
    if V.ndim == 3:
        labels = record["labels"]
        for j, c in enumerate(labels):
            if V.shape[2] > j:
                body.append(f'<img alt="SHAP summary for {esc(_class_name(int(c)))}" '
                            f'src="{beeswarm_figure(V[:, :, j], X, features, f"SHAP summary, {_class_name(int(c))} (held-out clips)")}">')
    else:
        body.append(f'<img alt="SHAP summary" src="{beeswarm_figure(V, X, features, "SHAP summary (held-out clips)")}">')

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
        true = _class_name(e["true"]) if task == "classification" else _num(e["true"], 1)
        pred = _class_name(e["predicted"]) if task == "classification" else _num(e["predicted"], 1)
        items = "".join(f"<li>{esc(st['text'])}</li>" for st in e["statements"])
        rows.append([esc(e["patient_id"]), esc(true), esc(pred), str(e["n_clips"]), f'<ul style="margin:0">{items}</ul>'])
    body.append("<details><summary>Show all patients</summary>"
                + _table(["patient", "true", "predicted", "clips", "evidence (strongest first)"], rows, 5) + "</details>")
    return _page(title, body)
