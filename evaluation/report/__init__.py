"""The self-contained HTML report pages, rendered from a run's written record alone.

One file per page, no external resources: figures are embedded PNG data
URIs, the style sheet is inline, there is no JavaScript; every string from
data is escaped (:func:`evaluation.report.html.esc`).

The pages are pure functions of what a run writes into ``OUT/SUITE/``:
``metrics.json`` (every number) and ``figures.npz`` (the arrays behind the
figures). :func:`render_folder` reads those two files and writes
``index.html`` (model results), ``features.html`` (feature importance;
``index.html`` when the run was the importance study alone) and
``explain.html`` (the explanation study, ``--suite explain``). The run itself
renders its pages this way, so ``python -m evaluation.report OUT/SUITE/``
re-creates them byte for byte.

Modules: :mod:`~evaluation.report.html` (escaping, formats, tables, page
shell), :mod:`~evaluation.report.models_page`,
:mod:`~evaluation.report.features_page`, :mod:`~evaluation.report.plots`
(the figures).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.report.explain_page import render_explain_page
from evaluation.report.features_page import render_features_page
from evaluation.report.html import esc
from evaluation.report.models_page import render_models_page
from evaluation.schema import FIGURES_FILE, SCHEMA, SCHEMA_VERSION

#: The oldest record version that holds everything the pages show.
RENDERABLE_FROM = (1, 3)

__all__ = ["render_folder", "read_record", "render_pages", "render_models_page", "render_features_page",
           "render_explain_page", "esc"]


def read_record(folder: str | Path) -> tuple[dict, dict]:
    """``metrics.json`` and the arrays of ``figures.npz`` (empty if the run wrote none) of a report folder.

    Raises
    ------
    FileNotFoundError
        When ``folder`` has no ``metrics.json``.
    ValueError
        When ``metrics.json`` is not a record of this toolkit.
    """
    folder = Path(folder)
    path = folder / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no metrics.json: give the folder a run wrote (OUT/SUITE/)")
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a gaitfeat evaluation record (schema {SCHEMA!r})")
    version = str(record.get("schema_version", ""))
    try:
        major, minor = (int(v) for v in version.split(".")[:2])
    except ValueError:
        raise ValueError(f"{path}: unreadable schema_version {version!r}") from None
    if (major, minor) < RENDERABLE_FROM or major > int(SCHEMA_VERSION.split(".")[0]):
        raise ValueError(f"{path}: schema_version {version} cannot be rendered by this gaitfeat (it renders "
                         f"{RENDERABLE_FROM[0]}.{RENDERABLE_FROM[1]} to {SCHEMA_VERSION.split('.')[0]}.x; records "
                         "before 1.3 lack the figure data — run the evaluation again)")
    kinds = {"models": dict, "folds": list, "notes": list, "configuration": dict, "data": dict, "deep": list,
             "importance": (dict, type(None)), "figures": (dict, type(None)), "comparisons": (dict, type(None)),
             "gradcam": (dict, type(None)), "patient_predictions": (dict, type(None)), "environment": dict,
             "timings": dict, "labels": (list, type(None)), "explain": (dict, type(None)),
             "uncertainty": (dict, type(None)), "targets": (dict, type(None))}
    wrong = [f"{key!r} is a {type(record[key]).__name__}" for key, kind in kinds.items()
             if key in record and not isinstance(record[key], kind)]
    if wrong:
        raise ValueError(f"{path}: damaged record: {', '.join(wrong)} (the schema says otherwise)")
    if not record.get("models") and not record.get("importance") and not record.get("explain"):
        raise ValueError(f"{path}: the record holds no models, no feature study and no explanation study: "
                         "nothing to render")
    figures = record.get("figures") or {}
    arrays: dict = {}
    if figures:
        with np.load(folder / FIGURES_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return record, arrays


def render_pages(record: dict, arrays: dict) -> dict[str, str]:
    """``{file name: page}`` for a record: ``index.html``, ``features.html`` and/or ``explain.html``."""
    pages = {}
    if record.get("kind") == "multi-target":
        from evaluation.report.params_page import render_params_page

        return {"index.html": render_params_page(record)}
    if record["models"]:
        pages["index.html"] = render_models_page(record, arrays)
    if record.get("importance"):
        pages["features.html" if record["models"] else "index.html"] = render_features_page(record, arrays)
    if record.get("explain"):
        pages["explain.html"] = render_explain_page(record, arrays)
    return pages


def render_folder(folder: str | Path) -> list[Path]:
    """Render the pages of a report folder from its ``metrics.json`` and ``figures.npz``; return the files written."""
    folder = Path(folder)
    record, arrays = read_record(folder)
    written = []
    for name, text in render_pages(record, arrays).items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written
