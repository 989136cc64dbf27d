"""``explain.html``: the explanation study's page, rendered from ``metrics.json["explain"]`` alone."""

from __future__ import annotations

from evaluation.report.explain_plots import angle_map_figure, deletion_figure, perturbation_figure, significance_figure
from evaluation.report.html import banners, esc, fmt_num, page, table, with_ci
from gaitfeat.layouts import get_layout

__all__ = ["render_explain_page"]

_GROUP = {"low": "predicted GMFCS I", "high": "predicted GMFCS III-IV"}


def _ci(entry, digits: int = 3) -> str:
    return with_ci(entry.get("mean"), entry.get("ci"), digits) if isinstance(entry, dict) else "n/a"


def _joint_names(ids, layout: str) -> str:
    joints = get_layout(layout).joints
    return ", ".join(esc(joints[int(i)].replace("_", " ")) for i in ids) if ids else "none"


def _intro(record: dict) -> list[str]:
    ex = record["explain"]
    d = record["data"]
    cfg = record["configuration"]
    out = [f"<h1>{esc(record['title'])}</h1>", *banners(d),
           f"<p><b>Data:</b> {esc(d['description'])}; {esc(cfg['protocol_description'])}; "
           f"{esc(cfg['n_bootstrap'])} patient resamples for the intervals; seed {esc(cfg['random_state'])}; "
           f"profile {esc(cfg.get('profile'))}.</p>",
           "<p class=\"note\">Each model is fitted on the training patients of a fold and explains held-out clips of "
           "that fold (pairs of overlapping windows of one video). What is explained is each clip's predicted level; "
           "IG and DeepLift start from the training fold's mean pose held still (for the angle CNN: the training "
           "mean curves); LIME and occlusion remove a joint by making it missing — the same removal the "
           "faithfulness metrics use. Intervals are 95 % patient-bootstrap intervals. "
           "Methods: K. N. Pellano et al., \"Towards Biomarker Discovery for Early Cerebral Palsy Detection: "
           "Evaluating Explanations Through Kinematic Perturbations\"; Z. Lan, M. Lempereur, A. A&iuml;ssa-El-Bey "
           "et al., \"Quantitative comparison of explainable AI methods for interpreting deep learning-based "
           "classification of 3D gait kinematics\"; prediction gaps after C. Agarwal et al., OpenXAI.</p>"]
    rows = [[esc(name), esc(m["description"]), _ci(m["clip_accuracy"]), esc(m["explained_clips"]),
             esc(", ".join(m["methods"]))] for name, m in ex["models"].items()]
    out += ["<h2>Models explained</h2>",
            table(["model", "description", "clip accuracy (held out)", "clips explained", "methods"], rows, left=2)]
    return out


def _headline(record: dict) -> list[str]:
    ex = record["explain"]
    k = ex["k_main"]
    items = []
    for model, h in ex["headline"].items():
        diff = h.get("difference_to_runner_up")
        if h["faithful_clear"]:
            clear = f"ahead of {esc(h['runner_up'])} by {_ci(diff)} (paired over patients)"
        elif diff:
            clear = f"not distinguishable from {esc(h['runner_up'])} (difference {_ci(diff)})"
        else:
            clear = "the only method"
        above = h.get("above_random")
        if above and above.get("ci", [None])[0] is not None:
            clear += ("; above its random ranking by " if above["ci"][0] > 0 else
                      "; <b>not distinguishable from a random ranking</b> (difference ") + _ci(above) + \
                ("" if above["ci"][0] > 0 else ")")
        text = (f"<b>{esc(model)}</b>: most faithful <b>{esc(h['most_faithful'])}</b> "
                f"(PGI − PGU at k = {k}: {_ci(h['gap'])}), {clear}")
        if "most_stable" in h:
            text += (f"; most stable under ~2 px noise <b>{esc(h['most_stable'])}</b> "
                     f"(rank correlation {_ci(h['stability'], 2)})")
        if "most_stable_windows" in h:
            text += (f"; most stable between overlapping windows <b>{esc(h['most_stable_windows'])}</b> "
                     f"({_ci(h['window_stability'], 2)})")
        items.append(f"<li>{text}.</li>")
    legs = _legs_answer(ex.get("perturbation") or [])
    if legs:
        items.append(f"<li>{legs}</li>")
    sim = " on simulated data" if record["data"]["simulated"] else ""
    return [f"<h2>Summary{esc(sim)}</h2>", "<ul>" + "".join(items) + "</ul>"]


