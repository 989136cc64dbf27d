"""Sections of the model page that only a suite of nominal, clinically grouped classes has (``--suite taxonomy``):
where the confusions fall, and example rationales. Pure functions of the record, like the rest of the page."""

from __future__ import annotations

from evaluation.report.html import esc, fmt_num, table
from gaitfeat.labels import GAIT_CLASS_NAMES

__all__ = ["confusion_structure_section", "rationale_section"]


def _name(key: str) -> str:
    return GAIT_CLASS_NAMES.get(key, key)


def confusion_structure_section(record: dict) -> str:
    """Share of errors between clinically similar classes, and each model's most frequent confusions."""
    cs = record.get("confusion_structure")
    if not cs:
        return ""
    groups = "; ".join(f"<b>{esc(g)}</b>: {esc(', '.join(_name(c) for c in members))}" for g, members in cs["groups"].items())
    out = ["<h2>Confusion structure</h2>",
           f"<p>Clinically similar classes are grouped — {groups}. A confusion inside a group is a near miss "
           "between gaits that clinicians also find alike; one across groups is a gross error. The confusion "
           "matrices above list the classes in this order, so near misses sit next to the diagonal. The groups "
           "also follow age (the spastic and equinus gaits are children's, the neurological ones adults'), so "
           "a high within-group share partly says that the models tell children from adults.</p>"]
    rows = []
    for model, levels in cs["models"].items():
        cells = [esc(model)]
        for level in ("clip", "patient"):
            s = levels[level]
            cells += [esc(s["errors"]), fmt_num(s["within_group_share"], 3, pct=True) + " %"]
        top = levels["patient"]["top_confusions"][:3]
        cells.append("; ".join(f"{esc(_name(t['true']))} → {esc(_name(t['predicted']))} ({esc(t['count'])})"
                               + ("" if t["same_group"] else " ✗") for t in top) or "none")
        rows.append(cells)
    out.append(table(["model", "clip errors", "within group", "patient errors", "within group",
                      "most frequent confusions, patient level (✗: across groups)"], rows, 1))
    return "\n".join(out)


def rationale_section(record: dict) -> str:
    """Example rationales (one per class) of the rationale model, with their tokens as a table."""
    rat = record.get("rationales")
    if not rat:
        return ""
    out = ["<h2>Rationales: the measured evidence behind a prediction</h2>",
           f"<p>{esc(rat['description'])}</p>",
           f"<p>Held-out subject accuracy of the rationale model: {fmt_num(rat['accuracy'], 3, pct=True)} % "
           f"({esc(rat['n_subjects'])} subjects); every subject's rationales, tokens and feature values are in "
           f"<code>{esc(rat['file'])}</code> (feature rows in <code>{esc(rat.get('features_file', ''))}</code>, "
           f"typical ranges of every fold in <code>{esc(rat.get('ranges_file', ''))}</code>); the blinded rating "
           "kit is made from it "
           "(<code>python -m evaluation.rating_kit REPORT_DIR</code>).</p>"]
    for ex in rat["examples"]:
        verdict = "correct" if ex["true_class"] == ex["predicted_class"] else f"true class {_name(ex['true_class'])}"
        out.append(f"<h3>{esc(ex['subject_id'])}: predicted {esc(_name(ex['predicted_class']))} ({esc(verdict)})</h3>")
        out.append(f"<blockquote>{esc(ex['rationales']['ranked'])}</blockquote>")
        rows = [[esc(t["label"]), esc(t["text_value"]), esc(t["unit"]),
                 esc(f"{t['typical_text']} ({t['age_group']})") if t.get("typical_text") else "n/a",
                 esc(t["direction"]), fmt_num(t["shap"], 3)] for t in ex["tokens"]]
        out.append("<details><summary>tokens (ranked by SHAP toward the predicted class)</summary>"
                   + table(["feature", "value", "unit", "typical range", "vs typical", "SHAP"], rows, 1) + "</details>")
    return "\n".join(out)
