"""HTML building blocks shared by the report pages: escaping, number formats, tables, banners, the page shell.

Every string that comes from data or configuration (patient and video IDs,
model names, file paths, notes) goes through :func:`esc`, so a patient ID
such as ``<script>alert(1)</script>`` is shown as text and never run.
"""

from __future__ import annotations

import html
import json

import numpy as np

from gaitfeat.labels import GAIT_CLASS_ABBREVIATIONS, GAIT_CLASS_NAMES, GMFCS_ROMAN, gmfcs_name

__all__ = ["esc", "json_for_script", "defined_or", "fmt_num", "with_ci", "fmt_p", "class_name", "short_class_name",
           "class_labeller", "table", "banners",
           "page"]

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


def json_for_script(obj) -> str:
    """JSON for a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` escaped, so no value can
    close the element or open another."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def esc(value: object) -> str:
    """HTML-escape anything (quotes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def defined_or(value, default: float) -> float:
    """``value`` unless it is undefined (None/NaN in metrics.json); 0 stays 0."""
    return default if value is None or (isinstance(value, float) and not np.isfinite(value)) else value


def fmt_num(v, digits: int = 3, pct: bool = False) -> str:
    """A number with ``digits`` decimals (percent: two fewer), or ``n/a`` when undefined."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if not isinstance(v, int | float | np.integer | np.floating) or isinstance(v, bool):
        return esc(v)     # not a number (a damaged or hand-edited record): shown as text, escaped
    return f"{100 * v:.{max(digits - 2, 1)}f}" if pct else f"{v:.{digits}f}"


def with_ci(v, ci, digits: int = 3, pct: bool = False) -> str:
    """A number followed by its interval ``[low, high]`` in grey."""
    text = fmt_num(v, digits, pct)
    if ci and ci[0] is not None and ci[1] is not None and text != "n/a":
        text += f' <span class="ci">[{fmt_num(ci[0], digits, pct)}, {fmt_num(ci[1], digits, pct)}]</span>'
    return text


def fmt_p(value, n_boot: int | None = None) -> str:
    """A p-value; a bootstrap p of 0 is reported as below the resolution 1/B."""
    if value is None:
        return "n/a"
    if n_boot and value == 0:
        return f"< {1 / n_boot:.2g}"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def class_name(c) -> str:
    """``GMFCS II`` for an integer level; other labels as text."""
    return gmfcs_name(c) if isinstance(c, int | np.integer) else str(c)


def short_class_name(c) -> str:
    """``II`` for level 2 (axis labels)."""
    return GMFCS_ROMAN.get(int(c), str(c))


def class_labeller(record: dict):
    """``(name, short)``: functions naming a class label of the record's suite, in full and for axes.

    GMFCS levels by default; a suite with ``class_names`` (the taxonomy) stores class positions as labels,
    named from :data:`gaitfeat.labels.GAIT_CLASS_NAMES`.
    """
    names = record.get("class_names")
    if not names:
        return class_name, short_class_name

    def full(c) -> str:
        key = names[int(c)]
        return GAIT_CLASS_NAMES.get(key, key)

    def short(c) -> str:
        key = names[int(c)]
        return GAIT_CLASS_ABBREVIATIONS.get(key, key)

    return full, short


def table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A table; the first ``left`` columns are left-aligned. Cells must already be escaped (or built from escaped parts)."""
    th = "".join(f'<th class="{"l" if i < left else ""}">{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def banners(data: dict) -> list[str]:
    """The warnings every page carries: simulated data, videos treated as patients."""
    out = []
    if data["simulated"]:
        out.append('<div class="banner sim">SIMULATED DATA. These results come from a cohort generated by the gaitfeat '
                   "gait simulator. They test the software and compare models on a known problem; they are not "
                   "evidence of clinical accuracy and must not be quoted as such.</div>")
    if data["video_as_patient"]:
        out.append('<div class="banner leak">NO PATIENT IDs: each video was treated as its own patient. Videos of the '
                   "same child from different visits may sit on both sides of a split, so these results may be "
                   "optimistic (patient leakage).</div>")
    return out


def page(title: str, body: list[str]) -> str:
    """The self-contained page: inline style sheet, no scripts, no external resources."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(b for b in body if b) + "\n</body></html>\n")