def _legs_answer(rows: list[dict]) -> str:
    """Does slowing the legs raise the predicted severity? From the 'legs' velocity rows of the ST-GCN."""
    parts = []
    for group in ("low", "high"):
        base = [r for r in rows if r["group"] == group and r["joint_set"] == "unperturbed" and r["score"] == "p_severe"]
        slow = [r for r in rows if r["group"] == group and r["joint_set"] == "legs" and r["kind"] == "velocity"
                and r["mode"] == "slowdown" and r["score"] == "p_severe"]
        if base and slow:
            s = min(slow, key=lambda r: r["multiplier"])
            parts.append(f"{_GROUP[group]} clips: median P(GMFCS III-IV) {fmt_num(base[0]['median'])} → "
                         f"{fmt_num(s['median'])} when the legs' velocity is slowed to {s['multiplier']:g} × s_min")
    return ("Slowing the legs (ST-GCN): " + "; ".join(parts) + ".") if parts else ""


def _faithfulness(record: dict) -> list[str]:
    ex = record["explain"]
    ks = [k for k in ex["settings"]["ks"]]
    header = ["model", "method", *[f"PGI − PGU k={k}" for k in ks], f"random k={ks[-1]}", "deletion area ↓",
              "random", "insertion area ↑", "random", "clips"]
    rows = []
    for r in ex["faithfulness"]:
        rows.append([esc(r["model"]), esc(r["method"]), *[_ci(r.get(f"gap_{k}", {})) for k in ks],
                     _ci(r.get(f"gap_{ks[-1]}_random", {})), _ci(r["deletion_auc"]), _ci(r["deletion_auc_random"]),
                     _ci(r["insertion_auc"]), _ci(r["insertion_auc_random"]), esc(r["n_clips"])])
    out = ["<h2>Faithfulness</h2>",
           "<p class=\"note\">PGI: change of the explained probability when the k joints an explanation ranks "
           "highest are removed; PGU: the same for the k lowest. A faithful method has PGI − PGU well above 0 and "
           "above the random ranking (whose expected value is 0). Deletion removes joints from the most to the least "
           "important (area small is good), insertion restores them in that order (area large is good); areas are "
           "relative to the full clip's score.</p>", table(header, rows, left=2)]
    for model, curves in (ex.get("deletion_curves") or {}).items():
        out.append(f'<img alt="deletion and insertion curves, {esc(model)}" '
                   f'src="{deletion_figure(curves, f"{model}: deletion and insertion")}">')
    return out


def _stability(record: dict) -> list[str]:
    ex = record["explain"]
    rows = [[esc(r["model"]), esc(r["method"]), _ci(r["noise_rank_stability"], 2), fmt_num(r["noise_ris_median"], 2),
             _ci(r["window_rank_stability"], 2), esc(r.get("empty_maps", 0))] for r in ex["stability"]]
    return ["<h2>Stability</h2>",
            f"<p class=\"note\">Spearman correlation of the per-joint scores of a clip and of the same clip with "
            f"Gaussian noise of {esc(ex['settings']['jitter_sigma'])} leg lengths (~2 px on a 400-px leg) added to "
            "every detected keypoint; relative input stability (RIS: relative change of the map over relative change "
            "of the input; smaller is steadier); and correlation between two overlapping windows of one video on "
            "their shared frames. Clips whose map is zero everywhere (no evidence for the explained class, e.g. "
            "rectified CAM/Grad-CAM) are left out of every metric and counted.</p>",
            table(["model", "method", "rank corr. under noise ↑", "median RIS ↓", "rank corr. between windows ↑",
                   "all-zero maps"], rows, left=2)]


def _agreement(record: dict) -> list[str]:
    ex = record["explain"]
    out = ["<h2>Agreement between methods and across folds</h2>"]
    for model, a in ex["agreement"].items():
        if not a:
            continue
        methods = a["methods"]
        rows = [[esc(m)] + [fmt_num(v, 2) for v in a["top_k_overlap"][i]] + [fmt_num(a["kendall_tau"][i][j], 2)
                                                                              for j in range(len(methods))]
                for i, m in enumerate(methods)]
        folds = ", ".join(f"{esc(m)} {fmt_num(v, 2)}" for m, v in a["across_folds_kendall_tau"].items())
        out += [f"<h3>{esc(model)}</h3>",
                table(["method", *[f"top-{a['k']} overlap: {esc(m)}" for m in methods],
                       *[f"Kendall τ: {esc(m)}" for m in methods]], rows),
                f"<p class=\"note\">Mean Kendall τ of each method's joint importances between folds: {folds}.</p>"]
    return out


