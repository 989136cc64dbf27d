"""Small inline-SVG figures of the assessment page: gait-cycle curves, probability bars, a Grad-CAM skeleton.

Every function returns one ``<svg>`` element as a string. Text that comes from the record (class and joint
names) goes through :func:`evaluation.report.html.esc`; numbers are written with few decimals so the page
stays small. The figures set only a ``viewBox`` and a CSS width, so they scale with the page (and print).
"""

from __future__ import annotations

import itertools
import math

from evaluation.assessment.page_format import isnum
from evaluation.report.html import esc

__all__ = ["CENTRE", "LEFT", "RIGHT", "gradcam_skeleton", "line_chart", "nice_ticks", "probability_bars", "ylorrd"]

LEFT, RIGHT, CENTRE = "#1f5fbf", "#d9661b", "#444444"
_STOPS = ((0.0, (255, 255, 204)), (0.25, (254, 217, 118)), (0.5, (253, 141, 60)), (0.75, (227, 26, 28)),
          (1.0, (128, 0, 38)))      # ColorBrewer YlOrRd, so low scores stay visible on white


def _f(v: float) -> str:
    """A coordinate with at most 2 decimals (no trailing zeros)."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def ylorrd(score: float) -> str:
    """Hex colour of ``score`` in [0, 1] on a yellow-orange-red scale (clipped; None/NaN -> light grey)."""
    if not isnum(score):
        return "#dddddd"
    s = min(max(float(score), 0.0), 1.0)
    for (s0, c0), (s1, c1) in itertools.pairwise(_STOPS):
        if s <= s1:
            t = (s - s0) / (s1 - s0)
            return "#" + "".join(f"{round(a + t * (b - a)):02x}" for a, b in zip(c0, c1, strict=True))
    return "#800026"


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (steps 1, 2, 2.5 or 5 times a power of ten)."""
    if not (isnum(lo) and isnum(hi)) or hi <= lo:
        lo, hi = (lo - 1, lo + 1) if isnum(lo) else (0.0, 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    count = math.ceil((hi - start) / step - 1e-9) + 1
    return [round(start + i * step, 10) for i in range(count)]


def _runs(values: list) -> list[list[int]]:
    """Indices of the contiguous runs of finite values (a null breaks the line)."""
    runs, cur = [], []
    for i, v in enumerate(values):
        if isnum(v):
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def line_chart(series: list[tuple[str, list, str]], band: dict | None = None, *, title: str = "",
               width: int = 320, height: int = 190) -> str:
    """Curves over 0-100 % of the gait cycle with an optional typical band.

    Parameters
    ----------
    series : list of (label, values, colour)
        Curves sampled evenly over the cycle; ``None`` values break the line.
    band : dict or None
        ``{"low": [...], "median": [...], "high": [...]}`` on the same grid: drawn as a grey area with the
        median dashed.
    title : str
        Shown above the plot (escaped).
    width, height : int
        Size of the drawing in SVG units (the element scales to its container).

    Returns
    -------
    str
    """
    ml, mr, mt, mb = 38, 10, 20, 30
    pw, ph = width - ml - mr, height - mt - mb
    curves = [vals or [] for _, vals, _ in series] + [(band or {}).get(k) or [] for k in ("low", "median", "high")]
    finite = [v for vals in curves for v in vals if isnum(v)]
    if not finite:
        return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"><text x="{width / 2}" '
                f'y="{height / 2}" text-anchor="middle" class="ax">{esc(title)}: no data</text></svg>')
    ticks = nice_ticks(min(finite), max(finite))
    y0, y1 = ticks[0], ticks[-1]

    def px(i: int, n: int) -> float:
        return ml + pw * i / max(n - 1, 1)

    def py(v: float) -> float:
        return mt + ph * (1 - (v - y0) / (y1 - y0))

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{ml}" y="13" class="ttl">{esc(title)}</text>']
    for t in ticks:                                   # horizontal grid with the degree labels
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{_f(py(t))}" y2="{_f(py(t))}" class="grid"/>'
                     f'<text x="{ml - 4}" y="{_f(py(t) + 3)}" text-anchor="end" class="ax">{t:g}</text>')
    for pct in (0, 20, 40, 60, 80, 100):
        x = ml + pw * pct / 100
        parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{mt + ph}" y2="{mt + ph + 3}" class="axl"/>'
                     f'<text x="{_f(x)}" y="{mt + ph + 13}" text-anchor="middle" class="ax">{pct}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 3}" text-anchor="middle" class="ax">% gait cycle</text>'
                 f'<text x="10" y="{mt + ph / 2}" text-anchor="middle" class="ax" '
                 f'transform="rotate(-90 10 {mt + ph / 2})">deg</text>')
    if band:
        low, high = band.get("low") or [], band.get("high") or []
        both = [lo if isnum(lo) and i < len(high) and isnum(high[i]) else None for i, lo in enumerate(low)]
        for run in _runs(both):                        # one polygon per stretch where the band is defined
            pts = [(px(i, len(low)), py(low[i])) for i in run] + [(px(i, len(low)), py(high[i])) for i in run[::-1]]
            parts.append('<polygon class="band" points="' + " ".join(f"{_f(x)},{_f(y)}" for x, y in pts) + '"/>')
        parts.append(_path(band.get("median") or [], px, py, "median", "#777777"))
    for _, vals, colour in series:
        parts.append(_path(vals or [], px, py, "curve", colour))
    parts.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="frame"/></svg>')
    return "".join(parts)


def _path(values: list, px, py, cls: str, colour: str) -> str:
    d = " ".join("M" + " L".join(f"{_f(px(i, len(values)))},{_f(py(values[i]))}" for i in run)
                 for run in _runs(values))
    return f'<path class="{cls}" d="{d}" stroke="{colour}"/>' if d else ""


