"""The rater's page: one self-contained HTML file (inline style and script, nothing fetched from a network).

What the page shows of the data is the report's description, the walks and the rationale texts. Subject and
video IDs, true classes and the variant behind each option stay in ``key.json``. The rationale texts are what
raters judge; the taxonomy suite's texts each open with the predicted class and its probability (the same
sentence in every variant of a case), so those are visible by design.
Every string from the data goes through :func:`evaluation.report.html.esc`.
"""

from __future__ import annotations

import numpy as np

from evaluation.rating_kit.assets import CSS, JS
from evaluation.rating_kit.schema import CSV_COLUMNS, DIMENSION_QUESTIONS, DIMENSIONS, LIKERT, option_labels
from evaluation.rating_kit.source import Rationales, bone_sides
from evaluation.report.html import esc, json_for_script

__all__ = ["render_page", "walk_frames", "view_box"]

# Coordinates are in leg lengths: three decimals (a thousandth of a leg, about a millimetre) are finer than
# any screen shows and keep a kit of 20 walks around a megabyte.
_DECIMALS = 3


def walk_frames(skeleton: np.ndarray) -> list[list[float | None]]:
    """Frames as flat ``[x0, y0, x1, y1, ...]`` lists in SVG coordinates (y down), ``None`` for a missing joint."""
    xy = np.round(skeleton * np.array([1.0, -1.0]), _DECIMALS)   # the data are y up, SVG is y down
    flat = xy.reshape(len(xy), -1)
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in flat]


