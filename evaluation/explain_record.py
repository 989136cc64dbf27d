"""The written record of the explanation study: ``metrics.json`` with an ``"explain"`` part, and ``explain.html``.

Same schema as the other suites' records (:mod:`evaluation.schema`), so
``python -m evaluation.report OUT/explain/`` re-renders the page from the
folder alone; the study's numbers are under ``record["explain"]``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from evaluation.provenance import data_summary, environment
from evaluation.schema import SCHEMA, SCHEMA_VERSION
from evaluation.suites import SUITES
from gaitfeat.jsonable import to_jsonable

__all__ = ["build_explain_record", "write_explain_record", "format_explain_summary"]


def build_explain_record(result: dict, *, command: str | None = None, started: float | None = None) -> dict:
    """``metrics.json`` content of an :func:`evaluation.explain_run.explain_study` result (JSON-ready)."""
    suite = SUITES["gmfcs"]
    config = dict(result["config"])
    if command:
        config["command"] = command
    return to_jsonable({
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "suite": "explain",
        "title": "Explaining the skeleton models: faithfulness, stability and kinematic perturbations",
        "task": "classification",
        "unit": suite.unit,
        "labels": [int(c) for c in suite.labels],
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data_summary(result["dataset"], suite, result["target_info"]),
        "configuration": config,
        "folds": [],
        "models": {},
        "notes": [],
        "explain": result["record"],
        "figures": None,
        "environment": environment(),
        "seed": config["random_state"],
        "timings": result["timings"],
        "runtime_s": (time.perf_counter() - started) if started is not None else result["timings"]["total_s"],
    })


def write_explain_record(result: dict, folder: str | Path, *, html: bool = True, command: str | None = None,
                         started: float | None = None) -> Path:
    """Write ``metrics.json`` into ``folder`` and render ``explain.html`` from it; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = build_explain_record(result, command=command, started=started)
    (folder / "metrics.json").write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
    if html:
        from evaluation.report import render_folder

        render_folder(folder)
    return folder


def format_explain_summary(record: dict) -> str:
    """A few lines for the terminal: per model, the most faithful and most stable method."""
    ex = record["explain"]
    lines = [f"explanation study on {record['data'].get('description', 'the data')}"]
    k = ex["k_main"]
    for model, h in ex["headline"].items():
        gap = h["gap"]
        line = (f"  {model}: most faithful {h['most_faithful']} (PGI-PGU at k={k}: {gap['mean']:.3f}"
                f" [{gap['ci'][0]:.3f}, {gap['ci'][1]:.3f}])")
        if "most_stable" in h:
            s = h["stability"]
            line += f"; most stable under noise {h['most_stable']} (rank corr. {s['mean']:.2f})"
        if "most_stable_windows" in h:
            line += (f"; between windows {h['most_stable_windows']} "
                     f"({h['window_stability']['mean']:.2f})")
        lines.append(line)
    if record["data"].get("simulated"):
        lines.append("  (simulated data: these describe the models on the simulator, not clinical evidence)")
    return "\n".join(lines)