def probability_bars(names: list[str], proba: list, *, mean: list | None = None, sd: list | None = None,
                     predicted: int | None = None, width: int = 380) -> str:
    """Horizontal bars of class probabilities, the predicted class dark, the fold ensemble's mean ± sd as whiskers.

    Parameters
    ----------
    names : list of str
        Class names (escaped).
    proba : list of float
        Probability per class, aligned with ``names``.
    mean, sd : list of float, optional
        Fold-ensemble mean and standard deviation per class: a whisker ``mean ± sd`` with a tick at the mean
        (centred on the bar's end when no mean is given).
    predicted : int, optional
        Index of the predicted class (drawn in the strong colour).
    width : int
        Drawing width in SVG units.

    Returns
    -------
    str
    """
    row, lab, bar_w = 20, 110, width - 110 - 40
    h = row * len(names) + 6
    parts = [f'<svg class="bars" viewBox="0 0 {width} {h}" role="img" aria-label="class probabilities">']
    for k, name in enumerate(names):
        p = proba[k] if k < len(proba) and isnum(proba[k]) else None
        y = 3 + k * row
        colour = "#1d4e89" if k == predicted else "#9db4d3"
        parts.append(f'<text x="{lab - 6}" y="{y + 13}" text-anchor="end" class="lbl">{esc(name)}</text>'
                     f'<rect x="{lab}" y="{y + 2}" width="{bar_w}" height="{row - 6}" class="track"/>')
        if p is None:
            parts.append(f'<text x="{lab + 4}" y="{y + 13}" class="lbl">—</text>')
            continue
        w = bar_w * min(max(p, 0.0), 1.0)
        parts.append(f'<rect x="{lab}" y="{y + 2}" width="{_f(w)}" height="{row - 6}" fill="{colour}"/>'
                     f'<text x="{lab + bar_w + 6}" y="{y + 13}" class="lbl">{p:.2f}</text>')
        s = sd[k] if sd and k < len(sd) and isnum(sd[k]) else None
        m = mean[k] if mean and k < len(mean) and isnum(mean[k]) else p
        if s is not None:
            a, b, c = (lab + bar_w * min(max(v, 0.0), 1.0) for v in (m - s, m + s, m))
            mid = y + row / 2 - 1
            parts.append(f'<line x1="{_f(a)}" x2="{_f(b)}" y1="{mid}" y2="{mid}" class="whisk"/>'
                         f'<line x1="{_f(c)}" x2="{_f(c)}" y1="{mid - 4}" y2="{mid + 4}" class="whisk"/>')
    parts.append("</svg>")
    return "".join(parts)


def gradcam_skeleton(template: list, edges: list, scores: list, joints: list[str] | None = None, *,
                     width: int = 240, height: int = 300) -> str:
    """The template pose with each joint drawn as a circle sized and coloured by its Grad-CAM score.

    Parameters
    ----------
    template : list of [x, y]
        Drawing positions per joint, y up (any units: the figure is fitted into the box).
    edges : list of [i, j]
        Bones between joints (grey lines).
    scores : list of float
        Importance per joint in [0, 1]; ``None`` draws a small grey circle.
    joints : list of str, optional
        Joint names, shown as tooltips (escaped).
    width, height : int
        Drawing size in SVG units.

    Returns
    -------
    str
    """
    pts = [(p[0], p[1]) if p and isnum(p[0]) and isnum(p[1]) else None for p in template]
    good = [p for p in pts if p]
    if not good:
        return f'<svg class="cam" viewBox="0 0 {width} {height}"></svg>'
    pad, legend = 16, 26
    xs, ys = [p[0] for p in good], [p[1] for p in good]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = min((width - 2 * pad) / span, (height - legend - 2 * pad) / span)
    cx = (width - scale * (max(xs) - min(xs))) / 2
    cy = pad + (height - legend - 2 * pad - scale * (max(ys) - min(ys))) / 2

    def at(j: int) -> tuple[float, float]:
        x, y = pts[j]
        return cx + scale * (x - min(xs)), cy + scale * (max(ys) - y)     # y up in the template, down in SVG

    parts = [f'<svg class="cam" viewBox="0 0 {width} {height}" role="img" aria-label="Grad-CAM joint importance">']
    for a, b in edges:
        if a < len(pts) and b < len(pts) and pts[a] and pts[b]:
            (x1, y1), (x2, y2) = at(a), at(b)
            parts.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" class="cbone"/>')
    order = sorted((j for j in range(len(pts)) if pts[j]), key=lambda j: scores[j] if j < len(scores)
                   and isnum(scores[j]) else -1)          # strongest drawn last, on top
    for j in order:
        s = scores[j] if j < len(scores) and isnum(scores[j]) else None
        x, y = at(j)
        r = 2.5 + 8 * min(max(s, 0.0), 1.0) if s is not None else 2.5
        name = joints[j] if joints and j < len(joints) else f"joint {j}"
        tip = f"{name}: {s:.2f}" if s is not None else f"{name}: no score"
        parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" fill="{ylorrd(s)}" class="cj">'
                     f'<title>{esc(tip)}</title></circle>')
    y = height - legend + 8                             # colour scale 0 .. 1 under the figure
    step = (width - 2 * pad - 40) / 10
    for k in range(10):
        parts.append(f'<rect x="{_f(pad + 20 + k * step)}" y="{y}" width="{_f(step + 0.3)}" height="8" '
                     f'fill="{ylorrd((k + 0.5) / 10)}"/>')
    parts.append(f'<text x="{pad + 16}" y="{y + 8}" text-anchor="end" class="ax">0</text>'
                 f'<text x="{width - pad - 16}" y="{y + 8}" class="ax">1</text></svg>')
    return "".join(parts)