def _significance(record: dict) -> list[str]:
    ex = record["explain"]
    layout = record["data"]["layout"]
    out = ["<h2>Joint significance (Pellano et al.)</h2>",
           "<p class=\"note\">Per clip, joint scores are the mean |attribution| over frames divided by the clip's "
           "largest (|attribution|: evidence for or against the predicted level). Groups: clips the model "
           "predicts as GMFCS I (\"low\") or GMFCS III-IV (\"high\") with "
           f"probability ≥ {esc(ex['settings']['confidence'])} — predicted, not true levels. Colours compare each "
           "joint's inter-quartile range with a threshold θ (the 30th percentile over patients of the high group's "
           "mean scores; \"all\" when fewer than 3 high clips): green whole IQR "
           "below, yellow median below, orange median above, red whole IQR above. Top-k (ringed): joints the Kneedle "
           "knee and 2-means clustering of each joint's share of red clips both select (red in both groups: the maps "
           "explain each clip's predicted level, so a GMFCS I clip's evidence is in its high-scoring joints; Pellano "
           "et al. explained one risk output and counted green joints in their low-risk group).</p>"]
    for model, sig in (ex.get("significance") or {}).items():
        if not sig:
            continue
        if not any(entry["groups"] for entry in sig.values()):
            out.append(f"<h3>{esc(model)}</h3><p class=\"note\">No held-out clip was predicted GMFCS I or GMFCS "
                       f"III-IV with probability ≥ {esc(ex['settings']['confidence'])}: no confident group to "
                       "analyse (a model trained this briefly is rarely confident).</p>")
            continue
        rows = []
        for method, entry in sig.items():
            for group, g in entry["groups"].items():
                rows.append([esc(method), esc(_GROUP[group]), esc(g["n_clips"]),
                             f"{fmt_num(entry['threshold'], 3)} ({esc(entry.get('threshold_from'))})",
                             _joint_names(g["top_k"], layout), _joint_names(g["kneedle"], layout),
                             _joint_names(g["kmeans"], layout)])
        out += [f"<h3>{esc(model)}</h3>",
                table(["method", "group", "clips", "θ", "top-k (both agree)", "kneedle", "2-means"], rows, left=2),
                f'<img alt="joint significance, {esc(model)}" '
                f'src="{significance_figure(sig, layout, f"{model}: joint significance by method and group")}">']
    return out


def _perturbation(record: dict) -> list[str]:
    rows = record["explain"].get("perturbation") or []
    if not rows:
        return []
    methods = [m for m in dict.fromkeys(r["method"] for r in rows) if m not in ("none", "legs")]
    out = ["<h2>Kinematic perturbations (ST-GCN)</h2>",
           "<p class=\"note\">Velocity: the body segments of the chosen joints are time-warped; angle: the "
           "frame-to-frame angular change of their bones is scaled, bone lengths kept; both: one then the other. "
           "Factors per clip from the group's training clips (P5/P95 reference speeds): slowdown {0.2, 0.25, 0.33, "
           "0.5, 1} × s_min, speed-up {1, 2, 3, 4, 5} × s_max. Top-k sets are chosen on half of each fold's "
           "explained patients, the responses measured on the other half. Lines: median predicted P(GMFCS III-IV); "
           "bands: inter-quartile range; dashed: unperturbed median.</p>"]
    out.append("<p class=\"note\">The non-top-k set of a velocity warp is the joints of the body segments that "
               "hold no top-k joint (a warp moves whole segments; the plain complement would warp the top-k "
               "segments again); segments hanging from a warped one move with it. The legs are the two leg "
               "segments.</p>")
    layout = record["data"]["layout"]
    sets = {}
    for r in rows:
        if r["joint_set"] in ("top_k", "non_top_k", "legs") and r["score"] == "p_severe" and r["mode"] == "slowdown" \
                and r["multiplier"] == 1.0:
            sets[(r["method"], r["group"], r["joint_set"], r["kind"])] = (r["joints"], r["n"])
    table_rows = [[esc(m), esc(_GROUP.get(g, g)), esc(js), esc(kind), _joint_names(j, layout), esc(n)]
                  for (m, g, js, kind), (j, n) in sorted(sets.items())]
    out.append(table(["method", "group", "set", "kind", "joints perturbed", "clips"], table_rows, left=5))
    for method in methods:
        out.append(f'<img alt="perturbation responses, {esc(method)}" src="'
                   f'{perturbation_figure(rows, method, "p_severe", f"top-k from {method}: P(GMFCS III-IV)")}">')
    return out


