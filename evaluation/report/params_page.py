"""The overview page of a multi-target run (``--suite params``): every target and model in one table.

A pure function of the overview record (``OUT/params/metrics.json``,
written by :class:`evaluation.multitarget.MultiTargetResults`). Each target
has its own full page in ``OUT/params/<target>/index.html`` (metrics at clip,
video and patient level, paired comparisons, scatter and Bland–Altman
plots); this page links to them, says per target whether a sequence model
beat the best feature-table model, and sets Kidziński et al.'s published
correlations beside ours — marked as published results on clinical data.
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.report.html import banners, esc, fmt_num, fmt_p, page, table, with_ci

__all__ = ["render_params_page", "render_params_folder"]


def _verdict(entry: dict, networks: list[str]) -> str:
    """Whether the best sequence model beat the best feature-table model at video level (paired bootstrap)."""
    best_feat = entry.get("best_feature_model")
    models = entry["models"]
    seq = [m for m in networks if m in models]
    if not best_feat or not seq:
        return "n/a"
    best_seq = min(seq, key=lambda m: models[m]["video"]["metrics"]["rmse"])
    comp = entry["comparisons"].get(best_seq) or {}
    if comp.get("reference") != best_feat:
        return esc(best_seq)
    diff = comp["video"]["rmse"]
    lo, hi = diff.get("ci") or [None, None]
    if lo is not None and hi is not None and hi < 0:
        word = "yes"
    elif lo is not None and lo > 0:
        word = "no (features better)"
    else:
        word = "no clear difference"
    return (f"{word}: {esc(best_seq)} vs {esc(best_feat)}, ΔRMSE {fmt_num(diff.get('difference'), 3)} "
            f"[{fmt_num(lo, 3)}, {fmt_num(hi, 3)}]")


def render_params_page(record: dict) -> str:
    """The overview page as one string, from the overview record."""
    cfg = record["configuration"]
    networks = list(record.get("network_models") or [])
    title = record["title"]
    body = [f"<h1>{esc(title)}</h1>", *banners(record["data"]),
            f'<p class="note">{esc(record["data"].get("description"))}; {esc(cfg.get("protocol_description"))}; '
            f'{esc(cfg.get("n_bootstrap"))} patient resamples for the 95 % intervals; seed '
            f'{esc(cfg.get("random_state"))}; run time {record["runtime_s"]:.0f} s. Video predictions are the '
            f'{esc(cfg.get("pooling", "mean"))} of their clips. Every target uses the same patient-level folds; '
            "the networks (" + esc(", ".join(networks) or "none") + ") learn all targets at once, one network per "
            "fold; the feature-table models are fitted per target.</p>"]
    rows = []
    for target, entry in record["targets"].items():
        unit = entry["unit"]
        for m, levels in entry["models"].items():
            v, ci = levels["video"]["metrics"], levels["video"]["ci95"]
            mark = " (best features)" if m == entry.get("best_feature_model") else ""
            rows.append([f'<a href="{esc(target)}/index.html">{esc(target)}</a>' if m == next(iter(entry["models"]))
                         else "", esc(m) + mark, with_ci(v["rmse"], ci.get("rmse"), 3), with_ci(v["mae"], ci.get("mae"), 3),
                         with_ci(v["pearson_r"], ci.get("pearson_r"), 3), with_ci(v["r2"], ci.get("r2"), 3),
                         fmt_num(v["bias"], 3), esc(unit)])
    body += ["<h2>Video-level results per target</h2>",
             '<p class="note">RMSE, MAE and Bland–Altman bias in the target\'s unit; 95 % patient-bootstrap '
             "intervals in brackets. Each target's page (link) has clip, video and patient levels, limits of "
             "agreement, paired comparisons, scatter and Bland–Altman plots.</p>",
             table(["target", "model", "RMSE", "MAE", "r", "R²", "bias", "unit"], rows, 2)]
    verdicts = []
    for target, entry in record["targets"].items():
        seq = [m for m in networks if m in entry["models"]]
        best_seq = min(seq, key=lambda m: entry["models"][m]["video"]["metrics"]["rmse"]) if seq else None
        comp = entry["comparisons"].get(best_seq) or {} if best_seq else {}
        wil = comp.get("patient", {})
        verdicts.append([esc(target), _verdict(entry, networks),
                         fmt_p((comp.get("video") or {}).get("rmse", {}).get("p_value"), cfg.get("n_bootstrap"))
                         if comp else "n/a",
                         esc(", ".join(f"{k} {fmt_num(v.get('difference'), 3)}" for k, v in wil.items()))
                         if wil else ""])
    body += ["<h2>Do pose sequences beat clinical features?</h2>",
             '<p class="note">Per target, the sequence model with the lowest video-level RMSE against the feature-table '
             "model with the lowest clip-level RMSE (chosen on the same out-of-fold predictions, which flatters it "
             "a little). ΔRMSE = sequence − features; a 95 % interval below 0 means the sequence model is better.</p>",
             table(["target", "verdict (video level)", "p (paired bootstrap)", "patient-level differences"],
                   verdicts, 2)]
    pub = [[esc(t), fmt_num(e.get("published_r"), 2),
            fmt_num(max(e["models"][m]["video"]["metrics"]["pearson_r"] for m in e["models"]), 3)]
           for t, e in record["targets"].items() if e.get("published_r") is not None]
    if pub:
        body += ["<h2>Context: published correlations</h2>",
                 '<p class="note"><b>Published, on clinical data; not comparable to simulated results.</b> Kidziński '
                 "et al., \u201cDeep neural networks enable quantitative movement analysis using single-camera "
                 "videos\u201d (Nature Communications 2020), test-set Pearson r of their 1-D CNN on OpenPose sequences "
                 "of the Gillette videos (their own patients, split and labels). Our column is the best video-level r "
                 "of this run, on whatever data it ran on (see the banner).</p>",
                 table(["target", "published r (Kidziński et al. 2020)", "best r here (video level)"], pub, 1)]
    notes = record.get("notes") or []
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    body.append("<h2>Models</h2>" + table(["model", "description"],
                                          [[esc(m), esc(d)] for m, d in record["models"].items()], 1))
    body.append("<details><summary>Configuration</summary><pre>"
                + esc(json.dumps({"configuration": cfg, "timings": record.get("timings")}, indent=1)) + "</pre></details>")
    return page(title, body)


def render_params_folder(folder: str | Path) -> Path:
    """Render ``index.html`` of a multi-target run folder from its overview ``metrics.json``."""
    from evaluation.report import read_record

    folder = Path(folder)
    record, _ = read_record(folder)
    path = folder / "index.html"
    path.write_text(render_params_page(record), encoding="utf-8")
    return path