def view_box(skeleton: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    """SVG ``viewBox`` (min x, min y, width, height) framing every frame of the walk, with a margin (leg lengths)."""
    x, y = skeleton[..., 0], -skeleton[..., 1]
    x0, x1, y0, y1 = np.nanmin(x), np.nanmax(x), np.nanmin(y), np.nanmax(y)
    w, h = max(x1 - x0, 0.5), max(y1 - y0, 0.5)
    return (round(float(x0 - pad * w), 3), round(float(y0 - pad * h), 3),
            round(float(w * (1 + 2 * pad)), 3), round(float(h * (1 + 2 * pad)), 3))


def _walk(item: int, skeleton: np.ndarray, sides: list[str]) -> str:
    vx, vy, vw, vh = view_box(skeleton)
    ground = float(np.nanmax(-skeleton[..., 1]))
    stroke = round(0.012 * max(vw, vh), 4)
    bones = "".join(f'<line class="bone {side}" x1="0" y1="0" x2="0" y2="0"/>' for side in sides)
    return (f'<div class="walk"><svg class="skel" id="skel-{item}" data-case="{item}" data-frame="0" '
            f'viewBox="{vx} {vy} {vw} {vh}" preserveAspectRatio="xMidYMid meet" role="img" '
            f'aria-label="Animated stick figure of the walk of case {item}" style="stroke-width:{stroke}">'
            f'<line class="ground" x1="{vx}" y1="{ground}" x2="{round(vx + vw, 3)}" y2="{ground}"/>'
            f'<g class="bones">{bones}</g></svg>'
            f'<div class="controls"><button type="button" class="play" data-case="{item}">Pause</button> '
            f'<label>speed <select class="speed" data-case="{item}"><option value="0.25">0.25&times;</option>'
            f'<option value="0.5">0.5&times;</option><option value="1" selected>1&times;</option></select></label> '
            f'<span class="fcount" id="fcount-{item}">frame 1 / {len(skeleton)}</span></div>'
            f'<div class="legend"><span class="sw left"></span>left <span class="sw right"></span>right</div></div>')


def _likert(item: int, label: str) -> str:
    head = "".join(f"<th>{v}</th>" for v in LIKERT)
    rows = []
    for dim in DIMENSIONS:
        title, question = DIMENSION_QUESTIONS[dim]
        cells = "".join(f'<td><input type="radio" name="c{item}-{label}-{dim}" value="{v}" '
                        f'aria-label="{esc(title)} {v}"></td>' for v in LIKERT)
        rows.append(f'<tr><th class="l" title="{esc(question)}">{esc(title)}</th>{cells}</tr>')
    return f'<table class="likert"><thead><tr><th class="l">1 = poor, 5 = excellent</th>{head}</tr></thead>' \
           f'<tbody>{"".join(rows)}</tbody></table>'


def _case(case: dict, sides: list[str], labels: tuple[str, ...]) -> str:
    item = case["item"]
    options = "".join(
        f'<div class="option"><h3>Rationale {label}</h3>'
        f'<p class="rtext" data-case="{item}" data-option="{label}">{esc(case["subject"].rationales[variant])}</p>'
        f'{_likert(item, label)}</div>'
        for label, variant in case["options"].items())
    best = "".join(f'<label><input type="radio" name="c{item}-best" value="{label}"> {label}</label> '
                   for label in labels)
    return (f'<section class="case" id="case-{item}" data-case="{item}"><h2>Case {item}</h2>'
            f'<div class="case-body">{_walk(item, case["subject"].skeleton, sides)}'
            f'<div class="options">{options}</div></div>'
            f'<fieldset class="best"><legend>Which rationale is best for case {item}?</legend>{best}</fieldset>'
            f'</section>')


def _header(src: Rationales, n: int, k: int, labels: tuple[str, ...]) -> str:
    sim = ('<div class="banner sim">SIMULATED DATA. The walks come from the gaitfeat gait simulator, not from '
           'patients; the ratings test how the explanations read, not a clinical result.</div>'
           if src.simulated else "")
    dims = "".join(f"<li><b>{esc(t)}</b>: {esc(q)}</li>" for t, q in (DIMENSION_QUESTIONS[d] for d in DIMENSIONS))
    return (
        "<header><h1>Blinded rating of gait-classification explanations</h1>"
        f"{sim}<p class=\"data\"><b>Data:</b> {esc(src.data)}</p>"
        f"<p>Each of the {n} cases below shows one walk as an animated stick figure (side view, the two legs in "
        f"different colours) and {k} written explanations of the gait class a classifier assigned to it, labelled "
        f"{', '.join(labels)}. The explanations come from different methods, in a different random order in "
        "every case; nothing on this page says which method wrote which.</p>"
        "<ol><li>Enter your rater ID (the same one every session).</li>"
        "<li>For every explanation, rate each of the four statements from 1 (poor) to 5 (excellent):"
        f"<ul>{dims}</ul></li>"
        "<li>Then choose the best explanation of the case.</li>"
        "<li>When done (or to hand in part of the work), press <b>Download CSV</b> and send the file "
        "<code>ratings.csv</code> to the study organiser.</li></ol>"
        "<p class=\"note\">Answers are kept in this browser (they survive closing and reopening this file on this "
        "computer) until you clear the browser's site data. Rate what the text says about the walk shown; do not "
        "try to guess which method produced it.</p></header>")


def render_page(src: Rationales, kit_id: str, cases: list[dict]) -> str:
    """The whole kit page as a string.

    Parameters
    ----------
    src : Rationales
        The checked report.
    kit_id : str
        Hex identifier of the kit (keys the browser storage and is written into every CSV row).
    cases : list of dict
        ``{"item": int, "subject": Subject, "options": {label: variant}}`` in case order.

    Returns
    -------
    str
    """
    labels = option_labels(len(src.variants))
    sides = bone_sides(src.layout, src.edges)
    data = {"kit_id": kit_id, "fps": src.fps, "edges": [list(e) for e in src.edges], "options": list(labels),
            "dimensions": list(DIMENSIONS), "columns": list(CSV_COLUMNS),
            "cases": [{"item": c["item"], "frames": walk_frames(c["subject"].skeleton)} for c in cases]}
    toolbar = ('<div class="toolbar"><label>Rater ID <input type="text" id="rater" autocomplete="off" '
               'size="14"></label> <span id="progress" data-answered="0" data-total="0">answered 0 / 0</span> '
               '<button type="button" id="download">Download CSV</button> <span id="download-msg"></span></div>')
    body = [_header(src, len(cases), len(labels), labels), toolbar, *(_case(c, sides, labels) for c in cases),
            f'<footer class="note">Kit {esc(kit_id)}. Self-contained page: it loads nothing from the network.</footer>']
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Rating kit {esc(kit_id)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body)
            + f'\n<script type="application/json" id="kit-data">{json_for_script(data)}</script>'
            + f"\n<script>{JS}</script>\n</body></html>\n")
