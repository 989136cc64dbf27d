"""The clinician's page of one patient's assessment: a self-contained HTML file rendered from the record alone.

Sections: the simulated-data banner, the header, a longitudinal table (more than one visit), then per visit
its data quality, predictions with uncertainty, clinical features against typical ranges, gait-cycle curves,
evidence, a Grad-CAM skeleton and an animated stick figure, and at the end the provenance.

Every string from the record goes through :func:`evaluation.report.html.esc` (IDs come from users); the
only scripts are one JSON data element (``<``, ``>`` and ``&`` escaped) and the animation script. Nothing
is loaded from the network.
"""

from __future__ import annotations

from evaluation.assessment.page_assets import CSS, JS
from evaluation.assessment.page_format import DASH, feature_digits, fmt_value
from evaluation.assessment.page_format import at as _at
from evaluation.assessment.page_format import isnum as _isnum
from evaluation.assessment.page_format import num as _num
from evaluation.assessment.page_provenance import provenance
from evaluation.assessment.svg import CENTRE, LEFT, RIGHT, gradcam_skeleton, line_chart, probability_bars
from evaluation.report.html import esc, json_for_script

__all__ = ["feature_digits", "fmt_value", "render_report"]

_FLAG = {"below": '<span class="below">▼ below</span>', "above": '<span class="above">▲ above</span>',
         "within": '<span class="within">within</span>'}
_ANGLES = ("hip", "knee", "ankle", "trunk")
_SPATIAL = {"foot_contact": "foot contacts (step lengths between successive foot contacts)",
            "pelvis_path": "pelvis path (distance travelled by the pelvis)"}


# ---- page top -------------------------------------------------------------------------------------------

def _banner(bundle: dict) -> str:
    if not bundle.get("simulated"):
        return ""
    return ('<div class="sim-banner" role="alert"><b>Trained on simulated data — not for clinical use.</b> '
            "The models were trained on the gaitfeat simulator's cohort of synthetic walks, not on patients: "
            "the numbers on this page test the software and are not clinical evidence.</div>")


def _header(record: dict) -> str:
    pat, bundle = record.get("patient") or {}, record.get("bundle") or {}
    age, height = pat.get("age_years"), pat.get("height_m")
    items = [("Patient", esc(pat.get("patient_id")) if pat.get("patient_id") is not None else DASH),
             ("Age", _num(age, 0 if _isnum(age) and float(age).is_integer() else 1, " years")),
             ("Height", _num(height, 2, " m")), ("Date", esc(record.get("created") or DASH)),
             ("Visits", str(len(record.get("visits") or []))),
             ("Models", esc(", ".join(map(str, bundle.get("suites") or []))) or DASH)]
    meta = "".join(f"<span><b>{k}:</b> {v}</span>" for k, v in items)
    return f'<header><h1>Gait assessment</h1><div class="meta">{meta}</div></header>'


def _pick(fv: dict, *names_units: tuple[str, str, int]) -> str:
    """The first present feature of ``(column, unit, digits)`` choices, formatted with its unit."""
    for col, unit, digits in names_units:
        if _isnum(fv.get(col)):
            return _num(fv[col], digits, unit if unit == "°" else f" {unit}")
    return DASH


def _suite_order(record: dict) -> list[str]:
    suites = list((record.get("bundle") or {}).get("suites") or [])
    for visit in record.get("visits") or []:
        suites += [s for s in (visit.get("predictions") or {}) if s not in suites]
    return suites


def _primary_summary(pred: dict) -> str:
    """Short text of a suite's primary prediction: ``GMFCS III (0.70)`` or ``71.3``."""
    m = (pred.get("models") or {}).get(pred.get("primary")) or {}
    if pred.get("task") == "regression":
        return _num(m.get("value"), 1)
    k = _class_index(pred, m)
    p = m.get("proba")[k] if k is not None and k < len(m.get("proba") or []) else None
    name = m.get("predicted_name") or m.get("predicted")
    return DASH if name is None else f"{esc(name)} <span class=\"note\">({_num(p, 2)})</span>"


