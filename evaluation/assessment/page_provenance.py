"""The provenance section of the assessment page: which bundle, data, code and packages produced it."""

from __future__ import annotations

from evaluation.assessment.page_format import DASH
from evaluation.assessment.page_format import at as _at
from evaluation.assessment.page_format import num as _num
from evaluation.report.html import esc

__all__ = ["provenance"]


def _kv_table(rows: list[tuple[str, str]], cls: str) -> str:
    return f'<table class="{cls}">' + "".join(f'<tr><th class="l">{esc(k)}</th><td class="l">{v}</td></tr>'
                                             for k, v in rows) + "</table>"


def _git(g: dict | None) -> str:
    if not g or not g.get("commit"):
        return DASH
    return esc(g["commit"]) + (" (uncommitted changes)" if g.get("dirty") else "")


#: The cross-validated metrics the provenance table shows (patient level, with their 95 % CIs), in this order.
_CV_SHOWN = {"balanced_accuracy": "balanced accuracy", "f1_macro": "macro-F1", "accuracy": "accuracy",
             "auc_macro": "AUC", "rmse": "RMSE", "mae": "MAE", "pearson_r": "r"}


def _cv_text(cv: dict) -> str:
    """``balanced accuracy 0.61 [0.55, 0.66]; ...`` for the metrics of :data:`_CV_SHOWN` the record holds."""
    parts = []
    for key, label in _CV_SHOWN.items():
        if key not in cv:
            continue
        ci = cv.get(f"{key}_ci")
        text = f"{esc(label)} {_num(cv[key], 3)}"
        if isinstance(ci, list) and len(ci) == 2:
            text += f' <span class="note">[{_num(ci[0], 3)}, {_num(ci[1], 3)}]</span>'
        parts.append(text)
    return "; ".join(parts) or DASH


def provenance(record: dict) -> str:
    b, env = record.get("bundle") or {}, record.get("environment") or {}
    fr = b.get("fps_range") or []
    rows = [("Bundle", esc(b.get("path") or DASH)), ("Bundle format", esc(b.get("format"))),
            ("Bundle created", esc(b.get("created") or DASH)),
            ("Suites", esc(", ".join(map(str, b.get("suites") or []))) or DASH),
            ("Training data", esc(b.get("training_data") or DASH)),
            ("Simulated training data", "yes" if b.get("simulated") else "no"),
            ("Layout", esc(b.get("layout") or DASH)),
            ("Training videos' frame rates", f"{_num(_at(fr, 0), 2)}–{_num(_at(fr, 1), 2)} fps (a walk more than "
             "20 % outside gets a warning)"),
            ("Clip window / stride", f"{_num(b.get('window'), 0)} / {_num(b.get('stride'), 0)} frames"),
            ("Fold models per ensemble", _num(b.get("ensemble_k"), 0)),
            ("Manifest SHA-256", f'<code>{esc(b.get("manifest_sha256") or DASH)}</code>'),
            ("Bundle git commit", _git(b.get("git"))), ("Environment git commit", _git(env.get("git"))),
            ("Python", esc(env.get("python") or DASH)), ("Platform", esc(env.get("platform") or DASH)),
            ("Assessment time", esc(record.get("created") or DASH))]
    primary = b.get("primary") or {}
    models = "".join(
        f'<tr><td class="l">{esc(s)}</td><td class="l">{esc(name)}{" (primary)" if primary.get(s) == name else ""}'
        f'</td><td class="l">{esc(m.get("description") or "")}</td><td class="l">'
        + _cv_text(m.get("cv") or {}) + "</td></tr>"
        for s, ms in (b.get("models") or {}).items() for name, m in ms.items())
    bp, ep = b.get("packages") or {}, env.get("packages") or {}
    differs = '<span class="above">differs</span>'
    pk = "".join(f'<tr><td class="l">{esc(p)}</td><td class="l">{esc(bp.get(p, DASH))}</td>'
                 f'<td class="l">{esc(ep.get(p, DASH))}</td><td class="l">{"" if bp.get(p) == ep.get(p) else differs}'
                 '</td></tr>' for p in sorted(set(bp) | set(ep)))
    return ('<section class="provenance" id="provenance"><h2>Provenance</h2>' + _kv_table(rows, "provenance")
            + '<h3>Models and cross-validated performance</h3><table class="models"><thead><tr><th class="l">Suite'
            '</th><th class="l">Model</th><th class="l">Description</th>'
            '<th class="l">Cross-validated, patient level [95 % CI]</th></tr>'
            f'</thead><tbody>{models}</tbody></table><h3>Package versions</h3><table class="packages"><thead><tr>'
            '<th class="l">Package</th><th class="l">Bundle</th><th class="l">Environment</th><th class="l"></th>'
            f"</tr></thead><tbody>{pk}</tbody></table></section>")