def _baselines(record: dict) -> list[str]:
    rows = record["explain"].get("baselines") or []
    if not rows:
        return []
    k = rows[0]["k"]
    body = [[esc(r["baseline"]), _ci(r["gap"]), _ci(r["deletion_auc"]), _ci(r["insertion_auc"]),
             _ci(r["abs_output_gap"]), _ci(r["top_overlap"], 2)] for r in rows]
    return ["<h2>Integrated Gradients: what the baseline changes (ST-GCN)</h2>",
            "<p class=\"note\">The training fold's mean pose (held still) is the study's baseline; the clip's own "
            "mean posture removes only the motion; an all-missing clip is an input no network was trained on. "
            "|f(x) − f(baseline)| is what the attributions must add up to.</p>",
            table(["baseline", f"PGI − PGU k={k}", "deletion area", "insertion area", "|f(x) − f(baseline)|",
                   f"top-{k} overlap with mean pose"], body)]


def _dual(record: dict) -> list[str]:
    dual = record["explain"].get("dual_features")
    if not dual:
        return []
    out = ["<h2>Dual-stream model: clinical features</h2>",
           "<p class=\"note\">Mean |attribution| of each clinical feature (standardised input; baseline the "
           "training mean); the features differ between folds when Grad-CAM selects them.</p>"]
    for method, entry in dual.items():
        top = sorted(entry["features"].items(), key=lambda kv: -kv[1])[:12]
        out.append(f"<h3>{esc(method)}</h3>" + table(
            ["feature", "mean |attribution|", "folds"],
            [[esc(n), fmt_num(v, 4), esc(entry["folds_selected"][n])] for n, v in top]))
    return out


def _angle(record: dict) -> list[str]:
    angle = record["explain"].get("angle")
    if not angle:
        return []
    channels = angle.get("channels") or []
    out = ["<h2>Per-cycle joint-angle model</h2>",
           "<p class=\"note\">Mean |attribution| per angle and per cent of the gait cycle (heel strike to heel "
           "strike of the same foot).</p>",
           f'<img alt="angle attributions" src="{angle_map_figure(angle["maps"], channels, "angle CNN")}">']
    sel = angle.get("selection")
    if sel:
        rows = [[esc(r.get("step")), esc(r.get("added") or "all channels"), esc(", ".join(r.get("channels") or [])),
                 with_ci(r.get("score"), None), fmt_num(r.get("score_sd"))] for r in sel]
        out += ["<h3>Forward selection over angle channels</h3>",
                "<p class=\"note\">Balanced accuracy in patient-grouped inner cross-validation on the first fold's "
                "training patients (every 8th window): does a handful of angles match all of them? The path's best "
                "score is a maximum over noisy estimates, so it is optimistic; the held-out check below fits the best "
                "small subset and all channels on the same training patients and scores both on the fold's test "
                "patients.</p>",
                table(["step", "added", "channels", "balanced accuracy", "SD"], rows, left=3)]
        held = angle.get("held_out")
        if held:
            out.append(table(["channels", "held-out balanced accuracy", "test clips"],
                             [[esc(", ".join(h["channels"])), fmt_num(h["balanced_accuracy"]), esc(h["n_clips"])]
                              for h in held], left=1))
    return out


def render_explain_page(record: dict, arrays=None) -> str:
    """The explanation page of a record written by :func:`evaluation.explain_record.write_explain_record`."""
    ex = record["explain"]
    t = record["timings"]
    body = [*_intro(record), *_headline(record), *_faithfulness(record), *_stability(record), *_agreement(record),
            *_significance(record), *_perturbation(record), *_baselines(record), *_dual(record), *_angle(record),
            "<h2>Run</h2>",
            f"<p class=\"note\">Fits {fmt_num(t.get('fit_s'), 0)} s, explanations {fmt_num(t.get('explain_s'), 0)} s, "
            f"perturbations {fmt_num(t.get('perturb_s'), 0)} s, angle selection {fmt_num(t.get('selection_s'), 0)} s; "
            f"settings: {esc(ex['settings'])}; command: {esc(record['configuration'].get('command', ''))}.</p>"]
    return page(record["title"], body)