def _longitudinal(record: dict) -> str:
    visits = record.get("visits") or []
    if len(visits) < 2:
        return ""
    suites = _suite_order(record)
    titles = {}
    for v in visits:
        for s, p in (v.get("predictions") or {}).items():
            titles.setdefault(s, p.get("title") or s)
    head = ["Visit", "Status", "Cadence", "Walking speed", "Step length", "Knee ROM left", "Knee ROM right",
            *(f"{titles.get(s, s)} (primary)" for s in suites)]
    rows = []
    for v in visits:
        ok = v.get("status") == "ok"
        fv = (v.get("feature_values") or {}) if ok else {}
        preds = (v.get("predictions") or {}) if ok else {}
        cells = [_pick(fv, ("cadence", "steps/min", 1)),
                 _pick(fv, ("walking_speed_m", "m/s", 2), ("walking_speed", "leg lengths/s", 2)),
                 _pick(fv, ("step_length_m", "m", 2), ("step_length", "leg lengths", 2)),
                 _pick(fv, ("knee_rom_left", "°", 1)), _pick(fv, ("knee_rom_right", "°", 1)),
                 *(_primary_summary(preds[s]) if s in preds else DASH for s in suites)]
        status = "assessed" if ok else '<span class="below">not assessed</span>'
        rows.append(f'<tr class="visit-row"><td class="l"><a href="#visit-{esc(v.get("visit"))}">'
                    f'{esc(v.get("label"))}</a></td><td class="l">{status}</td>'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ('<section id="longitudinal"><h2>Visits compared</h2><table class="longitudinal"><thead><tr>'
            + "".join(f'<th class="{"l" if i < 2 else ""}">{esc(h)}</th>' for i, h in enumerate(head))
            + f'</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            '<p class="note">Visit medians; walking speed and step length in metres when the walk was scaled, '
            "otherwise in leg lengths. A dash: not measured or visit not assessed.</p></section>")


# ---- per visit ------------------------------------------------------------------------------------------

def _quality(q: dict | None) -> str:
    if not q:
        return '<h3>Data quality</h3><p class="note">No data-quality summary was recorded.</p>'
    pre = q.get("preprocessing") or {}
    dropped = q.get("clips_dropped") or {}
    clips = f"{_num(q.get('clips_kept'), 0)} of {_num(q.get('clips_total'), 0)}"
    if dropped:
        clips += " (dropped: " + ", ".join(f"{esc(str(k).replace('_', ' '))} {_num(n, 0)}"
                                            for k, n in dropped.items()) + ")"
    missing = q.get("missing_keypoints_fraction")
    usable = q.get("usable_fraction")
    rows = [("Frames", _num(q.get("frames"), 0)), ("Frame rate", _num(q.get("fps"), 2, " fps")),
            ("Duration", _num(q.get("duration_s"), 1, " s")),
            ("Keypoint layout", f"{esc(q.get('layout_in') or DASH)} → {esc(q.get('layout_used') or DASH)}"),
            ("Missing keypoints", _num(100 * missing, 1, " %") if _isnum(missing) else DASH),
            *((f"Preprocessing: {str(k).replace('_', ' ')}", _num(n, 0)) for k, n in pre.items()),
            ("Clips kept", clips), ("Clips", esc(q.get("clips_summary") or DASH)),
            ("Distances measured from", esc(_SPATIAL.get(q.get("spatial_method"), q.get("spatial_method") or DASH))),
            ("Usable fraction of the walk", _num(100 * usable, 0, " %") if _isnum(usable) else DASH)]
    body = "".join(f'<tr><th class="l">{esc(k)}</th><td class="l">{v}</td></tr>' for k, v in rows)
    return f'<h3>Data quality</h3><table class="quality">{body}</table>'


def _class_index(pred: dict, model: dict) -> int | None:
    classes = pred.get("classes") or []
    if model.get("predicted") in classes:
        return classes.index(model["predicted"])
    names = pred.get("class_names") or []
    return names.index(model["predicted_name"]) if model.get("predicted_name") in names else None


def _agreement(ens: dict, k_pred: int | None) -> str:
    votes, k = ens.get("votes"), ens.get("k")
    if votes and k_pred is not None and k_pred < len(votes) and _isnum(k):
        return f"{int(votes[k_pred])} of {int(k)} fold models agree"
    if _isnum(ens.get("agreement")) and _isnum(k):
        return f"{round(ens['agreement'] * k)} of {int(k)} fold models agree"
    return ""


def _classification(pred: dict) -> str:
    models, primary = pred.get("models") or {}, pred.get("primary")
    m = models.get(primary) or {}
    names = [str(n) for n in (pred.get("class_names") or pred.get("classes") or [])]
    k = _class_index(pred, m)
    proba = m.get("proba") or []
    ens = m.get("ensemble") or {}
    p = proba[k] if k is not None and k < len(proba) else None
    out = [(f'<div class="pred-block"><p class="pred">{esc(pred.get("title"))}: <b>'
            f'{esc(m.get("predicted_name") or m.get("predicted") or DASH)}</b> (probability {_num(p, 2)}; '
            f'model {esc(primary)})</p>'),
           probability_bars(names, proba, mean=ens.get("mean"), sd=ens.get("sd"), predicted=k)]
    if ens:
        rows = "".join(f'<tr><td class="l">{esc(n)}</td><td>{_num(_at(proba, i), 2)}</td>'
                       f'<td>{_num(_at(ens.get("mean"), i), 2)} ± {_num(_at(ens.get("sd"), i), 2)}</td>'
                       f'<td>{_num(_at(ens.get("low"), i), 2)}–{_num(_at(ens.get("high"), i), 2)}</td>'
                       f'<td>{_num(_at(ens.get("votes"), i), 0)}</td></tr>' for i, n in enumerate(names))
        out.append(f'<p class="note">Uncertainty: the {_num(ens.get("k"), 0)} fold models of the cross-validation '
                   f'(whiskers: their mean ± 1 sd). <b>{_agreement(ens, k)}</b>.</p><table class="ensemble"><thead><tr>'
                   '<th class="l">Class</th><th>Probability</th><th>Fold models mean ± sd</th><th>Range</th>'
                   f'<th>Votes</th></tr></thead><tbody>{rows}</tbody></table>')
    else:
        out.append('<p class="note">No fold-model ensemble was bundled: uncertainty not available.</p>')
    others = [(n, o) for n, o in models.items() if n != primary]
    if others:
        rows = "".join(
            f'<tr><td class="l">{esc(n)}</td><td class="l">{esc(o.get("description") or "")}</td>'
            f'<td class="l">{esc(o.get("predicted_name") or o.get("predicted") or DASH)}</td>'
            f'<td>{_num(_at(o.get("proba"), _class_index(pred, o)), 2)}</td>'
            f'<td class="l">{_agreement(o.get("ensemble") or {}, _class_index(pred, o)) or DASH}</td></tr>'
            for n, o in others)
        out.append('<table class="others"><thead><tr><th class="l">Other model</th><th class="l">Description</th>'
                   '<th class="l">Predicted</th><th>Probability</th><th class="l">Fold models</th></tr></thead>'
                   f"<tbody>{rows}</tbody></table>")
    return "".join(out) + "</div>"


def _regression(pred: dict) -> str:
    models, primary = pred.get("models") or {}, pred.get("primary")
    m = models.get(primary) or {}
    unit = pred.get("unit") or ""
    iv = m.get("interval") or [None, None]
    ens = m.get("ensemble") or {}
    out = [f'<div class="pred-block"><p class="pred">{esc(pred.get("title"))}: <b>{_num(m.get("value"), 1)}</b> '
           + f'{esc(unit)} (interval {_num(iv[0], 1)}–{_num(iv[1], 1)}; model {esc(primary)})</p>'
           + f'<p class="note">Interval: {esc(m.get("interval_method") or DASH)}.</p>']
    if ens:
        out.append(f'<p class="note">Fold models ({_num(ens.get("k"), 0)}): mean {_num(ens.get("mean"), 1)} ± '
                   f'{_num(ens.get("sd"), 1)} (sd), range {_num(ens.get("low"), 1)}–{_num(ens.get("high"), 1)}.</p>')
    others = [(n, o) for n, o in models.items() if n != primary]
    if others:
        rows = "".join(f'<tr><td class="l">{esc(n)}</td><td class="l">{esc(o.get("description") or "")}</td>'
                       f'<td>{_num(o.get("value"), 1)}</td><td>{_num(_at(o.get("interval"), 0), 1)}–'
                       f'{_num(_at(o.get("interval"), 1), 1)}</td></tr>' for n, o in others)
        out.append('<table class="others"><thead><tr><th class="l">Other model</th><th class="l">Description</th>'
                   f"<th>Value</th><th>Interval</th></tr></thead><tbody>{rows}</tbody></table>")
    return "".join(out) + "</div>"


def _predictions(record: dict, preds: dict) -> str:
    if not preds:
        return '<h3>Prediction</h3><p class="note">No model made a prediction for this visit.</p>'
    blocks = [(_regression if p.get("task") == "regression" else _classification)(p)
              for s in _suite_order(record) for p in [preds.get(s)] if p]
    return "<h3>Prediction</h3>" + "".join(blocks)


def _value_cell(fv: dict, column: str | None, fallback, unit: str, span: int = 1) -> str:
    # The DOM test compares data-value with the record exactly, so it carries repr() of the unrounded value.
    attrs = f' colspan="{span}"' if span > 1 else ""
    if column is not None and _isnum(fv.get(column)):
        value = fv[column]
        attrs += f' data-feature="{esc(column)}" data-value="{esc(repr(float(value)))}"'
    else:
        value = fallback
    return f"<td{attrs}>{fmt_value(value, unit)}</td>"


def _range(row: dict) -> str:
    lo, hi, unit = row.get("low"), row.get("high"), row.get("unit")
    if _isnum(lo) and _isnum(hi):
        return f"{fmt_value(lo, unit)}–{fmt_value(hi, unit)}"
    if _isnum(lo) or _isnum(hi):
        return f"≥ {fmt_value(lo, unit)}" if _isnum(lo) else f"≤ {fmt_value(hi, unit)}"
    return DASH


def _flag(row: dict, sided: bool) -> str:
    if not sided:
        return _FLAG.get(row.get("flag"), DASH)
    fl, fr = row.get("flag_left"), row.get("flag_right")
    if fl == fr:
        return _FLAG.get(fl, DASH)
    return f"L {_FLAG.get(fl, DASH)} · R {_FLAG.get(fr, DASH)}"


def _features(visit: dict) -> str:
    rows, fv = visit.get("features") or [], visit.get("feature_values") or {}
    if not rows:
        return '<h3>Clinical features</h3><p class="note">No clinical features were measured.</p>'
    body = []
    for r in rows:
        cols = r.get("columns") or {}
        sided = r.get("value") is None and ("left" in cols or "right" in cols or r.get("left") is not None
                                            or r.get("right") is not None)
        unit = r.get("unit") or ""
        cells = (_value_cell(fv, cols.get("left"), r.get("left"), unit)
                 + _value_cell(fv, cols.get("right"), r.get("right"), unit) if sided
                 else _value_cell(fv, cols.get("value"), r.get("value"), unit, span=2))
        body.append(f'<tr><td class="l">{esc(r.get("measure"))}</td><td class="l">{esc(unit)}</td>{cells}'
                    f'<td>{_range(r)}</td><td class="l">{_flag(r, sided)}</td></tr>')
    return ('<h3>Clinical features</h3><table class="features"><thead><tr><th class="l">Measure</th>'
            '<th class="l">Unit</th><th>Left</th><th>Right</th><th>Typical range</th><th class="l">Flag</th></tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table><p class="note">Medians over the walk; a value '
            'spanning both side columns is not measured per side. Typical range: '
            f'{esc(visit.get("typical_source") or DASH)}.</p>')


def _curves(curves: dict | None) -> str:
    if not curves or not curves.get("channels"):
        return '<h3>Gait-cycle curves</h3><p class="note">No gait-cycle curves: no complete stride was found.</p>'
    ch, typical = curves["channels"], curves.get("typical") or {}
    figs = []
    for name in _ANGLES:
        series = [(lbl, ch[key], col) for lbl, key, col in (("left", f"left_{name}", LEFT),
                                                            ("right", f"right_{name}", RIGHT), (name, name, CENTRE))
                  if ch.get(key)]
        if series:
            figs.append(f'<figure class="fig">{line_chart(series, typical.get(name), title=f"{name} angle")}</figure>')
    ns = curves.get("n_strides") or []
    strides = (f"strides averaged: {_num(ns[0], 0)} left, {_num(ns[1], 0)} right" if len(ns) == 2
               else f"strides averaged: {', '.join(_num(n, 0) for n in ns) or DASH}")
    return ('<h3>Gait-cycle curves</h3><div class="legend"><span class="sw left"></span>left '
            '<span class="sw right"></span>right <span class="sw trunk"></span>trunk '
            '<span class="sw band"></span>typical range <span class="sw median"></span>typical median</div>'
            f'<div class="figs curves">{"".join(figs)}</div><p class="note">Joint angles in degrees over one gait '
            f'cycle (0-100 %); {strides}. Typical: {esc(curves.get("typical_source") or DASH)}.</p>')


def _evidence(ev: dict | None, note: str | None = None) -> str:
    if not ev:
        why = note or "no bundled feature model can be explained"
        return (f'<h3>Evidence</h3><p class="note">No explanation is available for this visit: {esc(why)}; the '
                "prediction is shown without the measures that drove it.</p>")
    unit = f" {ev.get('unit')}" if ev.get("unit") else ""
    items = "".join(f'<li>{esc(s.get("text"))} <span class="contrib">(contribution {_num(s.get("contribution"), 2)}'
                    f'{esc(unit)})'
                    "</span></li>" for s in ev.get("statements") or [])
    return (f'<h3>Evidence</h3><p>What drove {esc(ev.get("model"))} towards <b>{esc(ev.get("target"))}</b> '
            f'({esc(ev.get("suite"))}), strongest first:</p><ol class="evidence">{items}</ol>'
            f'<p>{esc(ev.get("rationale") or "")}</p><p class="note">Method: {esc(ev.get("method") or DASH)}.</p>')


def _gradcam(g: dict | None) -> str:
    if not g:
        return ""
    svg = gradcam_skeleton(g.get("template") or [], g.get("edges") or [], g.get("scores") or [], g.get("joints"))
    return (f'<div class="picture"><h3>Grad-CAM</h3><figure class="fig">{svg}<figcaption class="note">Joint '
            f'importance of the skeleton model {esc(g.get("model"))} ({esc(g.get("layout"))}); larger, redder '
            "joints weighed more in its prediction.</figcaption></figure></div>")


def _animation(visit: dict) -> str:
    a = visit.get("animation")
    if not a or not a.get("frames"):
        return ""
    n = esc(visit.get("visit"))
    box = list(a.get("view_box") or ())
    # numbers only: a damaged or hand-made record must not put text into the SVG attribute
    vx, vy, vw, vh = (float(v) if _isnum(v) else d for v, d in zip(box + [None] * (4 - len(box)), (0, 0, 1, 1)))
    ys = [f[i] for f in a["frames"] for i in range(1, len(f), 2) if _isnum(f[i])]
    ground = max(ys) if ys else vy + vh
    first, sides = a["frames"][0], a.get("sides") or []
    bones = []
    for k, (i, j) in enumerate(a.get("edges") or []):
        pts = [_at(first, 2 * i), _at(first, 2 * i + 1), _at(first, 2 * j), _at(first, 2 * j + 1)]
        hide = "" if all(_isnum(p) for p in pts) else ' style="visibility:hidden"'
        x1, y1, x2, y2 = (p if _isnum(p) else 0 for p in pts)
        side = sides[k] if k < len(sides) and sides[k] in ("left", "right") else "centre"
        bones.append(f'<line class="bone {side}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"{hide}/>')
    stroke = round(0.012 * max(vw, vh), 4)
    step = a.get("step") or 1
    every = "" if step == 1 else f", every {esc(step)}th frame shown"
    return (f'<div class="picture"><h3>Walk</h3><div class="walk"><svg class="skel" id="anim-{n}" data-visit="{n}" '
            f'data-frame="0" viewBox="{vx} {vy} {vw} {vh}" preserveAspectRatio="xMidYMid meet" role="img" '
            f'aria-label="Animated stick figure of the walk" style="stroke-width:{stroke}">'
            f'<line class="ground" x1="{vx}" y1="{ground}" x2="{vx + vw}" y2="{ground}"/>{"".join(bones)}</svg>'
            f'<div class="controls"><button type="button" class="play" data-visit="{n}">Pause</button> '
            f'<label>speed <select class="speed" data-visit="{n}"><option value="0.25">0.25&times;</option>'
            '<option value="0.5">0.5&times;</option><option value="1" selected>1&times;</option></select></label> '
            f'<span class="fcount" id="fcount-{n}">frame 1 / {len(a["frames"])}</span></div>'
            '<div class="legend"><span class="sw left"></span>left <span class="sw right"></span>right</div></div>'
            f'<p class="note">Side view of the keypoints at {_num(a.get("fps"), 2)} fps{every}.</p></div>')


def _visit(record: dict, v: dict) -> str:
    n = esc(v.get("visit"))
    label = v.get("label") or f"visit {v.get('visit')}"
    head = (f'<section class="visit" id="visit-{n}"><h2>{esc(label)}</h2>'
            f'<p class="note">Video {esc(v.get("video_id"))} · source {esc(v.get("source"))}</p>'
            + _quality(v.get("quality")))
    if v.get("status") != "ok":
        # An unassessable walk shows why, and no numbers that could be mistaken for a result.
        msg = v.get("message") or "This walk could not be assessed."
        return head + f'<div class="not-assessed">{esc(msg)}</div></section>'
    pictures = _gradcam(v.get("gradcam")) + _animation(v)
    warns = "".join(f'<div class="warn">{esc(w)}</div>' for w in v.get("warnings") or [])
    return (head + warns + _predictions(record, v.get("predictions") or {}) + _features(v) + _curves(v.get("curves"))
            + _evidence(v.get("evidence"), v.get("evidence_note"))
            + (f'<div class="figs pictures">{pictures}</div>' if pictures else "")
            + "</section>")


def render_report(record: dict) -> str:
    """The whole assessment page as a string.

    Parameters
    ----------
    record : dict
        An assessment record (``kind == "gaitfeat-assessment"``, format 1): patient, bundle, environment and
        one entry per visit.

    Returns
    -------
    str
        A self-contained HTML document (inline CSS, SVG and script; nothing loaded from the network).
    """
    bundle, visits = record.get("bundle") or {}, record.get("visits") or []
    data = {"visits": [{"visit": v.get("visit"), "fps": a.get("fps") or 25.0, "step": a.get("step") or 1,
                        "frames": a.get("frames"), "edges": a.get("edges") or []}
                       for v in visits if v.get("status") == "ok" for a in [v.get("animation")] if a]}
    pid = (record.get("patient") or {}).get("patient_id")
    body = [_banner(bundle), _header(record), _longitudinal(record), *(_visit(record, v) for v in visits),
            provenance(record),
            '<footer class="note">Self-contained page: nothing is loaded from the network.</footer>']
    cls = ' class="simulated"' if bundle.get("simulated") else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Gait assessment {esc(pid or '')}</title><style>{CSS}</style></head><body{cls}>\n"
            + "\n".join(x for x in body if x)
            + f'\n<script type="application/json" id="assessment-data">{json_for_script(data)}</script>'
            + f"\n<script>{JS}</script>\n</body></html>\n")
